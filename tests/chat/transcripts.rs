//! Every recorded stream in `tests/data/transcripts/` against its expected outcome
//! (`<name>.json`, in the `replay --json` schema): whole, one byte at a time, at every
//! two-way split, and at random splits.
#![cfg(feature = "chat")]

use crate::data::{Transcript, transcripts};
use crate::outcome;

use dashscope_glm::chat::{Accumulator, Completion, Protocol, StreamDecoder, StreamEvent};
use dashscope_glm::{Error, ErrorKind};
use proptest::prelude::*;

/// Runs `bytes` cut at `cuts` (sorted offsets) and returns every event, rendered, and
/// the outcome. The oracle of `two_phase.rs` too.
pub(crate) fn run(t: &Transcript, cuts: &[usize]) -> (Vec<String>, Result<Completion, Error>) {
    let accumulator = Accumulator::new(t.protocol).cumulative(t.cumulative);
    let mut stream = StreamDecoder::from_accumulator(accumulator);
    let mut events = Vec::new();
    let mut drain = |stream: &mut StreamDecoder| -> Result<(), Error> {
        while let Some(e) = stream.next_event()? {
            events.push(render_event(&e));
        }
        Ok(())
    };
    let mut start = 0;
    for &cut in cuts.iter().chain([&t.bytes.len()]) {
        stream.feed(&t.bytes[start..cut]);
        start = cut;
        if let Err(e) = drain(&mut stream) {
            return (events, Err(e));
        }
    }
    if let Err(e) = stream.end().and_then(|()| drain(&mut stream)) {
        return (events, Err(e));
    }
    (events, stream.finish())
}

/// Feeds `bytes` cut at `cuts` without taking a single event, ends, and only then drains:
/// every event must still come out, in order.
fn run_end_before_draining(
    t: &Transcript,
    cuts: &[usize],
) -> (Vec<String>, Result<Completion, Error>) {
    let accumulator = Accumulator::new(t.protocol).cumulative(t.cumulative);
    let mut stream = StreamDecoder::from_accumulator(accumulator);
    let mut start = 0;
    for &cut in cuts.iter().chain([&t.bytes.len()]) {
        stream.feed(&t.bytes[start..cut]);
        start = cut;
    }
    let mut events = Vec::new();
    let drained = stream.end().and_then(|()| {
        loop {
            match stream.next_event()? {
                Some(e) => events.push(render_event(&e)),
                None => break Ok(()),
            }
        }
    });
    if let Err(e) = drained {
        return (events, Err(e));
    }
    (events, stream.finish())
}

pub(crate) fn render_event(e: &StreamEvent<'_>) -> String {
    match e {
        StreamEvent::Reasoning(t) => format!("reasoning:{t}"),
        StreamEvent::Content(t) => format!("content:{t}"),
        StreamEvent::ToolCallStart { index, id, name } => format!("start:{index}:{id}:{name}"),
        StreamEvent::ToolCallArguments { index, fragment } => format!("args:{index}:{fragment}"),
        StreamEvent::Usage(u) => format!("usage:{u:?}"),
        StreamEvent::Finish(r) => format!("finish:{r}"),
        other => format!("{other:?}"),
    }
}

/// The events must add up to the completion they came with.
fn check_events_add_up(name: &str, events: &[String], outcome: &Result<Completion, Error>) {
    let Some(c) = outcome
        .as_ref()
        .ok()
        .or_else(|| outcome.as_ref().err().and_then(Error::partial))
    else {
        return;
    };
    let joined = |prefix: &str| -> String {
        events
            .iter()
            .filter_map(|e| e.strip_prefix(prefix))
            .collect()
    };
    assert_eq!(joined("reasoning:"), c.message.reasoning_content, "{name}");
    assert_eq!(joined("content:"), c.message.content, "{name}");
    for call in &c.message.tool_calls {
        assert_eq!(
            joined(&format!("args:{}:", call.index)),
            call.arguments,
            "{name}"
        );
    }
}

#[test]
fn each_transcript_whole_gives_its_expected_outcome() {
    for t in transcripts() {
        let (events, outcome) = run(&t, &[]);
        assert_eq!(outcome::of(&outcome), t.expected(), "{}", t.name);
        check_events_add_up(&t.name, &events, &outcome);
    }
}

#[test]
fn each_transcript_one_byte_at_a_time_and_at_every_two_way_split() {
    for t in transcripts() {
        let whole = run(&t, &[]);
        let bytewise: Vec<usize> = (1..t.bytes.len()).collect();
        let (events, outcome) = run(&t, &bytewise);
        assert_eq!(events, whole.0, "{}", t.name);
        assert_eq!(outcome, whole.1, "{}", t.name);
        for cut in 1..t.bytes.len() {
            let (events, outcome) = run(&t, &[cut]);
            assert_eq!(
                (&events, &outcome),
                (&whole.0, &whole.1),
                "{} cut at {cut}",
                t.name
            );
        }
    }
}

