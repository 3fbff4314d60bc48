//! [`EventReader`]: a [`StreamDecoder`] that reads its own body from any [`Read`].

use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;

use crate::chat::{Completion, Protocol, StreamDecoder, StreamEvent};
use crate::error::{Error, TimeoutKind};

/// The read buffer's size unless [`EventReader::read_buffer`] sets another.
const DEFAULT_READ_BUFFER: usize = 16 * 1024;

/// Where the reader is.
#[derive(Debug)]
enum Phase {
    /// The body is still being read.
    Reading,
    /// The body ended (or broke off); decoded events may remain.
    Ended,
    /// Finished cleanly and drained.
    Done,
    /// Failed: every later call returns this error, without reading.
    Failed(Error),
}

/// What a failed read means, as a transport tells it
/// ([`EventReader::classify_errors`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadFailure {
    /// A timeout of this kind: the stream fails with it unless the server had finished.
    Timeout(TimeoutKind),
    /// The caller cancelled the call: the stream fails with
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled), whatever was received.
    #[allow(
        dead_code,
        reason = "made by the blocking client's transport (unused in a chat-only build)"
    )]
    Cancelled,
    /// The body broke off: an end of body (an interruption unless the server had
    /// finished), the error kept as the cause.
    Broken,
}

/// What a transport wants to know as the body goes by: the bytes read, the end of the
/// body, the end of the stream. `blocking::ChatStream` (feature `blocking`) records and
/// logs through it; [`EventReader::next_event`] passes [`NoHooks`].
pub(crate) trait Hooks {
    /// Bytes just read from the body, before decoding.
    fn bytes(&mut self, bytes: &[u8]);
    /// The body ended or broke off, or the stream failed: the reader was dropped.
    fn body_end(&mut self);
    /// The stream ended: finished (`error` is `None`) or failed. Called once.
    fn stream_end(&mut self, end: &StreamEnd<'_>);
}

/// How a stream ended, for [`Hooks::stream_end`].
#[allow(
    dead_code,
    reason = "read by the blocking client's log (unused in a chat-only build)"
)]
pub(crate) struct StreamEnd<'a> {
    pub(crate) completion: &'a Completion,
    pub(crate) error: Option<&'a Error>,
    pub(crate) bytes_read: u64,
    pub(crate) events: u64,
}

/// The hooks of a reader nobody watches.
pub(crate) struct NoHooks;

