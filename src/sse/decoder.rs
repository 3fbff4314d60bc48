//! The decoder state machine.

use super::event::{Eof, Event, Item};
use super::line::{Line, classify, find_eol, parse_retry, split_field};
use super::{Error, Limits};

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// The input buffer.
///
/// While the input is valid UTF-8 (the common case) it is a `String`: each feed is
/// validated once, as a whole, and lines are then sliced from it as `&str` at their line
/// ends, which are ASCII and so always character boundaries. A character split across
/// feeds waits in `held` (at most 3 bytes) until its last byte arrives. The first byte
/// that cannot be part of valid UTF-8 turns the buffer into raw bytes, where each line
/// is validated when it is read (strict errors with their offsets, lossy replacement);
/// it turns back into text once the bytes it keeps are valid again.
///
/// Invariant: the bytes of `store` followed by `held[..held_len]` are the input not yet
/// dropped, in order; `held_len > 0` only in text mode, and then `held[..held_len]` is
/// the start of one character (possibly an invalid one, found out when it completes).
#[derive(Clone, Debug)]
struct Input {
    store: Store,
    held: [u8; 4],
    held_len: usize,
}

#[derive(Clone, Debug)]
enum Store {
    /// Valid UTF-8.
    Text(String),
    /// Raw bytes, validated line by line.
    Raw(Vec<u8>),
}

impl Default for Input {
    fn default() -> Self {
        Self {
            store: Store::Text(String::new()),
            held: [0; 4],
            held_len: 0,
        }
    }
}

/// The length of the UTF-8 character that `lead` starts, if it is a multi-byte lead
/// byte (0 otherwise: ASCII, a continuation byte or a byte never valid in UTF-8).
#[inline]
fn char_width(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

/// Where an incomplete character at the end of `bytes` starts (`bytes.len()` if the
/// last character is complete or not a valid start). Looks at the last 3 bytes only.
#[inline]
fn incomplete_tail(bytes: &[u8]) -> usize {
    let len = bytes.len();
    // The last byte that is not a continuation byte, among the last three.
    for back in 1..=3.min(len) {
        let at = len - back;
        let Some(&b) = bytes.get(at) else { break };
        if b & 0xC0 != 0x80 {
            // `back` bytes from here on; incomplete if the character needs more.
            return if char_width(b) > back { at } else { len };
        }
    }
    len
}

impl Input {
    #[inline]
    fn bytes(&self) -> &[u8] {
        match &self.store {
            Store::Text(s) => s.as_bytes(),
            Store::Raw(v) => v,
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.bytes().len()
    }

    fn capacity(&self) -> usize {
        match &self.store {
            Store::Text(s) => s.capacity(),
            Store::Raw(v) => v.capacity(),
        }
    }

    /// `bytes[start..end]` as text: sliced from the validated text (both ends are at line
    /// ends or value starts, which follow ASCII bytes), or validated now in raw mode.
    #[inline]
    fn text(&self, start: usize, end: usize) -> Result<&str, std::str::Utf8Error> {
        match &self.store {
            Store::Text(s) => match s.get(start..end) {
                Some(t) => Ok(t),
                // Not reached (the ends are character boundaries); `from_utf8` gives
                // the error then, without a panic.
                None => std::str::from_utf8(s.as_bytes().get(start..end).unwrap_or_default()),
            },
            Store::Raw(v) => std::str::from_utf8(v.get(start..end).unwrap_or_default()),
        }
    }

    /// Drops the first `n` bytes (a character boundary in text mode, as every line start
    /// is; if it were not, nothing is dropped and the buffer only grows).
    fn drop_front(&mut self, n: usize) -> bool {
        match &mut self.store {
            Store::Text(s) if s.is_char_boundary(n) => {
                s.drain(..n);
                true
            }
            Store::Text(_) => false,
            Store::Raw(v) => {
                v.drain(..n.min(v.len()));
                true
            }
        }
    }

    fn reserve_exact(&mut self, additional: usize) {
        match &mut self.store {
            Store::Text(s) => s.reserve_exact(additional),
            Store::Raw(v) => v.reserve_exact(additional),
        }
    }

    /// Empties the buffer, back in text mode, keeping its capacity.
    fn clear(&mut self) {
        self.held_len = 0;
        if let Store::Raw(v) = &mut self.store {
            v.clear();
            let v = std::mem::take(v);
            // An empty vector is valid UTF-8; `unwrap_or_default` never drops capacity here.
            self.store = Store::Text(String::from_utf8(v).unwrap_or_default());
        } else if let Store::Text(s) = &mut self.store {
            s.clear();
        }
    }

    /// Switches to raw mode; the held bytes join the buffer.
    fn make_raw(&mut self) {
        let mut v = match &mut self.store {
            Store::Text(s) => std::mem::take(s).into_bytes(),
            Store::Raw(v) => std::mem::take(v),
        };
        v.extend_from_slice(self.held.get(..self.held_len).unwrap_or_default());
        self.held_len = 0;
        self.store = Store::Raw(v);
    }

    /// Appends bytes in raw mode (nothing in text mode: callers switch first).
    fn push_raw(&mut self, bytes: &[u8]) {
        if let Store::Raw(v) = &mut self.store {
            v.extend_from_slice(bytes);
        }
    }

    /// In raw mode, back to text if the kept bytes are valid UTF-8 and end at a character
    /// boundary (else it stays raw until a later feed: holding a split character here
    /// would take bytes the line-end search may already have passed). Validates the
    /// whole buffer: callers bound how often.
    fn try_text(&mut self) {
        if let Store::Raw(v) = &mut self.store {
            // No copy either way: the vector moves into the string, or back.
            match String::from_utf8(std::mem::take(v)) {
                Ok(text) => self.store = Store::Text(text),
                Err(e) => *v = e.into_bytes(),
            }
        }
    }

    /// Appends input (the caller reserved room for `held_len + bytes.len()` bytes).
    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        if let (Store::Text(s), 0, [b]) = (&mut self.store, self.held_len, bytes) {
            if b.is_ascii() {
                // One ASCII byte (reads of one byte): no validation call.
                s.push(char::from(*b));
                return;
            }
        }
        self.push_slow(bytes);
    }

    fn push_slow(&mut self, mut bytes: &[u8]) {
        let Store::Text(s) = &mut self.store else {
            self.push_raw(bytes);
            return;
        };
        if self.held_len > 0 {
            // Complete the character split across feeds.
            let held = self.held.get(..self.held_len).unwrap_or_default();
            let width = held.first().map_or(0, |&b| char_width(b));
            let take = width.saturating_sub(held.len()).min(bytes.len());
            let mut tmp = [0u8; 8];
            let (head, rest) = bytes.split_at_checked(take).unwrap_or_default();
            let n = held.len() + take;
            if let Some(dst) = tmp.get_mut(..held.len()) {
                dst.copy_from_slice(held);
            }
            if let Some(dst) = tmp.get_mut(held.len()..n) {
                dst.copy_from_slice(head);
            }
            let piece = tmp.get(..n).unwrap_or_default();
            match std::str::from_utf8(piece) {
                Ok(c) if n == width => {
                    s.push_str(c);
                    self.held_len = 0;
                    bytes = rest;
                }
                Err(e) if e.error_len().is_none() && n < width && rest.is_empty() => {
                    // Still incomplete, and the feed is used up.
                    if let Some(dst) = self.held.get_mut(..n) {
                        dst.copy_from_slice(piece);
                    }
                    self.held_len = n;
                    return;
                }
                _ => {
                    // Not a character: raw from here on.
                    self.make_raw();
                    self.push_raw(bytes);
                    return;
                }
            }
        }
        let cut = incomplete_tail(bytes);
        let (whole, tail) = bytes.split_at_checked(cut).unwrap_or_default();
        let Store::Text(s) = &mut self.store else {
            return;
        };
        match std::str::from_utf8(whole) {
            Ok(t) => {
                s.push_str(t);
                if let Some(dst) = self.held.get_mut(..tail.len()) {
                    dst.copy_from_slice(tail);
                    self.held_len = tail.len();
                }
            }
            Err(e) => {
                // Keep the valid part as text; the rest (from the bad byte) is raw.
                let (good, bad) = whole.split_at_checked(e.valid_up_to()).unwrap_or_default();
                if let Ok(t) = std::str::from_utf8(good) {
                    s.push_str(t);
                }
                self.make_raw();
                self.push_raw(bad);
                self.push_raw(tail);
            }
        }
    }
}

/// `State::bom` once the start of the stream has been decided (BOM stripped or absent).
const BOM_DONE: u8 = 3;

/// Where the pending event's data lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Data {
    /// No `data` field yet: the data buffer is empty (nothing to dispatch).
    #[default]
    None,
    /// One `data` field so far; its value is `buf[start..end]`, already validated. Lent
    /// from the input buffer instead of copied; `feed` keeps these bytes.
    Buf { start: usize, end: usize },
    /// Two or more `data` fields (or a lossy line): joined in `State::data`.
    Owned,
}

