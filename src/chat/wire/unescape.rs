//! The crate's one JSON string unescaper: resumable (its escape state survives the end
//! of a fragment), used whole by the chunk decoder and fragment by fragment by
//! [`PartialJson`](crate::json::PartialJson).

use crate::json::JsonErrorKind;

/// Escape sub-state inside a string. `high` is a pending high surrogate (0 if none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Esc {
    None,
    Backslash,
    Hex {
        n: u8,
        acc: u32,
        high: u32,
    },
    /// After a complete high-surrogate escape: `\` must follow.
    High(u32),
    /// After the `\` following a high surrogate: `u` must follow.
    HighBackslash(u32),
}

/// How [`scan_string`] stopped.
pub(crate) enum Scan {
    /// At the end of the fragment, the string still open.
    Open,
    /// After the closing quote.
    Closed,
    /// At an offending byte: what is wrong, and the byte's offset.
    Failed(JsonErrorKind, usize),
}

/// The capacity a value string gets when it first has to grow without closing in the
/// same run: most streamed argument strings fit, so they are allocated once.
const OPEN_STRING_CAPACITY: usize = 128;

/// Appends `s` to `out`. With `amortized`, capacity grows at least geometrically (a string
/// that closes in the run that first fills it is allocated exactly).
fn push_grow(out: &mut String, s: &str, amortized: bool, closes: bool) {
    let need = out.len().saturating_add(s.len());
    if amortized && need > out.capacity() {
        let cap = if closes && out.capacity() == 0 {
            need
        } else {
            need.max(out.capacity().saturating_mul(2))
                .max(OPEN_STRING_CAPACITY)
        };
        // `cap >= need >= out.len()`.
        out.reserve_exact(cap.saturating_sub(out.len()));
    }
    out.push_str(s);
}

fn push_char(out: &mut String, c: char, amortized: bool) {
    let mut buf = [0; 4];
    push_grow(out, c.encode_utf8(&mut buf), amortized, false);
}

/// The index of the first byte in `bytes` that ends a plain run of JSON string content:
/// a quote, a backslash, or a control character (below 0x20, which JSON does not allow
/// unescaped). Eight bytes at a time: a byte equal to the pattern becomes zero, and a
/// zero byte, like any byte below 0x20 minus 0x20, sets its high bit in
/// `(x - pattern) & !x`; borrows only ever flag bytes above the first match, so the
/// lowest flag is exact.
pub(crate) fn string_stop(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::MAX / 255;
    const HIGHS: u64 = ONES << 7;
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS;
    let mut rest = bytes;
    let mut offset = 0;
    while let Some((word, tail)) = rest.split_first_chunk::<8>() {
        let x = u64::from_le_bytes(*word);
        let found = below(x ^ (ONES * u64::from(b'"')), 1)
            | below(x ^ (ONES * u64::from(b'\\')), 1)
            | below(x, 0x20);
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        rest = tail;
        offset += 8;
    }
    let at = rest
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    Some(offset + at)
}

/// Splits `s` at `at`, the index of an ASCII byte (or `s.len()`), so a char boundary.
fn split_at_ascii(s: &str, at: usize) -> (&str, &str) {
    debug_assert!(
        s.is_char_boundary(at),
        "{at} is not at an ASCII byte of {s:?}"
    );
    s.split_at_checked(at).unwrap_or((s, ""))
}

/// Decodes string content from `frag[i..]` into `out` (escape state in `esc`), until
/// the closing quote, the end of the fragment or an offending byte (whose offset is
/// `base` plus its index). Returns the index after what it read and how it stopped;
/// what was decoded before an error stays in `out`.
pub(crate) fn scan_string(
    frag: &str,
    i: usize,
    base: usize,
    esc: &mut Esc,
    out: &mut String,
    amortized: bool,
) -> (usize, Scan) {
    // `i` is where the caller's string content starts or goes on: after an ASCII byte.
    let (_, mut rest) = split_at_ascii(frag, i);
    loop {
        let i = frag.len() - rest.len();
        let fail = |kind| (i, Scan::Failed(kind, base + i));
        if *esc == Esc::None {
            let stop = string_stop(rest.as_bytes()).unwrap_or(rest.len());
            let (run, tail) = split_at_ascii(rest, stop);
            if let Some(&found) = tail.as_bytes().first().filter(|&&b| b < 0x20) {
                push_grow(out, run, amortized, false);
                let kind = JsonErrorKind::ControlCharacter {
                    found: char::from(found),
                };
                return (i + stop, Scan::Failed(kind, base + i + stop));
            }
            push_grow(out, run, amortized, tail.starts_with('"'));
            let mut chars = tail.chars();
            match chars.next() {
                None => return (frag.len(), Scan::Open),
                Some('"') => return (frag.len() - chars.as_str().len(), Scan::Closed),
                _ => *esc = Esc::Backslash,
            }
            rest = chars.as_str();
            continue;
        }
        let mut chars = rest.chars();
        let Some(c) = chars.next() else {
            return (i, Scan::Open);
        };
        rest = chars.as_str();
        match *esc {
            // Read above, a run at a time.
            Esc::None => {}
            Esc::Backslash => {
                let unescaped = match c {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => {
                        *esc = Esc::Hex {
                            n: 0,
                            acc: 0,
                            high: 0,
                        };
                        continue;
                    }
                    found => return fail(JsonErrorKind::InvalidEscape { found }),
                };
                *esc = Esc::None;
                push_char(out, unescaped, amortized);
            }
            Esc::Hex { n, acc, high } => {
                let Some(d) = c.to_digit(16) else {
                    return fail(JsonErrorKind::InvalidEscape { found: c });
                };
                let acc = (acc << 4) | d;
                if n < 3 {
                    *esc = Esc::Hex {
                        n: n + 1,
                        acc,
                        high,
                    };
                    continue;
                }
                let code = if high != 0 {
                    if !(0xDC00..=0xDFFF).contains(&acc) {
                        return fail(JsonErrorKind::LoneSurrogate);
                    }
                    0x1_0000 + ((high - 0xD800) << 10) + (acc - 0xDC00)
                } else if (0xD800..=0xDBFF).contains(&acc) {
                    *esc = Esc::High(acc);
                    continue;
                } else {
                    acc
                };
                // A lone trailing surrogate is the only code left that is not a char.
                let Some(c) = char::from_u32(code) else {
                    return fail(JsonErrorKind::LoneSurrogate);
                };
                *esc = Esc::None;
                push_char(out, c, amortized);
            }
            Esc::High(high) if c == '\\' => *esc = Esc::HighBackslash(high),
            Esc::HighBackslash(high) if c == 'u' => *esc = Esc::Hex { n: 0, acc: 0, high },
            Esc::High(_) | Esc::HighBackslash(_) => return fail(JsonErrorKind::LoneSurrogate),
        }
    }
}

