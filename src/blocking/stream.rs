//! [`ChatStream`]: one streaming response, read from the socket only when asked.
//!
//! The reading, decoding and end handling live in [`EventReader`]; this is that reader
//! over ureq's body reader, plus what is HTTP's: the request id header, ureq's
//! timeouts, a JSON body where a stream was asked for, recording and logging.

use std::fmt;
use std::io::{self, Read, Write};

use crate::blocking::response::{
    Started, completion_from_body, merge_whole_json, read_error, timeout_kind,
};
use crate::chat::reader::{Hooks, StreamEnd};
use crate::chat::{Completion, EventReader, OwnedStreamEvent, StreamDecoder, StreamEvent};
use crate::error::{Error, ErrorKind, LimitKind, TimeoutKind};

/// The most body bytes read after `data: [DONE]` to reach the end of the body, so that
/// ureq can return the connection to its pool: a server sends nothing but the chunked
/// terminator there (framing, not body) or a comment; a longer tail is not worth
/// reading for the connection's sake.
const DRAIN_TAIL_BYTES: usize = 64 * 1024;

/// One streaming response. Pull events with [`next_event`](ChatStream::next_event)
/// (borrowed, no allocation) or iterate [`OwnedStreamEvent`]s; end with
/// [`finish`](ChatStream::finish) for the [`Completion`].
///
/// It is a [`chat::EventReader`](crate::chat::EventReader) over ureq's body reader: the
/// socket is read only inside `next_event` (and `finish`), into one reused buffer
/// (16 KiB by default): a slow consumer holds at most that buffer plus the decoder's
/// state, and the server is slowed by TCP flow control.
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
/// ([`ErrorKind::Timeout`], likewise). After any error the stream is fused: the same error
/// comes back (sharing its [partial completion](Error::partial), not copying it) and
/// the socket is not read again; the iterator yields the error once and then `None`.
/// Nothing is retried once the response has started.
///
/// Before the first event you can ask for more: [`record_to`](ChatStream::record_to)
/// tees the raw body to a writer (a replay fixture, a bug report), which makes a
/// `ChatStream<W>` that hands the writer back at the end, and
/// [`set_track_arguments`](ChatStream::set_track_arguments) parses tool-call arguments as they
/// stream ([`tool_arguments`](ChatStream::tool_arguments)). Both see the whole body when
/// set before the first [`next_event`](ChatStream::next_event), because
/// [`Client::stream`](crate::blocking::Client::stream) returns once the headers are in
/// and reads no body byte itself.
///
/// At the end of the stream, the finish reason, usage, body bytes read and events
/// delivered are logged at debug level through the [`log`](https://docs.rs/log) facade
/// (target `dashscope_glm::blocking::stream`); message text is never logged.
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
    reader: EventReader<ureq::BodyReader<'static>>,
    json_body: bool,
    max_body_bytes: usize,
    request_id: Option<String>,
    /// Requests sent for the call: every error says it.
    attempts: u32,
    iter_fused: bool,
    hooks: Transport<W>,
}

/// What the stream does as the body goes by: tee it to the writer, log its end.
struct Transport<W> {
    writer: W,
    /// The first write or flush error; teeing stopped there.
    error: Option<io::Error>,
    /// Whether the writer was flushed at the end of the body.
    flushed: bool,
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
        if self.error.is_none() && !bytes.is_empty() {
            if let Err(e) = self.writer.write_all(bytes) {
                self.error = Some(e);
            }
        }
    }

    fn body_end(&mut self) {
        self.flush();
    }

    fn stream_end(&mut self, end: &StreamEnd<'_>) {
        log_stream_end(end);
    }
}

