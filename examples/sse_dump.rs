//! Decodes an SSE stream from standard input and prints one JSON object per line for each
//! event and comment, in input order:
//!
//! ```text
//! {"event":"<type>","data":"<data>","id":"<last event id>"}
//! {"comment":"<text after the colon>"}
//! {"error":"<message>"}          (then exit status 1)
//! ```
//!
//! Usage: `sse_dump [--chunk N] [--lossy] < stream` feeds the input N bytes at a time
//! (default: all at once). Bad arguments print the usage on stderr and exit with 2.

use std::io::{Read, Write};
use std::process::ExitCode;

use dashscope_glm::sse::{Decoder, Item};

const USAGE: &str = "usage: sse_dump [--chunk N] [--lossy] < stream";

#[derive(Debug, PartialEq, Eq)]
struct Options {
    /// Bytes per feed; `None`: all at once.
    chunk: Option<usize>,
    lossy: bool,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        chunk: None,
        lossy: false,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--lossy" => options.lossy = true,
            "--chunk" => {
                let n = args.next().ok_or("--chunk needs a value")?;
                match n.parse::<usize>() {
                    Ok(n) if n > 0 => options.chunk = Some(n),
                    _ => return Err(format!("--chunk needs a positive integer, got {n:?}")),
                }
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

/// Appends `s` to `out` as a JSON string literal.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7F}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Decodes `input` and writes the JSON lines to `out`; `Err` carries the error line's
/// message after it was written.
fn dump(input: &[u8], options: &Options, out: &mut String) -> Result<(), String> {
    let mut decoder = Decoder::new().lossy(options.lossy);
    let chunk = options.chunk.unwrap_or(input.len().max(1));
    let line = |item: Item<'_>, out: &mut String| match item {
        Item::Event(e) => {
            out.push_str("{\"event\":");
            json_string(out, e.event_type());
            out.push_str(",\"data\":");
            json_string(out, e.data());
            out.push_str(",\"id\":");
            json_string(out, e.id());
            out.push_str("}\n");
        }
        Item::Comment(text) => {
            out.push_str("{\"comment\":");
            json_string(out, text);
            out.push_str("}\n");
        }
        _ => {}
    };
    let fail = |e: &dyn std::fmt::Display, out: &mut String| {
        out.push_str("{\"error\":");
        json_string(out, &e.to_string());
        out.push_str("}\n");
        Err(e.to_string())
    };
    for read in input.chunks(chunk) {
        decoder.feed(read);
        while let Some(item) = decoder.next_item() {
            match item {
                Ok(item) => line(item, out),
                Err(e) => return fail(&e, out),
            }
        }
    }
    match decoder.finish() {
        Ok(_) => Ok(()),
        Err(e) => fail(&e, out),
    }
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(msg) => {
            eprintln!("sse_dump: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut input) {
        eprintln!("sse_dump: reading standard input: {e}");
        return ExitCode::from(1);
    }
    let mut out = String::new();
    let result = dump(&input, &options, &mut out);
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::from(1);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Options, String> {
        parse_args(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn arguments() {
        assert_eq!(
            args(&[]),
            Ok(Options {
                chunk: None,
                lossy: false
            })
        );
        assert_eq!(
            args(&["--chunk", "3", "--lossy"]),
            Ok(Options {
                chunk: Some(3),
                lossy: true
            })
        );
        assert!(args(&["--chunk"]).is_err());
        assert!(args(&["--chunk", "0"]).is_err());
        assert!(args(&["--chunk", "x"]).is_err());
        assert!(args(&["-v"]).is_err());
    }

    #[test]
    fn json_escaping() {
        let mut out = String::new();
        json_string(&mut out, "a\"b\\c\nd\re\tf\u{1}g\u{7f}杭😀");
        assert_eq!(out, r#""a\"b\\c\nd\re\tf\u0001g\u007f杭😀""#);
    }

    #[test]
    fn dump_prints_items_in_order_for_any_chunk_size() {
        let input = b":HTTP_STATUS/200\nid:1\nevent:result\ndata:{\"a\":\"x\\ny\"}\n\ndata: two\ndata: lines\n\n";
        let expected = concat!(
            "{\"comment\":\"HTTP_STATUS/200\"}\n",
            "{\"event\":\"result\",\"data\":\"{\\\"a\\\":\\\"x\\\\ny\\\"}\",\"id\":\"1\"}\n",
            "{\"event\":\"message\",\"data\":\"two\\nlines\",\"id\":\"1\"}\n",
        );
        for chunk in [None, Some(1), Some(2), Some(7)] {
            let mut out = String::new();
            let options = Options {
                chunk,
                lossy: false,
            };
            assert_eq!(dump(input, &options, &mut out), Ok(()));
            assert_eq!(out, expected, "chunk {chunk:?}");
        }
    }

    #[test]
    fn dump_stops_at_the_first_error() {
        let mut out = String::new();
        let strict = Options {
            chunk: None,
            lossy: false,
        };
        assert!(dump(b"data: a\n\ndata: \xFF\n\ndata: b\n\n", &strict, &mut out).is_err());
        assert_eq!(
            out,
            "{\"event\":\"message\",\"data\":\"a\",\"id\":\"\"}\n\
             {\"error\":\"invalid UTF-8 in the event stream at byte offset 15\"}\n"
        );
        let mut out = String::new();
        let lossy = Options {
            chunk: None,
            lossy: true,
        };
        assert_eq!(dump(b"data: \xFF\n\n", &lossy, &mut out), Ok(()));
        assert_eq!(
            out,
            "{\"event\":\"message\",\"data\":\"\u{FFFD}\",\"id\":\"\"}\n"
        );
    }

    #[test]
    fn native_recording_output() {
        let input = include_bytes!("recordings/chat_dashscope.sse");
        let events = input
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"data:"))
            .count();
        let mut out = String::new();
        let options = Options {
            chunk: Some(1),
            lossy: false,
        };
        assert_eq!(dump(input, &options, &mut out), Ok(()));
        let lines: Vec<&str> = out.lines().collect();
        // One comment line (`:HTTP_STATUS/200`) and one event line per event.
        assert_eq!(lines.len(), 2 * events);
        assert_eq!(lines[0], "{\"comment\":\"HTTP_STATUS/200\"}");
        assert!(lines[1].starts_with("{\"event\":\"result\",\"data\":\"{\\\"output\\\""));
        assert!(lines[lines.len() - 1].ends_with(&format!(",\"id\":\"{events}\"}}")));
    }
}
