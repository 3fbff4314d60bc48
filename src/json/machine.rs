//! The byte state machine behind [`PartialJson::push`]: the parse states, the chain of
//! open containers, and how values are moved out of and back into the snapshot.

use serde_json::map::Entry;
use serde_json::{Map, Value};

use super::delta::{DeltaRecord, PathStep};
use super::{Expected, JsonError, JsonErrorKind, PartialJson};
// The string unescaper is the chunk decoder's too.
pub(super) use crate::chat::wire::unescape::Esc;
use crate::chat::wire::unescape::{Scan, scan_string};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Array,
    Object,
    Str,
}

#[derive(Debug, Clone)]
pub(super) struct Open {
    kind: Kind,
    /// Not in the snapshot (inside a duplicate-key member).
    hidden: bool,
    /// Hidden frames: the value being built, which is not in the snapshot. Shown frames
    /// hold `Null`: their value is in the snapshot, where the push edits it in place.
    value: Value,
    /// Object frames: the current member's key.
    key: String,
    /// Shown array frames: the elements so far (the open or last one is `len - 1`).
    len: usize,
}

/// Where a push edits the snapshot: found once from the root along the chain, then
/// followed down as values open; after a shown frame closes it is stale, and found
/// again from the root only when the snapshot is next edited.
pub(super) enum Cursor<'a> {
    /// The chain is empty: the root value is placed here.
    Root(&'a mut Option<Value>),
    /// The snapshot value of the deepest shown frame.
    Node(&'a mut Value),
    /// Not known: after a duplicate key's member opened (hidden, so nothing edits the
    /// snapshot until it closes, which makes the cursor stale), or if the snapshot does
    /// not hold the chain's values (cannot happen; edits are then skipped).
    Lost,
    /// The deepest shown frame closed: to be found again before the next edit.
    Stale,
    /// Every shown frame owns its value, taken out of the snapshot (`Null` left in its
    /// slot) by [`PartialJson::detach`]; the root slot is here for the root frame's
    /// close. Used for the rest of a push whose look-up budget is spent.
    Owned(&'a mut Option<Value>),
}

/// The snapshot value of the deepest shown frame of `chain` (every shown frame's value
/// is in the snapshot, at the path its parents' keys and lengths name).
pub(super) fn navigate<'a>(chain: &[Open], root: &'a mut Option<Value>) -> Cursor<'a> {
    if chain.is_empty() {
        return Cursor::Root(root);
    }
    let Some(mut node) = root.as_mut() else {
        return Cursor::Lost;
    };
    for pair in chain.windows(2) {
        let [parent, child] = pair else {
            break;
        };
        if child.hidden {
            break;
        }
        node = match node {
            Value::Array(a) => match a.last_mut() {
                Some(c) => c,
                None => return Cursor::Lost,
            },
            Value::Object(m) => match m.get_mut(parent.key.as_str()) {
                Some(c) => c,
                None => return Cursor::Lost,
            },
            _ => return Cursor::Lost,
        };
    }
    Cursor::Node(node)
}

