//! A sans-IO Server-Sent Events decoder: bytes in, borrowed events out.
//!
//! The decoder follows the WHATWG "event stream interpretation" rules exactly, with
//! three additions a client needs: comment lines are observable, input that is not
//! UTF-8 is an error by default (the payloads are JSON), and every buffer is bounded.
//!
//! ```text
//!  feed(&[u8]) ──► [input buffer] ──lines──► fields ──blank line──► next_item() -> Item
//!                   BOM stripped    CR/LF/CRLF    data/event/id/retry     Event | Comment
//!                   UTF-8 checked once per feed (per line after an invalid byte)
//!  finish() ──► Eof: clean end, or an undispatched event that the rules discard
//! ```
//!
//! # The rules, and where they live
//!
//! 1. The stream is UTF-8; one leading BOM (EF BB BF) is removed, also when it arrives
//!    split across feeds. A BOM anywhere else, or a second one, is data
//!    ([`Decoder::feed`]).
//! 2. Lines end at CRLF, LF or CR. A CR that ends one feed and an LF that starts the
//!    next are one line end; a CR-terminated line is processed at once, without waiting
//!    for the next byte ([`Decoder::next_item`]).
//! 3. An empty line dispatches the event: the last event ID is committed; if the data
//!    buffer is empty, the data and type buffers are reset and nothing is dispatched;
//!    otherwise one trailing LF is removed from the data, the type defaults to
//!    `message`, the event is dispatched, and both buffers are reset.
//! 4. A line starting with a colon is a comment, yielded as [`Item::Comment`].
//! 5. Otherwise the line is a field: the name is everything before the first colon, the
//!    value everything after it, less one leading U+0020 SPACE; a line without a colon
//!    is a field with an empty value. Names are case-sensitive:
//!    - `event`: sets the event type buffer;
//!    - `data`: appends the value and an LF to the data buffer;
//!    - `id`: sets the last event ID buffer, unless the value contains U+0000 NULL;
//!    - `retry`: if the value is a non-empty run of ASCII digits, sets the
//!      reconnection time ([`Decoder::retry`]);
//!    - anything else is ignored.
//! 6. At end of input, an event not ended by a blank line is discarded, and so is a last
//!    line without a line end ([`Decoder::finish`] says whether that happened).
//!
//! # Errors and recovery
//!
//! Decoding always goes on after an [`Error`]:
//!
//! - [`Error::InvalidUtf8`] (strict mode, the default): reported as soon as the line
//!   holding the bad byte is complete. That one line is dropped as if it had not been
//!   sent; the lines around it, and later events, are processed normally. With
//!   [`Decoder::lossy`], bad sequences become U+FFFD instead, as the spec says.
//! - [`Error::LineTooLong`] and [`Error::EventTooLong`] (see [`DecoderLimits`]): reported as
//!   soon as the limit is crossed, even before the line is complete. The event being
//!   read is discarded, with the rest of its lines, up to and including the next blank
//!   line; decoding resumes with the event after it. Discarded bytes are not kept.
//!
//! # Example
//!
//! This example shows a DashScope native event split across two reads.
//!
//! ```
//! use dashscope_glm::sse::{Decoder, Item};
//!
//! let mut decoder = Decoder::new();
//! let mut seen = Vec::new();
//! for read in [&b"id:1\nevent:result\n:HTTP_ST"[..], b"ATUS/200\ndata:{\"a\":1}\n\n"] {
//!     decoder.feed(read);
//!     while let Some(item) = decoder.next_item() {
//!         match item? {
//!             Item::Comment(text) => seen.push(format!("comment {text}")),
//!             Item::Event(event) => seen.push(format!("{} {}", event.event_type(), event.data())),
//!             _ => {}
//!         }
//!     }
//! }
//! assert!(decoder.finish()?.is_clean());
//! assert_eq!(seen, ["comment HTTP_STATUS/200", r#"result {"a":1}"#]);
//! assert_eq!(decoder.last_event_id(), "1");
//! # Ok::<(), dashscope_glm::sse::Error>(())
//! ```

mod decoder;
mod event;
mod line;

pub use decoder::Decoder;
pub use event::{Eof, Event, Item};
pub(crate) use line::find_either;

use std::fmt;

