//! The byte state machine behind [`PartialJson::push`]: the parse states, the chain of
//! open containers, and where each value goes in the snapshot.

use std::ops::Range;

use serde_json::map::Entry;
use serde_json::{Map, Value};

use super::delta::{DeltaRecord, PathSegment, PathStep};
use super::{Expected, JsonError, JsonErrorKind, PartialJson};
pub(super) use crate::chat::wire::unescape::Esc;
use crate::chat::wire::unescape::{Scan, scan_string};

/// An open array or object. A string being read is not a frame: it is the open member
/// of the top frame (or the root).
#[derive(Debug, Clone, Default)]
pub(super) struct Frame {
    object: bool,
    /// Inside a later duplicate-key member: not in the snapshot.
    hidden: bool,
    /// The container while the frame owns it (hidden frames, and shown ones detached for
    /// the rest of a push, whose slot then holds `Null`); `Null` while it is in the
    /// snapshot.
    value: Value,
    /// Objects: the key of the member being read, or of the last one.
    key: String,
    /// Arrays: the index of the last element added (the open one, if any).
    index: usize,
    /// `key`'s copy in the parser's `delta_keys`, once a delta of this push named it.
    pub(super) delta_key: Option<Range<usize>>,
    /// The later duplicate-key members inside this (shown) container.
    overrides: Overrides,
}

impl Frame {
    /// This frame's step on the path to its open member.
    pub(super) fn segment(&self) -> PathSegment<'_> {
        if self.object {
            PathSegment::Key(&self.key)
        } else {
            PathSegment::Index(self.index)
        }
    }
}

/// Where a push edits the snapshot.
enum Cursor<'a> {
    /// Every frame owns its container (the chain is empty, or detached): the root slot.
    Root(&'a mut Option<Value>),
    /// The snapshot container of the deepest shown frame.
    Node(&'a mut Value),
    /// That container closed (or a duplicate member took the cursor): its parent is not
    /// at hand until found again from the root.
    Stale,
}

/// The snapshot container of the deepest shown frame: every shown frame's container is
/// in the snapshot, as the open member of its parent.
fn navigate<'a>(chain: &[Frame], root: &'a mut Option<Value>) -> Cursor<'a> {
    if chain.is_empty() {
        return Cursor::Root(root);
    }
    let mut node = root.as_mut();
    for (parent, child) in chain.iter().zip(chain.iter().skip(1)) {
        if child.hidden {
            break;
        }
        node = node.and_then(|n| member(n, &parent.key));
    }
    debug_assert!(node.is_some(), "the snapshot holds every shown frame");
    node.map_or(Cursor::Stale, Cursor::Node)
}

/// Takes every shown container out of the snapshot into its frame, outermost first
/// (`Null` stays in its slot), so that closing one needs no walk from the root.
fn detach(chain: &mut [Frame], root: &mut Option<Value>) {
    let mut parent: Option<&mut Frame> = None;
    for frame in chain.iter_mut().take_while(|f| !f.hidden) {
        let slot = match parent {
            None => root.as_mut(),
            Some(p) => member(&mut p.value, &p.key),
        };
        debug_assert!(slot.is_some(), "the snapshot holds every shown frame");
        if let Some(slot) = slot {
            std::mem::swap(slot, &mut frame.value);
        }
        parent = Some(frame);
    }
}

/// Puts every shown container owned by its frame back into its slot, innermost first.
fn attach(chain: &mut [Frame], root: &mut Option<Value>) {
    let mut rest = chain;
    while let Some((frame, parents)) = std::mem::take(&mut rest).split_last_mut() {
        if !frame.hidden {
            let slot = match parents.last_mut() {
                None => root.as_mut(),
                Some(p) => member(&mut p.value, &p.key),
            };
            if let Some(slot) = slot {
                std::mem::swap(slot, &mut frame.value);
            }
        }
        rest = parents;
    }
}

/// The open (or last) member of `container`: its last element, or the member `key`.
fn member<'v>(container: &'v mut Value, key: &str) -> Option<&'v mut Value> {
    match container {
        Value::Array(a) => a.last_mut(),
        Value::Object(m) => m.get_mut(key),
        _ => None,
    }
}