/// A sans-IO SSE decoder: [`feed`](Self::feed) bytes in, pull [`Item`]s out with
/// [`next_item`](Self::next_item), and call [`finish`](Self::finish) at end of input.
///
/// The protocol, in order:
///
/// 1. `feed(bytes)` with whatever the transport delivered (any size, split anywhere);
/// 2. `next_item()` until it returns `None` ("need more input"); items borrow the
///    decoder, so use each one before the next call;
/// 3. repeat; at end of input, drain `next_item()` and call `finish()`.
///
/// Feeding never fails; errors come out of `next_item` in stream order, and decoding
/// goes on after them. The decoder never reads a byte twice in its line-end search, and
/// once its buffers have grown it allocates nothing per event. Memory is bounded by
/// [`Limits`] as long as `next_item` is drained between feeds.
///
/// Its modes ([`with_limits`](Self::with_limits), [`lossy`](Self::lossy),
/// [`split_on_new_id`](Self::split_on_new_id)) are chosen when it is made, with
/// consuming methods, as the chat layer's `Accumulator`'s are: a stream is
/// decoded in one mode from its first byte to its last, so none has a `set_` form.
///
/// # Example
///
/// This example shows a stream fed one byte at a time, with a CR-only line end.
///
/// ```
/// use dashscope_glm::sse::{Decoder, Item};
///
/// let mut decoder = Decoder::new();
/// let mut data = Vec::new();
/// for byte in b"retry: 1500\nid: 7\r\ndata: YHOO\rdata: +2\ndata: 10\n\n" {
///     decoder.feed(std::slice::from_ref(byte));
///     while let Some(item) = decoder.next_item() {
///         if let Item::Event(event) = item? {
///             data.push(event.data().to_owned());
///         }
///     }
/// }
/// assert_eq!(data, ["YHOO\n+2\n10"]);
/// assert_eq!(decoder.retry(), Some(1500));
/// assert_eq!(decoder.last_event_id(), "7");
/// assert!(decoder.finish()?.is_clean());
/// # Ok::<(), dashscope_glm::sse::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    /// Input not yet consumed, plus (for `Data::Buf`) the pending data value.
    buf: Input,
    st: State,
}

/// Everything but the input buffer, so that `next_item` can lend from `buf` while it
/// updates the state.
///
/// Invariants: `pos <= scan <= buf.len()` (the stored bytes; the held bytes of a split
/// character come after them and hold no CR or LF); `buf[pos..scan]` holds no CR or LF;
/// for `Data::Buf { start, end }`, `start <= end <= pos`; when `skip_lf` is set,
/// `pos == buf.len()` and nothing is held. `pos`, `start` and `end` are 0, the buffer's
/// length or just after an ASCII byte (a line end, `data:`, a space), so character
/// boundaries of the text buffer.
#[derive(Clone, Debug, Default)]
struct State {
    limits: Limits,
    lossy: bool,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Start of the first line not yet processed.
    pos: usize,
    /// Resume offset of the line-end search.
    scan: usize,
    /// Bytes examined by the line-end search.
    scanned: u64,
    /// The last byte processed was a CR ending a line: an LF starting the next feed
    /// belongs to it.
    skip_lf: bool,
    /// How many bytes of a leading BOM have been seen (0..=2), or `BOM_DONE`.
    bom: u8,
    /// After a limit error: drop lines up to and including the next blank line.
    discard: bool,
    /// While discarding: the input so far ended inside a line.
    mid_line: bool,
    /// A non-blank line has been read since the last blank line.
    event_open: bool,
    /// Stream offset of the first line of the open event.
    event_start: u64,
    data: Data,
    /// The data buffer when `data == Data::Owned` (values joined with LF).
    data_buf: String,
    /// The event type buffer.
    event_type: String,
    /// The last event ID buffer, set by `id` fields; valid when `id_dirty`.
    id_buf: String,
    id_dirty: bool,
    /// The last event ID string, committed from `id_buf` at each blank line.
    last_id: String,
    retry: Option<u64>,
    /// Opt-in legacy framing: an `id`/`event` line dispatches pending data.
    split_on_new_id: bool,
    /// The last item lent the type/data buffers; clear them before going on.
    reset_pending: bool,
    /// A line decoded with U+FFFD replacement (lossy mode).
    scratch: String,
    /// Set by `finish`.
    eof: Option<EofState>,
}

