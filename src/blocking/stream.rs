//! [`ChatStream`]: one streaming response, read from the socket only when asked.

use std::any::Any;
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::{Mutex, PoisonError};

use crate::blocking::response::{Started, completion_from_body, merge_whole_json, read_error};
use crate::chat::{Completion, OwnedStreamEvent, StreamDecoder, StreamEvent};
use crate::error::Error;

/// Where the stream is.
#[derive(Debug)]
enum Phase {
    /// The body is still being read.
    Reading,
    /// The body ended (or broke off); decoded events may remain.
    Ended,
    /// Finished cleanly and drained.
    Done,
    /// Failed: every later call returns this error, without touching the socket.
    Failed(Error),
}

/// One streaming response. Pull events with [`next_event`](ChatStream::next_event)
/// (borrowed, no allocation) or iterate [`OwnedStreamEvent`]s; end with
/// [`finish`](ChatStream::finish) for the [`Completion`].
///
/// The socket is read only inside `next_event` (and `finish`), into one reused buffer
/// (16 KiB by default): a slow consumer holds at most that buffer plus the decoder's
/// state, and the server is slowed by TCP flow control. Dropping the stream closes the
/// connection.
///
/// A stream ends in one of three ways: cleanly (`Ok(None)` after the server's finish
/// reason or `[DONE]`), with an error the server sent ([`Error::Api`]), or cut short —
/// the body ended or broke off before the server said it was finished
/// ([`Error::Interrupted`], carrying everything received), or a timeout
/// ([`Error::Timeout`], likewise). After any error the stream is fused: the same error
/// comes back and the socket is not read again; the iterator yields the error once and
/// then `None`. Nothing is retried once the response has started.
///
/// Before the first event you can ask for more: [`record_to`](ChatStream::record_to)
/// tees the raw body to a writer (a replay fixture, a bug report), and
/// [`track_arguments`](ChatStream::track_arguments) parses tool-call arguments as they
/// stream ([`tool_arguments`](ChatStream::tool_arguments)). Both see the whole body when
/// set before the first [`next_event`](ChatStream::next_event), because
/// [`Client::stream`](crate::blocking::Client::stream) returns once the headers are in
/// and reads no body byte itself.
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
pub struct ChatStream {
    reader: Option<ureq::BodyReader<'static>>,
    json_body: bool,
    decoder: StreamDecoder,
    buf: Vec<u8>,
    max_body_bytes: usize,
    request_id: Option<String>,
    phase: Phase,
    iter_fused: bool,
    recorder: Option<Recorder>,
}

/// A writer that can be handed back as its own type.
trait Sink: Write + Send {
    fn as_any(&self) -> &dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<W: Write + Send + 'static> Sink for W {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Where [`ChatStream::record_to`] tees the body. The mutex keeps the stream `Sync`
/// with a writer that is only `Send`; it is never locked (every access is through
/// `&mut`).
struct Recorder {
    sink: Mutex<Box<dyn Sink>>,
    /// The first write or flush error; teeing stopped there.
    error: Option<io::Error>,
}

impl Recorder {
    fn sink(&mut self) -> &mut Box<dyn Sink> {
        self.sink.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.error.is_none() && !bytes.is_empty() {
            if let Err(e) = self.sink().write_all(bytes) {
                self.error = Some(e);
            }
        }
    }

    fn flush(&mut self) {
        if self.error.is_none() {
            if let Err(e) = self.sink().flush() {
                self.error = Some(e);
            }
        }
    }
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("request_id", &self.request_id)
            .field("phase", &self.phase)
            .field("connected", &self.reader.is_some())
            .field("recording", &self.recorder.is_some())
            .finish_non_exhaustive()
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
            reader: Some(started.body.into_reader()),
            json_body: started.json_body,
            decoder,
            buf: vec![0; read_buffer],
            max_body_bytes,
            request_id: started.request_id,
            phase: Phase::Reading,
            iter_fused: false,
            recorder: None,
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
    /// The writer is flushed when the body ends (or the stream fails), and dropped with
    /// the stream unless taken back with [`take_recording`](ChatStream::take_recording).
    /// A writer given earlier is replaced (dropped, not flushed).
    ///
    /// A failed write or flush never fails the stream: teeing stops there (the writer
    /// may hold part of the last piece), the stream goes on, and
    /// [`recording_error`](ChatStream::recording_error) returns the error from then on.
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
    /// let mut stream = client.stream(&ChatRequest::new("glm-5").user("Hello"))?;
    /// stream.record_to(Vec::new());
    /// while stream.next_event()?.is_some() {}
    /// assert!(stream.recording_error().is_none());
    /// let recording: Vec<u8> = stream.take_recording().expect("a Vec was given");
    /// assert_eq!(recording, body.as_bytes());
    /// assert_eq!(stream.finish()?.message.content, "Hi");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`StreamDecoder`]: crate::chat::StreamDecoder
    /// [`ReplayServer`]: crate::testing::ReplayServer
    pub fn record_to(&mut self, writer: impl Write + Send + 'static) -> &mut Self {
        self.recorder = Some(Recorder {
            sink: Mutex::new(Box::new(writer)),
            error: None,
        });
        self
    }

