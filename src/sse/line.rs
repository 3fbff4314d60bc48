//! Line-level helpers: the line-end search and the field-value rules that need no state.
//!
//! WHATWG "event stream interpretation", the parts that look at one line only:
//!
//! - Lines end at CRLF, a lone LF or a lone CR ([`find_either`] finds the first CR or
//!   LF; the decoder pairs a CR with a following LF, also across feeds).
//! - A line containing a colon splits at the FIRST colon into field name and value; if
//!   the value starts with one U+0020 SPACE, that one space is removed. A line without a
//!   colon is a field whose value is empty ([`split_field`]).
//! - `retry`: only a non-empty run of ASCII digits sets the reconnection time
//!   ([`parse_retry`]).

/// Bytes tested at once by [`find_either`] before it looks for the position.
const BLOCK: usize = 64;
/// `0x0101_0101_0101_0101`: one in every byte.
const ONES: u64 = u64::from_le_bytes([1; 8]);
/// `0x8080_8080_8080_8080`: the high bit of every byte.
const HIGHS: u64 = ONES << 7;

/// The index of the first byte of `hay` that is `A` or `B`: what
/// `hay.iter().position(|&c| c == A || c == B)` returns, found eight to sixty-four bytes
/// at a time. An index returned is less than `hay.len()`. The search reads nothing past
/// the block that holds the hit (the bytes before that block once, its own bytes at most
/// twice), so a caller that resumes after the bytes searched keeps a whole scan linear.
///
/// Whole [`BLOCK`]s are tested with a branch-free fold, which the compiler turns into SIMD
/// compares (SSE2 on any x86-64) without unsafe code. Only the block with a hit, and the
/// last partial block, are searched for the position: eight bytes at a time, each word
/// XOR-ed with `A` and with `B` and given the classic "has a zero byte" test (borrows
/// only flag bytes above the first match, so the lowest flag is exact), then byte by byte.
///
/// The SSE decoder finds line ends with `find_either::<b'\r', b'\n'>`; anything that
/// searches for one of two bytes in safe, dependency-free code can call it the same way.
#[inline]
pub(crate) fn find_either<const A: u8, const B: u8>(hay: &[u8]) -> Option<usize> {
    if hay.len() < 8 {
        // Reads of a few bytes: no setup.
        return hay.iter().position(|&c| c == A || c == B);
    }
    let mut blocks = hay.chunks_exact(BLOCK);
    let mut at = 0;
    for block in &mut blocks {
        if block
            .iter()
            .fold(0u8, |hit, &c| hit | u8::from(c == A) | u8::from(c == B))
            != 0
        {
            return first_in_words::<A, B>(block).map(|i| at + i);
        }
        at += BLOCK;
    }
    first_in_words::<A, B>(blocks.remainder()).map(|i| at + i)
}

/// [`find_either`] in a block: eight bytes at a time, then the last few one by one.
#[inline]
fn first_in_words<const A: u8, const B: u8>(block: &[u8]) -> Option<usize> {
    let mut words = block.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        // Little-endian, as `u64::from_le_bytes` would read it; compiled to one load.
        let w = word.iter().rev().fold(0, |w, &c| w << 8 | u64::from(c));
        let (a, b) = (w ^ (ONES * u64::from(A)), w ^ (ONES * u64::from(B)));
        let zero = (a.wrapping_sub(ONES) & !a | b.wrapping_sub(ONES) & !b) & HIGHS;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = words.remainder().iter().position(|&c| c == A || c == B);
    tail.map(|i| at + i)
}

/// A complete, non-blank line, classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// A comment: the text after the leading colon.
    Comment(&'a str),
    /// A `data` field's value.
    Data(&'a str),
    /// Any other field: name and value.
    Field(&'a str, &'a str),
}

/// Classifies a non-blank line by its first byte: a comment, a `data` field (the
/// common case, recognised without searching for the colon) or another field
/// ([`split_field`]).
#[inline]
pub(crate) fn classify(line: &str) -> Line<'_> {
    if let Some(comment) = line.strip_prefix(':') {
        return Line::Comment(comment);
    }
    // "data" holds no colon, so a colon right after it is the first one.
    match line
        .strip_prefix("data")
        .map(|rest| (rest, rest.strip_prefix(':')))
    {
        Some(("", _)) => Line::Data(""),
        Some((_, Some(value))) => Line::Data(value.strip_prefix(' ').unwrap_or(value)),
        _ => {
            let (name, value) = split_field(line);
            Line::Field(name, value)
        }
    }
}

/// Splits a field line into name and value (spec steps "collect the characters before
/// the first colon" and "if value starts with a U+0020 SPACE, remove it").
///
/// A line without a colon is a field with an empty value.
#[inline]
pub(crate) fn split_field(line: &str) -> (&str, &str) {
    match line.split_once(':') {
        Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
        None => (line, ""),
    }
}