/// Size limits that bound the decoder's memory.
///
/// The defaults (16 MiB each, [`DecoderLimits::DEFAULT`]) are [`DecoderLimits::new`] and
/// [`DecoderLimits::default`]; each setter is named after the field it sets. Both count raw
/// input bytes (before any U+FFFD replacement in lossy mode). Exceeding one gives [`Error::LineTooLong`] or
/// [`Error::EventTooLong`]; the event is then discarded and decoding resumes at the
/// next one.
///
/// Memory stays bounded as long as [`Decoder::next_item`] is drained between feeds: the
/// input buffer holds at most `max(max_line, max_event)` bytes plus one feed, and the
/// buffer that joins multi-line data at most `max_event` bytes.
///
/// # Example
///
/// This example shows small limits and the recovery after a line that is too long.
///
/// ```
/// use dashscope_glm::sse::{Decoder, Error, Item, DecoderLimits};
///
/// let limits = DecoderLimits::new().max_line(8).max_event(64);
/// let mut decoder = Decoder::with_limits(limits);
/// decoder.feed(b"data: far too long\n\ndata: ok\n\n");
/// assert_eq!(
///     decoder.next_item(),
///     Some(Err(Error::LineTooLong { limit: 8, offset: 0 }))
/// );
/// let Some(Ok(Item::Event(event))) = decoder.next_item() else { panic!() };
/// assert_eq!(event.data(), "ok");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecoderLimits {
    /// The longest line accepted, in bytes, line end excluded.
    pub max_line: usize,
    /// The largest event accepted, in bytes: from the first byte of the event's first
    /// line (the first line after the previous blank line) to the last byte of its
    /// latest line, line ends and comment lines included.
    pub max_event: usize,
}

impl DecoderLimits {
    /// The default limit for both lines and events: 16 MiB.
    pub const DEFAULT: usize = 16 * 1024 * 1024;

    /// The default limits (16 MiB each).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            max_line: Self::DEFAULT,
            max_event: Self::DEFAULT,
        }
    }

    /// Sets the longest line accepted, in bytes. Defaults to 16 MiB ([`DecoderLimits::DEFAULT`]).
    #[must_use]
    pub const fn max_line(mut self, bytes: usize) -> Self {
        self.max_line = bytes;
        self
    }

    /// Sets the largest event accepted, in bytes. Defaults to 16 MiB ([`DecoderLimits::DEFAULT`]).
    #[must_use]
    pub const fn max_event(mut self, bytes: usize) -> Self {
        self.max_event = bytes;
        self
    }
}

impl Default for DecoderLimits {
    fn default() -> Self {
        Self::new()
    }
}

/// An error in the input. Decoding can always go on after one (see the
/// [module docs](self#errors-and-recovery) for what is dropped).
///
/// Offsets are stream byte offsets, counting every byte fed (a leading BOM included).
///
/// # Example
///
/// This example shows a strict UTF-8 error that does not hold back the next event.
///
/// ```
/// use dashscope_glm::sse::{Decoder, Error, Item};
///
/// let mut decoder = Decoder::new();
/// decoder.feed(b"data: \xFF\n\ndata: next\n\n");
/// let err = decoder.next_item().unwrap().unwrap_err();
/// assert_eq!(err, Error::InvalidUtf8 { offset: 6 });
/// assert_eq!(err.to_string(), "invalid UTF-8 in the event stream at byte offset 6");
/// let Some(Ok(Item::Event(event))) = decoder.next_item() else { panic!() };
/// assert_eq!(event.data(), "next");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A byte that is not part of valid UTF-8 (strict mode). The line holding it was
    /// dropped.
    InvalidUtf8 {
        /// Stream offset of the first byte of the invalid sequence.
        offset: u64,
    },
    /// A line longer than [`DecoderLimits::max_line`]. The event holding it was discarded.
    LineTooLong {
        /// The limit that was exceeded.
        limit: usize,
        /// Stream offset of the first byte of the line.
        offset: u64,
    },
    /// An event larger than [`DecoderLimits::max_event`]. The event was discarded.
    EventTooLong {
        /// The limit that was exceeded.
        limit: usize,
        /// Stream offset of the first byte of the event's first line.
        offset: u64,
    },
}

impl Error {
    /// The byte offset the error refers to, counted from the start of the stream (not
    /// of the event).
    #[must_use]
    pub fn offset(&self) -> u64 {
        match *self {
            Self::InvalidUtf8 { offset }
            | Self::LineTooLong { offset, .. }
            | Self::EventTooLong { offset, .. } => offset,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::InvalidUtf8 { offset } => {
                write!(
                    f,
                    "invalid UTF-8 in the event stream at byte offset {offset}"
                )
            }
            Self::LineTooLong { limit, offset } => write!(
                f,
                "event stream line at byte offset {offset} is longer than the {limit}-byte limit"
            ),
            Self::EventTooLong { limit, offset } => write!(
                f,
                "event stream event at byte offset {offset} is larger than the {limit}-byte limit"
            ),
        }
    }
}

impl std::error::Error for Error {}
