//! [`StreamDecoder`]: the SSE decoder and the [`Accumulator`] joined, bytes in, events out.

use std::sync::Arc;

use crate::chat::{Accumulator, Completion, Protocol, StreamEvent};
use crate::error::{Cause, Error, LimitKind, MalformedChunk, TimeoutKind};
use crate::sse;

/// Bytes of one response body in, [`StreamEvent`]s out, a [`Completion`] at the end.
/// Sans-IO: the caller reads the socket (or a file) and feeds what it got.
///
/// Two phases, repeated, as ureq-proto's and quinn-proto's state machines are driven:
///
/// 1. output: [`ready`](StreamDecoder::ready) decodes what was fed until an event is
///    owed and says whether one is; [`take_event`](StreamDecoder::take_event) lends it.
///    Repeat until `ready` says `false`;
/// 2. input, while [`wants_input`](StreamDecoder::wants_input) says so: one read of the
///    body, told as it came: [`feed`](StreamDecoder::feed) the bytes it gave,
///    [`end`](StreamDecoder::end) at the end of the body,
///    [`timed_out`](StreamDecoder::timed_out) for a read that timed out,
///    [`broke_off`](StreamDecoder::broke_off) for one that failed otherwise. Once
///    `wants_input` says `false` (the body ended, `data: [DONE]` came, or the stream
///    failed), the stream is over when `ready` says `false`: it finished.
///
/// How a stream ends is decided here, the same for every transport (the blocking client
/// and [`EventReader`](crate::chat::EventReader) read through these calls):
///
/// - finished: the server sent a finish reason or `data: [DONE]`, and every event was
///   taken. Nothing after `[DONE]` is needed: `wants_input` says `false` there.
/// - [`Interrupted`](crate::ErrorKind::Interrupted), from `ready`, when the body ended
///   or broke off before the server finished (once every event that came was taken),
///   with what came as [`Error::partial`] and the read's error, if it broke off, as the
///   [`source`](std::error::Error::source). Once the server finished, a body that breaks
///   off ends the stream normally (a usage chunk that would have followed is then
///   missing).
/// - [`Timeout`](crate::ErrorKind::Timeout), from `timed_out`, when a read times out
///   before the server finished, with what came; once it finished, a stalled tail ends
///   the stream normally.
/// - an error the server sent, a malformed chunk, a framing error or a limit, from
///   `ready`.
///
/// After an error the stream is failed: every later call ([`ready`](StreamDecoder::ready),
/// [`next_event`](StreamDecoder::next_event), [`end`](StreamDecoder::end),
/// [`finish`](StreamDecoder::finish)) returns the same error and decodes nothing more.
/// [`finish`](StreamDecoder::finish) gives the completion.
/// [`next_event`](StreamDecoder::next_event) is both output calls in one, for loops that
/// hold no borrow across reads. Byte boundaries never matter: any split of the same
/// bytes gives the same events and the same completion. A body that is not SSE (a
/// non-streaming answer, or a gateway's JSON answer to a streaming request) is read
/// whole and given to [`push_whole_body`](StreamDecoder::push_whole_body).
///
/// The two calls exist for code that reads in the same function that returns the event,
/// which is what an async `next_event` is: returning a borrow taken inside the read loop
/// is rejected by the borrow checker (E0499) when the loop must go on to read, but
/// `ready` returns a `bool`, which holds no borrow, and `take_event` is called only on
/// the path that returns.
///
/// At the end of the body, an event left without its final blank line is still merged when
/// its last line was complete, or when that line is complete JSON (DashScope's native
/// endpoint has been seen ending that way); a line cut in the middle is not, and the stream
/// then ends [`Interrupted`](crate::ErrorKind::Interrupted) unless it had finished.
///
/// # Example
///
/// This example is the shape of an async client's `next_event`, over any body that
/// reads asynchronously (here a trait of its own; a `tokio::io::AsyncRead` or a stream
/// of `bytes::Bytes` chunks fits the same place). It is driven by a one-line executor,
/// since the body is always ready.
///
/// ```
/// use std::io::ErrorKind as IoKind;
///
/// use dashscope_glm::chat::{Protocol, StreamDecoder, StreamEvent};
/// use dashscope_glm::{Error, TimeoutKind};
///
/// /// A body that reads asynchronously: `Ok(0)` at its end.
/// trait AsyncBody {
///     async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize>;
/// }
///
/// struct Events<B> {
///     body: B,
///     decoder: StreamDecoder,
///     buf: Vec<u8>,
/// }
///
/// impl<B: AsyncBody> Events<B> {
///     /// The next event, lent; `Ok(None)` once the stream finished.
///     async fn next_event(&mut self) -> Result<Option<StreamEvent<'_>>, Error> {
///         loop {
///             if self.decoder.ready()? {
///                 return Ok(self.decoder.take_event());
///             }
///             if !self.decoder.wants_input() {
///                 return Ok(None);
///             }
///             match self.body.read(&mut self.buf).await {
///                 Ok(0) => self.decoder.end()?,
///                 Ok(n) => self.decoder.feed(&self.buf[..n]),
///                 Err(e) if e.kind() == IoKind::Interrupted => {}
///                 Err(e) if e.kind() == IoKind::TimedOut => self.decoder.timed_out(TimeoutKind::Idle)?,
///                 Err(e) => self.decoder.broke_off(e)?,
///             }
///         }
///     }
/// }
///
/// // A recorded body, delivered 7 bytes at a time.
/// struct Recorded(&'static [u8]);
/// impl AsyncBody for Recorded {
///     async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
///         let n = self.0.len().min(buf.len()).min(7);
///         buf[..n].copy_from_slice(&self.0[..n]);
///         self.0 = &self.0[n..];
///         Ok(n)
///     }
/// }
///
/// let body = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
/// let mut events = Events {
///     body: Recorded(body),
///     decoder: StreamDecoder::new(Protocol::OpenAiCompatible),
///     buf: vec![0; 16 * 1024],
/// };
/// let text = block_on(async {
///     let mut text = String::new();
///     while let Some(event) = events.next_event().await? {
///         if let StreamEvent::Content(delta) = event {
///             text.push_str(delta);
///         }
///     }
///     Ok::<_, Error>(text)
/// })?;
/// assert_eq!(text, "Hi");
/// assert_eq!(events.decoder.finish()?.message.content, "Hi");
///
/// /// Polls a future whose every poll completes (the body above never waits).
/// fn block_on<F: std::future::Future>(future: F) -> F::Output {
///     let mut future = std::pin::pin!(future);
///     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
///     loop {
///         if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
///             return out;
///         }
///     }
/// }
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
///
/// The same body in a blocking loop, fed in 7-byte pieces, with
/// [`next_event`](StreamDecoder::next_event):
///
/// ```
/// use dashscope_glm::chat::{Protocol, StreamDecoder, StreamEvent};
///
/// let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
/// let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
/// let mut text = String::new();
/// for piece in body.as_bytes().chunks(7) {
///     stream.feed(piece);
///     while let Some(event) = stream.next_event()? {
///         if let StreamEvent::Content(delta) = event {
///             text.push_str(delta);
///         }
///     }
/// }
/// stream.end()?;
/// while stream.next_event()?.is_some() {}
/// assert_eq!(text, "Hi");
/// assert_eq!(stream.finish()?.message.content, "Hi");
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
#[derive(Debug)]
pub struct StreamDecoder {
    decoder: sse::Decoder,
    accumulator: Accumulator,
    /// [`end`](StreamDecoder::end) was called: once the fed items are merged, the
    /// decoder's end is merged too.
    ended: bool,
    /// The end of the body was merged (at most once).
    eof_merged: bool,
    /// The read error that broke the body off ([`broke_off`](StreamDecoder::broke_off)),
    /// kept as the source of the [`Interrupted`](crate::ErrorKind::Interrupted) error it
    /// leads to.
    broken_by: Option<Cause>,
}