impl Hooks for NoHooks {
    fn bytes(&mut self, _: &[u8]) {}
    fn body_end(&mut self) {}
    fn stream_end(&mut self, _: &StreamEnd<'_>) {}
}

/// One streaming response body read from any [`Read`] (a socket, a
/// `reqwest::blocking::Response`, a file holding a recorded body), giving the lent
/// [`StreamEvent`]s of [`StreamDecoder`] and, at the end, the [`Completion`]. It is the
/// transport-neutral half of `blocking::ChatStream` (feature `blocking`),
/// which is this reader over ureq's body reader: bring your own HTTP client, send the
/// request from [`ChatRequest`](crate::chat::ChatRequest) (see the README's "Your own
/// transport"), and hand the response body to [`EventReader::new`].
///
/// `R` is read only inside [`next_event`](EventReader::next_event) (and
/// [`finish`](EventReader::finish)), into one reused buffer of
/// [`read_buffer`](EventReader::read_buffer) bytes (16 KiB by default): what the reader
/// holds is that buffer plus the decoder's state, bounded by its
/// [limits](crate::chat::Limits). Give it the body after HTTP framing: the bytes the
/// server sent as the body, with chunked transfer encoding removed.
///
/// The stream ends as `blocking::ChatStream`'s does:
///
/// - `Ok(None)` once the server finished (a finish reason or `data: [DONE]`) and every
///   event was taken. Nothing is read after `[DONE]`; at the end of the body (or at
///   `[DONE]`) `R` is dropped, which closes a socket.
/// - An error the server sent ([`ErrorKind::Stream`](crate::ErrorKind::Stream)), a
///   malformed chunk, a framing error or a limit.
/// - [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted) when the body ends (`read`
///   returns 0) or breaks off (any read error but a timeout) before the server finished.
///   Once the server finished, a body that breaks off ends the stream normally (a usage
///   chunk that would have followed is then missing).
/// - [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when a read times out before the
///   server finished.
///
/// Every error carries what was merged ([`Error::partial`]). After an error the reader
/// is fused: later calls return the same error, sharing its partial completion (an
/// [`Arc`]) instead of copying it, and `R` is not read again.
///
/// # Timeouts
///
/// Timeouts are left to the transport: set them on `R` (for a
/// [`TcpStream`](std::net::TcpStream), [`set_read_timeout`](std::net::TcpStream::set_read_timeout)
/// is an idle timeout; a total deadline is the transport's to enforce). A read error of
/// kind [`TimedOut`](io::ErrorKind::TimedOut) or
/// [`WouldBlock`](io::ErrorKind::WouldBlock) (what a socket read timeout gives, depending
/// on the platform) is reported as [`ErrorKind::Timeout`](crate::ErrorKind::Timeout)
/// with [`TimeoutKind::Idle`]; a read error of kind
/// [`Interrupted`](io::ErrorKind::Interrupted) is retried.
///
/// # Example
///
/// This example reads a recorded body from a byte slice; a
/// [`File`](std::fs::File) of a recorded body or a socket works the same way.
///
/// ```
/// use dashscope_glm::chat::{EventReader, Protocol, StreamEvent};
///
/// let body: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
/// let mut reader = EventReader::new(body, Protocol::OpenAiCompatible);
/// let mut text = String::new();
/// while let Some(event) = reader.next_event()? {
///     if let StreamEvent::Content(delta) = event {
///         text.push_str(delta);
///     }
/// }
/// assert_eq!(text, "Hi");
/// assert_eq!(reader.finish()?.message.content, "Hi");
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
pub struct EventReader<R> {
    /// `None` once the body ended: dropping it closes a socket.
    reader: Option<R>,
    decoder: StreamDecoder,
    buf: Vec<u8>,
    phase: Phase,
    bytes_read: u64,
    events: u64,
    /// What each read error means: a timeout (of which kind), a cancel, or a body that
    /// broke off.
    classify: fn(&io::Error) -> ReadFailure,
    /// After `[DONE]`, read (and discard) at most this many more body bytes to reach the
    /// end of the body; `None`: stop reading at `[DONE]`.
    drain_tail: Option<usize>,
    /// The read error that broke the body off, kept as the source of the
    /// [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted) error it leads to.
    broken_by: Option<Arc<io::Error>>,
}

impl<R> fmt::Debug for EventReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventReader")
            .field("phase", &self.phase)
            .field("reading", &self.reader.is_some())
            .field("bytes_read", &self.bytes_read)
            .field("events", &self.events)
            .field("read_buffer", &self.buf.len())
            .finish_non_exhaustive()
    }
}

/// The default reading of read errors: a socket's read timeout is an idle timeout; the
/// rest break the body off.
fn io_failure(e: &io::Error) -> ReadFailure {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            ReadFailure::Timeout(TimeoutKind::Idle)
        }
        _ => ReadFailure::Broken,
    }
}

impl<R: Read> EventReader<R> {
    /// A reader of one response body of `protocol`, with default limits (see
    /// [`StreamDecoder::new`]).
    ///
    /// # Example
    ///
    /// See [`EventReader`].
    pub fn new(reader: R, protocol: Protocol) -> Self {
        Self::from_decoder(reader, StreamDecoder::new(protocol))
    }

