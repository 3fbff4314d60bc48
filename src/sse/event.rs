//! What the decoder hands out: [`Item`]s (events and comments) and, at the end, [`Eof`].

/// One thing read from the stream, in input order.
///
/// Comments are yielded as soon as their line is read, so a comment written before an
/// event's `data:` line (DashScope's `:HTTP_STATUS/400`) comes out before that event.
///
/// # Example
///
/// This example shows a comment arriving before the event it precedes.
///
/// ```
/// use dashscope_glm::sse::{Decoder, Item};
///
/// let mut decoder = Decoder::new();
/// decoder.feed(b":HTTP_STATUS/400\ndata:{}\n\n");
/// assert!(matches!(decoder.next_item(), Some(Ok(Item::Comment("HTTP_STATUS/400")))));
/// match decoder.next_item() {
///     Some(Ok(Item::Event(event))) => assert_eq!(event.data(), "{}"),
///     other => panic!("expected an event, got {other:?}"),
/// }
/// assert!(decoder.next_item().is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Item<'a> {
    /// A dispatched event (a blank line ended a block whose data buffer was non-empty).
    Event(Event<'a>),
    /// A comment line: everything after the leading colon, verbatim (no space is
    /// stripped, so `: ping` gives `" ping"`).
    Comment(&'a str),
}

/// A dispatched event, borrowed from the decoder's buffers.
///
/// # Example
///
/// This example shows the three fields and the byte offset of an event.
///
/// ```
/// use dashscope_glm::sse::{Decoder, Item};
///
/// let mut decoder = Decoder::new();
/// decoder.feed(b"data: first\n\nid:7\nevent:result\ndata: a\ndata: b\n\n");
/// let Some(Ok(Item::Event(first))) = decoder.next_item() else { panic!() };
/// assert_eq!((first.event_type(), first.data(), first.id()), ("message", "first", ""));
/// assert_eq!(first.offset(), 0);
/// let Some(Ok(Item::Event(second))) = decoder.next_item() else { panic!() };
/// assert_eq!(second.event_type(), "result");
/// assert_eq!(second.data(), "a\nb");
/// assert_eq!(second.id(), "7");
/// assert_eq!(second.offset(), 13);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event<'a> {
    pub(crate) event_type: &'a str,
    pub(crate) data: &'a str,
    pub(crate) id: &'a str,
    pub(crate) offset: u64,
}

impl<'a> Event<'a> {
    /// The event type: the last `event` field's value, or `"message"` when the block had
    /// no `event` field or an empty one.
    ///
    /// # Example
    ///
    /// This example shows the default type and an explicit one.
    ///
    /// ```
    /// use dashscope_glm::sse::{Decoder, Item};
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"data: a\n\nevent: result\ndata: b\n\n");
    /// let Some(Ok(Item::Event(first))) = decoder.next_item() else { panic!() };
    /// assert_eq!(first.event_type(), "message");
    /// let Some(Ok(Item::Event(second))) = decoder.next_item() else { panic!() };
    /// assert_eq!(second.event_type(), "result");
    /// ```
    #[must_use]
    pub fn event_type(&self) -> &'a str {
        self.event_type
    }

    /// The data: the block's `data` values joined with LF (one trailing LF removed).
    ///
    /// # Example
    ///
    /// This example shows one leading space stripped from each value, and a bare `data` line
    /// contributing an empty one.
    ///
    /// ```
    /// use dashscope_glm::sse::{Decoder, Item};
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"data:  two spaces\ndata\ndata: end\n\n");
    /// let Some(Ok(Item::Event(event))) = decoder.next_item() else { panic!() };
    /// assert_eq!(event.data(), " two spaces\n\nend");
    /// ```
    #[must_use]
    pub fn data(&self) -> &'a str {
        self.data
    }

    /// The last event ID when the event was dispatched (`""` if never set). It persists
    /// across events until an `id` field changes it.
    ///
    /// # Example
    ///
    /// This example shows an ID carried over to the next event, then cleared by an empty `id`.
    ///
    /// ```
    /// use dashscope_glm::sse::{Decoder, Item};
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n");
    /// let mut ids = Vec::new();
    /// while let Some(Ok(Item::Event(event))) = decoder.next_item() {
    ///     ids.push(event.id().to_owned());
    /// }
    /// assert_eq!(ids, ["1", "1", ""]);
    /// ```
    #[must_use]
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// Stream byte offset of the first byte of the first line of this event's block (the
    /// first line after the previous blank line). Offsets count every byte fed, a
    /// leading BOM included, so after a BOM the first line starts at offset 3.
    ///
    /// # Example
    ///
    /// This example shows offsets counted from the first byte fed, BOM included.
    ///
    /// ```
    /// use dashscope_glm::sse::{Decoder, Item};
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"\xEF\xBB\xBFdata: a\n\ndata: b\n\n");
    /// let Some(Ok(Item::Event(first))) = decoder.next_item() else { panic!() };
    /// assert_eq!(first.offset(), 3);
    /// let Some(Ok(Item::Event(second))) = decoder.next_item() else { panic!() };
    /// assert_eq!(second.offset(), 12);
    /// ```
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

