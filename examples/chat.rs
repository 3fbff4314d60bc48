//! Streams one chat answer from a GLM model on Model Studio.
//!
//! ```text
//! cargo run --example chat -- [--model glm-5] [--protocol openai|dashscope] [--no-thinking]
//!     [--base-url URL] [--max-retries N] [--no-incremental-output] [--json] [PROMPT]
//! ```
//!
//! It prints, like Model Studio's sample code, the reasoning under a `Thought Process`
//! banner as it streams, the answer under `Complete Response`, then the `Token Usage`.
//! `--json` prints one JSON object instead: the completion or the error, in the schema
//! written at the top of `examples/common/render.rs`. Exit status: 0 on success, 1 when
//! the call failed, 2 on bad usage or configuration.
//!
//! The API key comes from `DASHSCOPE_API_KEY` (region, workspace and base URL from
//! `DASHSCOPE_REGION`, `DASHSCOPE_WORKSPACE`, `DASHSCOPE_BASE_URL`). `--base-url` is the
//! gateway root (a placeholder key is sent when no key is set). With neither, it runs
//! offline: it replays a recorded glm-5 stream (`examples/recordings/`) from a local
//! server on 127.0.0.1, through the same client.

#[path = "common/offline.rs"]
mod offline;
#[path = "common/render.rs"]
mod render;

use std::io::Write;
use std::process::ExitCode;

use dashscope_glm::blocking::Client;
use dashscope_glm::chat::{ChatRequest, Completion, Protocol, StreamEvent};
use dashscope_glm::{Error, ErrorKind};

const BAR: &str = "====================";

/// The quick start: send the request, print each event as it arrives, print the usage.
fn stream_answer(
    client: &Client,
    request: &ChatRequest,
    out: &mut impl Write,
) -> Result<Completion, Error> {
    let mut stream = client.stream(request)?;
    let mut banners = Banners::default();
    while let Some(event) = stream.next_event()? {
        match event {
            StreamEvent::Reasoning(text) if !text.is_empty() && !banners.answering => {
                banners.thinking(out);
                let _ = write!(out, "{text}");
            }
            StreamEvent::Content(text) if !text.is_empty() => {
                banners.answer(out);
                let _ = write!(out, "{text}");
            }
            StreamEvent::ToolCallStart { index, name, .. } => {
                banners.answer(out);
                let _ = write!(out, "\n[tool call #{index}] {name} ");
            }
            StreamEvent::ToolCallArguments { fragment, .. } => {
                let _ = write!(out, "{fragment}");
            }
            _ => {}
        }
        let _ = out.flush();
    }
    let completion = stream.finish()?;
    banners.answer(out);
    let _ = writeln!(out, "\n{BAR}Token Usage{BAR}");
    let _ = match completion.usage {
        Some(u) => writeln!(
            out,
            "input_tokens: {}, output_tokens: {}, total_tokens: {}",
            u.input_tokens, u.output_tokens, u.total_tokens
        ),
        None => writeln!(out, "(not reported)"),
    };
    Ok(completion)
}

/// Which banners are out: each is printed once, before its first text.
#[derive(Default)]
struct Banners {
    thinking: bool,
    answering: bool,
}

impl Banners {
    fn thinking(&mut self, out: &mut impl Write) {
        if !self.thinking {
            let _ = writeln!(out, "{BAR}Thought Process{BAR}");
            self.thinking = true;
        }
    }

    fn answer(&mut self, out: &mut impl Write) {
        if !self.answering {
            let gap = if self.thinking { "\n" } else { "" };
            let _ = writeln!(out, "{gap}{BAR}Complete Response{BAR}");
            self.answering = true;
        }
    }
}

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
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
    // The recordings are incremental, whatever the flag asks of a live server.
    let incremental = args.incremental || connection.replay.is_some();
    let request = ChatRequest::new(args.model.as_str())
        .user(args.prompt.as_str())
        .thinking(args.thinking)
        .incremental_output(incremental);

    let mut out = std::io::stdout().lock();
    let result = if args.json {
        let result = stream_answer(&connection.client, &request, &mut std::io::sink());
        let _ = writeln!(out, "{}", render::result(&result));
        result
    } else {
        let result = stream_answer(&connection.client, &request, &mut out);
        if let Err(e) = &result {
            let _ = writeln!(out);
            let _ = out.flush();
            eprintln!("error: {}", render::chain(e));
        }
        result
    };
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) if matches!(e.kind(), ErrorKind::Config | ErrorKind::Validation) => {
            ExitCode::from(2)
        }
        Err(_) => ExitCode::FAILURE,
    }
}

const USAGE: &str = "usage: chat [--model glm-5] [--protocol openai|dashscope] [--no-thinking] [--base-url URL] [--max-retries N] [--no-incremental-output] [--json] [PROMPT]";

/// The command line, parsed.
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

impl Args {
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut args = args.into_iter();
        let mut out = Self {
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
}
