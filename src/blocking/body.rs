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
    /// The stream is going: the body may still be read, decoded events may remain.
    Reading,
    /// Finished cleanly and drained.
    Done,
    /// Failed: every later call returns this error, without reading.
    Failed(Error),
}

/// What a failed read means, as the transport tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadFailure {
    /// A timeout of this kind: [`StreamDecoder::timed_out`] decides.
    Timeout(TimeoutKind),
    /// The caller cancelled the call: the stream fails with
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled), whatever was received.
    Cancelled,
    /// The body broke off: [`StreamDecoder::broke_off`] decides.
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
/// `chat::EventReader`'s does: as [`StreamDecoder`] decides, told what each read gave.
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
                Phase::Reading => {}
            }
            match self.decoder.ready() {
                Ok(true) => {
                    self.events += 1;
                    return Ok(self.decoder.take_event());
                }
                Ok(false) => {}
                Err(e) => return Err(self.fail(e, hooks)),
            }
            // The body ended, or `data: [DONE]` came (nothing after it is decoded, and
            // nothing is read unless a drain was asked for): the stream finished.
            if !self.decoder.wants_input() {
                if self.decoder.accumulator().received_done() {
                    self.drain(hooks);
                }
                self.drop_reader(hooks);
                self.phase = Phase::Done;
                hooks.stream_end(&self.stream_end(None));
                return Ok(None);
            }
            if let Err(e) = self.read_more(hooks) {
                return Err(self.fail(e, hooks));
            }
        }
    }

    /// Reads once and tells the decoder what the read gave: bytes, the end of the body,
    /// a timeout or a body that broke off (the decoder decides what each means); a
    /// cancel is this transport's, and fails the stream here.
    fn read_more(&mut self, hooks: &mut dyn Hooks) -> Result<(), Error> {
        let Some(reader) = self.reader.as_mut() else {
            return self.decoder.end();
        };
        match reader.read(&mut self.buf) {
            Ok(0) => {
                self.drop_reader(hooks);
                self.decoder.end()
            }
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
                ReadFailure::Cancelled => Err(Error::cancelled_with(Some(self.partial()))),
                ReadFailure::Broken => {
                    self.drop_reader(hooks);
                    self.decoder.broke_off(e)
                }
                ReadFailure::Timeout(kind) => {
                    self.drop_reader(hooks);
                    self.decoder.timed_out(kind)
                }
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

    /// Drops the reader (once): the body ended, or will not be read again.
    fn drop_reader(&mut self, hooks: &mut dyn Hooks) {
        if self.reader.take().is_some() {
            hooks.body_end();
        }
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

    /// Counts a body of `bytes` bytes read outside (see
    /// [`take_reader`](BodyReader::take_reader)); its end is the decoder's to mark
    /// ([`StreamDecoder::push_whole_body`]).
    pub(crate) fn body_read_outside(&mut self, bytes: usize) {
        self.bytes_read = self.bytes_read.saturating_add(bytes as u64);
    }

    /// Everything merged so far.
    pub(crate) fn completion(&self) -> &Completion {
        self.decoder.accumulator().completion()
    }

    /// Everything merged so far, as an error's partial completion.
    pub(crate) fn partial(&self) -> Arc<Completion> {
        self.decoder.accumulator().partial()
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
