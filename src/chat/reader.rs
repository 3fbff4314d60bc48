//! [`EventReader`]: a [`StreamDecoder`] that reads its own body from any [`Read`],
//! through the decoder's public two phases, as any transport of one's own would.

use std::fmt;
use std::io::{self, Read};

use crate::chat::{Completion, Protocol, StreamDecoder, StreamEvent};
use crate::error::{Error, TimeoutKind};

/// The read buffer's size unless [`EventReader::read_buffer`] sets another.
const DEFAULT_READ_BUFFER: usize = 16 * 1024;

/// One streaming response body read from any [`Read`] (a socket, a
/// `reqwest::blocking::Response`, a file holding a recorded body), giving the lent
/// [`StreamEvent`]s of [`StreamDecoder`] and, at the end, the [`Completion`]. It is
/// what a blocking transport of one's own needs past the response head: bring your own
/// HTTP client, send the [`HttpRequest`](crate::chat::http::HttpRequest) an
/// [`Endpoint`](crate::chat::http::Endpoint) makes (see the README's "Your own
/// transport"), and hand the response body to [`EventReader::new`] (or to
/// [`from_decoder`](EventReader::from_decoder) with
/// [`HttpRequest::decoder`](crate::chat::http::HttpRequest::decoder)). It is built on
/// [`StreamDecoder`]'s public two phases only; `blocking::ChatStream` (feature
/// `blocking`) reads ureq's body the same way, and adds what is that transport's
/// business (ureq's timeout kinds, the client's cancel, draining the tail after
/// `[DONE]` for the connection pool, recording, timings and logs).
///
/// `R` is read only inside [`next_event`](EventReader::next_event) (and
/// [`finish`](EventReader::finish)), into one reused buffer of
/// [`read_buffer`](EventReader::read_buffer) bytes (16 KiB by default): what the reader
/// holds is that buffer plus the decoder's state, bounded by its
/// [limits](crate::chat::AccumulatorLimits). Give it the body after HTTP framing: the bytes the
/// server sent as the body, with chunked transfer encoding removed.
///
/// The stream ends as [`StreamDecoder`] decides, told what each read gave, which is how
/// `blocking::ChatStream`'s ends too:
///
/// - `Ok(None)` once the server finished (a finish reason or `data: [DONE]`) and every
///   event was taken. Nothing is read after `[DONE]`; at the end of the body (or at
///   `[DONE]`) `R` is dropped, which closes a socket (a pooling transport that wants the
///   connection back reads the tail itself, as `blocking::ChatStream` does).
/// - An error the server sent ([`ErrorKind::Stream`](crate::ErrorKind::Stream)), a
///   malformed chunk, a framing error or a limit.
/// - [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted) when the body ends (`read`
///   returns 0) or breaks off (any read error but a timeout) before the server finished.
///   Once the server finished, a body that breaks off ends the stream normally (a usage
///   chunk that would have followed is then missing).
/// - [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when a read times out before the
///   server finished; after, a stalled tail ends the stream normally.
///
/// Every error carries what was merged ([`Error::partial`]). After an error the reader
/// is fused: later calls return the same error, sharing its partial completion (an
/// [`Arc`](std::sync::Arc)) instead of copying it, and `R` is not read again.
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
    bytes_read: u64,
    events: u64,
}

impl<R> fmt::Debug for EventReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventReader")
            .field("reading", &self.reader.is_some())
            .field("bytes_read", &self.bytes_read)
            .field("events", &self.events)
            .field("read_buffer", &self.buf.len())
            .field("wants_input", &self.decoder.wants_input())
            .finish_non_exhaustive()
    }
}

/// An I/O error that a socket's read or write timeout gives: `TimedOut` on Windows,
/// `WouldBlock` on Unix (a blocking socket gives `WouldBlock` only for its timeout).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
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
    /// let decoder = StreamDecoder::new(Protocol::OpenAiCompatible).request_id("7c1e9a");
    /// let reader = EventReader::from_decoder(body, decoder);
    /// assert_eq!(reader.finish()?.request_id.as_deref(), Some("7c1e9a"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn from_decoder(reader: R, decoder: StreamDecoder) -> Self {
        Self {
            reader: Some(reader),
            decoder,
            buf: vec![0; DEFAULT_READ_BUFFER],
            bytes_read: 0,
            events: 0,
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
        // is the same, rather than zero 16 KiB twice per stream (a sixth of a short
        // stream's instructions).
        if self.buf.len() != bytes {
            self.buf = vec![0; bytes];
        }
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
        loop {
            match self.decoder.ready() {
                Ok(true) => {
                    self.events += 1;
                    return Ok(self.decoder.take_event());
                }
                Ok(false) => {}
                Err(e) => {
                    self.reader = None;
                    return Err(e);
                }
            }
            // The body ended, `data: [DONE]` came (nothing after it is read), or the
            // stream failed: the stream is over.
            if !self.decoder.wants_input() {
                self.reader = None;
                return Ok(None);
            }
            self.read_more();
        }
    }

    /// Reads once and tells the decoder what the read gave: bytes, the end of the body,
    /// a timeout or a body that broke off. The decoder decides what each means; an error
    /// it gives comes out of the next [`StreamDecoder::ready`].
    fn read_more(&mut self) {
        let Some(reader) = self.reader.as_mut() else {
            let _ = self.decoder.end();
            return;
        };
        // Each call's error, if any, is the stream's: `ready` returns it next.
        let _ = match reader.read(&mut self.buf) {
            Ok(0) => self.decoder.end(),
            Ok(n) => {
                let bytes = self.buf.get(..n).unwrap_or(&[]);
                self.bytes_read = self.bytes_read.saturating_add(bytes.len() as u64);
                self.decoder.feed(bytes);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) if is_timeout(&e) => self.decoder.timed_out(TimeoutKind::Idle),
            Err(e) => self.decoder.broke_off(e),
        };
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
        while self.next_event()?.is_some() {}
        self.decoder.finish()
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
    #[must_use]
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
    #[must_use]
    pub fn decoder(&self) -> &StreamDecoder {
        &self.decoder
    }
}
