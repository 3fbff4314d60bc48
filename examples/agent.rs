//! An agent: GLM answers a question with two tools, `get_weather(city)` and
//! `packing_list(temperature_c, rain)`, over as many turns as it needs, its thinking
//! carried from each turn to the next.
//!
//! ```text
//! cargo run --example agent -- [--protocol openai|dashscope] [--base-url URL] [--model glm-5]
//! ```
//!
//! The loop (`agent`, first below) streams a turn; while the model asks for tool
//! results, it runs each call here (typed arguments, fake data), sends the turn back
//! with the reasoning that led to the calls (GLM thinks between tool calls and reads
//! that thinking back) followed by one result per call, and asks again. It prints the
//! question, each turn's reasoning and tool calls, each result, and the answer:
//!
//! ```text
//! [user] Which is warmer tomorrow, Beijing or Shanghai? ...
//! [reasoning] The user wants tomorrow's weather in Beijing and Shanghai ...
//! [tool_call] call_0a1b... get_weather {"city": "Beijing"}
//! [tool_result] call_0a1b... {"city":"Beijing","forecast":"sunny","temperature_c":23}
//! ...
//! [answer] Shanghai is warmer tomorrow: 26°C with rain, ...
//! ```
//!
//! The API key comes from `DASHSCOPE_API_KEY` (region, workspace and base URL from
//! `DASHSCOPE_REGION`, `DASHSCOPE_WORKSPACE`, `DASHSCOPE_BASE_URL`). With `--base-url`
//! and no key, a placeholder key is sent (for local gateways that ignore it). Exit
//! status: 0 on an answer, 1 when a call failed, the answer was cut, or the model was
//! still calling tools after `MAX_TURNS` turns, 2 on bad usage or configuration.
//!
//! Offline by default: with no `DASHSCOPE_API_KEY` and no `--base-url`, it says so on
//! standard error and replays three recorded glm-5 turns
//! (`examples/recordings/agent_turn{1,2,3}_*.sse`, one set per protocol) from a local
//! server on 127.0.0.1, through the same client.

#[path = "common/offline.rs"]
mod offline;
#[path = "common/render.rs"]
mod render;

use std::io::Write;
use std::process::ExitCode;

use dashscope_glm::blocking::Client;
use dashscope_glm::chat::{ChatRequest, Completion, Protocol, StreamEvent, Tool, ToolCall};
use dashscope_glm::{Error, ErrorKind};
use serde::Deserialize;
use serde_json::{Value, json};

const QUESTION: &str =
    "Which is warmer tomorrow, Beijing or Shanghai? Tell me what to pack for the warmer one.";

/// The most turns the agent takes before giving up.
const MAX_TURNS: usize = 8;

/// The agent loop: ask; while the model wants tool results, send its turn back (with its
/// reasoning) and one result per call, and ask again. Returns the last turn.
fn agent(client: &Client, model: &str, out: &mut impl Write) -> Result<Completion, Error> {
    let mut request = ChatRequest::new(model)
        .user(QUESTION)
        .tools([weather_tool(), packing_tool()]);
    let _ = writeln!(out, "[user] {QUESTION}");
    let mut turn = ask(client, &request, out)?;
    for _ in 1..MAX_TURNS {
        if !turn.wants_tool_results() {
            break;
        }
        request.push_turn(turn, |call| run_tool(call, out));
        turn = ask(client, &request, out)?;
    }
    Ok(turn)
}

/// Streams one turn, printing its reasoning and answer as they come, then its calls.
fn ask(client: &Client, request: &ChatRequest, out: &mut impl Write) -> Result<Completion, Error> {
    let mut stream = client.stream(request)?;
    let mut open = None; // the label of the line being printed
    while let Some(event) = stream.next_event()? {
        let (label, text) = match event {
            StreamEvent::Reasoning(text) => ("reasoning", text),
            StreamEvent::Content(text) => ("answer", text),
            _ => continue,
        };
        if open != Some(label) && !text.is_empty() {
            let _ = write!(out, "{}[{label}] ", if open.is_some() { "\n" } else { "" });
            open = Some(label);
        }
        let _ = write!(out, "{text}");
        let _ = out.flush();
    }
    if open.is_some() {
        let _ = writeln!(out);
    }
    let turn = stream.finish()?;
    for call in &turn.message.tool_calls {
        let _ = writeln!(
            out,
            "[tool_call] {} {} {}",
            call.id, call.name, call.arguments
        );
    }
    Ok(turn)
}

