//! [`ChatStream`]: one streaming response, read from the socket only when asked.
//!
//! The reading, decoding and end handling live in [`BodyReader`], over ureq's body
//! reader; this adds the request id header, a JSON body where a stream was asked for,
//! the cancel token, recording, timings and logging.

use std::fmt;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use crate::blocking::body::{BodyReader, Hooks, ReadFailure, StreamEnd};
use crate::blocking::cancel::CancelToken;
use crate::blocking::response::{Started, read_whole_body, since, timeout_kind};
use crate::blocking::transport::{CallContext, CallReader, is_cancel};
use crate::chat::{Completion, OwnedStreamEvent, StreamDecoder, StreamEvent, Timings};
use crate::error::{Error, ErrorKind};

/// The most body bytes read after `data: [DONE]` to reach the end of the body, so that
/// ureq can return the connection to its pool: a server sends nothing but the chunked
/// terminator there (framing, not body) or a comment; a longer tail is not worth
/// reading for the connection's sake.
const DRAIN_TAIL_BYTES: usize = 64 * 1024;

/// One streaming response. Pull events with [`next_event`](ChatStream::next_event)
/// (borrowed, no allocation) or iterate [`OwnedStreamEvent`]s; end with
/// [`finish`](ChatStream::finish) for the [`Completion`].
///
/// It reads ureq's body reader as a [`chat::EventReader`](crate::chat::EventReader)
/// reads any `Read`, through [`StreamDecoder`]'s two phases: the socket is read only
/// inside `next_event` (and `finish`), into one reused buffer (16 KiB by default): a
/// slow consumer holds at most that buffer plus the decoder's state, and the server is
/// slowed by TCP flow control.
///
/// Once the answer is complete the connection goes back to the client's pool for the
/// next request: a native body is read to its end, and after `data: [DONE]` what is
/// left of the body (the chunked terminator, at most 64 KiB) is read and discarded.
/// Dropping the stream before that closes the connection: it never goes back to the
/// pool half-read.
///
/// A stream ends in one of three ways: cleanly (`Ok(None)` after the server's finish
/// reason or `[DONE]`), with an error the server sent ([`ErrorKind::Stream`]), or cut
/// short — the body ended or broke off before the server said it was finished
/// ([`ErrorKind::Interrupted`], carrying everything received), or a timeout
/// ([`ErrorKind::Timeout`], likewise) — or the caller stops it: a
/// [`cancel`](CancelToken::cancel) of its [`cancel_token`](ChatStream::cancel_token),
/// from any thread, ends a blocked read at once ([`ErrorKind::Cancelled`], carrying
/// everything merged). After any error the stream is fused: the same error
/// comes back (sharing its [partial completion](Error::partial), not copying it) and
/// the socket is not read again; the iterator yields the error once and then `None`.
/// Nothing is retried once the response has started.
///
/// [`timings`](ChatStream::timings) says when each step happened (the response head,
/// the first body byte, the first reasoning and answer text, the end), as the stream
/// goes; [`finish`](ChatStream::finish) puts them in [`Completion::timings`].
///
/// Before the first event you can ask for more: [`record_to`](ChatStream::record_to)
/// tees the raw body to a writer (a replay fixture, a bug report), which makes a
/// `ChatStream<W>` that hands the writer back at the end, and
/// [`track_arguments`](ChatStream::track_arguments) parses tool-call arguments as they
/// stream ([`tool_arguments`](ChatStream::tool_arguments)). Both take the stream and
/// give it back (they set up how the body is read, as the chat layer's settings are
/// given when a decoder is made, so neither has a `set_` form), and both see the whole
/// body when given before the first [`next_event`](ChatStream::next_event), because
/// [`Client::stream`](crate::blocking::Client::stream) returns once the headers are in
/// and reads no body byte itself.
///
/// At the end of the stream, the finish reason, usage, body bytes read, events
/// delivered, time to the first token, total time and requests sent are logged at debug
/// level through the [`log`](https://docs.rs/log) facade (target
/// `dashscope_glm::blocking::stream`); message text is never logged.
///
/// # Example
///
/// This example iterates owned events, which outlive the stream, from a local
/// [`ReplayServer`](crate::testing::ReplayServer); [`next_event`](ChatStream::next_event)
/// lends the same events without allocating.
///
/// ```
/// use dashscope_glm::blocking::Client;
/// use dashscope_glm::chat::{ChatRequest, FinishReason, OwnedStreamEvent};
/// use dashscope_glm::testing::{ReplayServer, Reply};
///
/// let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
/// let server = ReplayServer::start(Reply::sse(body))?;
/// let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
///
/// let stream = client.stream(&ChatRequest::new("glm-5").user("Hello"))?;
/// let events = stream.collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(events, [
///     OwnedStreamEvent::Content("Hi".into()),
///     OwnedStreamEvent::Finish(FinishReason::Stop),
/// ]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ChatStream<W = io::Sink> {
    /// Every read inside the call's scope, so that the client's transport sees the
    /// token; refused once the token is cancelled.
    reader: BodyReader<CallReader<ureq::BodyReader<'static>>>,
    json_body: bool,
    max_body_bytes: usize,
    request_id: Option<String>,
    /// Requests sent for the call: every error says it.
    attempts: u32,
    iter_fused: bool,
    /// The call's token: the caller's, or one of the stream's own.
    token: CancelToken,
    hooks: Transport<W>,
}

