//! The decoder state machine.

use super::event::{Eof, Event, Item};
use super::line::{Line, classify, parse_retry};
use super::{DecoderLimits, Error, find_either};

/// The byte order mark, removed once at the start of the stream.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// The input not consumed yet.
///
/// While the input is valid UTF-8 (the common case) it is a `String`: each feed is
/// validated once, as a whole, and lines are then sliced from it as `&str` at their line
/// ends, which are ASCII and so always character boundaries. A character split across
/// feeds waits in `held` until its last byte arrives. A feed holding a byte that cannot
/// be part of valid UTF-8 turns the buffer into raw bytes, where each line is validated
/// when it is read (strict errors with their offsets, lossy replacement); it turns back
/// into text once the bytes it keeps are valid again.
///
/// Invariant: the bytes of `store`, then `held[..held_len]`, are the input not dropped
/// yet. `held_len > 0` only in text mode, and then the held bytes are the start of one
/// character (at most 3 bytes; possibly an invalid one, found out when it completes).
#[derive(Clone, Debug, Default)]
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

impl Default for Store {
    fn default() -> Self {
        Self::Text(String::new())
    }
}

/// The length of the UTF-8 character that `lead` starts, if it is a multi-byte lead
/// byte (0 otherwise: ASCII, a continuation byte or a byte never valid in UTF-8).
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
fn incomplete_tail(bytes: &[u8]) -> usize {
    // The last byte that is not a continuation byte, among the last three.
    for (back, &b) in (1..).zip(bytes.iter().rev().take(3)) {
        if b & 0xC0 != 0x80 {
            return if char_width(b) > back {
                bytes.len() - back
            } else {
                bytes.len()
            };
        }
    }
    bytes.len()
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

    /// `bytes[start..end]` as text, or the offset in it of the first byte that is not
    /// UTF-8. In text mode both ends are at line ends or value starts, which follow ASCII
    /// bytes, so the slice is taken without another check.
    #[inline]
    fn text(&self, start: usize, end: usize) -> Result<&str, usize> {
        match &self.store {
            Store::Text(s) => {
                let text = s.get(start..end);
                debug_assert!(text.is_some(), "{start}..{end} are character boundaries");
                text.ok_or(0)
            }
            Store::Raw(v) => {
                let bytes = v.get(start..end).ok_or(0_usize)?;
                std::str::from_utf8(bytes).map_err(|e| e.valid_up_to())
            }
        }
    }

    /// Drops the first `n` bytes, a line start (so a character boundary in text mode;
    /// were it not, nothing would be dropped and the buffer would only grow).
    fn drop_front(&mut self, n: usize) -> bool {
        match &mut self.store {
            Store::Text(s) if s.is_char_boundary(n) => {
                s.drain(..n);
                true
            }
            Store::Text(_) => {
                debug_assert!(false, "{n} is a line start");
                false
            }
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
        match &mut self.store {
            Store::Text(s) => s.clear(),
            Store::Raw(v) => v.clear(),
        }
        self.try_text();
    }

    /// Switches to raw mode; the held bytes join the buffer.
    fn make_raw(&mut self) {
        if let Store::Text(text) = &mut self.store {
            let mut raw = std::mem::take(text).into_bytes();
            raw.extend(self.held.iter().take(self.held_len));
            self.held_len = 0;
            self.store = Store::Raw(raw);
        }
    }

    /// In raw mode, back to text if the kept bytes are valid UTF-8 and end at a character
    /// boundary (else it stays raw until a later feed: holding a split character here
    /// would take bytes the line-end search may already have passed). Validates the
    /// whole buffer: callers bound how often.
    fn try_text(&mut self) {
        if let Store::Raw(raw) = &mut self.store {
            // No copy either way: the vector moves into the string, or back.
            match String::from_utf8(std::mem::take(raw)) {
                Ok(text) => self.store = Store::Text(text),
                Err(e) => *raw = e.into_bytes(),
            }
        }
    }

    /// Appends input (the caller reserved room for `held_len + bytes.len()` bytes).
    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        match (&mut self.store, self.held_len, bytes) {
            // One ASCII byte (reads of one byte): no validation call.
            (Store::Text(text), 0, &[b]) if b.is_ascii() => text.push(char::from(b)),
            (_, 0, _) => self.push_any(bytes),
            (_, held_len, _) => self.complete_held(held_len, bytes),
        }
    }

    /// Completes the character split across feeds with the bytes it misses (as many as
    /// came): then it is pushed, held again, or the start of raw bytes.
    fn complete_held(&mut self, held_len: usize, bytes: &[u8]) {
        let width = self.held.first().map_or(0, |&b| char_width(b));
        let missing = width.saturating_sub(held_len);
        let (head, rest) = bytes.split_at(missing.min(bytes.len()));
        let mut piece = self.held;
        for (slot, &b) in piece.iter_mut().skip(held_len).zip(head) {
            *slot = b;
        }
        self.held_len = 0;
        let (piece, _) = piece.split_at((held_len + head.len()).min(piece.len()));
        self.push_any(piece);
        if !rest.is_empty() {
            self.push_any(rest);
        }
    }

    /// Appends input, nothing held.
    fn push_any(&mut self, bytes: &[u8]) {
        let text = match &mut self.store {
            Store::Text(text) => text,
            Store::Raw(raw) => return raw.extend_from_slice(bytes),
        };
        let (whole, tail) = bytes.split_at(incomplete_tail(bytes));
        if let Ok(valid) = std::str::from_utf8(whole) {
            text.push_str(valid);
            for (slot, &b) in self.held.iter_mut().zip(tail) {
                *slot = b;
            }
            self.held_len = tail.len();
        } else {
            self.make_raw();
            self.push_any(bytes);
        }
    }
}

