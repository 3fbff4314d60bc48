//! Function calling with a GLM model on Model Studio: a `get_weather(city)` tool, its
//! arguments streamed (`tool_stream`), the tool run locally, its result sent back, and
//! the final answer streamed.
//!
//! ```text
//! cargo run --example tools -- [--protocol openai|dashscope] [--base-url URL] [--model glm-5]
//! ```
//!
//! Turn 1 asks "What is the weather like in Beijing" with the tool offered. Each piece of
//! the tool call's arguments is printed as it streams, one line per fragment
//! (`[tool_call] id=..., name=..., args=<fragment>`), followed by the arguments parsed so
//! far (`[arguments so far] {"city":"Bei"}`), then the finish reason and the usage.
//! The tool then runs here (a fixed, fake forecast), and turn 2 sends the conversation
//! back — the question, the assistant's turn (its reasoning and tool call), the tool's
//! result — and streams the reasoning and the answer, then the finish reason and the
//! usage. For a loop of several tool turns, see the `agent` example.
//!
//! The API key comes from `DASHSCOPE_API_KEY` (region, workspace and base URL from
//! `DASHSCOPE_REGION`, `DASHSCOPE_WORKSPACE`, `DASHSCOPE_BASE_URL`). With `--base-url`
//! and no key, a placeholder key is sent (for local gateways that ignore it). Exit
//! status: 0 on success, 1 when a call failed, 2 on bad usage or configuration.
//!
//! Offline by default: with no `DASHSCOPE_API_KEY` and no `--base-url`, it says so on
//! standard error and replays recorded glm-5 streams of both turns
//! (`examples/recordings/tools_turn{1,2}_*.sse`, one pair per protocol) from a local
//! server on 127.0.0.1, through the same client.

#[path = "common/offline.rs"]
mod offline;
#[path = "common/render.rs"]
mod render;

use std::io::Write;
use std::process::ExitCode;

use dashscope_glm::blocking::{ChatStream, Client};
use dashscope_glm::chat::{
    ChatRequest, Completion, Message, Protocol, StreamEvent, Tool, ToolCall,
};
use dashscope_glm::{Error, ErrorKind};
use serde_json::{Value, json};

const QUESTION: &str = "What is the weather like in Beijing";

/// The request ids of the bundled recordings, sent as `x-request-id` by the local server.
const TURN1_ID: &str = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b";
const TURN2_ID: &str = "2a3b4c5d-6e7f-4081-9293-a4b5c6d7e8f9";

/// The two turns: the question with the tool offered, then (when the model called it)
/// the tool's result, for the answer.
fn converse(client: &Client, model: &str, out: &mut impl Write) -> Result<(), Error> {
    let request = ChatRequest::new(model)
        .user(QUESTION)
        .tool(weather_tool())
        .tool_stream(true);
    let _ = writeln!(out, "[user] {QUESTION}");
    let first = turn(client, &request, out)?;
    if first.message.tool_calls.is_empty() {
        return Ok(());
    }
    // The conversation goes back whole: the question, the assistant's turn with its tool
    // calls and the reasoning that led to them, then one tool message per call.
    let mut follow_up = request.message(Message::from(&first));
    for call in &first.message.tool_calls {
        let result = run_tool(call);
        let _ = writeln!(
            out,
            "[tool_result] id={}, name={}, result={result}",
            call.id, call.name
        );
        follow_up = follow_up.tool_result(call.id.as_str(), result);
    }
    turn(client, &follow_up, out)?;
    Ok(())
}

/// Streams one turn, printing as it goes, and returns its completion.
fn turn(client: &Client, request: &ChatRequest, out: &mut impl Write) -> Result<Completion, Error> {
    let mut stream = client.stream(request)?.track_arguments(true);
    let mut printer = Printer::default();
    let result = drain(&mut stream, &mut printer, out).and_then(|()| stream.finish());
    printer.end(out, &result);
    result
}

fn drain(
    stream: &mut ChatStream,
    printer: &mut Printer,
    out: &mut impl Write,
) -> Result<(), Error> {
    loop {
        let (index, fragment) = match stream.next_event()? {
            None => return Ok(()),
            Some(StreamEvent::ToolCallArguments { index, fragment }) => {
                (index, fragment.to_owned())
            }
            Some(event) => {
                printer.print(out, &event);
                continue;
            }
        };
        // One line per fragment, with the id and name known so far, then the arguments
        // parsed so far (the borrow of the event has ended: the stream can be asked).
        let call = stream.completion().message.tool_calls.get(index);
        let (id, name) = call.map_or(("", ""), |c| (c.id.as_str(), c.name.as_str()));
        printer.line_break(out);
        let _ = writeln!(out, "[tool_call] id={id}, name={name}, args={fragment}");
        let so_far = stream
            .tool_arguments(index)
            .map_or_else(|| "(none yet)".to_owned(), Value::to_string);
        let _ = writeln!(out, "[arguments so far] {so_far}");
        let _ = out.flush();
    }
}

