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