/// Appends the text of a JSON string literal's content (`text`, quotes excluded, as
/// the decoder found it) to `out`, escapes resolved.
///
/// # Errors
///
/// A malformed escape, an unpaired UTF-16 surrogate or a control character, as
/// serde_json's string parser says; `out` is then as it was.
pub(crate) fn unescape(text: &str, out: &mut String) -> Result<(), &'static str> {
    let start = out.len();
    let mut esc = Esc::None;
    let message = match scan_string(text, 0, 0, &mut esc, out, false) {
        (_, Scan::Open) if esc == Esc::None => return Ok(()),
        (_, Scan::Failed(kind, _)) => match kind {
            JsonErrorKind::LoneSurrogate => "lone surrogate in \\u escape",
            JsonErrorKind::ControlCharacter { .. } => "control character in string",
            _ => "invalid escape",
        },
        _ => "invalid escape",
    };
    out.truncate(start);
    Err(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unescaped(literal: &str) -> Result<String, &'static str> {
        let mut out = String::new();
        let content = literal.strip_prefix('"').and_then(|l| l.strip_suffix('"'));
        unescape(content.unwrap(), &mut out).map(|()| out)
    }

    #[test]
    fn unescape_agrees_with_serde_json() {
        for literal in [
            r#""""#,
            r#""plain""#,
            r#""a\nb\t\"q\"\\ \/ \b\f\r""#,
            r#""\u00e9t\u00e9 \u676d\u5dde""#,
            r#""\ud83d\ude00!""#,
            r#""杭州 ✓ \u2713""#,
            r#""{\"path\": \"no""#,
        ] {
            let expected: String = serde_json::from_str(literal).unwrap();
            assert_eq!(unescaped(literal).unwrap(), expected, "{literal}");
        }
    }

    #[test]
    fn unescape_rejects_what_serde_json_rejects() {
        for literal in [
            r#""\ud83d""#,
            r#""\ude00""#,
            r#""\ud83dx""#,
            r#""\ud83d\u0041""#,
            r#""\x""#,
            r#""\u12""#,
            "\"tab\there\"",
            r#""trailing \""#,
        ] {
            assert!(
                serde_json::from_str::<String>(literal).is_err(),
                "{literal}"
            );
            assert!(unescaped(literal).is_err(), "{literal}");
        }
    }

    #[test]
    fn the_word_scan_finds_the_first_quote_backslash_or_control_character() {
        // Every length up to three words, every position of the first hit, fillers that
        // include bytes one away from the patterns and non-ASCII bytes (borrows between
        // bytes are where such a scan goes wrong).
        let fillers = [
            b'a', b'!', b'#', b'[', b']', b' ', 0x7f, 0x80, 0xa2, 0xdc, 0xff,
        ];
        for filler in fillers {
            for len in 0..24 {
                let mut bytes = vec![filler; len];
                assert_eq!(string_stop(&bytes), None, "{filler} {len}");
                for first in 0..len {
                    for hit in [b'"', b'\\', 0x00, 0x01, 0x1f] {
                        bytes.fill(filler);
                        bytes[first] = hit;
                        // A later hit of another kind does not matter.
                        if let Some(later) = bytes.get_mut(first + 3) {
                            *later = b'"';
                        }
                        assert_eq!(string_stop(&bytes), Some(first), "{filler} {len} {first}");
                    }
                }
            }
        }
    }
}