/// The container of the top frame whose fields are `own` and `hidden`: its own while it
/// owns it, else the snapshot's at the cursor (`None` while the cursor is stale).
fn container<'c>(
    own: &'c mut Value,
    hidden: bool,
    cursor: &'c mut Cursor<'_>,
) -> Option<&'c mut Value> {
    match cursor {
        Cursor::Node(node) if !hidden => Some(node),
        Cursor::Stale if !hidden => None,
        _ => Some(own),
    }
}

/// Adds `value` as the next element of the array `container`, or as its member `key`:
/// its slot, or the value back for a later duplicate key of a shown object (the snapshot
/// keeps the first member; in hidden ones the last wins, as in `serde_json`).
fn insert<'v>(
    container: &'v mut Value,
    key: &str,
    index: &mut usize,
    hidden: bool,
    value: Value,
) -> Result<&'v mut Value, Value> {
    match container {
        Value::Array(a) => {
            *index = a.len();
            a.push(value);
            a.last_mut().ok_or(Value::Null)
        }
        Value::Object(m) => match m.entry(key) {
            Entry::Vacant(v) => Ok(v.insert(value)),
            Entry::Occupied(mut o) if hidden => {
                o.insert(value);
                Ok(o.into_mut())
            }
            Entry::Occupied(_) => Err(value),
        },
        _ => Err(value),
    }
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The later duplicate-key members inside a shown container, applied by `finish`: a tree
/// that holds each enclosing key once, however many duplicates lie under it.
#[derive(Debug, Clone, Default)]
pub(super) struct Overrides {
    /// This object's later duplicate keys with their values, in text order.
    members: Vec<(String, Value)>,
    /// Those of its shown members (by key or index) that closed with overrides inside.
    inner: Vec<(Seg, Self)>,
}

impl Overrides {
    fn is_empty(&self) -> bool {
        self.members.is_empty() && self.inner.is_empty()
    }