/// Runs one call and returns its result for the model: the tool's JSON, or
/// `{"error": ...}` for an unknown tool or arguments that do not fit (the model reads
/// it and can try again).
fn run_tool(call: &ToolCall, out: &mut impl Write) -> String {
    let result = match call.name.as_str() {
        "get_weather" => call.arguments_as().map(get_weather),
        "packing_list" => call.arguments_as().map(packing_list),
        other => Ok(json!({"error": format!("unknown tool {other:?}")})),
    };
    let result = result
        .unwrap_or_else(|e| json!({"error": e.to_string()}))
        .to_string();
    let _ = writeln!(out, "[tool_result] {} {result}", call.id);
    result
}

/// `get_weather`'s arguments.
#[derive(Deserialize)]
struct City {
    city: String,
}

/// Tomorrow's (fake) forecast for a city.
fn get_weather(args: City) -> Value {
    match args.city.as_str() {
        "Beijing" => json!({"city": "Beijing", "forecast": "sunny", "temperature_c": 23}),
        "Shanghai" => json!({"city": "Shanghai", "forecast": "rain", "temperature_c": 26}),
        other => json!({"error": format!("no forecast for {other}")}),
    }
}

/// `packing_list`'s arguments.
#[derive(Deserialize)]
struct Weather {
    temperature_c: i32,
    rain: bool,
}

/// What to pack for that weather.
fn packing_list(args: Weather) -> Value {
    let mut items = Vec::new();
    if args.rain {
        items.extend(["umbrella", "light rain jacket"]);
    }
    items.push(if args.temperature_c >= 24 {
        "breathable shirts"
    } else {
        "a warm sweater"
    });
    json!({ "items": items })
}

fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "Get tomorrow's weather forecast for a city.",
        json!({
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city name, e.g. Beijing"}},
            "required": ["city"],
        }),
    )
}

fn packing_tool() -> Tool {
    Tool::function(
        "packing_list",
        "List what to pack for a day's weather.",
        json!({
            "type": "object",
            "properties": {
                "temperature_c": {"type": "integer", "description": "The temperature in °C"},
                "rain": {"type": "boolean", "description": "Whether it will rain"},
            },
            "required": ["temperature_c", "rain"],
        }),
    )
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
    // Without a key or a gateway, replay the three turns through a local server: the
    // same client, HTTP, decoder and merger, offline.
    let target = offline::Target {
        protocol: args.protocol,
        base_url: args.base_url.as_deref(),
        max_retries: None,
    };
    let turns = [
        (
            &include_bytes!("recordings/agent_turn1_openai.sse")[..],
            &include_bytes!("recordings/agent_turn1_dashscope.sse")[..],
            "4b5c6d7e-8f90-4a1b-9c2d-3e4f5a6b7c8d",
        ),
        (
            &include_bytes!("recordings/agent_turn2_openai.sse")[..],
            &include_bytes!("recordings/agent_turn2_dashscope.sse")[..],
            "5c6d7e8f-90a1-4b2c-8d3e-4f5a6b7c8d9e",
        ),
        (
            &include_bytes!("recordings/agent_turn3_openai.sse")[..],
            &include_bytes!("recordings/agent_turn3_dashscope.sse")[..],
            "6d7e8f90-a1b2-4c3d-9e4f-5a6b7c8d9e0f",
        ),
    ];
    let what = "recorded glm-5 streams (three turns)";
    let connection = match offline::connect(&target, what, &turns) {
        Ok(connection) => connection,
        Err((message, status)) => {
            eprintln!("{message}");
            return status;
        }
    };

    let mut out = std::io::stdout().lock();
    let result = agent(&connection.client, &args.model, &mut out);
    let _ = out.flush();
    match result {
        Ok(turn) if turn.wants_tool_results() => {
            eprintln!("error: still calling tools after {MAX_TURNS} turns");
            ExitCode::FAILURE
        }
        Ok(turn) if !turn.is_whole() => {
            let reason = turn.finish_reason.as_ref().map_or("(none)", |r| r.as_str());
            eprintln!("error: the answer is not whole (finish reason {reason})");
            ExitCode::FAILURE
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", render::chain(&e));
            match e.kind() {
                ErrorKind::Config | ErrorKind::Validation => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

const USAGE: &str = "usage: agent [--protocol openai|dashscope] [--base-url URL] [--model glm-5]";

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
                let name = args.next().unwrap_or_default();
                out.protocol = name.parse().map_err(|e: Error| e.to_string())?;
            }
            "--base-url" => out.base_url = Some(args.next().ok_or("--base-url takes a URL")?),
            "--model" => out.model = args.next().ok_or("--model takes a name")?,
            "--help" | "-h" => return Err(String::new()),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    Ok(out)
}
