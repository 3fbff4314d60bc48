//! Replays a recorded raw response body through the SSE decoder and the merger.
//!
//! ```text
//! cargo run --example replay -- --protocol openai|dashscope [--cumulative] [--chunk N] [--json] FILE
//! ```
//!
//! Without `--json` it prints the stream as a user would see it: the reasoning and the
//! answer as they stream, each tool call, the finish reason and the usage. With `--json`
//! it prints one JSON object, the merged completion or the error (the schema is in
//! `examples/common/render.rs`). `--chunk N` feeds the file N bytes at a time (default: all
//! at once). Exit status: 0 on a complete stream, 1 on a stream error, 2 on bad usage.
//!
//! FILE is a raw response body: one of `tests/data/transcripts/`, or one recorded from a
//! live call with `ChatStream::record_to`.

#[path = "common/render.rs"]
mod render;

use std::io::Write;
use std::process::ExitCode;

use dashscope_glm::Error;
use dashscope_glm::chat::{Accumulator, Completion, Protocol, StreamDecoder, StreamEvent};

struct Args {
    protocol: Protocol,
    cumulative: bool,
    chunk: usize,
    json: bool,
    file: String,
}

const USAGE: &str =
    "usage: replay --protocol openai|dashscope [--cumulative] [--chunk N] [--json] FILE";

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut protocol, mut cumulative, mut chunk, mut json, mut file) =
        (None, false, usize::MAX, false, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--protocol" => {
                protocol = Some(match args.next().as_deref() {
                    Some("openai") => Protocol::OpenAiCompatible,
                    Some("dashscope") => Protocol::DashScope,
                    other => {
                        return Err(format!(
                            "--protocol takes openai or dashscope, not {other:?}"
                        ));
                    }
                });
            }
            "--cumulative" => cumulative = true,
            "--json" => json = true,
            "--chunk" => {
                chunk = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--chunk takes a positive number")?;
            }
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}")),
            _ if file.is_none() => file = Some(arg),
            _ => return Err("more than one FILE".into()),
        }
    }
    Ok(Args {
        protocol: protocol.ok_or("--protocol is required")?,
        cumulative,
        chunk,
        json,
        file: file.ok_or("FILE is required")?,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let body = match std::fs::read(&args.file) {
        Ok(body) => body,
        Err(e) => {
            eprintln!("cannot read {}: {e}", args.file);
            return ExitCode::from(2);
        }
    };
    let accumulator = Accumulator::new(args.protocol).cumulative(args.cumulative);
    let mut stream = StreamDecoder::from_accumulator(accumulator);
    let mut out = std::io::stdout().lock();
    let mut printer = Printer::default();
    let result = replay(&mut stream, &body, args.chunk, |event| {
        if !args.json {
            printer.print(&mut out, &event);
        }
    });
    let result = result.and_then(|()| stream.finish());
    if args.json {
        let _ = writeln!(out, "{}", render::result(&result));
    } else {
        printer.end(&mut out, &result);
    }
    if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn replay(
    stream: &mut StreamDecoder,
    body: &[u8],
    chunk: usize,
    mut on_event: impl FnMut(StreamEvent<'_>),
) -> Result<(), Error> {
    for piece in body.chunks(chunk.min(body.len()).max(1)) {
        stream.feed(piece);
        while let Some(event) = stream.next_event()? {
            on_event(event);
        }
    }
    stream.end()?;
    while let Some(event) = stream.next_event()? {
        on_event(event);
    }
    Ok(())
}

/// Prints events as a chat UI would: a heading each time the kind of text changes.
#[derive(Default)]
struct Printer {
    section: Option<&'static str>,
}

impl Printer {
    fn heading(&mut self, out: &mut impl Write, section: &'static str) {
        if self.section != Some(section) {
            let gap = if self.section.is_some() { "\n" } else { "" };
            let _ = writeln!(out, "{gap}[{section}]");
            self.section = Some(section);
        }
    }

    fn print(&mut self, out: &mut impl Write, event: &StreamEvent<'_>) {
        match event {
            StreamEvent::Reasoning(text) => {
                self.heading(out, "reasoning");
                let _ = write!(out, "{text}");
            }
            StreamEvent::Content(text) => {
                self.heading(out, "answer");
                let _ = write!(out, "{text}");
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                self.heading(out, "tool calls");
                let gap = if *index > 0 { "\n" } else { "" };
                let _ = write!(out, "{gap}#{index} {name} (id {id}) ");
            }
            StreamEvent::ToolCallArguments { fragment, .. } => {
                self.heading(out, "tool calls");
                let _ = write!(out, "{fragment}");
            }
            _ => {}
        }
        let _ = out.flush();
    }

    fn end(&mut self, out: &mut impl Write, result: &Result<Completion, Error>) {
        if self.section.is_some() {
            let _ = writeln!(out);
        }
        match result {
            Ok(c) => {
                let reason = c.finish_reason.as_ref().map_or("(none)", |r| r.as_str());
                let _ = writeln!(out, "\n[finish_reason] {reason}");
                if let Some(u) = c.usage {
                    let _ = writeln!(out, "[usage] {u}");
                }
            }
            Err(e) => {
                let _ = writeln!(out, "\n[error] {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each bundled recording replayed as the example does, in any chunk size, gives
    /// the `--json` output of the same body decoded whole.
    #[test]
    fn replay_in_pieces_equals_the_whole_body_for_every_recording() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recordings");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let protocol = if name.ends_with("_dashscope") {
                Protocol::DashScope
            } else {
                Protocol::OpenAiCompatible
            };
            let body = std::fs::read(&path).unwrap();
            let mut whole = StreamDecoder::new(protocol);
            whole.feed(&body);
            let expected = render::result(&whole.finish());
            assert!(expected.get("error").is_none(), "{name}: {expected}");
            for chunk in [1, 7, usize::MAX] {
                let acc = Accumulator::new(protocol);
                let mut stream = StreamDecoder::from_accumulator(acc);
                let result =
                    replay(&mut stream, &body, chunk, |_| {}).and_then(|()| stream.finish());
                assert_eq!(
                    render::result(&result),
                    expected,
                    "{name} in {chunk}-byte pieces"
                );
            }
            seen += 1;
        }
        assert_eq!(seen, 12, "the chat, tools and agent recordings");
    }

    #[test]
    fn the_printer_shows_sections_and_the_end() {
        let mut out = Vec::new();
        let mut printer = Printer::default();
        printer.print(&mut out, &StreamEvent::Reasoning("hm"));
        printer.print(&mut out, &StreamEvent::Content("Hi"));
        printer.end(&mut out, &Ok(Completion::default()));
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "[reasoning]\nhm\n[answer]\nHi\n\n[finish_reason] (none)\n"
        );
    }
}