/// What the stream does as the body goes by: tee it to the writer, time it, log its
/// end.
struct Transport<W> {
    writer: W,
    /// The first write or flush error; teeing stopped there.
    error: Option<io::Error>,
    /// Whether the writer was flushed at the end of the body.
    flushed: bool,
    clock: Clock,
}

/// The stream's [`Timings`], and what they are measured from.
struct Clock {
    timings: Timings,
    /// The call's start: before validation and the first request.
    start: Instant,
    /// The last attempt, whose first body byte the transport records.
    call: CallContext,
}

impl Clock {
    fn since_start(&self) -> Duration {
        since(self.start, Instant::now())
    }

    /// Notes the first text of each kind, as the merger hands it out.
    fn saw(&mut self, event: &StreamEvent<'_>) {
        let slot = match event {
            StreamEvent::Reasoning(_) => &mut self.timings.first_reasoning,
            StreamEvent::Content(_) => &mut self.timings.first_content,
            StreamEvent::ToolCallStart { .. } | StreamEvent::ToolCallArguments { .. } => {
                &mut self.timings.first_tool_call
            }
            StreamEvent::Usage(_) | StreamEvent::Finish(_) => return,
        };
        if slot.is_none() {
            *slot = Some(since(self.start, Instant::now()));
        }
    }
}

impl<W> Transport<W> {
    fn with_writer<V>(self, writer: V) -> Transport<V> {
        Transport {
            writer,
            error: None,
            flushed: false,
            clock: self.clock,
        }
    }
}

impl<W: Write> Transport<W> {
    fn flush(&mut self) {
        self.flushed = true;
        if self.error.is_none() {
            if let Err(e) = self.writer.flush() {
                self.error = Some(e);
            }
        }
    }

    fn into_recording(mut self) -> Recording<W> {
        if !self.flushed {
            self.flush();
        }
        Recording {
            writer: self.writer,
            error: self.error,
        }
    }
}

impl<W: Write> Hooks for Transport<W> {
    fn bytes(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let clock = &mut self.clock;
        if clock.timings.first_byte.is_none() {
            // As the transport saw it (a JSON body comes here whole, once read).
            clock.timings.first_byte = clock
                .call
                .first_body_byte_at()
                .map(|at| since(clock.start, at));
        }
        if self.error.is_none() {
            if let Err(e) = self.writer.write_all(bytes) {
                self.error = Some(e);
            }
        }
    }

    fn body_end(&mut self) {
        self.flush();
    }

    fn stream_end(&mut self, end: &StreamEnd<'_>) {
        if self.clock.timings.end.is_none() {
            self.clock.timings.end = Some(self.clock.since_start());
        }
        log_stream_end(end, &self.clock.timings);
    }
}