#[derive(Clone, Copy, Debug)]
struct EofState {
    unterminated_line: bool,
    pending: bool,
}

impl Decoder {
    /// A decoder with the default [`Limits`] (16 MiB each) in strict UTF-8 mode.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder with the given limits, in strict UTF-8 mode.
    ///
    /// # Example
    ///
    /// This example shows an event over the size limit being reported once and skipped.
    ///
    /// ```
    /// use dashscope_glm::sse::{Decoder, Error, Item, Limits};
    ///
    /// let mut decoder = Decoder::with_limits(Limits::new().max_event(16));
    /// decoder.feed(b"data: 0123456789\ndata: more\n\ndata: ok\n\n");
    /// let too_long = Error::EventTooLong { limit: 16, offset: 0 };
    /// assert_eq!(decoder.next_item(), Some(Err(too_long)));
    /// let Some(Ok(Item::Event(event))) = decoder.next_item() else { panic!() };
    /// assert_eq!(event.data(), "ok");
    /// ```
    #[must_use]
    pub fn with_limits(limits: Limits) -> Self {
        let mut decoder = Self::new();
        decoder.st.limits = limits;
        decoder
    }

    /// Chooses between strict UTF-8 (`false`, the default: invalid input is
    /// [`Error::InvalidUtf8`]) and lossy decoding (`true`: each invalid sequence of a
    /// line becomes U+FFFD, exactly as [`String::from_utf8_lossy`] would do on the
    /// complete line, as the WHATWG rules do). A character split across feeds is never
    /// replaced in either mode.
    ///
    /// # Example
    ///
    /// This example shows lossy decoding.
    ///
    /// ```
    /// use dashscope_glm::sse::{Decoder, Item};
    ///
    /// let mut decoder = Decoder::new().lossy(true);
    /// decoder.feed(b"data: a\xFFb\n\n");
    /// let Some(Ok(Item::Event(event))) = decoder.next_item() else { panic!() };
    /// assert_eq!(event.data(), "a\u{FFFD}b");
    /// ```
    #[must_use]
    pub fn lossy(mut self, lossy: bool) -> Self {
        self.st.lossy = lossy;
        self
    }

    /// Opt-in, not WHATWG: an `id` or `event` line that arrives while the event's data
    /// buffer is not empty ends that event first, as if a blank line had preceded it.
    ///
    /// Older DashScope gateways send native events without the blank line between them
    /// (`id:1`, `event:result`, `data:{...}`, `id:2`, ...). By the spec such a stream is
    /// one event that never ends; with this mode each `id:` starts a new one, so the
    /// events stream as they arrive. Streams whose `id` and `event` lines come before
    /// their `data` lines, as DashScope's do, decode exactly as without it. The last
    /// event of such a stream still lacks its blank line: take it from
    /// [`Eof::pending`] at the end.
    ///
    /// # Example
    ///
    /// This example shows a stream of native events without blank lines between them.
    ///
    /// ```
    /// use dashscope_glm::sse::{Decoder, Item};
    ///
    /// let mut decoder = Decoder::new().split_on_new_id(true);
    /// decoder.feed(b"id:1\nevent:result\ndata:{\"a\":1}\nid:2\nevent:result\ndata:{\"a\":2}\n");
    /// let Some(Ok(Item::Event(first))) = decoder.next_item() else { panic!() };
    /// assert_eq!((first.id(), first.data()), ("1", r#"{"a":1}"#));
    /// assert!(decoder.next_item().is_none());
    /// let eof = decoder.finish()?;
    /// assert_eq!(eof.pending().map(|e| (e.id(), e.data())), Some(("2", r#"{"a":2}"#)));
    /// # Ok::<(), dashscope_glm::sse::Error>(())
    /// ```
    #[must_use]
    pub fn split_on_new_id(mut self, split: bool) -> Self {
        self.st.split_on_new_id = split;
        self
    }