/// Where the stream is, outside the lines themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Nothing fed but the first `bom` bytes of a byte order mark (0..=2).
    Start { bom: usize },
    /// Reading lines.
    Lines,
    /// Reading lines; the last byte fed was a CR that ended a line, so an LF that starts
    /// the next feed belongs to it.
    AfterCr,
    /// [`Decoder::finish`] was called; `unterminated_line`: the input ended inside a line.
    Ended { unterminated_line: bool },
}

impl Default for Phase {
    fn default() -> Self {
        Self::Start { bom: 0 }
    }
}

/// Where the lines read belong.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Block {
    /// Between events. The type and data buffers may still hold what the last item lent;
    /// they are cleared when the next event opens.
    #[default]
    Idle,
    /// Reading an event (a non-blank line has been read since the last blank line).
    Open(PendingEvent),
    /// After a limit error: lines are dropped up to and including the next blank line.
    /// `mid_line`: the bytes dropped so far end inside a line; `new_id` as in
    /// [`PendingEvent`], for the lines read before the error.
    Discarding { mid_line: bool, new_id: bool },
}

/// The event being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PendingEvent {
    /// Stream offset of its first line.
    offset: u64,
    data: Data,
    /// An `id` field has set the last event ID buffer: the blank line that ends the
    /// event commits it.
    new_id: bool,
}

/// Where the pending event's data lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Data {
    /// No `data` field yet: the data buffer is empty (nothing to dispatch).
    None,
    /// One `data` field so far; its value is `input[start..end]`, lent from the input
    /// buffer instead of copied (`compact` keeps these bytes).
    Lent { start: usize, end: usize },
    /// Two or more `data` fields (or a line decoded by replacement): joined in
    /// `State::data_buf`.
    Owned,
}

/// What reading lines found, for [`Decoder::next_item`] to hand out.
enum Found<'a> {
    Comment(&'a str),
    /// A comment decoded with U+FFFD replacement: its text is `State::scratch`.
    ReplacedComment,
    /// An event: its offset and data, lent from the input or (`None`) in `data_buf`.
    Event {
        offset: u64,
        data: Option<&'a str>,
    },
    Error(Error),
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
/// [`DecoderLimits`] as long as `next_item` is drained between feeds.
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
    /// Input not yet consumed, plus the pending data value of `Data::Lent`.
    input: Input,
    st: State,
}