/// Logs the end of a stream at debug level: never message text (an error's display
/// may quote the body, so only its kind is logged). Durations are milliseconds from the
/// call's start, `-` where there is none (no text or tool call came).
fn log_stream_end(end: &StreamEnd<'_>, timings: &Timings) {
    let c = end.completion;
    let outcome = match end.error.map(Error::kind) {
        None => "finished",
        Some(ErrorKind::Stream) => "failed: api error",
        Some(ErrorKind::Malformed) => "failed: malformed chunk",
        Some(ErrorKind::Interrupted) => "failed: interrupted",
        Some(ErrorKind::Timeout) => "failed: timeout",
        Some(ErrorKind::Sse) => "failed: event stream framing",
        Some(ErrorKind::Limit) => "failed: limit exceeded",
        Some(ErrorKind::Cancelled) => "cancelled",
        Some(_) => "failed",
    };
    let ms = |d: Option<Duration>| {
        d.map_or_else(
            || "-".to_owned(),
            |d| format!("{:.1}", d.as_secs_f64() * 1e3),
        )
    };
    log::debug!(
        "stream {outcome}: finish_reason={:?} usage={:?} bytes={} events={} request_id={:?} first_token_ms={} total_ms={} requests={}",
        c.finish_reason.as_ref().map(|r| r.as_str()),
        c.usage,
        end.bytes_read,
        end.events,
        c.request_id,
        ms(timings.first_token()),
        ms(timings.end),
        timings.requests,
    );
}

/// The writer given to [`ChatStream::record_to`], handed back by
/// [`finish_recording`](ChatStream::finish_recording) or
/// [`into_recording`](ChatStream::into_recording), with the error that stopped the
/// recording, if any.
///
/// # Example
///
/// See [`ChatStream::record_to`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Recording<W> {
    /// The writer, flushed.
    pub writer: W,
    /// The first write or flush error: teeing stopped there, and the writer may hold
    /// part of the last piece. `None` when the recording is the whole body read.
    pub error: Option<io::Error>,
}

impl<W> fmt::Debug for ChatStream<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("request_id", &self.request_id)
            .field("reader", &self.reader)
            .field("recording_error", &self.hooks.error)
            .finish_non_exhaustive()
    }
}

/// What a read error of the body means: the cancel first (a read the cancel cut can
/// fail in any way), then ureq's timeouts; anything else broke the body off.
fn classify(e: &io::Error) -> ReadFailure {
    if is_cancel(e) {
        return ReadFailure::Cancelled;
    }
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
    {
        Some(ureq::Error::Timeout(t)) => ReadFailure::Timeout(timeout_kind(*t)),
        _ => ReadFailure::Broken,
    }
}

impl ChatStream {
    pub(crate) fn new(
        started: Started,
        decoder: StreamDecoder,
        read_buffer: usize,
        max_body_bytes: usize,
        token: CancelToken,
    ) -> Self {
        let timings = started.timings();
        // The caller's token guarded the request already; a stream started without one
        // is guarded by its own from here.
        let call = started.call.with_token(token.clone());
        let body = call.reader(started.body.into_reader());
        Self {
            // Past `[DONE]` the body is read to its end (a bounded tail) only when
            // the connection can then go back to ureq's pool.
            reader: BodyReader::new(
                body,
                decoder,
                read_buffer,
                classify,
                started.reusable.then_some(DRAIN_TAIL_BYTES),
            ),
            json_body: started.json_body,
            max_body_bytes,
            request_id: started.request_id,
            attempts: started.attempts,
            iter_fused: false,
            token,
            hooks: Transport {
                writer: io::sink(),
                error: None,
                flushed: false,
                clock: Clock {
                    timings,
                    start: started.call_start,
                    call,
                },
            },
        }
    }