    /// Pushes input. Any size, split anywhere (also inside a line end, a BOM or a UTF-8
    /// character). Never fails and produces nothing by itself: call
    /// [`next_item`](Self::next_item) until it returns `None` before feeding more, or
    /// the input buffer grows with every feed.
    ///
    /// The bytes are copied into an internal buffer, which is compacted lazily (only the
    /// unfinished line, and a pending single-line data value, are kept), and validated as
    /// UTF-8 there, once per feed; lines are then lent from it without another pass. Bytes fed after
    /// [`finish`](Self::finish) are ignored (see [`reset`](Self::reset)).
    ///
    /// # Example
    ///
    /// This example shows that feeding alone yields nothing, and that a BOM split across
    /// feeds is removed.
    ///
    /// ```
    /// use dashscope_glm::sse::{Decoder, Item};
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"\xEF\xBB");
    /// decoder.feed(b"\xBFdata: hi\n");
    /// assert!(decoder.next_item().is_none()); // the blank line has not arrived yet
    /// decoder.feed(b"\n");
    /// let Some(Ok(Item::Event(event))) = decoder.next_item() else { panic!() };
    /// assert_eq!((event.data(), event.offset()), ("hi", 3));
    /// ```
    #[inline]
    pub fn feed(&mut self, bytes: &[u8]) {
        if let ([b], Store::Text(text), 0) = (bytes, &mut self.buf.store, self.buf.held_len) {
            let st = &self.st;
            // One ASCII byte (reads of one byte): appended at once when nothing else is
            // to be done, as `feed_any` would (it compacts only when `keep > 0` and the
            // kept tail is no longer than the dropped part, or when the buffer is full).
            let keep = match st.data {
                Data::Buf { start, .. } => start.min(st.pos),
                _ => st.pos,
            };
            let len = text.len();
            if b.is_ascii()
                && st.eof.is_none()
                && !st.reset_pending
                && st.bom == BOM_DONE
                && !st.skip_lf
                && len < text.capacity()
                && (keep == 0 || len - keep > keep)
            {
                text.push(char::from(*b));
                return;
            }
        }
        self.feed_any(bytes);
    }

    /// [`feed`](Self::feed), every case.
    fn feed_any(&mut self, bytes: &[u8]) {
        let st = &mut self.st;
        if st.eof.is_some() || bytes.is_empty() {
            return;
        }
        st.apply_reset();
        let mut bytes = bytes;
        if st.bom != BOM_DONE {
            // Spec: one leading U+FEFF is removed. Match it byte by byte, so that it may
            // arrive split across feeds; a partial match followed by anything else is data.
            while let Some((&first, rest)) = bytes.split_first() {
                if BOM.get(usize::from(st.bom)) != Some(&first) {
                    break;
                }
                st.bom += 1;
                bytes = rest;
                if st.bom == BOM_DONE {
                    st.base = 3;
                    break;
                }
            }
            if st.bom != BOM_DONE {
                if bytes.is_empty() {
                    return; // Still a possible BOM prefix: wait for more.
                }
                // Not a BOM: the bytes held back are data.
                let held = BOM.get(..usize::from(st.bom)).unwrap_or_default();
                st.bom = BOM_DONE;
                self.compact(held.len() + bytes.len());
                self.buf.push(held);
                self.buf.push(bytes);
                return;
            }
            if bytes.is_empty() {
                return;
            }
        }
        let skip_lf = st.skip_lf && bytes.first() == Some(&b'\n');
        st.skip_lf = false;
        self.compact(bytes.len());
        self.buf.push(bytes);
        if skip_lf {
            // The LF completes a CRLF whose CR ended the previous feed (`pos` was at the
            // end of the buffer).
            self.st.pos += 1;
            self.st.scan = self.st.pos;
        }
    }

    /// Drops consumed bytes and makes room for `incoming` more (and the held bytes of a
    /// split character), keeping capacity within `max(max_line, max_event) + incoming`
    /// (+ 3) when the retained tail is within limits.
    #[inline]
    fn compact(&mut self, incoming: usize) {
        let incoming = incoming + self.buf.held_len;
        let keep = match self.st.data {
            Data::Buf { start, .. } => start.min(self.st.pos),
            _ => self.st.pos,
        };
        if keep == 0
            && self.buf.len().saturating_add(incoming) <= self.buf.capacity()
            && matches!(self.buf.store, Store::Text(_))
        {
            // Nothing to drop, room enough, text mode: the common case of small reads.
            return;
        }
        self.compact_slow(incoming, keep);
    }

    fn compact_slow(&mut self, incoming: usize, keep: usize) {
        let st = &mut self.st;
        let len = self.buf.len();
        let tail = len.saturating_sub(keep);
        let full = len.saturating_add(incoming) > self.buf.capacity();
        // Moving the tail costs at most the bytes dropped, so compaction is amortised
        // O(1) per byte; when the buffer is full it avoids growing it.
        if keep > 0 && (tail <= keep || full) && self.buf.drop_front(keep) {
            st.base += keep as u64;
            st.pos -= keep;
            st.scan -= keep;
            if let Data::Buf { start, end } = &mut st.data {
                *start -= keep;
                *end -= keep;
            }
        }
        let need = self.buf.len().saturating_add(incoming);
        if need > self.buf.capacity() {
            let bound = st
                .limits
                .max_line
                .max(st.limits.max_event)
                .saturating_add(incoming);
            let target = need.max(self.buf.capacity().saturating_mul(2).min(bound));
            self.buf.reserve_exact(target - self.buf.len());
        }
        if matches!(self.buf.store, Store::Raw(_)) && self.buf.len() <= incoming {
            // Back to text once the bytes kept are valid again. Validating them costs no
            // more than the feed being added, so this stays linear.
            self.buf.try_text();
        }
    }

    /// Pulls the next event or comment. `None` means "need more input" (or, after
    /// [`finish`](Self::finish), "done").
    ///
    /// Comments are yielded as their line is read, so they come out in input order with
    /// the events around them. An event is yielded as soon as the blank line that ends it
    /// has been read, CR-terminated ones included.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUtf8`] (strict mode), [`Error::LineTooLong`] and
    /// [`Error::EventTooLong`], in stream order. Keep calling `next_item` after an
    /// error: decoding goes on as the [module docs](super#errors-and-recovery) describe.
    ///
    /// # Example
    ///
    /// This example shows the loop that drains the decoder, with a comment, an error and an
    /// event coming out in stream order.
    ///
    /// ```
    /// use dashscope_glm::sse::{Decoder, Item};
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b": ping\ndata: \xC3\n\ndata: ok\n\n");
    /// let mut seen = Vec::new();
    /// while let Some(item) = decoder.next_item() {
    ///     match item {
    ///         Ok(Item::Comment(text)) => seen.push(format!("comment{text}")),
    ///         Ok(Item::Event(event)) => seen.push(format!("event {}", event.data())),
    ///         Ok(_) => {}
    ///         Err(err) => seen.push(format!("error at {}", err.offset())),
    ///     }
    /// }
    /// assert_eq!(seen, ["comment ping", "error at 13", "event ok"]);
    /// ```
    #[must_use = "an unread item is lost at the next call"]
    #[inline]
    pub fn next_item(&mut self) -> Option<Result<Item<'_>, Error>> {
        if self.no_line_end_yet() {
            return None;
        }
        self.next_item_any()
    }

    /// The common case of small reads, decided without entering the state machine: the
    /// few bytes fed since the last call hold no line end, and the unfinished line is
    /// within the limits, so there is no item yet. Returns `false` (nothing done) in any
    /// other case, for [`next_item_any`](Self::next_item_any) to handle.
    #[inline]
    fn no_line_end_yet(&mut self) -> bool {
        /// Reads up to this long take the shortcut.
        const SHORT: usize = 16;
        let st = &mut self.st;
        if st.reset_pending
            || st.eof.is_some()
            || st.split_on_new_id
            || st.discard
            || self.buf.held_len != 0
        {
            return false;
        }
        let buf = self.buf.bytes();
        let len = buf.len();
        let Some(hay) = buf.get(st.scan..) else {
            return false;
        };
        if hay.len() > SHORT || hay.iter().any(|&c| c == b'\n' || c == b'\r') {
            return false;
        }
        if st.pos < len {
            // `unfinished_line`'s check: an error is for `next_item_any` to report.
            let line_start = st.base + st.pos as u64;
            let event_start = if st.event_open {
                st.event_start
            } else {
                line_start
            };
            if st.limit_error(line_start, event_start, len).is_some() {
                return false;
            }
        }
        st.scanned += hay.len() as u64;
        st.scan = len;
        true
    }

    /// [`next_item`](Self::next_item), every case.
    fn next_item_any(&mut self) -> Option<Result<Item<'_>, Error>> {
        // Split borrows: items lend from `buf` while `st` changes.
        let input = &self.buf;
        let buf = input.bytes();
        let held = input.held_len;
        let st = &mut self.st;
        if st.eof.is_some() {
            return None;
        }
        st.apply_reset();
        loop {
            if let Some(value) = st.single_data_line_event(input) {
                return Some(Ok(Item::Event(st.event(value))));
            }
            let from = st.scan;
            let hay = buf.get(from..).unwrap_or_default();
            let Some(rel) = find_eol(hay) else {
                st.scanned += hay.len() as u64;
                st.scan = buf.len();
                if st.split_on_new_id && st.data != Data::None && !st.discard {
                    // Decide as early as the bytes allow whether the unfinished line
                    // starts a new event, so that limits (and so the items) do not depend
                    // on where the input was split.
                    let so_far = starts_new_event_so_far(buf.get(st.pos..).unwrap_or_default());
                    // Held bytes (a split character) are not ASCII: they decide "no".
                    let so_far = if held > 0 {
                        so_far.or(Some(false))
                    } else {
                        so_far
                    };
                    match so_far {
                        Some(true) => {
                            st.end_block();
                            return Some(st.dispatch(input));
                        }
                        None => return None,
                        Some(false) => {}
                    }
                }
                return st.unfinished_line(buf.len(), held).map(Err);
            };
            st.scanned += rel as u64 + 1;
            let line_start = st.pos;
            let eol = from + rel;
            let next = line_end(buf, eol, held, &mut st.skip_lf);
            st.pos = next;
            st.scan = next;
            let line = buf.get(line_start..eol).unwrap_or_default();

            if st.discard {
                if line.is_empty() && !st.mid_line {
                    // The blank line ending the discarded event.
                    st.discard = false;
                    st.end_block();
                }
                st.mid_line = false;
                continue;
            }

            if line.is_empty() {
                // Dispatch (spec "dispatch the event"): commit the last event ID; with an
                // empty data buffer reset and dispatch nothing.
                st.end_block();
                if st.data == Data::None {
                    st.event_type.clear();
                    continue;
                }
                return Some(st.dispatch(input));
            }

            if st.split_on_new_id && st.data != Data::None && starts_new_event(line) {
                // Not WHATWG: an `id` or `event` field while data is pending ends the
                // event, as if a blank line had come first (see `split_on_new_id`). The
                // line is read again for the next event; its line end is known, so the
                // search resumes there and no byte of it is scanned twice.
                st.pos = line_start;
                st.scan = eol;
                st.scanned -= 1;
                st.skip_lf = false;
                st.end_block();
                return Some(st.dispatch(input));
            }

            if !st.event_open {
                st.event_open = true;
                st.event_start = st.base + line_start as u64;
            }
            if let Some(err) = st.check_complete_line(line_start, eol) {
                return Some(Err(err));
            }

            let text = match input.text(line_start, eol) {
                Ok(text) => text,
                Err(e) if !st.lossy => {
                    // Strict: drop this line, report the first bad byte.
                    return Some(Err(Error::InvalidUtf8 {
                        offset: st.base + (line_start + e.valid_up_to()) as u64,
                    }));
                }
                Err(_) => {
                    st.scratch.clear();
                    for chunk in line.utf8_chunks() {
                        st.scratch.push_str(chunk.valid());
                        if !chunk.invalid().is_empty() {
                            st.scratch.push(char::REPLACEMENT_CHARACTER);
                        }
                    }
                    st.own_data(input);
                    let text = std::mem::take(&mut st.scratch);
                    let is_comment = st.owned_line(&text);
                    st.scratch = text;
                    if is_comment {
                        let st = &*st;
                        return Some(Ok(Item::Comment(st.scratch.get(1..).unwrap_or_default())));
                    }
                    continue;
                }
            };

            match classify(text) {
                Line::Comment(comment) => return Some(Ok(Item::Comment(comment))),
                Line::Data(value) => match st.data {
                    Data::None => {
                        // Fast path: a single data line directly followed by the blank
                        // line is dispatched at once, lent from the input.
                        if let Some(after) = blank_line_at(buf, next, held, &mut st.skip_lf) {
                            st.scanned += (after - next) as u64;
                            st.pos = after;
                            st.scan = after;
                            st.end_block();
                            st.reset_pending = true;
                            return Some(Ok(Item::Event(st.event(value))));
                        }
                        // `value` is a suffix of the line.
                        st.data = Data::Buf {
                            start: eol - value.len(),
                            end: eol,
                        };
                    }
                    Data::Buf { start, end } => {
                        let first = input.text(start, end).unwrap_or_default();
                        st.data_buf.clear();
                        st.push_data(first);
                        st.push_data("\n");
                        st.push_data(value);
                        st.data = Data::Owned;
                    }
                    Data::Owned => {
                        st.push_data("\n");
                        st.push_data(value);
                    }
                },
                Line::Field(name, value) => st.other_field(name, value),
            }
        }
    }

    /// Ends the input. Call it after `next_item` returned `None` for the last feed.
    ///
    /// By the WHATWG rules, an event not ended by a blank line, and a last line without a
    /// line end, are discarded: the returned [`Eof`] says whether that happened and lends
    /// the event that was discarded ([`Eof::pending`]). The last event ID and the
    /// reconnection time are not changed by what is discarded.
    ///
    /// Items still buffered when `finish` is called (because `next_item` was not
    /// drained) are processed and dropped. Calling `finish` again returns the same
    /// `Eof`; later feeds are ignored until [`reset`](Self::reset).
    ///
    /// # Errors
    ///
    /// The first error of any items still buffered, or [`Error::InvalidUtf8`] when the
    /// unterminated last line is not UTF-8 in strict mode. That line is then dropped;
    /// call `finish` again to get the `Eof`.
    ///
    /// # Example
    ///
    /// This example shows `finish` reporting a bad unterminated last line, then the [`Eof`]
    /// on the second call.
    ///
    /// ```
    /// use dashscope_glm::sse::{Decoder, Error, Item};
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"data: ok\n\ndata: \xFF");
    /// let Some(Ok(Item::Event(event))) = decoder.next_item() else { panic!() };
    /// assert_eq!(event.data(), "ok");
    /// assert_eq!(decoder.finish(), Err(Error::InvalidUtf8 { offset: 16 }));
    /// let eof = decoder.finish()?;
    /// assert!(eof.unterminated_line() && !eof.dropped());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn finish(&mut self) -> Result<Eof<'_>, Error> {
        let eof = match self.st.eof {
            Some(eof) => eof,
            None => {
                while let Some(item) = self.next_item() {
                    item?;
                }
                self.finish_input()?
            }
        };
        let st = &self.st;
        let pending = eof.pending.then(|| Event {
            event_type: if st.event_type.is_empty() {
                "message"
            } else {
                &st.event_type
            },
            data: &st.data_buf,
            id: if st.id_dirty { &st.id_buf } else { &st.last_id },
            offset: st.event_start,
        });
        Ok(Eof {
            pending,
            unterminated_line: eof.unterminated_line,
        })
    }

    /// Processes the unterminated last line (for `Eof::pending` only) and records the
    /// end of input, which it also returns.
    fn finish_input(&mut self) -> Result<EofState, Error> {
        // Raw mode: the held bytes of a split character join the last line.
        self.buf.make_raw();
        let st = &mut self.st;
        st.apply_reset();
        if st.bom != BOM_DONE {
            // One or two bytes of a BOM and then the end: they are data.
            let held = BOM.get(..usize::from(st.bom)).unwrap_or_default();
            self.buf.push_raw(held);
            st.bom = BOM_DONE;
        }
        let len = self.buf.len();
        if st.discard {
            let eof = EofState {
                unterminated_line: st.mid_line || st.pos < len,
                pending: false,
            };
            st.eof = Some(eof);
            st.pos = len;
            st.scan = len;
            return Ok(eof);
        }
        // Pending data moves to `data_buf` so that `Eof` can lend it.
        st.own_data(&self.buf);
        let unterminated_line = st.pos < len;
        if unterminated_line {
            let line_start = st.pos;
            st.pos = len;
            st.scan = len;
            if !st.event_open {
                st.event_open = true;
                st.event_start = st.base + line_start as u64;
            }
            let line = self.buf.bytes().get(line_start..).unwrap_or_default();
            let mut text = std::mem::take(&mut st.scratch);
            text.clear();
            match std::str::from_utf8(line) {
                Ok(valid) => text.push_str(valid),
                Err(e) if !st.lossy => {
                    st.scratch = text;
                    st.eof = Some(EofState {
                        unterminated_line: true,
                        pending: st.data != Data::None,
                    });
                    return Err(Error::InvalidUtf8 {
                        offset: st.base + (line_start + e.valid_up_to()) as u64,
                    });
                }
                Err(_) => {
                    for chunk in line.utf8_chunks() {
                        text.push_str(chunk.valid());
                        if !chunk.invalid().is_empty() {
                            text.push(char::REPLACEMENT_CHARACTER);
                        }
                    }
                }
            }
            // As a field line; a `retry` here is discarded with the line.
            let retry = st.retry;
            st.owned_line(&text);
            st.retry = retry;
            st.scratch = text;
        }
        let eof = EofState {
            unterminated_line,
            pending: st.data != Data::None,
        };
        st.eof = Some(eof);
        Ok(eof)
    }

    /// Starts a new stream on this decoder (a reconnection), keeping what the spec keeps
    /// across reconnections (the last event ID and the reconnection time), the limits,
    /// the UTF-8 mode and the buffers' capacity. Offsets start again at 0.
    ///
    /// # Example
    ///
    /// This example shows a decoder reused after a cut stream: the last event ID and the
    /// reconnection time survive, offsets start again at 0.
    ///
    /// ```
    /// use dashscope_glm::sse::{Decoder, Item};
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"id: 41\nretry: 3000\ndata: a\n\ndata: cut");
    /// assert!(decoder.finish()?.dropped());
    /// decoder.reset();
    /// assert_eq!((decoder.last_event_id(), decoder.retry()), ("41", Some(3000)));
    /// assert_eq!(decoder.offset(), 0);
    /// decoder.feed(b"data: b\n\n");
    /// let Some(Ok(Item::Event(event))) = decoder.next_item() else { panic!() };
    /// assert_eq!((event.data(), event.id(), event.offset()), ("b", "41", 0));
    /// # Ok::<(), dashscope_glm::sse::Error>(())
    /// ```
    pub fn reset(&mut self) {
        let st = &mut self.st;
        self.buf.clear();
        let mut fresh = State {
            limits: st.limits,
            lossy: st.lossy,
            retry: st.retry,
            last_id: std::mem::take(&mut st.last_id),
            data_buf: std::mem::take(&mut st.data_buf),
            event_type: std::mem::take(&mut st.event_type),
            id_buf: std::mem::take(&mut st.id_buf),
            scratch: std::mem::take(&mut st.scratch),
            ..State::default()
        };
        fresh.data_buf.clear();
        fresh.event_type.clear();
        fresh.id_buf.clear();
        *st = fresh;
    }

    /// The reconnection time in milliseconds set by the last valid `retry` field, if
    /// any. A digit run too large for a `u64` saturates at `u64::MAX`.
    ///
    /// # Example
    ///
    /// This example shows that only a run of ASCII digits sets the reconnection time.
    ///
    /// ```
    /// use dashscope_glm::sse::Decoder;
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"retry: 2500\n\nretry: 2s\n\n");
    /// while let Some(item) = decoder.next_item() {
    ///     item?;
    /// }
    /// assert_eq!(decoder.retry(), Some(2500));
    /// # Ok::<(), dashscope_glm::sse::Error>(())
    /// ```
    #[must_use]
    pub fn retry(&self) -> Option<u64> {
        self.st.retry
    }

    /// The last event ID string: committed from the `id` fields at each blank line
    /// (whether or not an event was dispatched), `""` if never set.
    ///
    /// # Example
    ///
    /// This example shows an ID committed by a blank line that dispatches nothing.
    ///
    /// ```
    /// use dashscope_glm::sse::{Decoder, Item};
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"id: 7\n\ndata: a\n\n");
    /// let Some(Ok(Item::Event(event))) = decoder.next_item() else { panic!() };
    /// assert_eq!(event.id(), "7");
    /// assert_eq!(decoder.last_event_id(), "7");
    /// ```
    #[must_use]
    pub fn last_event_id(&self) -> &str {
        &self.st.last_id
    }

    /// Stream bytes processed so far: every byte fed except the unfinished last line
    /// (and a possible BOM prefix still being matched). After [`finish`](Self::finish)
    /// it equals the number of bytes fed.
    ///
    /// # Example
    ///
    /// This example shows the offset stopping at the start of an unfinished line.
    ///
    /// ```
    /// use dashscope_glm::sse::{Decoder, Item};
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"data: a\n\ndata: b");
    /// let Some(Ok(Item::Event(_))) = decoder.next_item() else { panic!() };
    /// assert!(decoder.next_item().is_none());
    /// assert_eq!(decoder.offset(), 9);
    /// decoder.finish()?;
    /// assert_eq!(decoder.offset(), 16);
    /// # Ok::<(), dashscope_glm::sse::Error>(())
    /// ```
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.st.base + self.st.pos as u64
    }

    /// The limits in force.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.st.limits
    }

    /// Bytes examined by the line-end search so far (for tests of linearity: each byte
    /// is examined at most once). Reached from outside through
    /// [`crate::__private::bytes_scanned`].
    #[must_use]
    pub(crate) fn bytes_scanned(&self) -> u64 {
        self.st.scanned
    }

    /// Total capacity of the decoder's buffers, in bytes (for tests of memory bounds).
    /// Reached from outside through [`crate::__private::buffered_capacity`].
    #[must_use]
    pub(crate) fn buffered_capacity(&self) -> usize {
        self.buf.capacity()
            + self.st.data_buf.capacity()
            + self.st.event_type.capacity()
            + self.st.id_buf.capacity()
            + self.st.last_id.capacity()
            + self.st.scratch.capacity()
    }
}

