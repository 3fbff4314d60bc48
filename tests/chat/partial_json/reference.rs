//! Oracles for the `PartialJson` tests: a slow, obviously-correct reference for the
//! snapshot of a prefix, an `extends` checker, a generator of JSON documents (duplicate
//! keys allowed) and serializers that write them in several styles.

#[path = "../../common/json_extends.rs"]
mod json_extends;
use json_extends::extends as value_extends;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// The snapshot rules, applied from scratch to a prefix of a valid JSON text by
/// recursive descent.
pub(crate) fn snapshot_of_prefix(prefix: &str) -> Option<Value> {
    let mut r = Reader { s: prefix, i: 0 };
    r.ws();
    if r.i >= r.s.len() {
        return None;
    }
    r.value().0
}

struct Reader<'a> {
    s: &'a str,
    i: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// The value here (what the snapshot shows of it) and whether it is complete.
    fn value(&mut self) -> (Option<Value>, bool) {
        match self.peek() {
            None => (None, false),
            Some(b'"') => {
                let (s, done) = self.string();
                (Some(Value::String(s)), done)
            }
            Some(b'[') => {
                self.i += 1;
                let mut arr = Vec::new();
                loop {
                    self.ws();
                    match self.peek() {
                        None => return (Some(Value::Array(arr)), false),
                        Some(b']') => {
                            self.i += 1;
                            return (Some(Value::Array(arr)), true);
                        }
                        Some(b',') => self.i += 1,
                        Some(_) => {
                            let (v, done) = self.value();
                            if let Some(v) = v {
                                arr.push(v);
                            }
                            if !done {
                                return (Some(Value::Array(arr)), false);
                            }
                        }
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut map = Map::new();
                loop {
                    self.ws();
                    match self.peek() {
                        None => return (Some(Value::Object(map)), false),
                        Some(b'}') => {
                            self.i += 1;
                            return (Some(Value::Object(map)), true);
                        }
                        Some(b',') => self.i += 1,
                        Some(_) => {
                            let (key, key_done) = self.string();
                            self.ws();
                            if !key_done || self.peek().is_none() {
                                return (Some(Value::Object(map)), false);
                            }
                            self.i += 1; // ':'
                            self.ws();
                            let (v, done) = self.value();
                            // A duplicate key: the snapshot keeps the first member.
                            if let Some(v) = v {
                                map.entry(key).or_insert(v);
                            }
                            if !done {
                                return (Some(Value::Object(map)), false);
                            }
                        }
                    }
                }
            }
            Some(b't' | b'f' | b'n') => {
                for (text, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.s[self.i..].starts_with(text) {
                        self.i += text.len();
                        return (Some(v), true);
                    }
                }
                self.i = self.s.len();
                (None, false)
            }
            Some(_) => {
                let start = self.i;
                while matches!(
                    self.peek(),
                    Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                ) {
                    self.i += 1;
                }
                if self.peek().is_none() {
                    return (None, false);
                }
                let v = serde_json::from_str(&self.s[start..self.i]).expect("valid number");
                (Some(v), true)
            }
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let h = self.s.get(at..at + 4)?;
        u32::from_str_radix(h, 16).ok()
    }

    /// The decoded prefix of the string here and whether its closing quote was read.
    fn string(&mut self) -> (String, bool) {
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(b) = self.peek() else {
                return (out, false);
            };
            match b {
                b'"' => {
                    self.i += 1;
                    return (out, true);
                }
                b'\\' => {
                    let Some(&e) = self.s.as_bytes().get(self.i + 1) else {
                        return (out, false);
                    };
                    if e == b'u' {
                        let Some(cp) = self.hex4(self.i + 2) else {
                            return (out, false);
                        };
                        if (0xD800..0xDC00).contains(&cp) {
                            let Some(lo) = self.hex4(self.i + 8) else {
                                return (out, false);
                            };
                            let c = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            out.push(char::from_u32(c).expect("pair"));
                            self.i += 12;
                        } else {
                            out.push(char::from_u32(cp).expect("scalar"));
                            self.i += 6;
                        }
                    } else {
                        out.push(match e {
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'n' => '\n',
                            b'r' => '\r',
                            b't' => '\t',
                            other => char::from(other),
                        });
                        self.i += 2;
                    }
                }
                _ => {
                    let c = self.s[self.i..].chars().next().expect("char");
                    out.push(c);
                    self.i += c.len_utf8();
                }
            }
        }
    }
}

/// Whether `new` extends `old`: strings only grow, arrays and objects only gain
/// elements or extend their last one (array elements before the last are final),
/// scalars never change.
pub(crate) fn extends(old: Option<&Value>, new: Option<&Value>) -> bool {
    match (old, new) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(old), Some(new)) => value_extends(old, new),
    }
}

/// A JSON document as written, duplicate keys and number spellings included.
#[derive(Debug, Clone)]
pub(crate) enum Doc {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Self>),
    Obj(Vec<(String, Self)>),
}

fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        1 => Just(' '),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('/'),
        1 => proptest::char::range('\u{0}', '\u{1f}'),
        1 => Just('\u{7f}'),
        1 => Just('\u{2028}'),
        2 => proptest::char::range('\u{4e00}', '\u{9fff}'),
        2 => proptest::char::range('\u{1f600}', '\u{1f64f}'),
        1 => any::<char>(),
    ]
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(any_char(), 0..10).prop_map(String::from_iter)
}