    /// Tees every body byte read from now on to `writer`, exactly as the client reads
    /// it: after HTTP framing (chunked transfer encoding removed) and before any
    /// decoding, so the recording is the body the server sent — what
    /// [`StreamDecoder`], the `replay` example and
    /// [`testing::Reply::sse_file`](crate::testing::Reply::sse_file) take back. Call it
    /// before the first [`next_event`](ChatStream::next_event) to record the whole body:
    /// the stream has read nothing until then.
    ///
    /// The stream owns the writer and hands it back, flushed, in a [`Recording`]:
    /// [`finish_recording`](ChatStream::finish_recording) reads the rest and gives the
    /// completion with it, [`into_recording`](ChatStream::into_recording) stops where
    /// the stream is. [`finish`](ChatStream::finish), or dropping the stream, drops the
    /// writer (flushed when the body ended).
    ///
    /// A failed write or flush never fails the stream: teeing stops there (the writer
    /// may hold part of the last piece), the stream goes on, and the error is in
    /// [`recording_error`](ChatStream::recording_error) and in the [`Recording`].
    /// Check it before you trust a recording.
    ///
    /// # Example
    ///
    /// This example records a stream served by a local [`ReplayServer`] and checks that
    /// the recording is the body, byte for byte. For a file, pass
    /// `std::fs::File::create("turn1.sse")?`.
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::testing::{ReplayServer, Reply, Split};
    /// use dashscope_glm::chat::ChatRequest;
    ///
    /// let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    /// let server = ReplayServer::start(Reply::sse(body).split(Split::Every(10)))?;
    /// let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
    ///
    /// let mut stream = client.stream(&ChatRequest::new("glm-5").user("Hello"))?.record_to(Vec::new());
    /// while stream.next_event()?.is_some() {}
    /// let (completion, recording) = stream.finish_recording();
    /// assert_eq!(completion?.message.content, "Hi");
    /// assert!(recording.error.is_none());
    /// assert_eq!(recording.writer, body.as_bytes());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`StreamDecoder`]: crate::chat::StreamDecoder
    /// [`ReplayServer`]: crate::testing::ReplayServer
    pub fn record_to<W: Write>(self, writer: W) -> ChatStream<W> {
        ChatStream {
            reader: self.reader,
            json_body: self.json_body,
            max_body_bytes: self.max_body_bytes,
            request_id: self.request_id,
            attempts: self.attempts,
            iter_fused: self.iter_fused,
            token: self.token,
            hooks: self.hooks.with_writer(writer),
        }
    }
}