    /// A reader feeding `decoder`, configured beforehand: limits, cumulative mode, the
    /// request id from the response headers.
    ///
    /// # Example
    ///
    /// This example keeps the `x-request-id` header's value, for a body that has no id.
    ///
    /// ```
    /// use dashscope_glm::chat::{EventReader, Protocol, StreamDecoder};
    ///
    /// let body: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n";
    /// let mut decoder = StreamDecoder::new(Protocol::OpenAiCompatible);
    /// decoder.set_request_id("7c1e9a");
    /// let reader = EventReader::from_decoder(body, decoder);
    /// assert_eq!(reader.finish()?.request_id.as_deref(), Some("7c1e9a"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn from_decoder(reader: R, decoder: StreamDecoder) -> Self {
        Self {
            reader: Some(reader),
            decoder,
            buf: vec![0; DEFAULT_READ_BUFFER],
            phase: Phase::Reading,
            bytes_read: 0,
            events: 0,
            classify: io_failure,
            drain_tail: None,
            broken_by: None,
        }
    }

    /// Sets the size of the read buffer, the most one `read` call asks for (16 KiB by
    /// default, at least 1 byte).
    ///
    /// # Example
    ///
    /// This example reads a body 5 bytes at a time: the events are the same.
    ///
    /// ```
    /// use dashscope_glm::chat::{EventReader, Protocol};
    ///
    /// let body: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n";
    /// let reader = EventReader::new(body, Protocol::OpenAiCompatible).read_buffer(5);
    /// assert_eq!(reader.finish()?.message.content, "Hi");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn read_buffer(mut self, bytes: usize) -> Self {
        let bytes = bytes.max(1);
        // The buffer is zeroed when made: keep the one `from_decoder` made when the size
        // is the same (the client asks for the default), rather than zero 16 KiB twice
        // per stream (a sixth of a short stream's instructions).
        if self.buf.len() != bytes {
            self.buf = vec![0; bytes];
        }
        self
    }

    /// Tells what each read error means, for a transport whose reader says so in its
    /// own way (ureq's idle and total timeouts, the client's cancel).
    #[allow(
        dead_code,
        reason = "for the blocking client's transport (unused in a chat-only build)"
    )]
    pub(crate) fn classify_errors(mut self, classify: fn(&io::Error) -> ReadFailure) -> Self {
        self.classify = classify;
        self
    }

    /// After `data: [DONE]`, reads on to the end of the body, at most `max_bytes` more
    /// (`None`: stops at `[DONE]`, the default), so that a transport that pools
    /// connections sees the body end and can reuse its connection (ureq returns it to
    /// the pool only then). The bytes read are teed and counted, not decoded. A tail that
    /// runs past `max_bytes`, breaks off or times out ends the drain there, and the stream
    /// ends normally all the same; the reader is then dropped unread, which closes the
    /// connection.
    #[allow(
        dead_code,
        reason = "for the blocking client's transport (unused in a chat-only build)"
    )]
    pub(crate) fn drain_tail(mut self, max_bytes: Option<usize>) -> Self {
        self.drain_tail = max_bytes;
        self
    }

    /// The next event, reading `R` as needed; `Ok(None)` once the stream finished and
    /// every event was taken.
    ///
    /// # Errors
    ///
    /// An in-band API error, a malformed chunk, a framing error, a limit,
    /// [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted),
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) (see the type docs). Each carries
    /// what was merged so far. Later calls return the same error without reading.
    ///
    /// # Example
    ///
    /// This example reads a body that ends before the server finished: the text that
    /// came is lent as it arrives, and the error carries it too.
    ///
    /// ```
    /// use dashscope_glm::chat::{EventReader, Protocol, StreamEvent};
    /// use dashscope_glm::{Error, ErrorKind};
    ///
    /// let body: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n";
    /// let mut reader = EventReader::new(body, Protocol::OpenAiCompatible);
    /// assert_eq!(reader.next_event()?, Some(StreamEvent::Content("Hel")));
    /// let err = reader.next_event().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Interrupted);
    /// assert_eq!(err.partial().unwrap().message.content, "Hel");
    /// assert_eq!(reader.next_event(), Err(err));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn next_event(&mut self) -> Result<Option<StreamEvent<'_>>, Error> {
        self.next_event_with(&mut NoHooks)
    }

    /// [`next_event`](EventReader::next_event), telling `hooks` what goes by.
    pub(crate) fn next_event_with(
        &mut self,
        hooks: &mut dyn Hooks,
    ) -> Result<Option<StreamEvent<'_>>, Error> {
        loop {
            match &self.phase {
                Phase::Failed(e) => return Err(e.clone()),
                Phase::Done => return Ok(None),
                Phase::Reading | Phase::Ended => {}
            }
            match self.decoder.ready() {
                Ok(true) => {
                    self.events += 1;
                    return Ok(self.decoder.take_ready());
                }
                Ok(false) => {}
                Err(e) => return Err(self.fail(e, hooks)),
            }
            if matches!(self.phase, Phase::Ended) {
                if self.decoder.accumulator().is_complete() {
                    self.phase = Phase::Done;
                    hooks.stream_end(&self.stream_end(None));
                    return Ok(None);
                }
                let partial = Arc::new(self.completion().clone());
                let mut err = Error::interrupted(partial);
                if let Some(cause) = self.broken_by.take() {
                    err = err.with_cause(cause);
                }
                return Err(self.fail(err, hooks));
            }
            // `data: [DONE]` ends the response: nothing after it is decoded, and
            // nothing is read unless a drain was asked for.
            let result = if self.decoder.accumulator().received_done() {
                self.drain(hooks);
                self.end_body(hooks)
            } else {
                self.read_more(hooks)
            };
            if let Err(e) = result {
                return Err(self.fail(e, hooks));
            }
        }
    }

    /// Reads once and feeds the decoder; at the end of the body (or when it breaks
    /// off) drops the reader and ends the decoder.
    fn read_more(&mut self, hooks: &mut dyn Hooks) -> Result<(), Error> {
        let Some(reader) = self.reader.as_mut() else {
            return self.end_body(hooks);
        };
        match reader.read(&mut self.buf) {
            Ok(0) => self.end_body(hooks),
            Ok(n) => {
                let bytes = self.buf.get(..n).unwrap_or(&[]);
                self.bytes_read = self.bytes_read.saturating_add(bytes.len() as u64);
                hooks.bytes(bytes);
                self.decoder.feed(bytes);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => match (self.classify)(&e) {
                // Before the rest: a cancelled read can look like any of them (a socket
                // shut down by the cancel reads as its end). The caller asked to stop,
                // even if the server had finished: Cancelled with what was merged.
                ReadFailure::Cancelled => Err(Error::cancelled_with(Some(Arc::new(
                    self.completion().clone(),
                )))),
                // A body that breaks off is an end of body: merge what came, then
                // Interrupted unless the server had finished.
                ReadFailure::Broken => {
                    self.broken_by = Some(Arc::new(e));
                    self.end_body(hooks)
                }
                // Once the server said it finished, a tail that stalls does not lose
                // the answer: the stream ends there.
                ReadFailure::Timeout(_) if self.decoder.accumulator().is_complete() => {
                    self.end_body(hooks)
                }
                ReadFailure::Timeout(kind) => Err(Error::timeout_with(
                    kind,
                    Some(Arc::new(self.completion().clone())),
                )),
            },
        }
    }

    /// Reads what is left of the body after `[DONE]` (see
    /// [`drain_tail`](EventReader::drain_tail)), without decoding it. Errors end the
    /// drain: the answer is complete, so a tail that breaks off or stalls changes nothing,
    /// and a cancel there stops the drain (the reader is then dropped unread, which
    /// closes the connection) but not the answer.
    fn drain(&mut self, hooks: &mut dyn Hooks) {
        let (Some(max), Some(reader)) = (self.drain_tail, self.reader.as_mut()) else {
            return;
        };
        // Invariant: drained <= max at the top of the loop; each read asks for at most
        // max - drained + 1 bytes, so drained <= max + 1 after it, and a tail longer than
        // max is seen as such (drained > max) without reading more of it.
        let mut drained = 0usize;
        while drained <= max {
            let room = (max - drained).saturating_add(1).min(self.buf.len());
            let Some(buf) = self.buf.get_mut(..room) else {
                return;
            };
            match reader.read(buf) {
                // The end of the body: the transport has seen it.
                Ok(0) => return,
                Ok(n) => {
                    let bytes = buf.get(..n).unwrap_or(&[]);
                    drained = drained.saturating_add(bytes.len());
                    self.bytes_read = self.bytes_read.saturating_add(bytes.len() as u64);
                    hooks.bytes(bytes);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// Drops the reader (once) and ends the decoder.
    fn end_body(&mut self, hooks: &mut dyn Hooks) -> Result<(), Error> {
        self.phase = Phase::Ended;
        if self.reader.take().is_some() {
            hooks.body_end();
        }
        self.decoder.end()
    }

    /// Records a terminal error, drops the reader, and returns the error.
    pub(crate) fn fail(&mut self, e: Error, hooks: &mut dyn Hooks) -> Error {
        if let Phase::Failed(first) = &self.phase {
            return first.clone();
        }
        if self.reader.take().is_some() {
            hooks.body_end();
        }
        self.phase = Phase::Failed(e.clone());
        hooks.stream_end(&self.stream_end(Some(&e)));
        e
    }

    fn stream_end<'a>(&'a self, error: Option<&'a Error>) -> StreamEnd<'a> {
        StreamEnd {
            completion: self.completion(),
            error,
            bytes_read: self.bytes_read,
            events: self.events,
        }
    }

    /// Whether the stream is over: finished and drained, or failed. A cancel then changes
    /// nothing.
    #[allow(
        dead_code,
        reason = "for the blocking client's transport (unused in a chat-only build)"
    )]
    pub(crate) fn is_over(&self) -> bool {
        matches!(self.phase, Phase::Done | Phase::Failed(_))
    }

    /// Takes the body out, unread, for a transport that reads it another way (a whole
    /// JSON answer); mark the end with
    /// [`body_read_outside`](EventReader::body_read_outside).
    #[allow(
        dead_code,
        reason = "for the blocking client's transport (unused in a chat-only build)"
    )]
    pub(crate) fn take_reader(&mut self) -> Option<R> {
        self.reader.take()
    }

    /// Marks the end of a body of `bytes` bytes read outside (see
    /// [`take_reader`](EventReader::take_reader)).
    #[allow(
        dead_code,
        reason = "for the blocking client's transport (unused in a chat-only build)"
    )]
    pub(crate) fn body_read_outside(&mut self, bytes: usize) {
        self.bytes_read = self.bytes_read.saturating_add(bytes as u64);
        if matches!(self.phase, Phase::Reading) {
            self.phase = Phase::Ended;
        }
    }

    /// Reads and merges the rest of the stream (events not taken are merged, not lent)
    /// and returns the completion.
    ///
    /// # Errors
    ///
    /// As [`next_event`](EventReader::next_event); the error the reader already failed
    /// with, if any.
    ///
    /// # Example
    ///
    /// See [`EventReader`].
    pub fn finish(mut self) -> Result<Completion, Error> {
        self.finish_in_place(&mut NoHooks)
    }

    /// [`finish`](EventReader::finish) through `&mut`, telling `hooks` what goes by;
    /// the reader is spent afterwards.
    pub(crate) fn finish_in_place(&mut self, hooks: &mut dyn Hooks) -> Result<Completion, Error> {
        while self.next_event_with(hooks)?.is_some() {}
        let protocol = self.decoder.accumulator().protocol();
        std::mem::replace(&mut self.decoder, StreamDecoder::new(protocol)).finish()
    }
}