/// Everything but the input buffer, so that items can borrow the input while this
/// changes.
///
/// Invariants: `pos <= scan <= input.len()` (the stored bytes; the held bytes of a split
/// character come after them and hold no CR or LF); `input[pos..scan]` holds no CR or LF;
/// for `Data::Lent { start, end }`, `start <= end <= pos`; in `Phase::AfterCr`,
/// `pos == input.len()` and nothing is held. `pos`, `start` and `end` are 0, the buffer's
/// length or just after an ASCII byte (a line end, `data:`, a space), so character
/// boundaries of the text buffer.
#[derive(Clone, Debug, Default)]
struct State {
    limits: DecoderLimits,
    lossy: bool,
    /// Opt-in legacy framing: an `id`/`event` line dispatches pending data.
    split_on_new_id: bool,
    phase: Phase,
    block: Block,
    /// Stream offset of `input[0]`.
    base: u64,
    /// Start of the first line not yet processed.
    pos: usize,
    /// Where the line-end search resumes.
    scan: usize,
    /// The data buffer when the data is `Data::Owned` (values joined with LF).
    data_buf: String,
    /// The event type buffer.
    event_type: String,
    /// The last event ID buffer, set by `id` fields.
    id_buf: String,
    /// The last event ID string, committed from `id_buf` at each blank line.
    last_id: String,
    retry: Option<u64>,
    /// A line decoded with U+FFFD replacement, or the last line at `finish`.
    scratch: String,
}