/// The tool offered to the model: one required string, `city`.
fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "Get the current weather in a city.",
        json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city name, e.g. Beijing"},
            },
            "required": ["city"],
        }),
    )
}

/// Runs a tool call here: `get_weather` gives a fixed, fake forecast for its city. A call
/// to another tool, or with arguments that are not `{"city": "..."}`, gets an error the
/// model can read.
fn run_tool(call: &ToolCall) -> String {
    if call.name != "get_weather" {
        return json!({"error": format!("unknown tool {:?}", call.name)}).to_string();
    }
    match call.parse_arguments() {
        Ok(args) => match args.get("city").and_then(Value::as_str) {
            Some(city) => json!({
                "city": city,
                "forecast": "sunny",
                "temperature_c": 23,
                "wind": "light north wind",
            })
            .to_string(),
            None => json!({"error": "the argument `city` (a string) is missing"}).to_string(),
        },
        Err(e) => match e.tool_arguments_error() {
            Some(t) => json!({"error": format!("the arguments are not JSON: {}", t.json_error())})
                .to_string(),
            None => json!({"error": e.to_string()}).to_string(),
        },
    }
}

/// Prints reasoning and answer text as it streams, each under its label, and the end of
/// a turn.
#[derive(Default)]
struct Printer {
    /// The label of the text line in progress, if any.
    open: Option<&'static str>,
}

impl Printer {
    fn text(&mut self, out: &mut impl Write, label: &'static str, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.open != Some(label) {
            self.line_break(out);
            let _ = write!(out, "[{label}] ");
            self.open = Some(label);
        }
        let _ = write!(out, "{text}");
        let _ = out.flush();
    }

    /// Ends the text line in progress, if any.
    fn line_break(&mut self, out: &mut impl Write) {
        if self.open.take().is_some() {
            let _ = writeln!(out);
        }
    }

    fn print(&mut self, out: &mut impl Write, event: &StreamEvent<'_>) {
        match event {
            StreamEvent::Reasoning(text) => self.text(out, "reasoning", text),
            StreamEvent::Content(text) => self.text(out, "answer", text),
            _ => {}
        }
    }

    fn end(&mut self, out: &mut impl Write, result: &Result<Completion, Error>) {
        self.line_break(out);
        let Ok(c) = result else { return };
        let reason = c.finish_reason.as_ref().map_or("(none)", |r| r.as_str());
        let _ = writeln!(out, "[finish_reason] {reason}");
        match c.usage {
            Some(u) => {
                let _ = writeln!(out, "[usage] {u}");
            }
            None => {
                let _ = writeln!(out, "[usage] (not reported)");
            }
        }
        let _ = out.flush();
    }
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
    // Without a key or a gateway, replay both turns through a local server: the same
    // client, HTTP, decoder and merger, offline.
    let target = offline::Target {
        protocol: args.protocol,
        base_url: args.base_url.as_deref(),
        max_retries: None,
    };
    let turns = [
        (
            &include_bytes!("recordings/tools_turn1_openai.sse")[..],
            &include_bytes!("recordings/tools_turn1_dashscope.sse")[..],
            TURN1_ID,
        ),
        (
            &include_bytes!("recordings/tools_turn2_openai.sse")[..],
            &include_bytes!("recordings/tools_turn2_dashscope.sse")[..],
            TURN2_ID,
        ),
    ];
    let what = "recorded glm-5 streams (both turns)";
    let connection = match offline::connect(&target, what, &turns) {
        Ok(connection) => connection,
        Err((message, status)) => {
            eprintln!("{message}");
            return status;
        }
    };
    let client = &connection.client;

    let mut out = std::io::stdout().lock();
    match converse(client, &args.model, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            eprintln!("error: {}", render::chain(&e));
            match e.kind() {
                ErrorKind::Config | ErrorKind::Validation => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

const USAGE: &str = "usage: tools [--protocol openai|dashscope] [--base-url URL] [--model glm-5]";

/// The command line, parsed.
struct Args {
    protocol: Protocol,
    base_url: Option<String>,
    model: String,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut args = args.into_iter();
    let mut out = Args {
        protocol: Protocol::OpenAiCompatible,
        base_url: None,
        model: "glm-5".into(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
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
            "--base-url" => out.base_url = Some(args.next().ok_or("--base-url takes a URL")?),
            "--model" => out.model = args.next().ok_or("--model takes a name")?,
            "--help" | "-h" => return Err(String::new()),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    Ok(out)
}