    /// The error that stopped the recording, if a write to (or a flush of) the writer
    /// given to [`record_to`](ChatStream::record_to) failed. The stream itself is not
    /// affected. The error stays here until the writer is taken back or replaced.
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
    /// let mut stream = client.stream(&ChatRequest::new("glm-5").user("Hello"))?;
    /// stream.record_to(Full);
    /// while stream.next_event()?.is_some() {}
    /// assert_eq!(stream.recording_error().unwrap().kind(), io::ErrorKind::StorageFull);
    /// assert_eq!(stream.finish()?.message.content, "Hi");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recording_error(&self) -> Option<&io::Error> {
        self.recorder.as_ref()?.error.as_ref()
    }

    /// Stops recording and gives the writer back when it is a `W` (the type given to
    /// [`record_to`](ChatStream::record_to)). `None`, and the recording goes on, when no
    /// writer was given or it is of another type.
    ///
    /// The writer comes back as it is: flushed if the body has ended, else not (flush
    /// it yourself, and you see that error directly). The error of
    /// [`recording_error`](ChatStream::recording_error) goes with the writer: check it
    /// first.
    ///
    /// # Example
    ///
    /// See [`record_to`](ChatStream::record_to).
    pub fn take_recording<W: Write + Send + 'static>(&mut self) -> Option<W> {
        {
            let recorder = self.recorder.as_mut()?;
            // The writer itself, not the box (which is a `Sink` too).
            let sink: &dyn Sink = &**recorder.sink();
            if !sink.as_any().is::<W>() {
                return None;
            }
        }
        let recorder = self.recorder.take()?;
        let sink = recorder
            .sink
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        sink.into_any().downcast::<W>().ok().map(|w| *w)
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
    pub fn track_arguments(&mut self, track: bool) -> &mut Self {
        self.decoder.accumulator_mut().set_track_arguments(track);
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
    /// let mut stream = client.stream(&ChatRequest::new("glm-5").user("Weather in Beijing?"))?;
    /// stream.track_arguments(true);
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
        self.decoder.accumulator().tool_arguments(index)
    }

    /// The [`PartialJson`](crate::PartialJson) following the arguments of the tool
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
    pub fn arguments_tracker(&self, index: usize) -> Option<&crate::PartialJson> {
        self.decoder.accumulator().arguments_tracker(index)
    }