impl Decoder {
    /// A decoder with the default [`DecoderLimits`] (16 MiB each) in strict UTF-8 mode.
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
    /// use dashscope_glm::sse::{Decoder, Error, Item, DecoderLimits};
    ///
    /// let mut decoder = Decoder::with_limits(DecoderLimits::new().max_event(16));
    /// decoder.feed(b"data: 0123456789\ndata: more\n\ndata: ok\n\n");
    /// let too_long = Error::EventTooLong { limit: 16, offset: 0 };
    /// assert_eq!(decoder.next_item(), Some(Err(too_long)));
    /// let Some(Ok(Item::Event(event))) = decoder.next_item() else { panic!() };
    /// assert_eq!(event.data(), "ok");
    /// ```
    #[must_use]
    pub fn with_limits(limits: DecoderLimits) -> Self {
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
    /// UTF-8 there, once per feed; lines are then lent from it without another pass.
    /// Bytes fed after [`finish`](Self::finish) are ignored (see [`reset`](Self::reset)).
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
    pub fn feed(&mut self, mut bytes: &[u8]) {
        let (input, st) = (&mut self.input, &mut self.st);
        if let ([b], Phase::Lines, 0, Store::Text(text)) =
            (bytes, st.phase, st.pos, &mut input.store)
        {
            // Reads of one byte: an ASCII byte with room for it, nothing to drop (no line
            // has ended since the last compaction) and nothing held is appended at once.
            if b.is_ascii() && input.held_len == 0 && text.len() < text.capacity() {
                return text.push(char::from(*b));
            }
        }
        if bytes.is_empty() {
            return;
        }
        let (mut skip_lf, mut held): (bool, &[u8]) = (false, &[]);
        match st.phase {
            Phase::Lines => {}
            Phase::AfterCr => {
                st.phase = Phase::Lines;
                skip_lf = bytes.first() == Some(&b'\n');
            }
            Phase::Start { bom } => {
                // Spec: one leading U+FEFF is removed. It may arrive split across feeds; a
                // partial match followed by anything else is data.
                let matched = BOM.iter().skip(bom).zip(bytes).take_while(|(b, c)| b == c);
                let (seen, rest) = bytes.split_at(matched.count());
                if bom + seen.len() == BOM.len() {
                    st.base = BOM.len() as u64;
                    bytes = rest;
                } else if rest.is_empty() {
                    st.phase = Phase::Start {
                        bom: bom + seen.len(),
                    };
                    return;
                } else {
                    // Not a BOM: the bytes held back from earlier feeds are data.
                    held = BOM.split_at(bom.min(BOM.len())).0;
                }
                st.phase = Phase::Lines;
            }
            Phase::Ended { .. } => return,
        }
        self.compact(held.len() + bytes.len());
        if !held.is_empty() {
            self.input.push(held);
        }
        self.input.push(bytes);
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
        let keep = self.st.keep();
        if let Store::Text(text) = &self.input.store {
            let (len, free) = (text.len(), text.capacity() - text.len());
            if (keep == 0 || len - keep > keep) && incoming + self.input.held_len <= free {
                return; // Nothing worth dropping, room enough: the common case of small reads.
            }
        }
        self.compact_slow(incoming + self.input.held_len, keep);
    }

    /// [`compact`](Self::compact), every case.
    fn compact_slow(&mut self, incoming: usize, keep: usize) {
        let Self { input, st } = self;
        // Moving the tail costs at most the bytes dropped, so compaction is amortised
        // O(1) per byte; when the buffer is full it avoids growing it.
        let len = input.len();
        if keep > 0
            && (len - keep <= keep || len + incoming > input.capacity())
            && input.drop_front(keep)
        {
            st.base += keep as u64;
            st.pos -= keep;
            st.scan -= keep;
            if let Block::Open(PendingEvent {
                data: Data::Lent { start, end },
                ..
            }) = &mut st.block
            {
                *start -= keep;
                *end -= keep;
            }
        }
        let need = input.len() + incoming;
        if need > input.capacity() {
            let DecoderLimits {
                max_line,
                max_event,
            } = st.limits;
            let bound = max_line.max(max_event).saturating_add(incoming);
            let target = need.max(input.capacity().saturating_mul(2).min(bound));
            input.reserve_exact(target - input.len());
        }
        if matches!(input.store, Store::Raw(_)) && input.len() <= incoming {
            // Back to text once the bytes kept are valid again. Validating them costs no
            // more than the feed being added, so this stays linear.
            input.try_text();
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
        let Self { input, st } = self;
        let found = st.read(input)?;
        Some(st.lend(found))
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
        let unterminated_line = match self.st.phase {
            Phase::Ended { unterminated_line } => unterminated_line,
            _ => {
                while let Some(item) = self.next_item() {
                    item?;
                }
                self.end_input()?
            }
        };
        let st = &self.st;
        let pending = match st.block {
            Block::Open(PendingEvent {
                offset,
                data: Data::Owned,
                new_id,
            }) => {
                let id = if new_id { &st.id_buf } else { &st.last_id };
                Some(st.event(offset, &st.data_buf, id))
            }
            _ => None,
        };
        Ok(Eof {
            pending,
            unterminated_line,
        })
    }

    /// Processes the unterminated last line (for `Eof::pending` only) and records the end
    /// of input. Returns whether the input ended inside a line.
    fn end_input(&mut self) -> Result<bool, Error> {
        let Self { input, st } = self;
        // Raw mode: the held bytes of a split character join the last line.
        input.make_raw();
        if let Phase::Start { bom } = st.phase {
            // The first bytes of a BOM and then the end: they are data.
            input.push(BOM.split_at(bom.min(BOM.len())).0);
        }
        let line = input.bytes().get(st.pos..);
        debug_assert!(line.is_some(), "pos {} <= len {}", st.pos, input.len());
        let line = line.filter(|line| !line.is_empty());
        let line_start = st.pos;
        (st.pos, st.scan) = (input.len(), input.len());
        let mut event = match st.block {
            Block::Discarding { mid_line, .. } => {
                let unterminated_line = mid_line || line.is_some();
                st.phase = Phase::Ended { unterminated_line };
                return Ok(unterminated_line);
            }
            Block::Open(event) => event,
            Block::Idle => st.open(line_start),
        };
        st.phase = Phase::Ended {
            unterminated_line: line.is_some(),
        };
        // Pending data moves to `data_buf` so that `Eof` can lend it.
        st.own_data(&mut event, input);
        st.block = Block::Open(event);
        let Some(line) = line else {
            return Ok(false);
        };
        let mut text = std::mem::take(&mut st.scratch);
        let decoded = decode(&mut text, line, st.lossy);
        if decoded.is_ok() {
            // As a field line; a `retry` here is discarded with the line.
            let retry = st.retry;
            st.owned_line(&text, &mut event, input);
            st.block = Block::Open(event);
            st.retry = retry;
        }
        st.scratch = text;
        decoded.map(|()| true).map_err(|bad| Error::InvalidUtf8 {
            offset: st.base + (line_start + bad) as u64,
        })
    }

    /// Starts a new stream on this decoder (a reconnection), keeping what the spec keeps
    /// across reconnections (the last event ID and the reconnection time), the modes it
    /// was made with (limits, UTF-8, [`split_on_new_id`](Self::split_on_new_id)) and the
    /// buffers' capacity. Offsets start again at 0.
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
        self.input.clear();
        let st = &mut self.st;
        st.phase = Phase::default();
        st.block = Block::Idle;
        (st.base, st.pos, st.scan) = (0, 0, 0);
        st.data_buf.clear();
        st.event_type.clear();
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
    pub fn limits(&self) -> DecoderLimits {
        self.st.limits
    }

    /// Total capacity of the decoder's buffers, in bytes (for tests of memory bounds).
    /// Reached from outside through [`crate::__private::buffered_capacity`].
    #[must_use]
    pub(crate) fn buffered_capacity(&self) -> usize {
        self.input.capacity()
            + self.st.data_buf.capacity()
            + self.st.event_type.capacity()
            + self.st.id_buf.capacity()
            + self.st.last_id.capacity()
            + self.st.scratch.capacity()
    }
}

/// `bytes` decoded into `out` (cleared first), each invalid sequence replaced by U+FFFD
/// when `lossy`; when not, the offset of the first invalid byte is the error.
fn decode(out: &mut String, bytes: &[u8], lossy: bool) -> Result<(), usize> {
    out.clear();
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            if !lossy {
                return Err(out.len());
            }
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
    Ok(())
}

/// Whether a line is an `id` or `event` field (the name is what comes before the first
/// colon, or the whole line), which starts a new event in [`Decoder::split_on_new_id`]
/// mode. For a line not ended yet, `None` while its bytes so far could become either.
///
/// Six bytes decide (a name longer than `event` is neither), so that asking again at
/// every read of a long unfinished line costs nothing more each time.
fn is_id_or_event(line: &[u8], ended: bool) -> Option<bool> {
    let head = line.get(..6).unwrap_or(line);
    let colon = head.iter().position(|&b| b == b':');
    let name = colon.map_or(head, |colon| head.split_at(colon).0);
    let is = matches!(name, b"id" | b"event");
    let undecided = b"id".starts_with(name) || b"event".starts_with(name);
    (colon.is_some() || ended || !undecided).then_some(is)
}

impl State {
    /// Reads lines until one gives something to hand out (`None`: no complete line left).
    #[inline]
    fn read<'a>(&mut self, input: &'a Input) -> Option<Found<'a>> {
        if let Phase::Ended { .. } = self.phase {
            return None;
        }
        loop {
            let bytes = input.bytes();
            let (start, from) = (self.pos, self.scan);
            let searched = bytes.get(from..).map(find_either::<b'\r', b'\n'>);
            let Some(Some(at)) = searched else {
                debug_assert!(searched.is_some(), "scan {from} <= len {}", bytes.len());
                return self.unfinished_line(input);
            };
            let eol = from + at;
            let line = bytes.get(start..eol);
            debug_assert!(line.is_some(), "pos {start} <= scan {from}");
            self.pos = self.line_end(bytes, eol, input.held_len);
            self.scan = self.pos;
            if let Some(found) = self.line(input, line?, start, eol) {
                return Some(found);
            }
        }
    }

