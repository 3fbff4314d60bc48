//! The recorded data the tests share: the transcripts in `tests/data/transcripts/` (an
//! SSE body and, beside it, the completion it must merge into as JSON), and the JSON body
//! of a request a `ReplayServer` recorded.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::PathBuf;

/// The path of transcript file `name` (e.g. `openai_thinking.sse`).
pub(crate) fn transcript_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/transcripts")
        .join(name)
}

/// The bytes of transcript file `name`.
pub(crate) fn transcript(name: &str) -> Vec<u8> {
    let path = transcript_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Transcript file `name` parsed as JSON (the `.json` expectations).
#[cfg(feature = "chat")]
pub(crate) fn expected(name: &str) -> serde_json::Value {
    serde_json::from_slice(&transcript(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The body of a recorded request, as JSON.
#[cfg(all(feature = "chat", feature = "testing"))]
pub(crate) fn body_json(request: &dashscope_glm::testing::RecordedRequest) -> serde_json::Value {
    serde_json::from_slice(request.body()).expect("request body is JSON")
}

/// One recorded stream of `tests/data/transcripts/`: its body and how to merge it.
#[cfg(feature = "chat")]
#[derive(Clone, Debug)]
pub(crate) struct Transcript {
    /// The file stem (`native_thinking`, ...).
    pub(crate) name: String,
    /// The SSE body.
    pub(crate) bytes: Vec<u8>,
    /// `native_*` files are the DashScope protocol, the others OpenAI-compatible.
    pub(crate) protocol: dashscope_glm::chat::Protocol,
    /// `*cumulative*` files are native non-incremental output.
    pub(crate) cumulative: bool,
}

#[cfg(feature = "chat")]
impl Transcript {
    /// The expectation file beside it (`NAME.json`), as JSON.
    pub(crate) fn expected(&self) -> serde_json::Value {
        expected(&format!("{}.json", self.name))
    }
}

/// Every transcript, sorted by name (at least the 15 the tests were written for).
#[cfg(feature = "chat")]
pub(crate) fn transcripts() -> Vec<Transcript> {
    use dashscope_glm::chat::Protocol;
    let dir = transcript_path("");
    let mut out: Vec<Transcript> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "sse").then_some(path)
        })
        .map(|path| {
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            Transcript {
                protocol: if name.starts_with("native_") {
                    Protocol::DashScope
                } else {
                    Protocol::OpenAiCompatible
                },
                cumulative: name.contains("cumulative"),
                bytes: transcript(&format!("{name}.sse")),
                name,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(
        out.len() >= 15,
        "transcripts missing from {}",
        dir.display()
    );
    out
}