/// How the input ended, as reported by [`Decoder::finish`](super::Decoder::finish).
///
/// The WHATWG rules discard an event that was not ended by a blank line (and a last
/// line without a line end). `Eof` says whether that happened, and lends the event that
/// was discarded for callers that must cope with servers omitting the final blank line.
///
/// # Example
///
/// This example shows a stream that ends without its final blank line.
///
/// ```
/// use dashscope_glm::sse::Decoder;
///
/// let mut decoder = Decoder::new();
/// decoder.feed(b"event:error\ndata:{\"code\":\"InvalidParameter\"}");
/// assert!(decoder.next_item().is_none());
/// let eof = decoder.finish()?;
/// assert!(!eof.is_clean());
/// assert!(eof.dropped() && eof.unterminated_line());
/// let pending = eof.pending().expect("an event with data was pending");
/// assert_eq!(pending.event_type(), "error");
/// assert_eq!(pending.data(), r#"{"code":"InvalidParameter"}"#);
/// # Ok::<(), dashscope_glm::sse::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Eof<'a> {
    pub(crate) pending: Option<Event<'a>>,
    pub(crate) unterminated_line: bool,
}

impl<'a> Eof<'a> {
    /// The input ended at a line end and no event with data was left undispatched.
    ///
    /// # Example
    ///
    /// This example shows a clean end, and one spoiled by a comment without a line end.
    ///
    /// ```
    /// use dashscope_glm::sse::Decoder;
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"data: a\n\n");
    /// assert!(decoder.finish()?.is_clean());
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"data: a\n\n: no line end");
    /// let eof = decoder.finish()?;
    /// assert!(!eof.is_clean() && !eof.dropped());
    /// # Ok::<(), dashscope_glm::sse::Error>(())
    /// ```
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.pending.is_none() && !self.unterminated_line
    }

    /// An event with a non-empty data buffer was discarded because no blank line ended
    /// it (spec: "any pending event is discarded" at end of input).
    ///
    /// # Example
    ///
    /// This example shows an event dropped although its last line ended: only the blank line
    /// was missing.
    ///
    /// ```
    /// use dashscope_glm::sse::Decoder;
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"data: a\n");
    /// let eof = decoder.finish()?;
    /// assert!(eof.dropped() && !eof.unterminated_line());
    /// # Ok::<(), dashscope_glm::sse::Error>(())
    /// ```
    #[must_use]
    pub fn dropped(&self) -> bool {
        self.pending.is_some()
    }

    /// The input ended inside a line (bytes after the last line end).
    ///
    /// # Example
    ///
    /// This example shows an unterminated comment: the line is discarded, but no event is.
    ///
    /// ```
    /// use dashscope_glm::sse::Decoder;
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b": ping");
    /// let eof = decoder.finish()?;
    /// assert!(eof.unterminated_line() && !eof.dropped());
    /// # Ok::<(), dashscope_glm::sse::Error>(())
    /// ```
    #[must_use]
    pub fn unterminated_line(&self) -> bool {
        self.unterminated_line
    }

    /// The event that would have been dispatched had the input ended with a line end and
    /// a blank line: the last, unterminated line is processed as a field line (a `data`,
    /// `event` or `id` field there counts; a comment or a `retry` there is ignored).
    /// `None` if its data buffer would be empty.
    ///
    /// Spec-following callers ignore this; DashScope's native endpoint sometimes ends
    /// without the final blank line.
    ///
    /// # Example
    ///
    /// This example shows the last event of a native stream recovered although its blank line
    /// never came; the last event ID is not changed by it.
    ///
    /// ```
    /// use dashscope_glm::sse::{Decoder, Item};
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"id:1\nevent:result\ndata:{\"a\":1}\n\nid:2\nevent:result\ndata:{\"a\":2}\n");
    /// let Some(Ok(Item::Event(first))) = decoder.next_item() else { panic!() };
    /// assert_eq!(first.id(), "1");
    /// let last = decoder.finish()?.pending().expect("the last event lacks its blank line");
    /// assert_eq!((last.id(), last.event_type(), last.data()), ("2", "result", r#"{"a":2}"#));
    /// assert_eq!(decoder.last_event_id(), "1");
    /// # Ok::<(), dashscope_glm::sse::Error>(())
    /// ```
    #[must_use]
    pub fn pending(&self) -> Option<Event<'a>> {
        self.pending
    }
}