/// The index after the line end at `eol` (CR, LF or CRLF) in the stored bytes `buf`,
/// which `held` held bytes follow. A CR that is the last byte fed so far sets
/// `skip_lf`: an LF starting the next feed is part of it.
///
/// A CR that is the last stored byte but has held bytes after it (the start of a
/// character split across feeds, never an LF) is a lone CR: the next byte of the stream
/// is the first held one, not the next feed's first. Setting `skip_lf` there would pair
/// the CR with a later LF and drop the held bytes in its place.
#[inline]
fn line_end(buf: &[u8], eol: usize, held: usize, skip_lf: &mut bool) -> usize {
    if buf.get(eol) == Some(&b'\r') {
        match buf.get(eol + 1) {
            Some(b'\n') => return eol + 2,
            None if held == 0 => *skip_lf = true,
            None | Some(_) => {}
        }
    }
    eol + 1
}

/// Whether a line is an `id` or `event` field (name before the first colon, or the whole
/// line), which starts a new event in [`Decoder::split_on_new_id`] mode.
fn starts_new_event(line: &[u8]) -> bool {
    let name = line.split(|&b| b == b':').next().unwrap_or_default();
    name == b"id" || name == b"event"
}

/// For a line not complete yet: whether its bytes so far decide that it is an `id` or
/// `event` field (`Some`), or could still go either way (`None`: a prefix of `id` or
/// `event` with no colon yet).
fn starts_new_event_so_far(partial: &[u8]) -> Option<bool> {
    match partial.iter().position(|&b| b == b':') {
        Some(colon) => Some(matches!(partial.get(..colon), Some(b"id" | b"event"))),
        None if b"id".starts_with(partial) || b"event".starts_with(partial) => None,
        None => Some(false),
    }
}

