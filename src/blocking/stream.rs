//! [`ChatStream`]: one streaming response, read from the socket only when asked.

use std::fmt;
use std::io::Read;

use crate::blocking::client::{Started, completion_from_body, read_error};
use crate::chat::{Completion, FinishReason, StreamDecoder, StreamEvent, Usage};
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
pub struct ChatStream {
    reader: Option<ureq::BodyReader<'static>>,
    json_body: bool,
    decoder: StreamDecoder,
    buf: Vec<u8>,
    max_body_bytes: usize,
    request_id: Option<String>,
    phase: Phase,
    iter_fused: bool,
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("request_id", &self.request_id)
            .field("phase", &self.phase)
            .field("connected", &self.reader.is_some())
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
        }
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
    /// # Errors
    ///
    /// An in-band API error, a malformed chunk, a framing error, a limit,
    /// [`Error::Interrupted`] when the body ends or breaks off before the stream
    /// finished, [`Error::Timeout`]. Each carries what was merged so far. Later calls
    /// return the same error without reading.
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
                if self.decoder.accumulator().is_finished() {
                    self.phase = Phase::Done;
                    return Ok(None);
                }
                let partial = self.partial();
                return Err(self.fail(Error::Interrupted(Box::new(partial))));
            }
            if let Err(e) = self.read_more() {
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
                self.decoder.feed(self.buf.get(..n).unwrap_or(&[]));
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(()),
            Err(e) => {
                let mapped = read_error(e, self.request_id.as_deref(), Some(self.completion()));
                match mapped {
                    // A body that breaks off is an end of body: merge what came, then
                    // Interrupted unless the server had finished.
                    Error::Transport(_) => self.end_body(),
                    timeout => Err(timeout),
                }
            }
        }
    }

    fn end_body(&mut self) -> Result<(), Error> {
        self.reader = None;
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
        if let Err(e) = reader.take(limit.saturating_add(1)).read_to_end(&mut bytes) {
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
        self.decoder.push_whole_json(&text)
    }

    fn partial(&self) -> Completion {
        let mut partial = self.completion().clone();
        if partial.request_id.is_none() {
            partial.request_id.clone_from(&self.request_id);
        }
        partial
    }

    /// Records a terminal error, closes the connection, and returns the error.
    fn fail(&mut self, e: Error) -> Error {
        self.reader = None;
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

/// A [`StreamEvent`] that owns its text, for the [`ChatStream`] iterator.
///
/// # Example
///
/// ```
/// use dashscope_glm::blocking::OwnedStreamEvent;
/// use dashscope_glm::chat::StreamEvent;
///
/// let owned = OwnedStreamEvent::from(StreamEvent::Content("Hi"));
/// assert_eq!(owned, OwnedStreamEvent::Content("Hi".into()));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OwnedStreamEvent {
    /// New thinking text.
    Reasoning(String),
    /// New answer text.
    Content(String),
    /// A tool call was opened.
    ToolCallStart {
        /// Position of the call in the completion's `tool_calls`.
        index: usize,
        /// The call id so far.
        id: String,
        /// The function name so far.
        name: String,
    },
    /// More argument text for the call at `index`.
    ToolCallArguments {
        /// Position of the call.
        index: usize,
        /// The new piece of the arguments.
        fragment: String,
    },
    /// The latest usage totals.
    Usage(Usage),
    /// The model stopped.
    Finish(FinishReason),
}

impl From<StreamEvent<'_>> for OwnedStreamEvent {
    fn from(e: StreamEvent<'_>) -> Self {
        match e {
            StreamEvent::Reasoning(t) => Self::Reasoning(t.to_owned()),
            StreamEvent::Content(t) => Self::Content(t.to_owned()),
            StreamEvent::ToolCallStart { index, id, name } => Self::ToolCallStart {
                index,
                id: id.to_owned(),
                name: name.to_owned(),
            },
            StreamEvent::ToolCallArguments { index, fragment } => Self::ToolCallArguments {
                index,
                fragment: fragment.to_owned(),
            },
            StreamEvent::Usage(u) => Self::Usage(*u),
            StreamEvent::Finish(r) => Self::Finish(r),
        }
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
            Ok(Some(event)) => Some(Ok(event.into())),
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
