//! [`StreamDecoder`]: the SSE decoder and the [`Accumulator`] joined, bytes in, events out.

use crate::chat::{Accumulator, Completion, Protocol, StreamEvent};
use crate::error::Error;
use crate::sse;

/// Bytes of one response body in, [`StreamEvent`]s out, a [`Completion`] at the end.
/// Sans-IO: the caller reads the socket (or a file) and feeds what it got.
///
/// Call [`feed`](StreamDecoder::feed) with each read, drain
/// [`next_event`](StreamDecoder::next_event) until it returns `Ok(None)`, and at the end
/// of the body call [`end`](StreamDecoder::end), drain again, then
/// [`finish`](StreamDecoder::finish). Byte boundaries never matter: any split of the
/// same bytes gives the same events and the same completion.
///
/// At the end of the body, an event left without its final blank line is still merged when
/// its last line was complete, or when that line is complete JSON (DashScope's native
/// endpoint has been seen ending that way); a line cut in the middle is not, and the stream
/// then ends [`Interrupted`](crate::ErrorKind::Interrupted) unless it had finished.
///
/// # Example
///
/// This example shows a body fed in 7-byte pieces.
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
    pub fn new(protocol: Protocol) -> Self {
        Self::from_parts(sse::Decoder::new(), Accumulator::new(protocol))
    }

    /// Joins a configured SSE decoder and accumulator (limits, cumulative mode).
    ///
    /// # Example
    ///
    /// This example shows a stream built from a decoder with a tighter line limit and an
    /// accumulator in cumulative mode.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol, StreamDecoder};
    /// use dashscope_glm::sse::{Decoder, Limits};
    ///
    /// let decoder = Decoder::with_limits(Limits::new().max_line(64 * 1024));
    /// let accumulator = Accumulator::new(Protocol::DashScope).cumulative(true);
    /// let mut stream = StreamDecoder::from_parts(decoder, accumulator);
    /// stream.feed(br#"data:{"output":{"choices":[{"message":{"role":"assistant","content":"Hel"},"finish_reason":"null"}]}}"#);
    /// stream.feed(b"\n\n");
    /// stream.feed(br#"data:{"output":{"choices":[{"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}]}}"#);
    /// stream.feed(b"\n\n");
    /// assert_eq!(stream.finish()?.message.content, "Hello");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn from_parts(mut decoder: sse::Decoder, accumulator: Accumulator) -> Self {
        if accumulator.protocol() == Protocol::DashScope {
            decoder = decoder.split_on_new_id(true);
        }
        Self {
            decoder,
            accumulator,
            ended: false,
            eof_merged: false,
        }
    }

    /// Adds bytes read from the body (ignored after [`end`](StreamDecoder::end)).
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
        if !self.ended {
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
            Ok(self.take_ready())
        } else {
            Ok(None)
        }
    }

    /// Merges decoded SSE items until an event is owed or more input is needed; returns
    /// whether [`take_ready`](StreamDecoder::take_ready) has an event. Lets a caller
    /// that reads the socket in a loop decide without holding a borrow.
    pub(crate) fn ready(&mut self) -> Result<bool, Error> {
        if let Some(err) = self.accumulator.failure() {
            return Err(err.clone());
        }
        loop {
            if self.accumulator.has_event() {
                return Ok(true);
            }
            match self.decoder.next_item() {
                Some(Ok(item)) => self.accumulator.push(&item)?,
                Some(Err(e)) => return Err(self.accumulator.fail(Error::from(e))),
                None if self.ended && !self.eof_merged => {
                    self.eof_merged = true;
                    self.merge_eof()?;
                }
                None => return Ok(false),
            }
        }
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

    /// The event [`ready`](StreamDecoder::ready) found.
    pub(crate) fn take_ready(&mut self) -> Option<StreamEvent<'_>> {
        self.accumulator.next_event()
    }

    /// Marks the end of the body; nothing is decoded or dropped here. Every event still
    /// owed, those fed but not yet taken and those the end gives (an event left without
    /// its blank line, see the type docs), comes out of
    /// [`next_event`](StreamDecoder::next_event) afterwards, in order. Calling it twice
    /// changes nothing; bytes fed after it are not decoded.
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

    /// The accumulator: the completion so far, tool calls, flags.
    pub fn accumulator(&self) -> &Accumulator {
        &self.accumulator
    }

    /// The accumulator, to configure it in place before the first event, or to merge
    /// a body that is not SSE (a whole JSON answer) into.
    #[allow(
        dead_code,
        reason = "for a client that reads the socket itself; nothing in this layer needs it"
    )]
    pub(crate) fn accumulator_mut(&mut self) -> &mut Accumulator {
        &mut self.accumulator
    }

    /// Records a request id from the response headers (see
    /// [`Accumulator::set_request_id`]).
    ///
    /// # Example
    ///
    /// This example shows the `x-request-id` header's value kept when the body has no id.
    ///
    /// ```
    /// use dashscope_glm::chat::{Protocol, StreamDecoder};
    ///
    /// let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    /// stream.set_request_id("7c1e9a");
    /// stream.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n");
    /// assert_eq!(stream.finish()?.request_id.as_deref(), Some("7c1e9a"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn set_request_id(&mut self, id: &str) {
        self.accumulator.set_request_id(id);
    }

    /// Ends the body (if [`end`](StreamDecoder::end) was not called; events it would give
    /// are merged, not shown) and returns the completion.
    ///
    /// # Errors
    ///
    /// As [`Accumulator::finish`].
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
            let _ = self.take_ready();
        }
        self.accumulator.finish()
    }
}