    /// Applies them to `node`, the container they were read in: inner ones first, as a
    /// later duplicate replaces the whole first member, with what lies inside it.
    pub(super) fn apply(self, node: &mut Value) {
        for (seg, inner) in self.inner {
            let member = match (seg, &mut *node) {
                (Seg::Key(key), Value::Object(m)) => m.get_mut(&key),
                (Seg::Index(i), Value::Array(a)) => a.get_mut(i),
                _ => None,
            };
            if let Some(member) = member {
                inner.apply(member);
            }
        }
        if let Value::Object(m) = node {
            m.extend(self.members);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// A value (root start, after `:`, after `,` in an array).
    Value,
    ArrayFirst,
    ObjectFirst,
    /// A key, after `,` in an object.
    Key,
    Colon,
    /// After a value inside a container.
    After,
    /// The root value is complete.
    Done,
    Str(Target),
    Num(Num),
    /// A literal and the bytes of it still to come.
    Lit(Lit, &'static [u8]),
}

/// Where the string being read goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// The top object's key.
    Key,
    /// The open member of the top frame (or the root).
    Member,
    /// Aside (`PartialJson::duplicate`): a later duplicate key of a shown object.
    Duplicate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
}

impl Num {
    pub(super) const fn can_end(self) -> bool {
        matches!(self, Self::Zero | Self::Int | Self::Frac | Self::ExpDigits)
    }

    /// The state after `b`, if the token can go on with it.
    const fn next(self, b: u8) -> Option<Self> {
        Some(match (self, b) {
            (Self::Minus, b'0') => Self::Zero,
            (Self::Minus | Self::Int, b'0'..=b'9') => Self::Int,
            (Self::Zero | Self::Int, b'.') => Self::Dot,
            (Self::Dot | Self::Frac, b'0'..=b'9') => Self::Frac,
            (Self::Zero | Self::Int | Self::Frac, b'e' | b'E') => Self::Exp,
            (Self::Exp, b'+' | b'-') => Self::ExpSign,
            (Self::Exp | Self::ExpSign | Self::ExpDigits, b'0'..=b'9') => Self::ExpDigits,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lit {
    True,
    False,
    Null,
}

impl Lit {
    const fn text(self) -> &'static str {
        match self {
            Self::True => "true",
            Self::False => "false",
            Self::Null => "null",
        }
    }

    const fn value(self) -> Value {
        match self {
            Self::True => Value::Bool(true),
            Self::False => Value::Bool(false),
            Self::Null => Value::Null,
        }
    }
}

impl PartialJson {
    /// Reads `frag` into the machine, editing the snapshot `root` in place. The snapshot
    /// is found from the root once (a map look-up per enclosing key); again if a shown
    /// container closes and its parent is edited; after that the frames take their
    /// containers for the rest of the push. So a push costs O(fragment length + depth +
    /// length of the enclosing keys).
    pub(super) fn run(&mut self, frag: &str, root: &mut Option<Value>) -> Result<(), JsonError> {
        let mut i = self.run_at(frag, 0, navigate(&self.chain, root))?;
        if i < frag.len() {
            i = self.run_at(frag, i, navigate(&self.chain, root))?;
        }
        if i < frag.len() {
            detach(&mut self.chain, root);
            let read = self.run_at(frag, i, Cursor::Root(root));
            attach(&mut self.chain, root);
            read?;
        }
        Ok(())
    }

    /// Reads `frag[i..]` until its end, or until the snapshot is to be edited through a
    /// stale cursor; returns the index after what it read.
    fn run_at(
        &mut self,
        frag: &str,
        mut i: usize,
        mut cursor: Cursor<'_>,
    ) -> Result<usize, JsonError> {
        let bytes = frag.as_bytes();
        while let Some(&b) = bytes.get(i) {
            let at = self.consumed + i;
            let read = match self.state {
                State::Str(target) => match self.read_string(frag, i, target, &mut cursor)? {
                    Some(end) => {
                        i = end;
                        continue;
                    }
                    None => false,
                },
                State::Num(mut n) => {
                    while let Some(&d) = bytes.get(i) {
                        let Some(next) = n.next(d) else {
                            break;
                        };
                        self.num.push(char::from(d));
                        n = next;
                        i += 1;
                    }
                    self.state = State::Num(n);
                    match bytes.get(i) {
                        None => continue,
                        Some(d) if !n.can_end() || d.is_ascii_digit() => {
                            return Err(JsonError::new(
                                JsonErrorKind::InvalidNumber,
                                self.consumed + i,
                            ));
                        }
                        // The delimiter is read again by the next state.
                        Some(_) => {
                            let number = parse_number(&self.num);
                            let out_of_range =
                                JsonError::new(JsonErrorKind::NumberOutOfRange, self.num_start);
                            if self.place(number.ok_or(out_of_range)?, &mut cursor) {
                                continue;
                            }
                            false
                        }
                    }
                }
                State::Lit(lit, rest) => match rest {
                    [want, tail @ ..] if *want == b => {
                        if tail.is_empty() {
                            self.place(lit.value(), &mut cursor)
                        } else {
                            self.set(State::Lit(lit, tail))
                        }
                    }
                    _ => return Err(self.syntax(Expected::Literal(lit.text()), frag, i)),
                },
                _ if is_ws(b) => true,
                State::ArrayFirst if b == b']' => self.close(&mut cursor),
                State::ObjectFirst if b == b'}' => self.close(&mut cursor),
                State::Value => self.start_value(frag, i, Expected::Value, &mut cursor)?,
                State::ArrayFirst => {
                    self.start_value(frag, i, Expected::ValueOrArrayEnd, &mut cursor)?
                }
                State::ObjectFirst | State::Key if b == b'"' => {
                    if let Some(top) = self.chain.last_mut() {
                        top.key.clear();
                        top.delta_key = None;
                    }
                    self.esc = Esc::None;
                    self.set(State::Str(Target::Key))
                }
                State::ObjectFirst => return Err(self.syntax(Expected::KeyOrObjectEnd, frag, i)),
                State::Key => return Err(self.syntax(Expected::Key, frag, i)),
                State::Colon if b == b':' => self.set(State::Value),
                State::Colon => return Err(self.syntax(Expected::Colon, frag, i)),
                State::After => match (b, self.chain.last().is_some_and(|f| f.object)) {
                    (b',', false) => self.set(State::Value),
                    (b',', true) => self.set(State::Key),
                    (b']', false) | (b'}', true) => self.close(&mut cursor),
                    (_, false) => return Err(self.syntax(Expected::CommaOrArrayEnd, frag, i)),
                    (_, true) => return Err(self.syntax(Expected::CommaOrObjectEnd, frag, i)),
                },
                State::Done => {
                    let found = char_at(frag, i);
                    return Err(JsonError::new(JsonErrorKind::TrailingData { found }, at));
                }
            };
            if !read {
                return Ok(i);
            }
            i += 1;
        }
        Ok(i)
    }

    fn syntax(&self, expected: Expected, frag: &str, i: usize) -> JsonError {
        let found = char_at(frag, i);
        JsonError::new(JsonErrorKind::Syntax { expected, found }, self.consumed + i)
    }

    /// Whether an edit of the top frame's container must wait for the snapshot to be found.
    fn stale(&self, cursor: &Cursor<'_>) -> bool {
        matches!(cursor, Cursor::Stale) && self.chain.last().is_some_and(|f| !f.hidden)
    }

    /// Begins the value whose first byte is `frag[i]` (not whitespace); `false` if it
    /// must wait for the snapshot.
    fn start_value(
        &mut self,
        frag: &str,
        i: usize,
        expected: Expected,
        cursor: &mut Cursor<'_>,
    ) -> Result<bool, JsonError> {
        let at = self.consumed + i;
        let (b, state) = match frag.as_bytes().get(i) {
            Some(b'"') => return Ok(self.open_string(cursor)),
            Some(&b @ (b'[' | b'{')) => return self.open_container(b == b'{', at, cursor),
            Some(&b @ b'-') => (b, State::Num(Num::Minus)),
            Some(&b @ b'0') => (b, State::Num(Num::Zero)),
            Some(&b @ b'1'..=b'9') => (b, State::Num(Num::Int)),
            Some(b't') => return Ok(self.set(State::Lit(Lit::True, b"rue"))),
            Some(b'f') => return Ok(self.set(State::Lit(Lit::False, b"alse"))),
            Some(b'n') => return Ok(self.set(State::Lit(Lit::Null, b"ull"))),
            _ => return Err(self.syntax(expected, frag, i)),
        };
        self.num.clear();
        self.num.push(char::from(b));
        self.num_start = at;
        Ok(self.set(state))
    }

    fn set(&mut self, state: State) -> bool {
        self.state = state;
        true
    }

    /// Opens an array or object (its opener at offset `at`) as the next value: in the
    /// snapshot at the cursor, which follows it; owned by its frame when the top frame
    /// owns its container (a `Null` placeholder in that container) or when the key is a
    /// duplicate (hidden).
    fn open_container(
        &mut self,
        object: bool,
        at: usize,
        cursor: &mut Cursor<'_>,
    ) -> Result<bool, JsonError> {
        // serde_json's recursion budget: the text is rejected when it hits zero.
        if self.chain.len().saturating_add(1) >= self.limits.max_depth {
            let limit = self.limits.max_depth;
            return Err(JsonError::new(JsonErrorKind::DepthLimit { limit }, at));
        }
        if self.stale(cursor) {
            return Ok(false);
        }
        let empty = if object {
            Value::Object(Map::new())
        } else {
            Value::Array(Vec::new())
        };
        let mut frame = Frame {
            object,
            key: if object {
                // An empty pool: a new key.
                self.spare_keys.pop().unwrap_or_default()
            } else {
                String::new()
            },
            ..Frame::default()
        };
        *cursor = match (
            self.chain.last_mut(),
            std::mem::replace(cursor, Cursor::Stale),
        ) {
            (None, Cursor::Root(slot)) => Cursor::Node(slot.insert(empty)),
            (Some(top), Cursor::Node(node)) if !top.hidden => {
                match insert(node, &top.key, &mut top.index, false, empty) {
                    Ok(child) => Cursor::Node(child),
                    Err(empty) => {
                        frame.hidden = true;
                        frame.value = empty;
                        Cursor::Stale
                    }
                }
            }
            (Some(top), cursor) => {
                let placed = insert(
                    &mut top.value,
                    &top.key,
                    &mut top.index,
                    top.hidden,
                    Value::Null,
                );
                frame.hidden = top.hidden || placed.is_err();
                frame.value = empty;
                cursor
            }
            (None, cursor) => cursor,
        };
        self.chain.push(frame);
        self.state = if object {
            State::ObjectFirst
        } else {
            State::ArrayFirst
        };
        Ok(true)
    }

    /// Pops the top frame (its `]` or `}` was read). A container in the snapshot is
    /// complete where it is (the cursor goes stale); an owned one goes back into its slot,
    /// or aside as a duplicate member.
    fn close(&mut self, cursor: &mut Cursor<'_>) -> bool {
        let Some(Frame {
            object,
            hidden,
            value,
            mut key,
            overrides,
            ..
        }) = self.chain.pop()
        else {
            return true;
        };
        if !overrides.is_empty() {
            match self.chain.last_mut() {
                Some(parent) => {
                    let seg = match parent.segment() {
                        PathSegment::Key(k) => Seg::Key(k.to_owned()),
                        PathSegment::Index(i) => Seg::Index(i),
                    };
                    parent.overrides.inner.push((seg, overrides));
                }
                None => self.overrides = overrides,
            }
        }
        if object {
            // At most one spare buffer per object frame open at once.
            key.clear();
            self.spare_keys.push(key);
        }
        self.state = if self.chain.is_empty() {
            State::Done
        } else {
            State::After
        };
        let resident = !hidden && !matches!(cursor, Cursor::Root(_));
        let duplicate = hidden && self.chain.last().is_some_and(|f| !f.hidden);
        if resident {
            *cursor = Cursor::Stale;
        } else if duplicate {
            self.add_override(value);
        } else if let Some(parent) = self.chain.last_mut() {
            if let Some(slot) = member(&mut parent.value, &parent.key) {
                *slot = value;
            }
        } else if let Cursor::Root(root) = cursor {
            **root = Some(value);
        }
        true
    }

    /// Places a complete number or literal as the next value; `false` if it must wait for
    /// the snapshot.
    fn place(&mut self, value: Value, cursor: &mut Cursor<'_>) -> bool {
        let Some(Frame {
            value: own,
            key,
            index,
            hidden,
            ..
        }) = self.chain.last_mut()
        else {
            if let Cursor::Root(root) = cursor {
                **root = Some(value);
            }
            self.state = State::Done;
            return true;
        };
        let Some(container) = container(own, *hidden, cursor) else {
            return false;
        };
        if let Err(duplicate) = insert(container, key, index, *hidden, value) {
            self.add_override(duplicate);
        }
        self.state = State::After;
        true
    }

    /// Opens a string as the next value (its content is read by [`Self::read_string`]);
    /// `false` if it must wait for the snapshot.
    fn open_string(&mut self, cursor: &mut Cursor<'_>) -> bool {
        let empty = Value::String(String::new());
        let target = match self.chain.last_mut() {
            None => {
                if let Cursor::Root(root) = cursor {
                    **root = Some(empty);
                }
                Target::Member
            }
            Some(Frame {
                value: own,
                key,
                index,
                hidden,
                ..
            }) => {
                let Some(container) = container(own, *hidden, cursor) else {
                    return false;
                };
                match insert(container, key, index, *hidden, empty) {
                    Ok(_) => Target::Member,
                    Err(_) => Target::Duplicate,
                }
            }
        };
        self.duplicate.clear();
        if target == Target::Member && self.chain.last().is_none_or(|f| !f.hidden) {
            self.deltas.push(DeltaRecord {
                path: None,
                from: 0,
                new: true,
            });
        }
        self.esc = Esc::None;
        self.set(State::Str(target))
    }

    /// Reads string content from `frag[i..]` until the string closes, the fragment ends, or
    /// an error; returns the index after what it read (`None` if the string must wait for
    /// the snapshot).
    fn read_string(
        &mut self,
        frag: &str,
        i: usize,
        target: Target,
        cursor: &mut Cursor<'_>,
    ) -> Result<Option<usize>, JsonError> {
        let base = self.consumed;
        let (end, scan) = match target {
            Target::Key => {
                let mut none = String::new();
                let key = self.chain.last_mut().map_or(&mut none, |f| &mut f.key);
                scan_string(frag, i, base, &mut self.esc, key, false)
            }
            Target::Duplicate => {
                scan_string(frag, i, base, &mut self.esc, &mut self.duplicate, true)
            }
            Target::Member => {
                let (shown, slot) = match self.chain.last_mut() {
                    None => match cursor {
                        Cursor::Root(root) => (true, root.as_mut()),
                        _ => (true, None),
                    },
                    Some(Frame {
                        value: own,
                        key,
                        hidden,
                        ..
                    }) => {
                        let Some(container) = container(own, *hidden, cursor) else {
                            return Ok(None);
                        };
                        (!*hidden, member(container, key))
                    }
                };
                let mut none = String::new();
                let string = match slot {
                    Some(Value::String(s)) => s,
                    _ => {
                        debug_assert!(false, "the open member is a string");
                        &mut none
                    }
                };
                let from = string.len();
                let (end, scan) = scan_string(frag, i, base, &mut self.esc, string, true);
                let grew = string.len() > from;
                if shown {
                    self.record(from, grew, matches!(scan, Scan::Closed));
                }
                (end, scan)
            }
        };
        match scan {
            Scan::Open => {}
            Scan::Closed if target == Target::Key => self.state = State::Colon,
            Scan::Closed => {
                if target == Target::Duplicate {
                    let value = Value::String(std::mem::take(&mut self.duplicate));
                    self.add_override(value);
                }
                self.state = if self.chain.is_empty() {
                    State::Done
                } else {
                    State::After
                };
            }
            Scan::Failed(kind, at) => return Err(JsonError::new(kind, at)),
        }
        Ok(Some(end))
    }

    /// Notes what a push did to the shown string being read (which grew from length
    /// `from`): its delta is created on the first change, and its path copied when it
    /// closes (while open, its path is the chain's).
    fn record(&mut self, from: usize, grew: bool, closed: bool) {
        if self.deltas.last().is_none_or(|d| d.path.is_some()) {
            if !grew && !closed {
                return;
            }
            self.deltas.push(DeltaRecord {
                path: None,
                from,
                new: false,
            });
        }
        if closed {
            let start = self.delta_path.len();
            for frame in &mut self.chain {
                let step = if frame.object {
                    let keys = &mut self.delta_keys;
                    let copy = frame.delta_key.get_or_insert_with(|| {
                        let at = keys.len();
                        keys.push_str(&frame.key);
                        at..keys.len()
                    });
                    PathStep::Key(copy.clone())
                } else {
                    PathStep::Index(frame.index)
                };
                self.delta_path.push(step);
            }
            let path = start..self.delta_path.len();
            if let Some(d) = self.deltas.last_mut() {
                d.path = Some(path);
            }
        }
    }

    /// Keeps `value` aside as the last-wins value of the top object's current (duplicate)
    /// key, for `finish`.
    fn add_override(&mut self, value: Value) {
        if let Some(top) = self.chain.last_mut() {
            let key = std::mem::take(&mut top.key);
            top.overrides.members.push((key, value));
        }
    }
}

const fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn char_at(frag: &str, i: usize) -> char {
    frag.get(i..)
        .and_then(|s| s.chars().next())
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The value of a complete, grammatical number token, exactly as `serde_json` reads it;
/// `None` if out of range.
pub(super) fn parse_number(token: &str) -> Option<Value> {
    let bytes = token.as_bytes();
    // Fast paths for plain integers that certainly fit; serde_json gives the same
    // values for these (`-0` is a float in serde_json, so it takes the slow path).
    if bytes.len() <= 19 && bytes.iter().all(u8::is_ascii_digit) {
        return token.parse::<u64>().ok().map(Value::from);
    }
    if let [b'-', b'1'..=b'9', rest @ ..] = bytes {
        if rest.len() <= 17 && rest.iter().all(u8::is_ascii_digit) {
            return token.parse::<i64>().ok().map(Value::from);
        }
    }
    serde_json::from_str::<Value>(token).ok()
}