impl<W: Write> ChatStream<W> {
    /// The error that stopped the recording, if a write to (or a flush of) the writer
    /// given to [`record_to`](ChatStream::record_to) failed. The stream itself is not
    /// affected. The writer is flushed when the body ends, so once
    /// [`next_event`](ChatStream::next_event) returned `Ok(None)` or an error, this is
    /// final.
    ///
    /// # Example
    ///
    /// This example records into a writer that refuses everything: the stream still
    /// gives the whole answer, and the error is reported here.
    ///
    /// ```
    /// use std::io::{self, Write};
    ///
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::ChatRequest;
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// struct Full;
    /// impl Write for Full {
    ///     fn write(&mut self, _: &[u8]) -> io::Result<usize> {
    ///         Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
    ///     }
    ///     fn flush(&mut self) -> io::Result<()> {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n";
    /// let server = ReplayServer::start(Reply::sse(body))?;
    /// let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
    ///
    /// let mut stream = client.stream(&ChatRequest::new("glm-5").user("Hello"))?.record_to(Full);
    /// while stream.next_event()?.is_some() {}
    /// assert_eq!(stream.recording_error().unwrap().kind(), io::ErrorKind::StorageFull);
    /// assert_eq!(stream.finish()?.message.content, "Hi");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recording_error(&self) -> Option<&io::Error> {
        self.hooks.error.as_ref()
    }

    /// Reads and merges the rest of the stream, like [`finish`](ChatStream::finish),
    /// and hands back the writer given to [`record_to`](ChatStream::record_to), flushed,
    /// with the error that stopped the recording, if any.
    ///
    /// # Example
    ///
    /// See [`record_to`](ChatStream::record_to).
    pub fn finish_recording(mut self) -> (Result<Completion, Error>, Recording<W>) {
        let result = self.finish_in_place();
        let Self { reader, hooks, .. } = self;
        drop(reader);
        (result, hooks.into_recording())
    }

    /// Stops here: closes the connection, unread, and hands back the writer given to
    /// [`record_to`](ChatStream::record_to), flushed, with what was recorded so far and
    /// the error that stopped the recording, if any.
    ///
    /// # Example
    ///
    /// This example keeps the first events and lets the rest go.
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::ChatRequest;
    /// use dashscope_glm::testing::{ReplayServer, Reply, Split};
    ///
    /// let event = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
    /// let server = ReplayServer::start(Reply::sse(event.repeat(3)).split(Split::PerEvent))?;
    /// let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
    ///
    /// let mut stream = client.stream(&ChatRequest::new("glm-5").user("Hello"))?.record_to(Vec::new());
    /// stream.next_event()?;
    /// let recording = stream.into_recording();
    /// assert!(recording.writer.starts_with(event.as_bytes()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_recording(self) -> Recording<W> {
        let Self { reader, hooks, .. } = self;
        drop(reader);
        hooks.into_recording()
    }

    /// Parses each tool call's arguments as they stream (off by default), for
    /// [`tool_arguments`](ChatStream::tool_arguments): a form that fills in, a file
    /// being written. Give it before the first [`next_event`](ChatStream::next_event);
    /// tool calls that opened before it are not tracked. See
    /// [`Accumulator::track_arguments`](crate::chat::Accumulator::track_arguments) for
    /// the cost and for arguments that stop being valid JSON.
    ///
    /// # Example
    ///
    /// See [`tool_arguments`](ChatStream::tool_arguments).
    #[must_use]
    pub fn track_arguments(mut self, track: bool) -> Self {
        self.reader
            .decoder_mut()
            .accumulator_mut()
            .set_track_arguments(track);
        self
    }

    /// The arguments of the tool call at `index` parsed so far (the best value, rooted
    /// at the document root), when [`track_arguments`](ChatStream::track_arguments) is
    /// on: `{"city":"Bei"}` while `{"city": "Beijing"}` streams in. In-progress strings
    /// show their decoded prefix; in-progress numbers, literals and keys are not shown.
    ///
    /// # Example
    ///
    /// This example prints the arguments as they fill in, fragment by fragment.
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::{ChatRequest, StreamEvent};
    /// use dashscope_glm::testing::{ReplayServer, Reply, Split};
    ///
    /// let chunk = |args: &str| format!(
    ///     "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"id\":\"call_1\",\"function\":{{\"name\":\"get_weather\",\"arguments\":{}}}}}]}}}}]}}\n\n",
    ///     serde_json::to_string(args).unwrap(),
    /// );
    /// let body = [chunk("{\"city\": \"Bei"), chunk("jing\"}")].concat()
    ///     + "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n";
    /// let server = ReplayServer::start(Reply::sse(body).split(Split::PerEvent))?;
    /// let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
    ///
    /// let mut stream = client
    ///     .stream(&ChatRequest::new("glm-5").user("Weather in Beijing?"))?
    ///     .track_arguments(true);
    /// let mut seen = Vec::new();
    /// while let Some(event) = stream.next_event()? {
    ///     if let StreamEvent::ToolCallArguments { index, .. } = event {
    ///         seen.push(stream.tool_arguments(index).cloned());
    ///     }
    /// }
    /// assert_eq!(seen, [
    ///     Some(serde_json::json!({"city": "Bei"})),
    ///     Some(serde_json::json!({"city": "Beijing"})),
    /// ]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tool_arguments(&self, index: usize) -> Option<&serde_json::Value> {
        self.reader.decoder().accumulator().tool_arguments(index)
    }

    /// The [`PartialJson`](crate::json::PartialJson) following the arguments of the tool
    /// call at `index`, when tracking is on (see
    /// [`Accumulator::arguments_tracker`](crate::chat::Accumulator::arguments_tracker)).
    ///
    /// # Example
    ///
    /// This example shows that nothing is tracked unless asked for.
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::ChatRequest;
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n";
    /// let server = ReplayServer::start(Reply::sse(body))?;
    /// let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
    /// let mut stream = client.stream(&ChatRequest::new("glm-5").user("Hi"))?;
    /// while stream.next_event()?.is_some() {}
    /// assert!(stream.arguments_tracker(0).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn arguments_tracker(&self, index: usize) -> Option<&crate::json::PartialJson> {
        self.reader.decoder().accumulator().arguments_tracker(index)
    }

    /// The request id: the `x-request-id` header, else the first one in the body.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id
            .as_deref()
            .or(self.reader.completion().request_id.as_deref())
    }

    /// Everything merged so far.
    pub fn completion(&self) -> &Completion {
        self.reader.completion()
    }

    /// The next event, reading the socket as needed; `Ok(None)` once the stream has
    /// finished and every event was taken.
    ///
    /// Nothing past `data: [DONE]` is decoded. When the server keeps the connection
    /// open (no `connection: close`, a chunked or `content-length` body), the rest of
    /// the body is read there, at most 64 KiB, so that the connection can carry the next
    /// request; a tail that runs longer, breaks off or stalls past the idle timeout
    /// ends the stream normally all the same, and that connection is closed. Once the
    /// server gave a finish reason, a body that then breaks off or stalls past the idle
    /// timeout ends the stream normally: the answer is complete (a usage chunk that
    /// would have followed is then missing).
    ///
    /// # Errors
    ///
    /// An in-band API error, a malformed chunk, a framing error, a limit,
    /// [`ErrorKind::Interrupted`] when the body ends or breaks off before the stream
    /// finished, [`ErrorKind::Timeout`]. Each carries what was merged so far. Later calls
    /// return the same error without reading; its partial completion is shared with the
    /// first (an `Arc`), not copied again.
    ///
    /// # Example
    ///
    /// This example shows a body that breaks off before the server said it finished:
    /// the text that came is shown as it arrives, and the error carries it too.
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::{ChatRequest, StreamEvent};
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    /// use dashscope_glm::ErrorKind;
    ///
    /// let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n";
    /// let server = ReplayServer::start(Reply::sse(body))?;
    /// let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
    ///
    /// let mut stream = client.stream(&ChatRequest::new("glm-5").user("Say hello"))?;
    /// let mut shown = String::new();
    /// let err = loop {
    ///     match stream.next_event() {
    ///         Ok(Some(StreamEvent::Content(text))) => shown.push_str(text),
    ///         Ok(Some(_)) => {}
    ///         Ok(None) => panic!("the server never finished"),
    ///         Err(e) => break e,
    ///     }
    /// };
    /// assert_eq!(shown, "Hel");
    /// assert_eq!(err.kind(), ErrorKind::Interrupted);
    /// assert_eq!(err.partial().unwrap().message.content, "Hel");
    /// assert_eq!(stream.next_event().unwrap_err(), err);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_event(&mut self) -> Result<Option<StreamEvent<'_>>, Error> {
        let attempts = self.attempts;
        // Cancelled and not over: stop here, also when events are decoded and waiting,
        // so that nothing more is handed out after a stop button.
        if self.token.is_cancelled() && !self.reader.is_over() {
            let e = Error::cancelled_with(Some(self.reader.partial()))
                .with_request_id(self.request_id.as_deref());
            return Err(self.reader.fail(e, &mut self.hooks).with_attempts(attempts));
        }
        if self.json_body {
            if let Some(body) = self.reader.take_reader() {
                if let Err(e) = self.read_json_body(body) {
                    return Err(self.reader.fail(e, &mut self.hooks).with_attempts(attempts));
                }
            }
        }
        let hooks = &mut self.hooks;
        match self.reader.next_event(hooks) {
            Ok(Some(event)) => {
                hooks.clock.saw(&event);
                Ok(Some(event))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e.with_attempts(attempts)),
        }
    }

    /// The token that cancels this stream: the one given to
    /// [`Client::stream_cancellable`](crate::blocking::Client::stream_cancellable), or
    /// the stream's own for one started with
    /// [`Client::stream`](crate::blocking::Client::stream). Clone it and hand it to
    /// another thread (a stop button); [`cancel`](CancelToken::cancel) makes the
    /// blocked or next [`next_event`](ChatStream::next_event) return
    /// [`ErrorKind::Cancelled`] with everything merged so far, and closes the
    /// connection. A stream that has ended is not affected.
    ///
    /// # Example
    ///
    /// This example stops a stream that has stalled after its first event, from
    /// another thread, and keeps what came.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::{ChatRequest, StreamEvent};
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    /// use dashscope_glm::ErrorKind;
    ///
    /// let event = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n";
    /// let server = ReplayServer::start(Reply::sse(event).stall_until_client_closes(event.len(), Duration::from_secs(60)))?;
    /// let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
    ///
    /// let mut stream = client.stream(&ChatRequest::new("glm-5").user("Say hello"))?;
    /// assert_eq!(stream.next_event()?, Some(StreamEvent::Content("Hel")));
    /// let stop = stream.cancel_token().clone();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(Duration::from_millis(20));
    ///     stop.cancel();
    /// });
    /// // Blocked on the stalled body until the cancel.
    /// let err = stream.next_event().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Cancelled);
    /// assert_eq!(err.partial().unwrap().message.content, "Hel");
    /// assert_eq!(stream.next_event().unwrap_err(), err);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel_token(&self) -> &CancelToken {
        &self.token
    }

    /// When each step of the call happened so far, from its start (before the request
    /// was validated and sent): a new connection opening and ready, the request
    /// written, the response head, the first body byte, the first reasoning text, answer
    /// text and tool call as this stream handed them out, and the end once
    /// [`next_event`](ChatStream::next_event) returned `Ok(None)` or an error; and the
    /// requests sent. A step that has not happened is `None`: the connection's two on a
    /// pooled connection, and those and `request_written` with an agent of your own,
    /// whose connections and writes the client does not see. [`finish`](ChatStream::finish) puts the same figures in
    /// [`Completion::timings`].
    ///
    /// # Example
    ///
    /// This example prints the time to the first token and the whole call.
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::ChatRequest;
    /// use dashscope_glm::testing::{ReplayServer, Reply, Split};
    ///
    /// let body = concat!(
    ///     "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"Greet.\"}}]}\n\n",
    ///     "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":\"stop\"}]}\n\n",
    /// );
    /// let server = ReplayServer::start(Reply::sse(body).split(Split::PerEvent))?;
    /// let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
    ///
    /// let mut stream = client.stream(&ChatRequest::new("glm-5").user("Say hello"))?;
    /// assert!(stream.timings().response_head.is_some());
    /// assert_eq!(stream.timings().first_token(), None);
    /// while stream.next_event()?.is_some() {}
    /// let timings = *stream.timings();
    /// println!("first token after {:?}, done after {:?}", timings.first_token(), timings.end);
    /// assert!(timings.first_reasoning <= timings.first_content);
    /// assert!(timings.first_content <= timings.end);
    /// assert_eq!(timings.first_tool_call, None);
    /// assert_eq!(stream.finish()?.timings, Some(timings));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timings(&self) -> &Timings {
        &self.hooks.clock.timings
    }

    /// A JSON body where a stream was expected (a gateway answering without SSE): read
    /// it whole and merge it as one chunk, as the chat layer's decoder takes it.
    fn read_json_body(&mut self, body: CallReader<ureq::BodyReader<'static>>) -> Result<(), Error> {
        let request_id = self.request_id.as_deref();
        // A cancelled stream carries what was merged (nothing, here), as it does from
        // the SSE side.
        let partial = self.reader.completion();
        let (bytes, read) = read_whole_body(body, self.max_body_bytes, request_id, Some(partial));
        self.reader.body_read_outside(bytes.len());
        self.hooks.bytes(&bytes);
        self.hooks.body_end();
        read?;
        self.reader
            .decoder_mut()
            .push_whole_body(&bytes, self.max_body_bytes)
    }

    /// Reads and merges the rest of the stream (events not taken are merged, not lent)
    /// and returns the completion. A writer given to
    /// [`record_to`](ChatStream::record_to) is dropped (see
    /// [`finish_recording`](ChatStream::finish_recording)).
    ///
    /// # Errors
    ///
    /// As [`next_event`](ChatStream::next_event); the error the stream already failed
    /// with, if any.
    pub fn finish(mut self) -> Result<Completion, Error> {
        self.finish_in_place()
    }

    fn finish_in_place(&mut self) -> Result<Completion, Error> {
        while self.next_event()?.is_some() {}
        let attempts = self.attempts;
        let mut completion = self
            .reader
            .finish(&mut self.hooks)
            .map_err(|e| e.with_attempts(attempts))?;
        completion.timings = Some(self.hooks.clock.timings);
        Ok(completion)
    }
}

/// Owned events; after an error, `None` forever (the error is still in
/// [`finish`](ChatStream::finish)).
impl<W: Write> Iterator for ChatStream<W> {
    type Item = Result<OwnedStreamEvent, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.iter_fused {
            return None;
        }
        match self.next_event() {
            Ok(Some(event)) => Some(Ok(event.into_owned())),
            Ok(None) => {
                self.iter_fused = true;
                None
            }
            Err(e) => {
                self.iter_fused = true;
                Some(Err(e))
            }
        }
    }
}

impl<W: Write> std::iter::FusedIterator for ChatStream<W> {}