#[derive(Debug, Clone)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone)]
pub(super) struct Override {
    pub(super) path: Vec<Seg>,
    pub(super) key: String,
    pub(super) value: Value,
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
    Str,
    Num(Num),
    Lit(Lit, u8),
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

const fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn char_at(frag: &str, i: usize) -> char {
    frag.get(i..)
        .and_then(|s| s.chars().next())
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

impl PartialJson {
    /// Whether reading `b` in the current state may edit the snapshot (open or place a
    /// value, or grow a string): then the cursor must be current. Closing brackets,
    /// separators, keys and whitespace between values need no cursor.
    fn edits_at(&self, b: u8) -> bool {
        match self.state {
            State::Str => !self.str_key,
            State::Num(_) | State::Lit(..) => true,
            State::Value => !is_ws(b),
            State::ArrayFirst => !is_ws(b) && b != b']',
            State::ObjectFirst | State::Key | State::Colon | State::After | State::Done => false,
        }
    }

    /// Reads `frag` into the machine, editing the snapshot `root` in place.
    pub(super) fn run(&mut self, frag: &str, root: &mut Option<Value>) -> Result<(), JsonError> {
        let mut i = 0;
        // Finding the cursor walks the chain; the walks of one push stay within
        // `frag.len() + 2 * depth` levels, so a push costs O(fragment length + depth).
        // When the budget is spent, the shown chain is taken out of the snapshot once and
        // the rest of the push edits it in the frames (put back at the end).
        let mut budget = frag
            .len()
            .saturating_add(self.chain.len().saturating_mul(2));
        // Each round finds the cursor once; a round ends at the end of the fragment or
        // where, after a shown value closed, the snapshot is edited again. Every round
        // reads at least one byte (the cursor it starts with is never stale), so `i`
        // grows strictly while `i < frag.len()`.
        while i < frag.len() {
            let levels = self.chain.len();
            if levels > budget {
                return self.run_owned(frag, i, root);
            }
            budget -= levels;
            let cursor = navigate(&self.chain, root);
            i = self.run_at(frag, i, cursor)?;
        }
        Ok(())
    }

    /// Reads `frag[i..]` with the shown chain taken out of the snapshot into the frames
    /// (an owned cursor is never stale: this reads to the end or an error), then puts it
    /// back.
    #[cold]
    #[inline(never)]
    fn run_owned(
        &mut self,
        frag: &str,
        i: usize,
        root: &mut Option<Value>,
    ) -> Result<(), JsonError> {
        self.detach(root);
        let result = self.run_at(frag, i, Cursor::Owned(root));
        self.attach(root);
        result.map(|_| ())
    }

    /// Takes every shown open value out of the snapshot, outermost first, into its
    /// frame (leaving `Null` in its slot).
    pub(super) fn detach(&mut self, root: &mut Option<Value>) {
        for i in 0..self.chain.len() {
            let (done, rest) = self.chain.split_at_mut(i);
            let Some(frame) = rest.first_mut() else {
                break;
            };
            if frame.hidden {
                break;
            }
            let slot = match done.last_mut() {
                None => root.as_mut(),
                Some(parent) => slot_of(parent),
            };
            if let Some(slot) = slot {
                // A shown frame holds `Null` outside this mode: a swap moves, no drop.
                std::mem::swap(slot, &mut frame.value);
            }
        }
    }

    /// Puts every shown open value back into the snapshot, innermost first.
    pub(super) fn attach(&mut self, root: &mut Option<Value>) {
        for i in (0..self.chain.len()).rev() {
            let (done, rest) = self.chain.split_at_mut(i);
            let Some(frame) = rest.first_mut() else {
                continue;
            };
            if frame.hidden {
                continue;
            }
            // The slot holds the `Null` that `detach` or `open` left there.
            let slot = match done.last_mut() {
                None => root.get_or_insert(Value::Null),
                Some(parent) => match slot_of(parent) {
                    Some(slot) => slot,
                    None => continue,
                },
            };
            std::mem::swap(slot, &mut frame.value);
        }
    }

    /// Reads `frag[i..]` with `cursor` until the end of the fragment, or until the
    /// snapshot is to be edited with a stale cursor; returns the index after what it read
    /// (more than `i` when `cursor` is not stale).
    fn run_at(
        &mut self,
        frag: &str,
        mut i: usize,
        mut cursor: Cursor<'_>,
    ) -> Result<usize, JsonError> {
        let bytes = frag.as_bytes();
        let base = self.consumed;
        while let Some(&b) = bytes.get(i) {
            if matches!(cursor, Cursor::Stale) && self.edits_at(b) {
                // Found again by `run`; a fresh cursor is never stale, so the next call
                // reads this byte.
                return Ok(i);
            }
            let at = base + i;
            match self.state {
                State::Str => {
                    let (end, closed) = self.string_step(frag, i, base, &mut cursor)?;
                    i = end;
                    if closed {
                        self.close_string(&mut cursor);
                    }
                    continue;
                }
                State::Num(n) => {
                    let start = i;
                    let mut n = n;
                    let mut ended = false;
                    while let Some(&b) = bytes.get(i) {
                        let next = match (n, b) {
                            (Num::Minus, b'0') => Num::Zero,
                            (Num::Minus, b'1'..=b'9') => Num::Int,
                            (Num::Int, b'0'..=b'9') => Num::Int,
                            (Num::Zero | Num::Int, b'.') => Num::Dot,
                            (Num::Dot | Num::Frac, b'0'..=b'9') => Num::Frac,
                            (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') => Num::Exp,
                            (Num::Exp, b'+' | b'-') => Num::ExpSign,
                            (Num::Exp | Num::ExpSign | Num::ExpDigits, b'0'..=b'9') => {
                                Num::ExpDigits
                            }
                            (n, b) if n.can_end() && !b.is_ascii_digit() => {
                                ended = true;
                                break;
                            }
                            _ => {
                                return Err(JsonError::new(JsonErrorKind::InvalidNumber, base + i));
                            }
                        };
                        n = next;
                        i += 1;
                    }
                    self.num.push_str(frag.get(start..i).unwrap_or(""));
                    self.state = State::Num(n);
                    if ended {
                        // The delimiter is read again by the next state.
                        self.touched = self
                            .touched
                            .saturating_add(1)
                            .saturating_add(self.num.len() as u64);
                        let value = parse_number(&self.num).ok_or(JsonError::new(
                            JsonErrorKind::NumberOutOfRange,
                            self.num_start,
                        ))?;
                        self.place_scalar(value, &mut cursor);
                    }
                    continue;
                }
                State::Lit(lit, n) => {
                    let text = lit.text().as_bytes();
                    let want = text.get(usize::from(n)).copied().unwrap_or(0);
                    if b != want {
                        return Err(self.syntax(Expected::Literal(lit.text()), frag, i));
                    }
                    let n = n + 1;
                    if usize::from(n) == text.len() {
                        self.place_scalar(lit.value(), &mut cursor);
                    } else {
                        self.state = State::Lit(lit, n);
                    }
                }
                _ if is_ws(b) => {}
                State::Value | State::ArrayFirst => match b {
                    b']' if self.state == State::ArrayFirst => {
                        self.close_container(&mut cursor);
                    }
                    _ => {
                        let expected = if self.state == State::ArrayFirst {
                            Expected::ValueOrArrayEnd
                        } else {
                            Expected::Value
                        };
                        cursor = self.start_value(frag, i, at, expected, cursor)?;
                    }
                },
                State::ObjectFirst | State::Key => match b {
                    b'"' => {
                        if let Some(top) = self.chain.last_mut() {
                            top.key.clear();
                        }
                        self.str_key = true;
                        self.esc = Esc::None;
                        self.state = State::Str;
                    }
                    b'}' if self.state == State::ObjectFirst => {
                        self.close_container(&mut cursor);
                    }
                    _ => {
                        let expected = if self.state == State::ObjectFirst {
                            Expected::KeyOrObjectEnd
                        } else {
                            Expected::Key
                        };
                        return Err(self.syntax(expected, frag, i));
                    }
                },
                State::Colon => {
                    if b == b':' {
                        self.state = State::Value;
                    } else {
                        return Err(self.syntax(Expected::Colon, frag, i));
                    }
                }
                State::After => {
                    let in_array = self.chain.last().is_some_and(|f| f.kind == Kind::Array);
                    match (b, in_array) {
                        (b',', true) => self.state = State::Value,
                        (b',', false) => self.state = State::Key,
                        (b']', true) | (b'}', false) => {
                            self.close_container(&mut cursor);
                        }
                        (_, true) => return Err(self.syntax(Expected::CommaOrArrayEnd, frag, i)),
                        (_, false) => {
                            return Err(self.syntax(Expected::CommaOrObjectEnd, frag, i));
                        }
                    }
                }
                State::Done => {
                    return Err(JsonError::new(
                        JsonErrorKind::TrailingData {
                            found: char_at(frag, i),
                        },
                        at,
                    ));
                }
            }
            i += 1;
        }
        Ok(i)
    }

    fn syntax(&self, expected: Expected, frag: &str, i: usize) -> JsonError {
        JsonError::new(
            JsonErrorKind::Syntax {
                expected,
                found: char_at(frag, i),
            },
            self.consumed + i,
        )
    }

    /// Begins the value whose first byte is `frag[i]` (not whitespace).
    fn start_value<'a>(
        &mut self,
        frag: &str,
        i: usize,
        at: usize,
        expected: Expected,
        mut cursor: Cursor<'a>,
    ) -> Result<Cursor<'a>, JsonError> {
        let b = frag.as_bytes().get(i).copied().unwrap_or(0);
        match b {
            b'"' => {
                cursor = self.open(Kind::Str, Value::String(String::new()), cursor);
                self.str_key = false;
                self.esc = Esc::None;
                self.state = State::Str;
                if let Some(d) = self.touch_delta() {
                    d.new = true;
                }
            }
            b'[' | b'{' => {
                // serde_json's recursion budget: the text is rejected when it hits zero.
                if self.depth.saturating_add(1) >= self.limits.max_depth {
                    return Err(JsonError::new(
                        JsonErrorKind::DepthLimit {
                            limit: self.limits.max_depth,
                        },
                        at,
                    ));
                }
                self.depth += 1;
                if b == b'[' {
                    cursor = self.open(Kind::Array, Value::Array(Vec::new()), cursor);
                    self.state = State::ArrayFirst;
                } else {
                    cursor = self.open(Kind::Object, Value::Object(Map::new()), cursor);
                    self.state = State::ObjectFirst;
                }
            }
            b'-' | b'0'..=b'9' => {
                self.num.clear();
                self.num_start = at;
                self.state = State::Num(Num::Minus);
                if b == b'-' {
                    self.num.push('-');
                } else {
                    self.state = State::Num(if b == b'0' { Num::Zero } else { Num::Int });
                    self.num.push(char::from(b));
                }
            }
            b't' => self.state = State::Lit(Lit::True, 1),
            b'f' => self.state = State::Lit(Lit::False, 1),
            b'n' => self.state = State::Lit(Lit::Null, 1),
            _ => return Err(self.syntax(expected, frag, i)),
        }
        Ok(cursor)
    }

    /// Pushes a new open value (container or value string) as the current member of
    /// the top frame: shown in the snapshot (the cursor moves to it) unless hidden (then
    /// the frame owns it).
    fn open<'a>(&mut self, kind: Kind, value: Value, cursor: Cursor<'a>) -> Cursor<'a> {
        let (hidden, value, cursor) = match (self.chain.last_mut(), cursor) {
            (None, Cursor::Root(slot)) => (false, Value::Null, Cursor::Node(slot.insert(value))),
            (Some(parent), cursor) if parent.hidden => (true, value, cursor),
            (Some(parent), Cursor::Owned(root)) => {
                // The frame owns the value; its slot in the parent holds `Null`.
                let hidden = match &mut parent.value {
                    Value::Array(a) => {
                        parent.len = parent.len.saturating_add(1);
                        a.push(Value::Null);
                        false
                    }
                    Value::Object(m) => match m.entry(parent.key.as_str()) {
                        Entry::Vacant(v) => {
                            v.insert(Value::Null);
                            false
                        }
                        // A duplicate key: keep showing the first member.
                        Entry::Occupied(_) => true,
                    },
                    _ => true,
                };
                (hidden, value, Cursor::Owned(root))
            }
            (Some(parent), Cursor::Node(node)) => match node {
                Value::Array(a) => {
                    parent.len = parent.len.saturating_add(1);
                    a.push(value);
                    match a.last_mut() {
                        Some(child) => (false, Value::Null, Cursor::Node(child)),
                        None => (false, Value::Null, Cursor::Lost),
                    }
                }
                Value::Object(m) => match m.entry(parent.key.as_str()) {
                    Entry::Vacant(v) => (false, Value::Null, Cursor::Node(v.insert(value))),
                    // A duplicate key: keep showing the first member.
                    Entry::Occupied(_) => (true, value, Cursor::Lost),
                },
                _ => (true, value, Cursor::Lost),
            },
            (_, cursor) => (true, value, cursor),
        };
        // Object frames reuse a key buffer of a closed frame (its capacity kept).
        let key = if kind == Kind::Object {
            self.spare_keys.pop().unwrap_or_default()
        } else {
            String::new()
        };
        self.chain.push(Open {
            kind,
            hidden,
            value,
            key,
            len: 0,
        });
        cursor
    }

    /// Pops the top frame (its closing `]`, `}` or `"` was read). A shown value is
    /// complete where it is (the cursor goes stale); a hidden one is placed in its
    /// parent or kept as an override.
    fn close_container(&mut self, cursor: &mut Cursor<'_>) {
        let Some(frame) = self.chain.pop() else {
            return;
        };
        if frame.kind != Kind::Str {
            self.depth = self.depth.saturating_sub(1);
        }
        self.state = if self.chain.is_empty() {
            State::Done
        } else {
            State::After
        };
        if frame.kind == Kind::Object {
            // At most one spare buffer per object frame open at once: `spare_keys.len()
            // <= depth reached`.
            let mut key = frame.key;
            key.clear();
            self.spare_keys.push(key);
        }
        let stale = match (self.chain.last_mut(), &mut *cursor) {
            // Owned mode: a shown value goes back into its slot (`Null` there).
            (None, Cursor::Owned(root)) => {
                **root = Some(frame.value);
                false
            }
            (Some(parent), Cursor::Owned(_)) if !frame.hidden => {
                if let Some(slot) = slot_of(parent) {
                    *slot = frame.value;
                }
                parent.key.clear();
                false
            }
            // A shown value is complete where it is, in the snapshot.
            (None, _) => true,
            (Some(parent), _) if !frame.hidden => {
                parent.key.clear();
                true
            }
            (Some(parent), _) if parent.hidden => {
                insert_member(parent, frame.value);
                false
            }
            (Some(_), _) => {
                self.add_override(frame.value);
                true
            }
        };
        if stale && !matches!(cursor, Cursor::Owned(_)) {
            *cursor = Cursor::Stale;
        }
    }

    /// Places a complete number or literal as the current member of the top frame.
    fn place_scalar(&mut self, value: Value, cursor: &mut Cursor<'_>) {
        let duplicate = match (self.chain.last_mut(), cursor) {
            (None, Cursor::Root(slot)) => {
                **slot = Some(value);
                None
            }
            (Some(parent), _) if parent.hidden => {
                insert_member(parent, value);
                None
            }
            (Some(parent), Cursor::Owned(_)) => {
                place_in(&mut parent.value, &mut parent.len, &mut parent.key, value)
            }
            (Some(parent), Cursor::Node(node)) => {
                place_in(node, &mut parent.len, &mut parent.key, value)
            }
            _ => None,
        };
        if let Some(value) = duplicate {
            self.add_override(value);
        }
        self.state = if self.chain.is_empty() {
            State::Done
        } else {
            State::After
        };
    }

    /// Records `value` as the last-wins value of the top object's current (duplicate)
    /// key, for `finish`.
    fn add_override(&mut self, value: Value) {
        let mut path = Vec::with_capacity(self.chain.len());
        for pair in self.chain.windows(2) {
            if let [parent, _] = pair {
                path.push(match parent.kind {
                    Kind::Array => Seg::Index(parent.len.saturating_sub(1)),
                    _ => Seg::Key(parent.key.clone()),
                });
            }
        }
        let Some(top) = self.chain.last_mut() else {
            return;
        };
        let key = std::mem::take(&mut top.key);
        self.overrides.push(Override { path, key, value });
    }

    /// Clears the previous push's delta paths, keeping (moved to the front) the path of
    /// the string still being read if that push reported it: a long string's path is
    /// then built once, not once per push.
    pub(super) fn retain_open_path(&mut self) {
        self.open_path = None;
        let kept = self
            .cur_delta
            .and_then(|k| self.deltas.get(k))
            .map(|rec| rec.path.clone());
        let Some(path) = kept else {
            self.delta_path.clear();
            self.delta_keys.clear();
            return;
        };
        // A record's key steps were pushed in order, so its keys are one contiguous
        // range of `delta_keys`, `keys.start <= keys.end <= delta_keys.len()`.
        let steps = self.delta_path.get(path.clone()).unwrap_or_default();
        let keys = steps
            .iter()
            .filter_map(|step| match step {
                PathStep::Key(r) => Some(r.clone()),
                PathStep::Index(_) => None,
            })
            .reduce(|a, b| a.start..b.end)
            .unwrap_or(0..0);
        self.delta_path.truncate(path.end);
        self.delta_keys.truncate(keys.end);
        // Usually the record was the push's first (a string read across many pushes),
        // its path already at the front.
        if path.start > 0 {
            self.delta_path
                .drain(..path.start.min(self.delta_path.len()));
        }
        if keys.start > 0 {
            for step in &mut self.delta_path {
                if let PathStep::Key(r) = step {
                    *r = r.start.saturating_sub(keys.start)..r.end.saturating_sub(keys.start);
                }
            }
            if self.delta_keys.is_char_boundary(keys.start) {
                self.delta_keys.drain(..keys.start);
            } else {
                // Cannot happen (key ranges are whole keys); build the path again.
                self.delta_path.clear();
                self.delta_keys.clear();
                return;
            }
        }
        self.open_path = Some(self.delta_path.len());
    }

    /// The delta record of the string being read, creating it (with the string's
    /// path) on the first visible change in this push. `None` for keys and hidden
    /// strings.
    fn touch_delta(&mut self) -> Option<&mut DeltaRecord> {
        if self.str_key || self.chain.last().is_none_or(|f| f.hidden) {
            return None;
        }
        let idx = match self.cur_delta {
            Some(idx) => idx,
            None => {
                let path_start = self.delta_path.len();
                // The string being read since an earlier push has its path already.
                let kept = self.open_path.take();
                let path_start = if kept.is_some() { 0 } else { path_start };
                for pair in self.chain.windows(2).take_while(|_| kept.is_none()) {
                    if let [parent, _] = pair {
                        let seg = match parent.kind {
                            Kind::Array => PathStep::Index(parent.len.saturating_sub(1)),
                            _ => {
                                let key_start = self.delta_keys.len();
                                self.delta_keys.push_str(&parent.key);
                                PathStep::Key(key_start..self.delta_keys.len())
                            }
                        };
                        self.delta_path.push(seg);
                    }
                }
                let t = self.delta_text.len();
                self.deltas.push(DeltaRecord {
                    path: path_start..kept.unwrap_or(self.delta_path.len()),
                    text: t..t,
                    new: false,
                    closed: false,
                });
                let idx = self.deltas.len() - 1;
                self.cur_delta = Some(idx);
                idx
            }
        };
        self.deltas.get_mut(idx)
    }

    /// Reads string content from `frag[i..]` into the string being read (an object key
    /// or a value string, in place in its frame) until the string closes, the fragment
    /// ends, or an error; returns the index after what it read. The text decoded by this
    /// call is appended to the push's delta once, as one piece.
    fn string_step(
        &mut self,
        frag: &str,
        i: usize,
        base: usize,
        cursor: &mut Cursor<'_>,
    ) -> Result<(usize, bool), JsonError> {
        let key = self.str_key;
        let visible = !key && self.chain.last().is_some_and(|f| !f.hidden);
        let mut none = String::new();
        let (end, step) = if visible && matches!(cursor, Cursor::Owned(_)) {
            // Owned mode: the shown string is in its frame.
            let target = match self.chain.last_mut() {
                Some(Open {
                    value: Value::String(t),
                    ..
                }) => t,
                _ => &mut none,
            };
            let start = target.len();
            let (end, step) = scan_string(frag, i, base, &mut self.esc, target, true);
            let grew = target.len() > start;
            if grew && self.touch_delta().is_some() {
                if let Some(Open {
                    value: Value::String(t),
                    ..
                }) = self.chain.last()
                {
                    // `start <= t.len()`, a char boundary, as below.
                    self.delta_text.push_str(t.get(start..).unwrap_or(""));
                }
                let text_end = self.delta_text.len();
                if let Some(d) = self.cur_delta.and_then(|k| self.deltas.get_mut(k)) {
                    d.text.end = text_end;
                }
            }
            (end, step)
        } else if visible {
            // A shown value string is edited in the snapshot, through the cursor: it
            // grows with amortized capacity, as it may stay open across pushes.
            let target = match cursor {
                Cursor::Node(Value::String(t)) => t,
                _ => &mut none,
            };
            let start = target.len();
            let (end, step) = scan_string(frag, i, base, &mut self.esc, target, true);
            if target.len() > start && self.touch_delta().is_some() {
                // `start <= target.len()`: the scan only appended, and `start` was a
                // char boundary.
                self.delta_text.push_str(target.get(start..).unwrap_or(""));
                let text_end = self.delta_text.len();
                if let Some(d) = self.cur_delta.and_then(|k| self.deltas.get_mut(k)) {
                    d.text.end = text_end;
                }
            }
            (end, step)
        } else {
            // A key (decoded into the frame's reused buffer) or a hidden string.
            let target = match self.chain.last_mut() {
                Some(top) if key => &mut top.key,
                Some(Open {
                    value: Value::String(t),
                    ..
                }) => t,
                _ => &mut none,
            };
            scan_string(frag, i, base, &mut self.esc, target, !key)
        };
        match step {
            Scan::Open => Ok((end, false)),
            Scan::Closed => Ok((end, true)),
            Scan::Failed(kind, at) => Err(JsonError::new(kind, at)),
        }
    }

    /// The closing quote of the string being read: a key goes on to its colon, a value
    /// string closes its frame.
    fn close_string(&mut self, cursor: &mut Cursor<'_>) {
        if self.str_key {
            self.str_key = false;
            self.state = State::Colon;
            return;
        }
        if let Some(d) = self.touch_delta() {
            d.closed = true;
        }
        self.cur_delta = None;
        self.close_container(cursor);
    }
}