/// If a blank line starts at `at` (and is complete), the index after it ([`line_end`]:
/// `held` bytes follow `buf`).
#[inline]
fn blank_line_at(buf: &[u8], at: usize, held: usize, skip_lf: &mut bool) -> Option<usize> {
    match buf.get(at) {
        Some(b'\n' | b'\r') => Some(line_end(buf, at, held, skip_lf)),
        _ => None,
    }
}

impl State {
    /// The commonest event, taken in one step: at the start of an event, in text mode, a
    /// `data:` line within the limits directly followed by the blank line that ends it
    /// (LF LF or CRLF CRLF, all in the buffer). Does what the general path does for these
    /// two lines (commit the last event ID, set the event offset, mark the buffers for
    /// reset) and returns the data, or returns `None` having changed nothing but the
    /// line-end search's resume point (`scan`, moved to the line end it found, so that no
    /// byte is examined twice).
    #[inline]
    fn single_data_line_event<'a>(&mut self, input: &'a Input) -> Option<&'a str> {
        let Store::Text(text) = &input.store else {
            return None;
        };
        if self.discard
            || self.split_on_new_id
            || self.event_open
            || self.data != Data::None
            || self.scan != self.pos
        {
            return None;
        }
        let buf = text.as_bytes();
        let start = self.pos;
        let hay = buf.get(start..)?;
        let Some(rel) = find_eol(hay) else {
            // No line end: the general path goes on from the end.
            self.scanned += hay.len() as u64;
            self.scan = buf.len();
            return None;
        };
        // `buf[start..eol]` holds no CR or LF: the general path resumes at `eol`.
        let eol = start + rel;
        self.scanned += rel as u64;
        self.scan = eol;
        // Where the blank line ends, and the bytes the general path counts as scanned
        // for the two line ends (it does not count the LF of a CRLF).
        let (after, counted) = match buf.get(eol..eol + 2) {
            Some(b"\n\n") => (eol + 2, 2),
            Some(b"\r\n") if buf.get(eol + 2..eol + 4) == Some(b"\r\n") => (eol + 4, 3),
            _ => return None,
        };
        let Limits {
            max_line,
            max_event,
        } = self.limits;
        if rel > max_line || rel > max_event {
            return None;
        }
        let value = text.get(start..eol)?.strip_prefix("data:")?;
        let value = value.strip_prefix(' ').unwrap_or(value);
        self.scanned += counted;
        self.pos = after;
        self.scan = after;
        self.event_start = self.base + start as u64;
        self.end_block();
        self.reset_pending = true;
        Some(value)
    }

    /// Clears the buffers the last item lent out.
    #[inline]
    fn apply_reset(&mut self) {
        if self.reset_pending {
            self.reset_pending = false;
            self.event_type.clear();
            self.data_buf.clear();
            self.data = Data::None;
        }
    }

    /// The end of an event block (a blank line): commits the last event ID buffer
    /// (spec dispatch step 1, done whether or not anything is dispatched).
    #[inline]
    fn end_block(&mut self) {
        self.event_open = false;
        if self.id_dirty {
            self.id_dirty = false;
            std::mem::swap(&mut self.last_id, &mut self.id_buf);
        }
    }

    /// Lends the pending event (the data buffer is not empty) and marks the buffers for
    /// reset.
    fn dispatch<'a>(&'a mut self, buf: &'a Input) -> Result<Item<'a>, Error> {
        self.reset_pending = true;
        match self.data {
            Data::Buf { start, end } => {
                // Validated when the line was read: sliced from the text, or (raw mode)
                // checked again because only `from_utf8` makes a `&str` without unsafe.
                let Ok(data) = buf.text(start, end) else {
                    return Err(Error::InvalidUtf8 {
                        offset: self.base + start as u64,
                    });
                };
                Ok(Item::Event(self.event(data)))
            }
            Data::None | Data::Owned => Ok(Item::Event(self.event(&self.data_buf))),
        }
    }

    /// The event being dispatched, with `data`.
    #[inline]
    fn event<'a>(&'a self, data: &'a str) -> Event<'a> {
        Event {
            event_type: if self.event_type.is_empty() {
                "message"
            } else {
                &self.event_type
            },
            data,
            id: &self.last_id,
            offset: self.event_start,
        }
    }

    /// Limit checks on a complete, non-blank line `buf[line_start..eol]`.
    #[inline]
    fn check_complete_line(&mut self, line_start: usize, eol: usize) -> Option<Error> {
        let err = self.limit_error(self.base + line_start as u64, self.event_start, eol)?;
        self.start_discarding(false);
        Some(err)
    }

    /// The limit crossed by the line starting at stream offset `line_start`, in an event
    /// starting at `event_start`, once `buf[..end]` is read.
    ///
    /// When both limits are exceeded, the one crossed at the earlier byte wins (the line
    /// limit on a tie), so the error does not depend on how the input was split.
    #[inline]
    fn limit_error(&self, line_start: u64, event_start: u64, end: usize) -> Option<Error> {
        let end = self.base + end as u64;
        let Limits {
            max_line,
            max_event,
        } = self.limits;
        // Stream offset of the byte that crosses each limit.
        let line_cross = line_start.saturating_add(max_line as u64);
        let event_cross = event_start.saturating_add(max_event as u64);
        let line_over = end > line_cross;
        let event_over = end > event_cross;
        if line_over && (!event_over || line_cross <= event_cross) {
            Some(Error::LineTooLong {
                limit: max_line,
                offset: line_start,
            })
        } else if event_over {
            Some(Error::EventTooLong {
                limit: max_event,
                offset: event_start,
            })
        } else {
            None
        }
    }

    /// No line end in `buf[pos..len]` nor in the `held` bytes after it: consume them if
    /// discarding, else check the limits against the unfinished line, so that an
    /// over-long line is reported (and its bytes dropped) before it is complete. Held
    /// bytes stay held, and are dropped with the rest of the line when they arrive.
    fn unfinished_line(&mut self, len: usize, held: usize) -> Option<Error> {
        if self.pos == len && held == 0 {
            return None;
        }
        if self.discard {
            self.mid_line = true;
            self.pos = len;
            self.scan = len;
            return None;
        }
        let line_start = self.base + self.pos as u64;
        let event_start = if self.event_open {
            self.event_start
        } else {
            line_start
        };
        let err = self.limit_error(line_start, event_start, len + held)?;
        self.pos = len;
        self.scan = len;
        self.start_discarding(true);
        Some(err)
    }

    /// Drops the event being read; lines are skipped up to the next blank line.
    fn start_discarding(&mut self, mid_line: bool) {
        self.discard = true;
        self.mid_line = mid_line;
        self.data = Data::None;
        self.data_buf.clear();
        self.event_type.clear();
    }

    /// Appends to the owned data buffer, growing it at most to `max_event` bytes when the
    /// data fits (the limit check has already bounded the data by then).
    #[inline]
    fn push_data(&mut self, s: &str) {
        let need = self.data_buf.len() + s.len();
        if need > self.data_buf.capacity() {
            let target = need.max(
                self.data_buf
                    .capacity()
                    .saturating_mul(2)
                    .min(self.limits.max_event),
            );
            self.data_buf.reserve_exact(target - self.data_buf.len());
        }
        self.data_buf.push_str(s);
    }

    /// Moves data lent from the input buffer into `data_buf`.
    fn own_data(&mut self, buf: &Input) {
        if let Data::Buf { start, end } = self.data {
            let data = buf.text(start, end).unwrap_or_default();
            self.data_buf.clear();
            self.push_data(data);
            self.data = Data::Owned;
        }
    }

    /// A line that is not in the input buffer (lossy-decoded, or the last line at
    /// `finish`). Returns whether it is a comment (whose text is `line[1..]`).
    fn owned_line(&mut self, line: &str) -> bool {
        if line.starts_with(':') {
            return true;
        }
        let (name, value) = split_field(line);
        if name != "data" {
            self.other_field(name, value);
            return false;
        }
        match self.data {
            Data::None => {
                self.data_buf.clear();
                self.push_data(value);
            }
            // Callers move lent data to `data_buf` first (`own_data`).
            Data::Buf { .. } | Data::Owned => {
                self.push_data("\n");
                self.push_data(value);
            }
        }
        self.data = Data::Owned;
        false
    }

    /// The fields other than `data`.
    #[inline]
    fn other_field(&mut self, name: &str, value: &str) {
        // Note: DashScope's native endpoint sometimes omits the blank line between
        // events (older gateways; the official Python SDK's v2 transport falls back to
        // one JSON document per `data:` line), so `id:`/`event:` lines arrive while data is
        // pending. By default this decoder stays spec-exact here; the opt-in
        // `split_on_new_id` (set by the chat layer for the native protocol) dispatches
        // before such a line is processed, in `next_item`.
        match name {
            "event" => {
                self.event_type.clear();
                self.event_type.push_str(value);
            }
            // An `id` value containing U+0000 NULL is ignored.
            "id" if !value.contains('\0') => {
                self.id_buf.clear();
                self.id_buf.push_str(value);
                self.id_dirty = true;
            }
            "retry" => {
                if let Some(ms) = parse_retry(value) {
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
    }
}