    /// The request id: the `x-request-id` header, else the first one in the body.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref().or(self
            .decoder
            .accumulator()
            .completion()
            .request_id
            .as_deref())
    }

    /// Everything merged so far.
    pub fn completion(&self) -> &Completion {
        self.decoder.accumulator().completion()
    }

    /// The next event, reading the socket as needed; `Ok(None)` once the stream has
    /// finished and every event was taken.
    ///
    /// The body is not read past `data: [DONE]` (the connection is closed there). Once
    /// the server gave a finish reason, a body that then breaks off or stalls past the
    /// idle timeout ends the stream normally: the answer is complete (a usage chunk that
    /// would have followed is then missing).
    ///
    /// # Errors
    ///
    /// An in-band API error, a malformed chunk, a framing error, a limit,
    /// [`Error::Interrupted`] when the body ends or breaks off before the stream
    /// finished, [`Error::Timeout`]. Each carries what was merged so far. Later calls
    /// return the same error without reading.
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
    /// use dashscope_glm::Error;
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
    /// let Error::Interrupted(partial) = &err else { panic!("unexpected {err}") };
    /// assert_eq!(partial.message.content, "Hel");
    /// assert_eq!(stream.next_event().unwrap_err(), err);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_event(&mut self) -> Result<Option<StreamEvent<'_>>, Error> {
        loop {
            match &self.phase {
                Phase::Failed(e) => return Err(e.clone()),
                Phase::Done => return Ok(None),
                Phase::Reading | Phase::Ended => {}
            }
            match self.decoder.ready() {
                Ok(true) => return Ok(self.decoder.take_ready()),
                Ok(false) => {}
                Err(e) => return Err(self.fail(e)),
            }
            if matches!(self.phase, Phase::Ended) {
                if self.decoder.accumulator().is_complete() {
                    self.phase = Phase::Done;
                    return Ok(None);
                }
                let partial = self.partial();
                return Err(self.fail(Error::Interrupted(Box::new(partial))));
            }
            // `data: [DONE]` ends the response: nothing after it is read.
            let result = if self.decoder.accumulator().received_done() {
                self.end_body()
            } else {
                self.read_more()
            };
            if let Err(e) = result {
                return Err(self.fail(e));
            }
        }
    }

    /// Reads once from the socket and feeds the decoder; at the end of the body (or when
    /// it breaks off) closes the reader and ends the decoder.
    fn read_more(&mut self) -> Result<(), Error> {
        let Some(reader) = self.reader.as_mut() else {
            self.phase = Phase::Ended;
            return self.decoder.end();
        };
        if self.json_body {
            return self.read_json_body();
        }
        match reader.read(&mut self.buf) {
            Ok(0) => self.end_body(),
            Ok(n) => {
                let bytes = self.buf.get(..n).unwrap_or(&[]);
                if let Some(recorder) = self.recorder.as_mut() {
                    recorder.write(bytes);
                }
                self.decoder.feed(bytes);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => {
                let mapped = read_error(e, self.request_id.as_deref(), Some(self.completion()));
                match mapped {
                    // A body that breaks off is an end of body: merge what came, then
                    // Interrupted unless the server had finished.
                    Error::Transport(_) => self.end_body(),
                    // Once the server said it finished, a tail that stalls does not
                    // lose the answer: the stream ends there.
                    _ if self.decoder.accumulator().is_complete() => self.end_body(),
                    timeout => Err(timeout),
                }
            }
        }
    }

    fn end_body(&mut self) -> Result<(), Error> {
        self.reader = None;
        self.flush_recording();
        self.phase = Phase::Ended;
        self.decoder.end()
    }

    /// A JSON body where a stream was expected (a gateway answering without SSE): read
    /// it whole and merge it as one chunk.
    fn read_json_body(&mut self) -> Result<(), Error> {
        let Some(reader) = self.reader.take() else {
            return Ok(());
        };
        self.phase = Phase::Ended;
        let limit = u64::try_from(self.max_body_bytes).unwrap_or(u64::MAX);
        let mut bytes = Vec::new();
        let read = reader.take(limit.saturating_add(1)).read_to_end(&mut bytes);
        if let Some(recorder) = self.recorder.as_mut() {
            recorder.write(&bytes);
        }
        self.flush_recording();
        if let Err(e) = read {
            return Err(read_error(e, self.request_id.as_deref(), None));
        }
        if bytes.len() > self.max_body_bytes {
            return Err(Error::LimitExceeded {
                what: "non-streaming response body bytes",
                limit: self.max_body_bytes,
            });
        }
        let text = String::from_utf8_lossy(&bytes);
        // Validate the whole body the non-streaming way first, for its error.
        completion_from_body(
            self.decoder.accumulator().protocol(),
            &text,
            self.request_id.as_deref(),
        )?;
        // Nothing was fed to the SSE side: ending it now keeps `finish` from looking
        // for a last event there.
        self.decoder.end()?;
        merge_whole_json(self.decoder.accumulator_mut(), &text)
    }

    fn partial(&self) -> Completion {
        let mut partial = self.completion().clone();
        if partial.request_id.is_none() {
            partial.request_id.clone_from(&self.request_id);
        }
        partial
    }

    fn flush_recording(&mut self) {
        if let Some(recorder) = self.recorder.as_mut() {
            recorder.flush();
        }
    }

    /// Records a terminal error, closes the connection, and returns the error.
    fn fail(&mut self, e: Error) -> Error {
        if self.reader.take().is_some() {
            self.flush_recording();
        }
        self.phase = Phase::Failed(e.clone());
        e
    }

    /// Reads and merges the rest of the stream (events not taken are merged, not lent)
    /// and returns the completion.
    ///
    /// # Errors
    ///
    /// As [`next_event`](ChatStream::next_event); the error the stream already failed
    /// with, if any.
    pub fn finish(mut self) -> Result<Completion, Error> {
        while self.next_event()?.is_some() {}
        self.decoder.finish()
    }
}

/// Owned events; after an error, `None` forever (the error is still in
/// [`finish`](ChatStream::finish)).
impl Iterator for ChatStream {
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

impl std::iter::FusedIterator for ChatStream {}