/// Logs the end of a stream at debug level: never message text (an error's display
/// may quote the body, so only its kind is logged).
fn log_stream_end(end: &StreamEnd<'_>) {
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
    log::debug!(
        "stream {outcome}: finish_reason={:?} usage={:?} bytes={} events={} request_id={:?}",
        c.finish_reason.as_ref().map(|r| r.as_str()),
        c.usage,
        end.bytes_read,
        end.events,
        c.request_id,
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

/// Which of ureq's read errors are timeouts, and of which kind.
fn ureq_timeout(e: &io::Error) -> Option<TimeoutKind> {
    match e.get_ref()?.downcast_ref::<ureq::Error>()? {
        ureq::Error::Timeout(t) => Some(timeout_kind(*t)),
        _ => None,
    }
}

impl ChatStream {
    pub(crate) fn new(
        started: Started,
        decoder: StreamDecoder,
        read_buffer: usize,
        max_body_bytes: usize,
    ) -> Self {
        Self {
            // Past `[DONE]` the body is read to its end (a bounded tail) only when
            // the connection can then go back to ureq's pool.
            reader: EventReader::from_decoder(started.body.into_reader(), decoder)
                .read_buffer(read_buffer)
                .timeouts(ureq_timeout)
                .drain_tail(started.reusable.then_some(DRAIN_TAIL_BYTES)),
            json_body: started.json_body,
            max_body_bytes,
            request_id: started.request_id,
            attempts: started.attempts,
            iter_fused: false,
            hooks: Transport {
                writer: io::sink(),
                error: None,
                flushed: false,
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
            hooks: Transport {
                writer,
                error: None,
                flushed: false,
            },
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
    /// being written. Set it before the first [`next_event`](ChatStream::next_event);
    /// tool calls that opened before it are not tracked. See
    /// [`Accumulator::track_arguments`](crate::chat::Accumulator::track_arguments) for
    /// the cost and for arguments that stop being valid JSON.
    ///
    /// # Example
    ///
    /// See [`tool_arguments`](ChatStream::tool_arguments).
    pub fn set_track_arguments(&mut self, track: bool) {
        self.reader
            .decoder_mut()
            .accumulator_mut()
            .set_track_arguments(track);
    }

    /// The arguments of the tool call at `index` parsed so far (the best value, rooted
    /// at the document root), when [`set_track_arguments`](ChatStream::set_track_arguments) is
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
    /// let mut stream = client.stream(&ChatRequest::new("glm-5").user("Weather in Beijing?"))?;
    /// stream.set_track_arguments(true);
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
        if self.json_body {
            if let Some(body) = self.reader.take_reader() {
                if let Err(e) = self.read_json_body(body) {
                    return Err(self.reader.fail(e, &mut self.hooks).with_attempts(attempts));
                }
            }
        }
        self.reader
            .next_event_with(&mut self.hooks)
            .map_err(|e| e.with_attempts(attempts))
    }

    /// A JSON body where a stream was expected (a gateway answering without SSE): read
    /// it whole and merge it as one chunk.
    fn read_json_body(&mut self, body: ureq::BodyReader<'static>) -> Result<(), Error> {
        let limit = u64::try_from(self.max_body_bytes).unwrap_or(u64::MAX);
        let mut bytes = Vec::new();
        let read = body.take(limit.saturating_add(1)).read_to_end(&mut bytes);
        self.reader.body_read_outside(bytes.len());
        self.hooks.bytes(&bytes);
        self.hooks.body_end();
        if let Err(e) = read {
            return Err(read_error(e, self.request_id.as_deref(), None));
        }
        if bytes.len() > self.max_body_bytes {
            return Err(
                Error::limit_exceeded(LimitKind::BodyBytes, self.max_body_bytes)
                    .with_request_id(self.request_id.as_deref()),
            );
        }
        let text = String::from_utf8_lossy(&bytes);
        let decoder = self.reader.decoder_mut();
        // Validate the whole body the non-streaming way first, for its error.
        completion_from_body(
            decoder.accumulator().protocol(),
            &text,
            self.request_id.as_deref(),
        )?;
        // Nothing was fed to the SSE side: ending it now keeps `finish` from looking
        // for a last event there.
        decoder.end()?;
        merge_whole_json(decoder.accumulator_mut(), &text)
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
        self.reader
            .finish_in_place(&mut self.hooks)
            .map_err(|e| e.with_attempts(attempts))
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