/// The `retry` field: `Some(ms)` when `value` is a non-empty run of ASCII digits,
/// `None` otherwise (the field is then ignored).
///
/// A digit run too large for a `u64` saturates at `u64::MAX` (the spec sets the
/// reconnection time to "that integer", so a huge value still means "a very long
/// time"; it never panics).
pub(crate) fn parse_retry(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(value.bytes().fold(0u64, |acc, d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(hay: &[u8]) -> Option<usize> {
        hay.iter().position(|&c| c == b'\n' || c == b'\r')
    }

    fn find_eol(hay: &[u8]) -> Option<usize> {
        find_either::<b'\r', b'\n'>(hay)
    }

    #[test]
    fn find_either_matches_naive_at_every_position_and_length() {
        // Every length up to 40, the line end at every position, with noise bytes that
        // trip the SWAR pre-filter (control characters, high bytes) around it.
        for len in (0..150).filter(|n| *n < 40 || n % 8 < 2 || n % 64 > 60) {
            for noise in [b'a', 0x00, 0x09, 0x0B, 0x0C, 0x0E, 0x80, 0xFF] {
                let base = vec![noise; len];
                assert_eq!(find_eol(&base), naive(&base), "len {len} noise {noise}");
                for at in 0..len {
                    for eol in [b'\n', b'\r'] {
                        let mut hay = base.clone();
                        hay[at] = eol;
                        assert_eq!(find_eol(&hay), Some(at), "len {len} at {at}");
                        if at + 1 < len {
                            hay[at + 1] = b'\n';
                            assert_eq!(find_eol(&hay), Some(at));
                        }
                    }
                }
            }
        }
    }

    /// Other pairs of bytes (the zero byte, high bytes, the same byte twice, JSON's quote
    /// and backslash) over bytes that hold every value, at every start and length.
    #[test]
    fn find_either_is_generic_over_the_two_bytes() {
        fn check<const A: u8, const B: u8>(bytes: &[u8]) {
            for start in (0..bytes.len()).step_by(3) {
                for end in start..bytes.len().min(start + 140) {
                    let hay = &bytes[start..end];
                    let naive = hay.iter().position(|&c| c == A || c == B);
                    assert_eq!(find_either::<A, B>(hay), naive, "{A} {B} {start}..{end}");
                }
            }
        }
        // Every byte value, with filler between them.
        let bytes: Vec<u8> = (0..=255u8).flat_map(|b| [b, b'w']).collect();
        let bytes = &bytes[..];
        check::<b'"', b'\\'>(bytes);
        check::<0x00, 0xFF>(bytes);
        check::<b'a', b'a'>(bytes);
        check::<0x80, 0x7F>(bytes);
        check::<b'w', 0x01>(bytes);
    }

    #[test]
    fn classify_agrees_with_split_field() {
        for line in [
            "data: x",
            "data:x",
            "data:  x",
            "data",
            "data:",
            "data :x",
            "datax: y",
            "dat",
            "d",
            "da:ta",
            ":data: x",
            ": c",
            ":",
            "event: e",
            "id",
            "retry:1",
            "data\u{e9}",
        ] {
            let expected = if let Some(c) = line.strip_prefix(':') {
                Line::Comment(c)
            } else {
                match split_field(line) {
                    ("data", value) => Line::Data(value),
                    (name, value) => Line::Field(name, value),
                }
            };
            assert_eq!(classify(line), expected, "{line:?}");
        }
    }

    #[test]
    fn split_field_rules() {
        assert_eq!(split_field("data: x"), ("data", "x"));
        assert_eq!(split_field("data:x"), ("data", "x"));
        assert_eq!(split_field("data:  x "), ("data", " x "));
        assert_eq!(split_field("data:\tx"), ("data", "\tx"));
        assert_eq!(split_field("data"), ("data", ""));
        assert_eq!(split_field("data:"), ("data", ""));
        assert_eq!(split_field("a:b:c"), ("a", "b:c"));
        assert_eq!(split_field(": c"), ("", "c"));
    }

    #[test]
    fn parse_retry_rules() {
        assert_eq!(parse_retry("1500"), Some(1500));
        assert_eq!(parse_retry("0"), Some(0));
        assert_eq!(parse_retry("007"), Some(7));
        for bad in ["", "15s", "-1", "+5", "1.5", " 1", "1 ", "١"] {
            assert_eq!(parse_retry(bad), None, "{bad:?}");
        }
        assert_eq!(parse_retry("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_retry("18446744073709551616"), Some(u64::MAX));
        assert_eq!(parse_retry(&"9".repeat(100)), Some(u64::MAX));
    }
}
