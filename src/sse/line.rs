//! Line-level helpers: the line-end search and the field-value rules that need no state.
//!
//! WHATWG "event stream interpretation", the parts that look at one line only:
//!
//! - Lines end at CRLF, a lone LF or a lone CR ([`find_eol`] finds the first CR or LF;
//!   the decoder pairs a CR with a following LF, also across feeds).
//! - A line containing a colon splits at the FIRST colon into field name and value; if
//!   the value starts with one U+0020 SPACE, that one space is removed. A line without a
//!   colon is a field whose value is empty ([`split_field`]).
//! - `retry`: only a non-empty run of ASCII digits sets the reconnection time
//!   ([`parse_retry`]).

/// Bytes examined per step of [`find_eol`].
const BLOCK: usize = 64;

/// The index of the first CR or LF in `hay`, if any.
///
/// Scans [`BLOCK`]-byte blocks with a branch-free "any byte is CR or LF" reduction, which the
/// compiler turns into SIMD compares (SSE2 on any x86-64) without unsafe code; only a
/// block with a hit is searched byte by byte. Each byte is read once per search, so the
/// caller's resume offset makes the whole search over a line linear.
#[inline]
pub(crate) fn find_eol(hay: &[u8]) -> Option<usize> {
    let mut chunks = hay.chunks_exact(BLOCK);
    let mut at = 0;
    for block in &mut chunks {
        let hit = block.iter().fold(0u8, |acc, &c| {
            acc | u8::from(c == b'\n') | u8::from(c == b'\r')
        });
        if hit != 0 {
            return first_in_block(block).map(|i| at + i);
        }
        at += BLOCK;
    }
    // The last, partial block (the end of a read, usually): eight bytes at a time too.
    first_in_block(chunks.remainder()).map(|i| at + i)
}

/// `0x0101_0101_0101_0101`: one in every byte.
const ONES: u64 = u64::from_le_bytes([1; 8]);
/// `0x8080_8080_8080_8080`: the high bit of every byte.
const HIGHS: u64 = ONES << 7;

/// The first CR or LF in a block (at most [`BLOCK`] bytes): eight bytes at a time, with
/// the classic "has a zero byte" test on the word XOR-ed with LF and with CR (the lowest
/// flagged byte is always a true hit), then byte by byte.
#[inline]
fn first_in_block(block: &[u8]) -> Option<usize> {
    let mut words = block.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let lf = w ^ (ONES * u64::from(b'\n'));
        let cr = w ^ (ONES * u64::from(b'\r'));
        let zero = ((lf.wrapping_sub(ONES) & !lf) | (cr.wrapping_sub(ONES) & !cr)) & HIGHS;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&c| c == b'\n' || c == b'\r')
        .map(|i| at + i)
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
    match line.as_bytes().first() {
        Some(b':') => return Line::Comment(line.get(1..).unwrap_or_default()),
        Some(b'd') => {
            // "data" holds no colon, so a colon right after it is the first one.
            if let Some(rest) = line.strip_prefix("data") {
                if rest.is_empty() {
                    return Line::Data("");
                }
                if let Some(value) = rest.strip_prefix(':') {
                    return Line::Data(value.strip_prefix(' ').unwrap_or(value));
                }
            }
        }
        _ => {}
    }
    let (name, value) = split_field(line);
    Line::Field(name, value)
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

    #[test]
    fn find_eol_matches_naive_at_every_position_and_length() {
        // Every length up to 40, the line end at every position, with noise bytes that
        // trip the SWAR pre-filter (control characters, high bytes) around it.
        for len in 0..40 {
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
