//! [`BodyReader`]: one streaming response body read from ureq's body reader through
//! [`StreamDecoder`]'s two phases ([`feed`](StreamDecoder::feed) /
//! [`end`](StreamDecoder::end), then [`ready`](StreamDecoder::ready) /
//! [`take_event`](StreamDecoder::take_event)), as
//! [`chat::EventReader`](crate::chat::EventReader) reads any `Read`, plus what is this
//! transport's business: ureq's timeout kinds and the client's cancel told apart from a
//! body that broke off, the tail after `[DONE]` drained so that the connection can go
//! back to ureq's pool, a JSON body read outside, and hooks that tee, time and log what
//! goes by.

use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;

use crate::chat::{Completion, StreamDecoder, StreamEvent};
use crate::error::{Error, TimeoutKind};

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

/// What a failed read means, as the transport tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadFailure {
    /// A timeout of this kind: the stream fails with it unless the server had finished.
    Timeout(TimeoutKind),
    /// The caller cancelled the call: the stream fails with
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled), whatever was received.
    Cancelled,
    /// The body broke off: an end of body (an interruption unless the server had
    /// finished), the error kept as the cause.
    Broken,
}

/// What the transport wants to know as the body goes by: the bytes read, the end of the
/// body, the end of the stream.
pub(crate) trait Hooks {
    /// Bytes just read from the body, before decoding.
    fn bytes(&mut self, bytes: &[u8]);
    /// The body ended or broke off, or the stream failed: the reader was dropped.
    fn body_end(&mut self);
    /// The stream ended: finished (`error` is `None`) or failed. Called once.
    fn stream_end(&mut self, end: &StreamEnd<'_>);
}

/// How a stream ended, for [`Hooks::stream_end`].
pub(crate) struct StreamEnd<'a> {
    pub(crate) completion: &'a Completion,
    pub(crate) error: Option<&'a Error>,
    pub(crate) bytes_read: u64,
    pub(crate) events: u64,
}

/// One streaming response body: see the module docs. The stream ends as
/// `chat::EventReader`'s does (the README's "Your own transport" and its type docs).
pub(crate) struct BodyReader<R> {
    /// `None` once the body ended: dropping it closes the connection unless ureq has
    /// seen the body's end.
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

impl<R> fmt::Debug for BodyReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyReader")
            .field("phase", &self.phase)
            .field("reading", &self.reader.is_some())
            .field("bytes_read", &self.bytes_read)
            .field("events", &self.events)
            .field("read_buffer", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl<R: Read> BodyReader<R> {
    /// A reader of `reader` into `decoder` (configured: cumulative mode, the request
    /// id), with a read buffer of `read_buffer` bytes (at least 1), read errors told
    /// apart by `classify`, and the tail after `[DONE]` drained up to `drain_tail`
    /// bytes (`None`: not read).
    pub(crate) fn new(
        reader: R,
        decoder: StreamDecoder,
        read_buffer: usize,
        classify: fn(&io::Error) -> ReadFailure,
        drain_tail: Option<usize>,
    ) -> Self {
        Self {
            reader: Some(reader),
            decoder,
            buf: vec![0; read_buffer.max(1)],
            phase: Phase::Reading,
            bytes_read: 0,
            events: 0,
            classify,
            drain_tail,
            broken_by: None,
        }
    }

    /// The next event, reading `R` as needed and telling `hooks` what goes by;
    /// `Ok(None)` once the stream finished and every event was taken.
    pub(crate) fn next_event(
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
                    return Ok(self.decoder.take_event());
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

    /// Reads what is left of the body after `[DONE]`, without decoding it, so that ureq
    /// sees the body end and can pool the connection. Errors end the drain: the answer
    /// is complete, so a tail that breaks off or stalls changes nothing, and a cancel
    /// there stops the drain (the reader is then dropped unread, which closes the
    /// connection) but not the answer.
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

    /// Reads and merges the rest of the stream (events not taken are merged, not lent)
    /// and returns the completion; the reader is spent afterwards.
    pub(crate) fn finish(&mut self, hooks: &mut dyn Hooks) -> Result<Completion, Error> {
        while self.next_event(hooks)?.is_some() {}
        let protocol = self.decoder.accumulator().protocol();
        std::mem::replace(&mut self.decoder, StreamDecoder::new(protocol)).finish()
    }
}

impl<R> BodyReader<R> {
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
    pub(crate) fn is_over(&self) -> bool {
        matches!(self.phase, Phase::Done | Phase::Failed(_))
    }

    /// Takes the body out, unread, for a transport that reads it another way (a whole
    /// JSON answer); mark the end with [`body_read_outside`](BodyReader::body_read_outside).
    pub(crate) fn take_reader(&mut self) -> Option<R> {
        self.reader.take()
    }

    /// Marks the end of a body of `bytes` bytes read outside (see
    /// [`take_reader`](BodyReader::take_reader)).
    pub(crate) fn body_read_outside(&mut self, bytes: usize) {
        self.bytes_read = self.bytes_read.saturating_add(bytes as u64);
        if matches!(self.phase, Phase::Reading) {
            self.phase = Phase::Ended;
        }
    }

    /// Everything merged so far.
    pub(crate) fn completion(&self) -> &Completion {
        self.decoder.accumulator().completion()
    }

    /// The decoder.
    pub(crate) fn decoder(&self) -> &StreamDecoder {
        &self.decoder
    }

    /// The decoder, to configure its accumulator in place before the first event, or to
    /// merge a JSON body into.
    pub(crate) fn decoder_mut(&mut self) -> &mut StreamDecoder {
        &mut self.decoder
    }
}