/// The value at `path` under `root`.
pub(super) fn lookup<'v>(root: &'v mut Value, path: &[Seg]) -> Option<&'v mut Value> {
    let mut node = root;
    for seg in path {
        node = match (seg, node) {
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k.as_str())?,
            _ => return None,
        };
    }
    Some(node)
}

/// The slot of `parent`'s current member or last element (its open child).
fn slot_of(parent: &mut Open) -> Option<&mut Value> {
    match &mut parent.value {
        Value::Array(a) => a.last_mut(),
        Value::Object(m) => m.get_mut(parent.key.as_str()),
        _ => None,
    }
}

/// Adds a complete value to `parent` as a new element or member (last wins).
fn insert_member(parent: &mut Open, value: Value) {
    match &mut parent.value {
        Value::Array(a) => a.push(value),
        Value::Object(m) => {
            // An exact copy of the key; the frame keeps its buffer (and its capacity)
            // for the next key.
            m.insert(parent.key.clone(), value);
            parent.key.clear();
        }
        _ => {}
    }
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

/// Adds a complete scalar to `container`, an array (counted in `len`) or an object whose
/// member `key` was just read, with one map look-up: returns the value back when that
/// key is shown already (a duplicate, which the caller keeps aside).
fn place_in(
    container: &mut Value,
    len: &mut usize,
    key: &mut String,
    value: Value,
) -> Option<Value> {
    match container {
        Value::Array(a) => {
            *len = len.saturating_add(1);
            a.push(value);
            None
        }
        Value::Object(m) => match m.entry(key.as_str()) {
            Entry::Vacant(v) => {
                v.insert(value);
                key.clear();
                None
            }
            Entry::Occupied(_) => Some(value),
        },
        _ => None,
    }
}