fn key() -> impl Strategy<Value = String> {
    // A small alphabet makes duplicate keys common.
    prop_oneof![2 => "[a-c]", 1 => text()]
}

fn number() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop_oneof![Just("0".to_owned()), "[1-9][0-9]{0,21}"],
        proptest::option::of("[0-9]{1,6}"),
        proptest::option::of(("[eE]", "[+-]?", "[0-9]{1,2}")),
    )
        .prop_map(|(neg, int, frac, exp)| {
            let mut s = String::new();
            if neg {
                s.push('-');
            }
            s.push_str(&int);
            if let Some(f) = frac {
                s.push('.');
                s.push_str(&f);
            }
            if let Some((e, sign, digits)) = exp {
                s.push_str(&e);
                s.push_str(&sign);
                s.push_str(&digits);
            }
            s
        })
}

pub(crate) fn doc() -> impl Strategy<Value = Doc> {
    let leaf = prop_oneof![
        Just(Doc::Null),
        any::<bool>().prop_map(Doc::Bool),
        number().prop_map(Doc::Num),
        text().prop_map(Doc::Str),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Doc::Arr),
            proptest::collection::vec((key(), inner), 0..6).prop_map(Doc::Obj),
        ]
    })
}

/// How to write a document.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Style {
    Compact,
    Pretty,
    /// Random whitespace (space, tab, CR, LF) between tokens.
    Spaced,
}

pub(crate) fn style() -> impl Strategy<Value = Style> {
    prop_oneof![
        Just(Style::Compact),
        Just(Style::Pretty),
        Just(Style::Spaced)
    ]
}

/// A tiny xorshift, so that a serialization is a function of its seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0 | 1;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Writes `doc`; `escape_rate` in 0..=4 is how often (in quarters) a character that
/// may be written raw is written as a `\u` escape (surrogate pairs beyond the BMP).
pub(crate) fn write(doc: &Doc, style: Style, escape_rate: u64, rng: &mut Rng) -> String {
    let mut out = String::new();
    let mut w = Writer {
        out: &mut out,
        style,
        escape_rate,
        rng,
    };
    w.ws(0);
    w.doc(doc, 0);
    w.ws(0);
    out
}

struct Writer<'a> {
    out: &'a mut String,
    style: Style,
    escape_rate: u64,
    rng: &'a mut Rng,
}

impl Writer<'_> {
    fn ws(&mut self, depth: usize) {
        match self.style {
            Style::Compact => {}
            Style::Pretty => {}
            Style::Spaced => {
                for _ in 0..self.rng.below(3) {
                    let c = [' ', '\t', '\n', '\r'][self.rng.below(4) as usize];
                    self.out.push(c);
                }
                let _ = depth;
            }
        }
    }

    fn newline(&mut self, depth: usize) {
        if let Style::Pretty = self.style {
            self.out.push('\n');
            for _ in 0..depth {
                self.out.push_str("  ");
            }
        }
    }

    fn doc(&mut self, doc: &Doc, depth: usize) {
        match doc {
            Doc::Null => self.out.push_str("null"),
            Doc::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Doc::Num(n) => self.out.push_str(n),
            Doc::Str(s) => self.string(s),
            Doc::Arr(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.newline(depth + 1);
                    self.ws(depth);
                    self.doc(item, depth + 1);
                    self.ws(depth);
                }
                if !items.is_empty() {
                    self.newline(depth);
                }
                self.out.push(']');
            }
            Doc::Obj(members) => {
                self.out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.newline(depth + 1);
                    self.ws(depth);
                    self.string(k);
                    self.ws(depth);
                    self.out.push(':');
                    if let Style::Pretty = self.style {
                        self.out.push(' ');
                    }
                    self.ws(depth);
                    self.doc(v, depth + 1);
                    self.ws(depth);
                }
                if !members.is_empty() {
                    self.newline(depth);
                }
                self.out.push('}');
            }
        }
    }

    fn unicode(&mut self, unit: u16) {
        if self.rng.below(2) == 0 {
            self.out.push_str(&format!("\\u{unit:04x}"));
        } else {
            self.out.push_str(&format!("\\u{unit:04X}"));
        }
    }

    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            let force = self.rng.below(4) < self.escape_rate;
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' if !force => self.out.push_str("\\n"),
                '\t' if !force => self.out.push_str("\\t"),
                '\r' if !force => self.out.push_str("\\r"),
                '\u{8}' if !force => self.out.push_str("\\b"),
                '\u{c}' if !force => self.out.push_str("\\f"),
                '/' if force => self.out.push_str("\\/"),
                c if (c as u32) < 0x20 || force => {
                    let mut units = [0u16; 2];
                    for &unit in c.encode_utf16(&mut units).iter() {
                        self.unicode(unit);
                    }
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

/// Cuts `text` into pieces at char boundaries, using `sizes` (in bytes, rounded up to
/// the next boundary) cyclically.
pub(crate) fn split<'a>(text: &'a str, sizes: &[usize]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut k = 0;
    while pos < text.len() {
        let size = sizes
            .get(k % sizes.len().max(1))
            .copied()
            .unwrap_or(1)
            .max(1);
        k += 1;
        let mut end = (pos + size).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push(&text[pos..end]);
        pos = end;
    }
    out
}