/// `end` only marks the end: feeding everything, ending, then draining gives the same
/// events and outcome as draining after every feed, at every two-way split.
#[test]
fn ending_before_draining_loses_no_event() {
    let mut with_events = 0;
    for t in transcripts() {
        let drained_as_fed = run(&t, &[]);
        with_events += usize::from(!drained_as_fed.0.is_empty());
        for cut in 0..=t.bytes.len() {
            let cuts = [cut];
            let expected = run(&t, &cuts);
            assert_eq!(expected, drained_as_fed, "{} cut at {cut}", t.name);
            assert_eq!(
                run_end_before_draining(&t, &cuts),
                expected,
                "{} cut at {cut}",
                t.name
            );
        }
    }
    assert!(
        with_events >= 10,
        "only {with_events} transcripts give events"
    );
}

#[test]
fn request_ids_and_partials_survive() {
    let all = transcripts();
    let get = |name: &str| all.iter().find(|t| t.name == name).unwrap();
    let (_, ok) = run(get("native_thinking"), &[]);
    assert_eq!(
        ok.unwrap().request_id.as_deref(),
        Some("5c0a7e1b-3f2d-9a41-b8c6-0d2e4f6a8b10")
    );
    let (_, err) = run(get("native_error_midstream"), &[]);
    let err = err.unwrap_err();
    assert_eq!(
        err.request_id(),
        Some("c3d40000-0000-4000-8000-000000000005")
    );
    assert_eq!(err.partial().unwrap().message.content, "Here is");
    let (_, err) = run(get("openai_error_midstream"), &[]);
    assert_eq!(
        err.unwrap_err().partial().unwrap().message.content,
        "Partial"
    );
    let (_, err) = run(get("openai_interrupted"), &[]);
    assert_eq!(
        err.unwrap_err().partial().unwrap().message.content,
        "The answer is"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_splits_give_the_same_events_and_outcome(
        which in 0usize..64,
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..12),
    ) {
        let all = transcripts();
        let t = &all[which % all.len()];
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(t.bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let whole = run(t, &[]);
        let split = run(t, &cuts);
        prop_assert_eq!(split.0, whole.0);
        prop_assert_eq!(split.1, whole.1);
    }
}

#[test]
fn legacy_framing_streams_each_event_as_the_next_one_starts() {
    let all = transcripts();
    let t = all
        .iter()
        .find(|t| t.name == "native_legacy_framing")
        .unwrap();
    let mut stream = StreamDecoder::new(Protocol::DashScope);
    // Everything but the last event: "Hel" and "lo" must be out before the end.
    let last = t.bytes.windows(5).rposition(|w| w == b"id:3\n").unwrap();
    stream.feed(&t.bytes[..last + 5]);
    let mut content = String::new();
    while let Some(e) = stream.next_event().unwrap() {
        if let StreamEvent::Content(text) = e {
            content.push_str(text);
        }
    }
    assert_eq!(content, "Hello");
    stream.feed(&t.bytes[last + 5..]);
    assert_eq!(
        stream.finish().unwrap().finish_reason,
        Some(dashscope_glm::chat::FinishReason::Stop)
    );
}

/// `event:error` and `event: error` are both error events, and `data:{...}`
/// and `data: {...}` both parse.
#[test]
fn fields_with_and_without_the_space_after_the_colon() {
    for body in [
        "id:1\nevent:error\n:HTTP_STATUS/429\ndata:{\"code\":\"Throttling\",\"message\":\"m\"}\n\n",
        "id: 1\nevent: error\n: HTTP_STATUS/429\ndata: {\"code\":\"Throttling\",\"message\":\"m\"}\n\n",
    ] {
        let mut stream = StreamDecoder::new(Protocol::DashScope);
        stream.feed(body.as_bytes());
        let err = stream.next_event().unwrap_err();
        assert!(
            err.kind() == ErrorKind::Stream
                && err.api().is_some_and(
                    |api| api.status == Some(429) && api.code.as_deref() == Some("Throttling")
                ),
            "{body:?}: {err:?}"
        );
    }
}

/// After an error the stream is fused: it returns the same error, never more events.
#[test]
fn after_an_error_the_stream_repeats_it() {
    let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    stream.feed(b"data: {not json}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n");
    let first = stream.next_event().unwrap_err();
    assert_eq!(stream.next_event().unwrap_err(), first);
    assert_eq!(stream.finish().unwrap_err(), first);
}

/// Fused even when no more input comes: the error is repeated, never `Ok(None)`.
#[test]
fn after_an_error_the_stream_repeats_it_without_more_input() {
    let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    stream.feed(b"data: {not json}\n\n");
    let first = stream.next_event().unwrap_err();
    assert_eq!(stream.next_event().unwrap_err(), first);
    stream.feed(b"data: {\"choices\":[]}\n\n");
    assert_eq!(stream.next_event().unwrap_err(), first);
    assert_eq!(
        stream.end().and_then(|()| stream.finish()).unwrap_err(),
        first
    );
}