impl<R> EventReader<R> {
    /// Everything merged so far.
    ///
    /// # Example
    ///
    /// This example shows the text merged after the first event.
    ///
    /// ```
    /// use dashscope_glm::chat::{EventReader, Protocol};
    ///
    /// let body: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n";
    /// let mut reader = EventReader::new(body, Protocol::OpenAiCompatible);
    /// reader.next_event()?;
    /// assert_eq!(reader.completion().message.content, "Hi");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn completion(&self) -> &Completion {
        self.decoder.accumulator().completion()
    }

    /// The decoder: its [`Accumulator`](crate::chat::Accumulator) (tool calls, tracked
    /// arguments, flags) through [`StreamDecoder::accumulator`].
    ///
    /// # Example
    ///
    /// This example checks that the server sent `[DONE]`.
    ///
    /// ```
    /// use dashscope_glm::chat::{EventReader, Protocol};
    ///
    /// let body: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    /// let mut reader = EventReader::new(body, Protocol::OpenAiCompatible);
    /// while reader.next_event()?.is_some() {}
    /// assert!(reader.decoder().accumulator().received_done());
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn decoder(&self) -> &StreamDecoder {
        &self.decoder
    }

    /// The decoder, to configure its accumulator in place before the first event.
    #[allow(
        dead_code,
        reason = "for the blocking client's transport (unused in a chat-only build)"
    )]
    pub(crate) fn decoder_mut(&mut self) -> &mut StreamDecoder {
        &mut self.decoder
    }
}