impl StreamDecoder {
    /// A decoder for one response of `protocol`, with default limits everywhere. On the
    /// native protocol the SSE decoder is told to split events that older gateways send
    /// without blank lines between them.
    ///
    /// # Example
    ///
    /// This example shows native events sent without blank lines between them: each one is
    /// merged when the next `id:` arrives, the last one at the end.
    ///
    /// ```
    /// use dashscope_glm::chat::{Protocol, StreamDecoder};
    ///
    /// let body = [
    ///     "id:1",
    ///     "event:result",
    ///     r#"data:{"output":{"choices":[{"message":{"role":"assistant","content":"Hel"},"finish_reason":"null"}]}}"#,
    ///     "id:2",
    ///     "event:result",
    ///     r#"data:{"output":{"choices":[{"message":{"role":"assistant","content":"lo"},"finish_reason":"stop"}]}}"#,
    /// ]
    /// .join("\n");
    /// let mut stream = StreamDecoder::new(Protocol::DashScope);
    /// stream.feed(body.as_bytes());
    /// while stream.next_event()?.is_some() {}
    /// assert_eq!(stream.accumulator().completion().message.content, "Hel");
    /// assert_eq!(stream.finish()?.message.content, "Hello");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn new(protocol: Protocol) -> Self {
        Self::from_accumulator(Accumulator::new(protocol))
    }

    /// A decoder feeding `accumulator`, configured beforehand (limits, cumulative mode,
    /// the request id from the response headers), with the SSE decoder
    /// [`new`](StreamDecoder::new) makes for its protocol.
    ///
    /// # Example
    ///
    /// This example keeps the `x-request-id` header's value, for a body that has no id,
    /// and turns native cumulative texts back into deltas.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol, StreamDecoder};
    ///
    /// let accumulator = Accumulator::new(Protocol::DashScope).cumulative(true).request_id("7c1e9a");
    /// let mut stream = StreamDecoder::from_accumulator(accumulator);
    /// stream.feed(br#"data:{"output":{"choices":[{"message":{"role":"assistant","content":"Hel"},"finish_reason":"null"}]}}"#);
    /// stream.feed(b"\n\n");
    /// stream.feed(br#"data:{"output":{"choices":[{"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}]}}"#);
    /// stream.feed(b"\n\n");
    /// let completion = stream.finish()?;
    /// assert_eq!(completion.message.content, "Hello");
    /// assert_eq!(completion.request_id.as_deref(), Some("7c1e9a"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn from_accumulator(accumulator: Accumulator) -> Self {
        let decoder =
            sse::Decoder::new().split_on_new_id(accumulator.protocol() == Protocol::DashScope);
        Self::from_parts(decoder, accumulator)
    }

    /// Joins an SSE decoder and an accumulator, each configured beforehand, used as
    /// given. [`from_accumulator`](StreamDecoder::from_accumulator) makes the SSE decoder
    /// [`new`](StreamDecoder::new) would; give one here for other limits or lossy UTF-8,
    /// and on the native protocol make it with
    /// [`split_on_new_id(true)`](sse::Decoder::split_on_new_id) as `new` does, unless
    /// your server always ends its events with a blank line.
    ///
    /// # Example
    ///
    /// This example shows a stream built from a decoder with a tighter line limit and an
    /// accumulator in cumulative mode.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol, StreamDecoder};
    /// use dashscope_glm::sse::{Decoder, DecoderLimits};
    ///
    /// let decoder = Decoder::with_limits(DecoderLimits::new().max_line(64 * 1024)).split_on_new_id(true);
    /// let accumulator = Accumulator::new(Protocol::DashScope).cumulative(true);
    /// let mut stream = StreamDecoder::from_parts(decoder, accumulator);
    /// stream.feed(br#"data:{"output":{"choices":[{"message":{"role":"assistant","content":"Hel"},"finish_reason":"null"}]}}"#);
    /// stream.feed(b"\n\n");
    /// stream.feed(br#"data:{"output":{"choices":[{"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}]}}"#);
    /// stream.feed(b"\n\n");
    /// assert_eq!(stream.finish()?.message.content, "Hello");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn from_parts(decoder: sse::Decoder, accumulator: Accumulator) -> Self {
        Self {
            decoder,
            accumulator,
            ended: false,
            eof_merged: false,
            broken_by: None,
        }
    }

    /// Records a request id from the response headers (see [`Accumulator::request_id`]);
    /// set it before feeding, as the head comes before the body.
    ///
    /// # Example
    ///
    /// This example shows the `x-request-id` header's value kept when the body has no id.
    ///
    /// ```
    /// use dashscope_glm::chat::{Protocol, StreamDecoder};
    ///
    /// let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible).request_id("7c1e9a");
    /// stream.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n");
    /// assert_eq!(stream.finish()?.request_id.as_deref(), Some("7c1e9a"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn request_id(mut self, id: &str) -> Self {
        self.accumulator.set_request_id(id);
        self
    }

    /// Adds bytes read from the body; ignored once
    /// [`wants_input`](StreamDecoder::wants_input) says `false` (after the end of the
    /// body, `data: [DONE]` or an error), so a tail fed after the stream finished is
    /// neither decoded nor kept.
    ///
    /// # Example
    ///
    /// This example shows a body fed one byte at a time.
    ///
    /// ```
    /// use dashscope_glm::chat::{Protocol, StreamDecoder};
    ///
    /// let body = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\r\n\r\ndata: [DONE]\r\n\r\n";
    /// let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    /// for byte in body {
    ///     stream.feed(std::slice::from_ref(byte));
    ///     while stream.next_event()?.is_some() {}
    /// }
    /// assert!(stream.accumulator().received_done());
    /// assert_eq!(stream.finish()?.message.content, "Hi");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.wants_input() {
            self.decoder.feed(bytes);
        }
    }

    /// The next event from what was fed, or `Ok(None)` when more input is needed.
    ///
    /// # Errors
    ///
    /// A framing error ([`ErrorKind::Sse`](crate::ErrorKind::Sse)), an in-band API error, a
    /// malformed chunk or a limit. The stream is failed after an error: every later call,
    /// and [`finish`](StreamDecoder::finish), returns the same error and decodes nothing
    /// more. The partial completion it carries is shared between those returns (an `Arc`),
    /// not copied for each.
    ///
    /// # Example
    ///
    /// This example shows an in-band error after some content: it carries that content,
    /// and the stream stays failed.
    ///
    /// ```
    /// use dashscope_glm::chat::{Protocol, StreamDecoder, StreamEvent};
    ///
    /// let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    /// stream.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n");
    /// stream.feed(b"data: {\"error\":{\"code\":\"data_inspection_failed\",\"message\":\"Inappropriate content.\"}}\n\n");
    /// assert_eq!(stream.next_event()?, Some(StreamEvent::Content("Hi")));
    /// let err = stream.next_event().unwrap_err();
    /// assert_eq!(err.partial().unwrap().message.content, "Hi");
    /// assert_eq!(stream.next_event(), Err(err.clone()));
    /// assert_eq!(stream.finish(), Err(err));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn next_event(&mut self) -> Result<Option<StreamEvent<'_>>, Error> {
        if self.ready()? {
            Ok(self.take_event())
        } else {
            Ok(None)
        }
    }

    /// The output phase's first half: merges what was fed (and, after
    /// [`end`](StreamDecoder::end), the end of the body) until an event is owed, and says
    /// whether one is; [`take_event`](StreamDecoder::take_event) then lends it. `false`
    /// means more input is needed while [`wants_input`](StreamDecoder::wants_input) says
    /// so, and else that the stream finished and every event was taken. It returns a
    /// `bool`, not a borrow, so a loop that reads more input when it is `false` compiles
    /// where one around [`next_event`](StreamDecoder::next_event) may not (see the type
    /// docs).
    ///
    /// # Errors
    ///
    /// As [`next_event`](StreamDecoder::next_event), and
    /// [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted) once the body ended (or
    /// broke off) before the server finished and every event that came was taken. The
    /// stream is failed after an error, and every later call returns the same one.
    ///
    /// # Example
    ///
    /// This example takes the events of one feed in the two phases.
    ///
    /// ```
    /// use dashscope_glm::chat::{FinishReason, Protocol, StreamDecoder, StreamEvent};
    ///
    /// let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    /// assert!(!stream.ready()?);
    /// stream.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n");
    /// let mut events = Vec::new();
    /// while stream.ready()? {
    ///     events.push(stream.take_event().map(|e| e.into_owned()));
    /// }
    /// assert_eq!(events.len(), 2);
    /// assert_eq!(stream.take_event(), None);
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn ready(&mut self) -> Result<bool, Error> {
        if let Some(err) = self.accumulator.failure() {
            return Err(err.clone());
        }
        loop {
            if self.accumulator.has_event() {
                return Ok(true);
            }
            // Nothing after `[DONE]` is decoded, not even bytes fed with it: a tail the
            // server adds (or junk) cannot fail a stream that finished.
            if self.accumulator.received_done() {
                return Ok(false);
            }
            match self.decoder.next_item() {
                Some(Ok(item)) => self.accumulator.push(&item)?,
                Some(Err(e)) => return Err(self.accumulator.fail(Error::from(e))),
                None if self.ended && !self.eof_merged => {
                    self.eof_merged = true;
                    self.merge_eof()?;
                }
                None if self.ended && !self.accumulator.is_complete() => {
                    return Err(self.interrupted());
                }
                None => return Ok(false),
            }
        }
    }

    /// Fails the stream as interrupted: the body ended (or broke off) before the server
    /// finished. The error carries what came, and the read error that broke the body
    /// off, if one did.
    fn interrupted(&mut self) -> Error {
        let mut err = Error::interrupted(self.accumulator.partial());
        if let Some(cause) = self.broken_by.take() {
            err = err.with_cause(cause);
        }
        self.accumulator.fail(err)
    }

    /// At the end of the body, once every complete item was merged: merges the event
    /// left without its blank line, if its last line was complete (see the type docs).
    fn merge_eof(&mut self) -> Result<(), Error> {
        let eof = match self.decoder.finish() {
            Ok(eof) => eof,
            Err(e) => return Err(self.accumulator.fail(Error::from(e))),
        };
        if let Some(event) = eof.pending() {
            let complete_line = !eof.unterminated_line()
                || serde_json::from_str::<serde::de::IgnoredAny>(event.data()).is_ok()
                || event.data().trim_ascii() == "[DONE]";
            if complete_line {
                self.accumulator.push(&sse::Item::Event(event))?;
            }
        }
        Ok(())
    }

    /// The output phase's second half: the event [`ready`](StreamDecoder::ready) found,
    /// lent until the next call; `None` when none is owed (`ready` was not called, or
    /// said `false`). It decodes nothing itself.
    ///
    /// # Example
    ///
    /// See [`ready`](StreamDecoder::ready).
    #[must_use]
    pub fn take_event(&mut self) -> Option<StreamEvent<'_>> {
        self.accumulator.next_event()
    }

    /// Marks the end of the body; nothing is decoded or dropped here. Every event still
    /// owed, those fed but not yet taken and those the end gives (an event left without
    /// its blank line, see the type docs), comes out of
    /// [`next_event`](StreamDecoder::next_event) afterwards, in order; then, if the
    /// server had not finished, [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted).
    /// Calling it twice changes nothing; bytes fed after it are not decoded.
    ///
    /// # Errors
    ///
    /// The error the stream already failed with, if any (errors the end itself finds
    /// come out of [`next_event`](StreamDecoder::next_event)).
    ///
    /// # Example
    ///
    /// This example shows a last event without its final blank line (not even a line end)
    /// merged at the end, because its line is complete JSON.
    ///
    /// ```
    /// use dashscope_glm::chat::{FinishReason, Protocol, StreamDecoder, StreamEvent};
    ///
    /// let mut stream = StreamDecoder::new(Protocol::DashScope);
    /// stream.feed(br#"data:{"output":{"choices":[{"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}}"#);
    /// assert_eq!(stream.next_event()?, None);
    /// stream.end()?;
    /// assert_eq!(stream.next_event()?, Some(StreamEvent::Content("Hi")));
    /// assert_eq!(stream.next_event()?, Some(StreamEvent::Finish(FinishReason::Stop)));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn end(&mut self) -> Result<(), Error> {
        self.ended = true;
        match self.accumulator.failure() {
            Some(err) => Err(err.clone()),
            None => Ok(()),
        }
    }

    /// A read of the body failed in another way than a timeout: the connection was
    /// reset or closed mid-frame, the HTTP framing broke. That is the end of the body,
    /// as [`end`](StreamDecoder::end) marks it: the events that came still come out, and
    /// then, if the server had not finished,
    /// [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted), with `cause` as its
    /// [`source`](std::error::Error::source). Once the server finished (a finish reason
    /// came), the stream ends normally: a usage chunk that would have followed is then
    /// missing. A transport retries a read that was only interrupted (a signal) itself.
    ///
    /// # Errors
    ///
    /// The error the stream already failed with, if any, as [`end`](StreamDecoder::end).
    ///
    /// # Example
    ///
    /// This example breaks a body off before and after the finish reason.
    ///
    /// ```
    /// use std::error::Error as _;
    /// use dashscope_glm::chat::{Protocol, StreamDecoder};
    /// use dashscope_glm::ErrorKind;
    ///
    /// let reset = || std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    /// let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    /// stream.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n");
    /// stream.broke_off(reset())?;
    /// assert!(stream.ready()?); // "Hel" came
    /// let _ = stream.take_event();
    /// let err = stream.ready().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Interrupted);
    /// assert_eq!(err.partial().unwrap().message.content, "Hel");
    /// assert_eq!(err.source().unwrap().to_string(), reset().to_string());
    ///
    /// let mut finished = StreamDecoder::new(Protocol::OpenAiCompatible);
    /// finished.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n");
    /// while finished.next_event()?.is_some() {}
    /// finished.broke_off(reset())?;
    /// assert_eq!(finished.next_event()?, None);
    /// assert_eq!(finished.finish()?.message.content, "Hi");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn broke_off(
        &mut self,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Result<(), Error> {
        if !self.ended && self.accumulator.failure().is_none() {
            self.broken_by = Some(Arc::new(cause));
        }
        self.end()
    }

    /// A read of the body timed out (`kind`: the transport's idle timeout, or a total
    /// deadline). Before the server finished, the stream fails with
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) of that kind, carrying what came.
    /// Once it finished (a finish reason came, and the server then stalled before its
    /// usage chunk, `[DONE]` or the end of the body), the answer is complete and the
    /// timeout is the end of the body, as [`end`](StreamDecoder::end) marks it: the stream
    /// ends normally. Call it where a read would go, once
    /// [`ready`](StreamDecoder::ready) said `false`; after the end of the body it changes
    /// nothing.
    ///
    /// # Errors
    ///
    /// The timeout, when the server had not finished; the error the stream already failed
    /// with, if any. Every later call returns the same one.
    ///
    /// # Example
    ///
    /// This example times a stream out before and after the finish reason.
    ///
    /// ```
    /// use dashscope_glm::chat::{Protocol, StreamDecoder};
    /// use dashscope_glm::{ErrorKind, TimeoutKind};
    ///
    /// let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    /// stream.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n");
    /// while stream.next_event()?.is_some() {}
    /// let err = stream.timed_out(TimeoutKind::Idle).unwrap_err();
    /// assert_eq!(err.timeout_kind(), Some(TimeoutKind::Idle));
    /// assert_eq!(err.partial().unwrap().message.content, "Hel");
    /// assert_eq!(stream.next_event(), Err(err));
    ///
    /// let mut finished = StreamDecoder::new(Protocol::OpenAiCompatible);
    /// finished.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n");
    /// while finished.next_event()?.is_some() {}
    /// finished.timed_out(TimeoutKind::Idle)?;
    /// assert!(!finished.wants_input());
    /// assert_eq!(finished.finish()?.message.content, "Hi");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn timed_out(&mut self, kind: TimeoutKind) -> Result<(), Error> {
        if let Some(err) = self.accumulator.failure() {
            return Err(err.clone());
        }
        // After the end of the body there is nothing left to time out.
        if self.ended || self.accumulator.is_complete() {
            return self.end();
        }
        let partial = self.accumulator.partial();
        Err(self
            .accumulator
            .fail(Error::timeout_with(kind, Some(partial))))
    }

    /// Whether to read more of the body, once [`ready`](StreamDecoder::ready) said
    /// `false`: `false` after the end of the body ([`end`](StreamDecoder::end),
    /// [`broke_off`](StreamDecoder::broke_off), a [`timed_out`](StreamDecoder::timed_out)
    /// that ended the stream), after `data: [DONE]` (nothing after it is decoded: a
    /// transport that pools connections may read the tail to the end of the body, and
    /// drop it) and after an error. `ready` saying `false` when this says `false` means
    /// the stream finished.
    ///
    /// # Example
    ///
    /// This example stops reading at `[DONE]`, whatever follows it.
    ///
    /// ```
    /// use dashscope_glm::chat::{Protocol, StreamDecoder};
    ///
    /// let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    /// assert!(stream.wants_input());
    /// stream.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n");
    /// while stream.ready()? {
    ///     let _ = stream.take_event();
    /// }
    /// assert!(!stream.wants_input());
    /// assert_eq!(stream.finish()?.message.content, "Hi");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn wants_input(&self) -> bool {
        !self.ended && !self.accumulator.received_done() && self.accumulator.failure().is_none()
    }

    /// Takes a whole body that is not SSE, read to its end (or to one byte past
    /// `limit`): a non-streaming call's answer, or a gateway's JSON answer to a streaming
    /// request ([`ResponseHead::is_json`](crate::chat::http::ResponseHead::is_json)). It
    /// ends the body ([`end`](StreamDecoder::end); give it no SSE bytes), checks the body
    /// and merges it as the only chunk of a finished answer
    /// ([`Accumulator::push_body`]); its events then come out of
    /// [`next_event`](StreamDecoder::next_event), and [`finish`](StreamDecoder::finish)
    /// gives the completion. `limit` is the most bytes a whole body may have (the
    /// blocking client's `max_body_bytes`, [`MAX_BODY`](crate::chat::http::MAX_BODY) by
    /// default): a transport reads at most `limit + 1` bytes and hands them here.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Limit`](crate::ErrorKind::Limit) ([`LimitKind::BodyBytes`]) for a body
    /// over `limit` and [`ErrorKind::Malformed`](crate::ErrorKind::Malformed) for one that
    /// is not UTF-8, each with the request id the decoder was given and no partial
    /// completion (nothing was merged); as [`Accumulator::push_body`] for a body that is
    /// not an answer (an error inside a 200, HTML, cut JSON). The stream is failed after
    /// it, as after any error.
    ///
    /// # Example
    ///
    /// This example merges a whole answer, and refuses one that is not UTF-8.
    ///
    /// ```
    /// use dashscope_glm::chat::http::MAX_BODY;
    /// use dashscope_glm::chat::{Protocol, StreamDecoder, StreamEvent};
    /// use dashscope_glm::ErrorKind;
    ///
    /// let body = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;
    /// let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible).request_id("r-1");
    /// stream.push_whole_body(body, MAX_BODY)?;
    /// assert_eq!(stream.next_event()?, Some(StreamEvent::Content("Hi")));
    /// assert_eq!(stream.finish()?.message.content, "Hi");
    ///
    /// let latin1 = b"{\"choices\":[{\"index\":0,\"message\":{\"content\":\"H\xe9\"}}]}";
    /// let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible).request_id("r-2");
    /// let err = stream.push_whole_body(latin1, MAX_BODY).unwrap_err();
    /// assert_eq!((err.kind(), err.request_id()), (ErrorKind::Malformed, Some("r-2")));
    /// assert_eq!(stream.finish(), Err(err));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn push_whole_body(&mut self, body: &[u8], limit: usize) -> Result<(), Error> {
        self.end()?;
        if body.len() > limit {
            let err = Error::limit_exceeded(LimitKind::BodyBytes, limit);
            return Err(self.fail_unmerged(err));
        }
        match std::str::from_utf8(body) {
            Ok(text) => self.accumulator.push_body(text),
            Err(e) => {
                // Only the snippet's worth is made text: the body may be many MiB.
                let start = body.get(..MalformedChunk::SNIPPET_LEN + 4).unwrap_or(body);
                let lossy = String::from_utf8_lossy(start);
                let message = format!(
                    "the response body is not UTF-8 (invalid byte at offset {})",
                    e.valid_up_to()
                );
                let err = Error::malformed(MalformedChunk::new(message, &lossy, 0));
                Err(self.fail_unmerged(err))
            }
        }
    }

    /// Fails the stream with an error about a body never merged, naming the request.
    fn fail_unmerged(&mut self, err: Error) -> Error {
        let request_id = self.accumulator.completion().request_id.as_deref();
        let err = err.with_request_id(request_id);
        self.accumulator.fail_unmerged(err)
    }

    /// The accumulator: the completion so far, tool calls, flags.
    #[must_use]
    pub fn accumulator(&self) -> &Accumulator {
        &self.accumulator
    }

    /// The accumulator, to configure it in place before the first event, or to merge
    /// into it chunks that are not SSE ([`Accumulator::push_data`]; a whole body read
    /// from the network goes to [`push_whole_body`](StreamDecoder::push_whole_body),
    /// which checks it first). Pushing to it while SSE bytes are being fed mixes two
    /// sources in an order of your choosing.
    ///
    /// # Example
    ///
    /// This example merges a whole JSON answer into a decoder that was given no bytes.
    ///
    /// ```
    /// use dashscope_glm::chat::{Protocol, StreamDecoder, StreamEvent};
    ///
    /// let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    /// stream.end()?;
    /// stream.accumulator_mut().push_data(
    ///     r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#,
    /// )?;
    /// assert_eq!(stream.next_event()?, Some(StreamEvent::Content("Hi")));
    /// assert_eq!(stream.finish()?.message.content, "Hi");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn accumulator_mut(&mut self) -> &mut Accumulator {
        &mut self.accumulator
    }

    /// Ends the body (if [`end`](StreamDecoder::end) was not called; events it would give
    /// are merged, not shown) and returns the completion.
    ///
    /// # Errors
    ///
    /// The error the stream failed with, if it did; else, as
    /// [`ready`](StreamDecoder::ready) after the end,
    /// [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted) (with what came) when the
    /// server never finished, or an error the rest of the body holds.
    ///
    /// # Example
    ///
    /// This example shows a body cut inside a line: that line is not merged and the stream
    /// is interrupted, with what came before.
    ///
    /// ```
    /// use dashscope_glm::chat::{Protocol, StreamDecoder};
    /// use dashscope_glm::ErrorKind;
    ///
    /// let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    /// stream.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: {\"choi");
    /// let err = stream.finish().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Interrupted);
    /// assert_eq!(err.partial().unwrap().message.content, "Hi");
    /// ```
    pub fn finish(mut self) -> Result<Completion, Error> {
        self.end()?;
        while self.ready()? {
            let _ = self.take_event();
        }
        self.accumulator.finish()
    }
}