    /// The index after the line end at `bytes[eol]` (CR, LF or CRLF). A CR that is the
    /// last byte fed so far may be the first half of a CRLF: the phase says so. Not when
    /// held bytes follow it: they start a split character, so the CR is a lone one.
    #[inline]
    fn line_end(&mut self, bytes: &[u8], eol: usize, held: usize) -> usize {
        match bytes.get(eol..) {
            Some([b'\r', b'\n', ..]) => eol + 2,
            Some([b'\r']) if held == 0 => {
                self.phase = Phase::AfterCr;
                eol + 1
            }
            _ => eol + 1,
        }
    }

    /// A complete line, `line == input[start..eol]`.
    #[inline]
    fn line<'a>(
        &mut self,
        input: &'a Input,
        line: &[u8],
        start: usize,
        eol: usize,
    ) -> Option<Found<'a>> {
        let event = match self.block {
            Block::Discarding { mid_line, new_id } => {
                // The blank line after the discarded event ends the discarding; the line
                // end of a line cut by the limit does not.
                self.block = if line.is_empty() && !mid_line {
                    self.commit_id(new_id);
                    Block::Idle
                } else {
                    Block::Discarding {
                        mid_line: false,
                        new_id,
                    }
                };
                return None;
            }
            Block::Idle if line.is_empty() => return None,
            Block::Open(event) if line.is_empty() => return self.end_event(event, input),
            // Not WHATWG: an `id` or `event` field while data is pending ends the event,
            // as if a blank line had come first (see `split_on_new_id`). The line is read
            // again for the next event, its line end too (it is known: the search resumes
            // there, and no byte of it is searched twice).
            Block::Open(event)
                if self.split_on_new_id
                    && event.data != Data::None
                    && is_id_or_event(line, true) == Some(true) =>
            {
                (self.pos, self.scan, self.phase) = (start, eol, Phase::Lines);
                return self.end_event(event, input);
            }
            Block::Open(event) => event,
            Block::Idle => self.open(start),
        };
        self.line_in(event, input, line, start, eol)
    }

    /// A complete, non-blank line of `event`, which stays open unless the line ends it
    /// (a dispatch, a limit error).
    #[inline]
    fn line_in<'a>(
        &mut self,
        mut event: PendingEvent,
        input: &'a Input,
        line: &[u8],
        start: usize,
        eol: usize,
    ) -> Option<Found<'a>> {
        let line_start = self.base + start as u64;
        if let Some(err) = self.limit_error(line_start, event.offset, eol) {
            self.block = Block::Discarding {
                mid_line: false,
                new_id: event.new_id,
            };
            return Some(Found::Error(err));
        }
        let found = match input.text(start, eol) {
            // Strict: the line is dropped, its first bad byte reported.
            Err(bad) if !self.lossy => Some(Found::Error(Error::InvalidUtf8 {
                offset: line_start + bad as u64,
            })),
            Err(_) => {
                let mut text = std::mem::take(&mut self.scratch);
                let comment = line.strip_prefix(b":");
                // Lossy decoding never fails.
                let _ = decode(&mut text, comment.unwrap_or(line), true);
                if comment.is_none() {
                    self.owned_line(&text, &mut event, input);
                }
                self.scratch = text;
                comment.map(|_| Found::ReplacedComment)
            }
            Ok(text) => self.text_line(&mut event, input, text, eol),
        };
        if let Some(Found::Event { .. }) = found {
            self.block = Block::Idle;
        } else {
            self.block = Block::Open(event);
        }
        found
    }

    /// A line of `event` read from the input's text, ending at `input[eol]`.
    #[inline]
    fn text_line<'a>(
        &mut self,
        event: &mut PendingEvent,
        input: &'a Input,
        text: &'a str,
        eol: usize,
    ) -> Option<Found<'a>> {
        match classify(text) {
            Line::Comment(comment) => return Some(Found::Comment(comment)),
            Line::Data(value) if event.data == Data::None => {
                // The commonest event, one data line and then the blank line, is handed
                // out at once, lent from the input.
                let bytes = input.bytes();
                if let Some(b'\r' | b'\n') = bytes.get(self.pos) {
                    self.pos = self.line_end(bytes, self.pos, input.held_len);
                    self.scan = self.pos;
                    self.commit_id(event.new_id);
                    return Some(Found::Event {
                        offset: event.offset,
                        data: Some(value),
                    });
                }
                event.data = Data::Lent {
                    start: eol - value.len(),
                    end: eol,
                };
            }
            Line::Data(value) => self.push_data(event, input, value),
            Line::Field(name, value) => self.field(event, name, value),
        }
        None
    }

    /// No line end in `input[pos..]` nor in the held bytes after it: consume them if
    /// discarding, else check the limits against the unfinished line, so that an
    /// over-long line is reported (and its bytes dropped) before it is complete. Held
    /// bytes stay held, and are dropped with the rest of the line when they arrive.
    #[inline]
    fn unfinished_line<'a>(&mut self, input: &'a Input) -> Option<Found<'a>> {
        let (len, held) = (input.len(), input.held_len);
        self.scan = len;
        // The common case, at once: a line within both limits, nothing else to decide.
        let line_len = len + held - self.pos;
        let event_len = match self.block {
            Block::Idle => Some(line_len as u64),
            Block::Open(event) if !self.split_on_new_id || event.data == Data::None => {
                Some(self.base + (len + held) as u64 - event.offset)
            }
            Block::Open(_) | Block::Discarding { .. } => None,
        };
        let DecoderLimits {
            max_line,
            max_event,
        } = self.limits;
        if line_len == 0
            || event_len.is_some_and(|event| line_len <= max_line && event <= max_event as u64)
        {
            return None;
        }
        self.unfinished_line_slow(input)
    }

    /// [`unfinished_line`](Self::unfinished_line), every case.
    fn unfinished_line_slow<'a>(&mut self, input: &'a Input) -> Option<Found<'a>> {
        let (len, held) = (input.len(), input.held_len);
        let partial = input.bytes().get(self.pos..);
        debug_assert!(partial.is_some(), "pos {} <= len {len}", self.pos);
        let partial = partial?;
        if partial.is_empty() && held == 0 {
            return None;
        }
        let line_start = self.base + self.pos as u64;
        let (event_start, new_id) = match self.block {
            Block::Discarding { new_id, .. } => {
                self.block = Block::Discarding {
                    mid_line: true,
                    new_id,
                };
                self.pos = len;
                return None;
            }
            Block::Open(event) if self.split_on_new_id && event.data != Data::None => {
                // Decide as early as the bytes allow whether the unfinished line starts a
                // new event, so that limits (and so the items) do not depend on where the
                // input was split. Held bytes (a split character) are not ASCII: a name
                // they continue is neither `id` nor `event`.
                match is_id_or_event(partial, false).or((held > 0).then_some(false)) {
                    Some(true) => return self.end_event(event, input),
                    None => return None,
                    Some(false) => (event.offset, event.new_id),
                }
            }
            Block::Open(event) => (event.offset, event.new_id),
            Block::Idle => (line_start, false),
        };
        let err = self.limit_error(line_start, event_start, len + held)?;
        self.pos = len;
        self.block = Block::Discarding {
            mid_line: true,
            new_id,
        };
        Some(Found::Error(err))
    }

    /// Hands out what reading found.
    #[inline]
    fn lend<'a>(&'a self, found: Found<'a>) -> Result<Item<'a>, Error> {
        match found {
            Found::Comment(text) => Ok(Item::Comment(text)),
            Found::ReplacedComment => Ok(Item::Comment(&self.scratch)),
            Found::Event { offset, data } => {
                let data = data.unwrap_or(&self.data_buf);
                Ok(Item::Event(self.event(offset, data, &self.last_id)))
            }
            Found::Error(err) => Err(err),
        }
    }

    /// An event with the type buffer's type (`message` when empty).
    #[inline]
    fn event<'a>(&'a self, offset: u64, data: &'a str, id: &'a str) -> Event<'a> {
        let event_type = if self.event_type.is_empty() {
            "message"
        } else {
            &self.event_type
        };
        Event {
            event_type,
            data,
            id,
            offset,
        }
    }

    /// The first byte of the input still needed: the start of the data value lent from
    /// the input, or of the unfinished line.
    #[inline]
    fn keep(&self) -> usize {
        match self.block {
            Block::Open(PendingEvent {
                data: Data::Lent { start, .. },
                ..
            }) => start.min(self.pos),
            _ => self.pos,
        }
    }

    /// A new event, its first line starting at `input[start]`; the buffers the last item
    /// lent are cleared.
    #[inline]
    fn open(&mut self, start: usize) -> PendingEvent {
        self.event_type.clear();
        self.data_buf.clear();
        PendingEvent {
            offset: self.base + start as u64,
            data: Data::None,
            new_id: false,
        }
    }

    /// The end of an event (a blank line): commits the last event ID buffer (spec
    /// dispatch step 1, done whether or not anything is dispatched) and, if the data
    /// buffer is not empty, dispatches the event.
    fn end_event<'a>(&mut self, event: PendingEvent, input: &'a Input) -> Option<Found<'a>> {
        self.commit_id(event.new_id);
        self.block = Block::Idle;
        let data = match event.data {
            Data::None => return None,
            Data::Owned => None,
            Data::Lent { start, end } => match input.text(start, end) {
                Ok(data) => Some(data),
                Err(bad) => {
                    return Some(Found::Error(Error::InvalidUtf8 {
                        offset: self.base + (start + bad) as u64,
                    }));
                }
            },
        };
        Some(Found::Event {
            offset: event.offset,
            data,
        })
    }

    /// Spec: at each blank line the last event ID string becomes the buffer's value (an
    /// `id` field since the last blank line changed it: `new_id`).
    #[inline]
    fn commit_id(&mut self, new_id: bool) {
        if new_id {
            std::mem::swap(&mut self.last_id, &mut self.id_buf);
        }
    }

    /// The limit crossed by the line starting at stream offset `line_start`, in an event
    /// starting at `event_start`, once `input[..end]` is read.
    ///
    /// When both limits are exceeded, the one crossed at the earlier byte wins (the line
    /// limit on a tie), so the error does not depend on how the input was split.
    #[inline]
    fn limit_error(&self, line_start: u64, event_start: u64, end: usize) -> Option<Error> {
        let end = self.base + end as u64;
        let DecoderLimits {
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

    /// Appends a `data` value to the event's data (joined with LF).
    fn push_data(&mut self, event: &mut PendingEvent, input: &Input, value: &str) {
        let joined = event.data != Data::None;
        self.own_data(event, input);
        if joined {
            self.append_data("\n");
        }
        self.append_data(value);
        event.data = Data::Owned;
    }

    /// Moves data lent from the input buffer into `data_buf`.
    fn own_data(&mut self, event: &mut PendingEvent, input: &Input) {
        if let Data::Lent { start, end } = event.data {
            self.data_buf.clear();
            match input.text(start, end) {
                Ok(text) => self.append_data(text),
                Err(_) => debug_assert!(false, "a lent value was valid when its line was read"),
            }
            event.data = Data::Owned;
        }
    }

    /// Appends to the owned data buffer, growing it at most to `max_event` bytes when the
    /// data fits (the limit check has already bounded the data by then).
    #[inline]
    fn append_data(&mut self, s: &str) {
        let need = self.data_buf.len() + s.len();
        if need > self.data_buf.capacity() {
            let doubled = self.data_buf.capacity().saturating_mul(2);
            let target = need.max(doubled.min(self.limits.max_event));
            self.data_buf.reserve_exact(target - self.data_buf.len());
        }
        self.data_buf.push_str(s);
    }

    /// A line that is not in the input buffer (decoded by replacement, or the last line at
    /// `finish`). Comments have nothing to apply.
    fn owned_line(&mut self, line: &str, event: &mut PendingEvent, input: &Input) {
        match classify(line) {
            Line::Comment(_) => {}
            Line::Data(value) => self.push_data(event, input, value),
            Line::Field(name, value) => self.field(event, name, value),
        }
    }

    /// The fields other than `data`.
    #[inline]
    fn field(&mut self, event: &mut PendingEvent, name: &str, value: &str) {
        // Note: DashScope's native endpoint sometimes omits the blank line between
        // events (older gateways; the official Python SDK's v2 transport falls back to
        // one JSON document per `data:` line), so `id:`/`event:` lines arrive while data is
        // pending. By default this decoder stays spec-exact here; the opt-in
        // `split_on_new_id` (set by the chat layer for the native protocol) dispatches
        // before such a line is processed, in `line`.
        match name {
            "event" => {
                self.event_type.clear();
                self.event_type.push_str(value);
            }
            // An `id` value containing U+0000 NULL is ignored.
            "id" if !value.contains('\0') => {
                self.id_buf.clear();
                self.id_buf.push_str(value);
                event.new_id = true;
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
