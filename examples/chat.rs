//! Streams one chat answer from a GLM model on Model Studio.
//!
//! ```text
//! cargo run --example chat -- [--model glm-5] [--protocol openai|dashscope] [--no-thinking]
//!     [--base-url URL] [--max-retries N] [--no-incremental-output] [--json] [PROMPT]
//! ```
//!
//! The API key comes from `DASHSCOPE_API_KEY` (region, workspace and base URL from
//! `DASHSCOPE_REGION`, `DASHSCOPE_WORKSPACE`, `DASHSCOPE_BASE_URL`). `--base-url` is the
//! gateway root; the client appends `/compatible-mode/v1/chat/completions` or
//! `/api/v1/services/aigc/text-generation/generation`. With `--base-url` and no key, a
//! placeholder key is sent (for local gateways that ignore it).
//!
//! Without `--json` it prints, like Model Studio's sample code, the reasoning under a
//! `Thought Process` banner as it streams, the answer under `Complete Response`, then
//! the `Token Usage`. With `--json` it prints one JSON object: the completion or the
//! error, in the schema of `tests/common/render.rs`. Exit status: 0 on success, 1 when
//! the call failed, 2 on bad usage or configuration.
//!
//! Offline by default: with no `DASHSCOPE_API_KEY` and no `--base-url`, it says so on
//! standard error and replays a recorded glm-5 stream (`examples/recordings/`, one per
//! protocol) from a local server on 127.0.0.1, through the same client.

#[path = "common/offline.rs"]
mod offline;
#[path = "../tests/common/render.rs"]
mod render;

use std::io::Write;
use std::process::ExitCode;

use dashscope_glm::Error;
use dashscope_glm::blocking::Client;
use dashscope_glm::chat::{ChatRequest, Completion, Protocol, StreamEvent};

const USAGE: &str = "usage: chat [--model glm-5] [--protocol openai|dashscope] [--no-thinking] [--base-url URL] [--max-retries N] [--no-incremental-output] [--json] [PROMPT]";

struct Args {
    model: String,
    protocol: Protocol,
    thinking: bool,
    base_url: Option<String>,
    max_retries: Option<u32>,
    incremental: bool,
    json: bool,
    prompt: String,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut args = args.into_iter();
    let mut out = Args {
        model: "glm-5".into(),
        protocol: Protocol::OpenAiCompatible,
        thinking: true,
        base_url: None,
        max_retries: None,
        incremental: true,
        json: false,
        prompt: "Who are you".into(),
    };
    let mut prompt = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--model" => out.model = args.next().ok_or("--model takes a name")?,
            "--protocol" => {
                out.protocol = match args.next().as_deref() {
                    Some("openai") => Protocol::OpenAiCompatible,
                    Some("dashscope") => Protocol::DashScope,
                    other => {
                        return Err(format!(
                            "--protocol takes openai or dashscope, not {other:?}"
                        ));
                    }
                }
            }
            "--no-thinking" => out.thinking = false,
            "--base-url" => out.base_url = Some(args.next().ok_or("--base-url takes a URL")?),
            "--max-retries" => {
                out.max_retries = Some(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .ok_or("--max-retries takes a number")?,
                );
            }
            "--no-incremental-output" => out.incremental = false,
            "--json" => out.json = true,
            "--help" | "-h" => return Err(String::new()),
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}")),
            _ if prompt.is_none() => prompt = Some(arg),
            _ => return Err("more than one PROMPT (quote it)".into()),
        }
    }
    if let Some(p) = prompt {
        out.prompt = p;
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Without a key or a gateway, replay a recording through a local server: the same
    // client, HTTP, decoder and merger, offline.
    let target = offline::Target {
        protocol: args.protocol,
        base_url: args.base_url.as_deref(),
        max_retries: args.max_retries,
    };
    let turns = [(
        &include_bytes!("recordings/chat_openai.sse")[..],
        &include_bytes!("recordings/chat_dashscope.sse")[..],
        "6b1d2f7e-1c3a-4e5b-9d8f-0a1b2c3d4e5f",
    )];
    let connection = match offline::connect(&target, "a recorded glm-5 stream", &turns) {
        Ok(connection) => connection,
        Err((message, status)) => {
            eprintln!("{message}");
            return status;
        }
    };
    let (client, replay) = (&connection.client, &connection.replay);
    // The recordings are incremental, whatever the flag asks of a live server.
    let incremental = args.incremental || replay.is_some();
    let request = ChatRequest::new(args.model.as_str())
        .user(args.prompt.as_str())
        .thinking(args.thinking)
        .incremental_output(incremental);
    let mut out = std::io::stdout().lock();
    let mut printer = Printer::default();
    let result = run(client, &request, |event| {
        if !args.json {
            printer.print(&mut out, &event);
        }
    });
    if args.json {
        let _ = writeln!(out, "{}", render::result(&result));
    } else {
        printer.end(&mut out, &result);
    }
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(Error::Config(_) | Error::Validation { .. }) => ExitCode::from(2),
        Err(_) => ExitCode::FAILURE,
    }
}

fn run(
    client: &Client,
    request: &ChatRequest,
    mut on_event: impl FnMut(StreamEvent<'_>),
) -> Result<Completion, Error> {
    let mut stream = client.stream(request)?;
    while let Some(event) = stream.next_event()? {
        on_event(event);
    }
    stream.finish()
}

/// Prints the stream as Model Studio's sample code does: a banner before the reasoning,
/// one before the answer, one before the usage.
#[derive(Default)]
struct Printer {
    thinking: bool,
    answering: bool,
}

const BAR: &str = "====================";

impl Printer {
    fn answer_banner(&mut self, out: &mut impl Write) {
        if !self.answering {
            let gap = if self.thinking { "\n" } else { "" };
            let _ = writeln!(out, "{gap}{BAR}Complete Response{BAR}");
            self.answering = true;
        }
    }

    fn print(&mut self, out: &mut impl Write, event: &StreamEvent<'_>) {
        match event {
            StreamEvent::Reasoning(text) if !text.is_empty() && !self.answering => {
                if !self.thinking {
                    let _ = writeln!(out, "{BAR}Thought Process{BAR}");
                    self.thinking = true;
                }
                let _ = write!(out, "{text}");
            }
            StreamEvent::Content(text) if !text.is_empty() => {
                self.answer_banner(out);
                let _ = write!(out, "{text}");
            }
            StreamEvent::ToolCallStart { index, name, .. } => {
                self.answer_banner(out);
                let _ = write!(out, "\n[tool call #{index}] {name} ");
            }
            StreamEvent::ToolCallArguments { fragment, .. } => {
                let _ = write!(out, "{fragment}");
            }
            _ => {}
        }
        let _ = out.flush();
    }

    fn end(&mut self, out: &mut impl Write, result: &Result<Completion, Error>) {
        match result {
            Ok(c) => {
                self.answer_banner(out);
                let _ = writeln!(out);
                let _ = writeln!(out, "{BAR}Token Usage{BAR}");
                match c.usage {
                    Some(u) => {
                        let _ = writeln!(
                            out,
                            "input_tokens: {}, output_tokens: {}, total_tokens: {}",
                            u.input_tokens, u.output_tokens, u.total_tokens
                        );
                    }
                    None => {
                        let _ = writeln!(out, "(not reported)");
                    }
                }
            }
            Err(e) => {
                let _ = writeln!(out);
                let _ = out.flush();
                eprintln!("error: {e}");
            }
        }
    }
}
