//! How a reply body is cut into pieces on the wire: [`Split`], and the seeded xorshift
//! generator behind [`Split::Random`].

/// How a [`Reply`] body is cut into pieces on the wire.
///
/// Each piece is written with its own `write` call (and `TCP_NODELAY`); in the default
/// chunked framing ([`Framing::Chunked`]) each piece is also its own HTTP chunk, so the
/// boundaries are visible to the client's chunked decoder, not just a matter of timing.
/// [`Split::piece_lengths`] tells the lengths a body gets.
///
/// # Example
///
/// This example shows the pieces of a two-event stream under each split.
///
/// ```
/// use dashscope_glm::testing::Split;
///
/// let body = b"data:a\n\ndata:bc\n\n";
/// assert_eq!(Split::Whole.piece_lengths(body), [17]);
/// assert_eq!(Split::PerEvent.piece_lengths(body), [8, 9]);
/// assert_eq!(Split::Every(5).piece_lengths(body), [5, 5, 5, 2]);
/// let random = Split::Random { seed: 7, max: 4 }.piece_lengths(body);
/// assert_eq!(random.iter().sum::<usize>(), 17);
/// assert_eq!(random, Split::Random { seed: 7, max: 4 }.piece_lengths(body));
/// ```
///
/// [`Reply`]: super::Reply
/// [`Framing::Chunked`]: super::Framing::Chunked
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Split {
    /// The whole body in one piece (the default).
    #[default]
    Whole,
    /// One piece per SSE event: a piece ends after each blank line (an empty line ended
    /// by LF, CRLF or CR). Bytes after the last blank line form the last piece.
    PerEvent,
    /// Pieces of this many bytes (0 counts as 1); the last one may be shorter.
    Every(usize),
    /// Pieces of pseudo-random lengths between 1 and `max` (0 counts as 1), drawn from a
    /// xorshift generator seeded with `seed`: the same seed always gives the same
    /// lengths, on every platform.
    Random {
        /// The generator's seed.
        seed: u64,
        /// The longest piece.
        max: usize,
    },
}

impl Split {
    /// The lengths of the pieces `body` is written in, in order. They sum to
    /// `body.len()`, and none is 0 (an empty body has no pieces).
    ///
    /// # Example
    ///
    /// This example shows that an event ended by CRLF CRLF stays whole.
    ///
    /// ```
    /// use dashscope_glm::testing::Split;
    ///
    /// assert_eq!(Split::PerEvent.piece_lengths(b"data:a\r\n\r\ndata:b"), [10, 6]);
    /// assert!(Split::Every(3).piece_lengths(b"").is_empty());
    /// ```
    #[must_use]
    pub fn piece_lengths(&self, body: &[u8]) -> Vec<usize> {
        match *self {
            Self::Whole if body.is_empty() => Vec::new(),
            Self::Whole => vec![body.len()],
            Self::PerEvent => event_lengths(body),
            Self::Every(n) => {
                let n = n.max(1);
                body.chunks(n).map(<[u8]>::len).collect()
            }
            Self::Random { seed, max } => {
                let max = max.max(1) as u64;
                let mut rng = XorShift::new(seed);
                let mut left = body.len();
                let mut out = Vec::new();
                while left > 0 {
                    // `1 + x % max` is at most `max`, which came from a usize.
                    let len = usize::try_from(1 + rng.next() % max).unwrap_or(usize::MAX);
                    let len = len.min(left);
                    out.push(len);
                    left -= len;
                }
                out
            }
        }
    }
}

/// Lengths of the pieces of `body`, each ending after a blank line.
fn event_lengths(body: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    // Invariant: piece_start <= line_start <= i <= body.len().
    let (mut piece_start, mut line_start, mut i) = (0, 0, 0);
    while let Some(&byte) = body.get(i) {
        if byte != b'\n' && byte != b'\r' {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        if byte == b'\r' && body.get(end) == Some(&b'\n') {
            end += 1;
        }
        if i == line_start {
            out.push(end - piece_start);
            piece_start = end;
        }
        line_start = end;
        i = end;
    }
    if piece_start < body.len() {
        out.push(body.len() - piece_start);
    }
    out
}

/// Marsaglia's xorshift64, seeded through splitmix64 so that every seed (0 included)
/// gives a non-zero state.
pub(super) struct XorShift(u64);

impl XorShift {
    pub(super) fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    pub(super) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lengths_follow_blank_lines_with_any_line_end() {
        assert_eq!(event_lengths(b""), Vec::<usize>::new());
        assert_eq!(event_lengths(b"\n"), [1]);
        assert_eq!(event_lengths(b"a\n\nb\r\n\r\nc\r\rd"), [3, 5, 3, 1]);
        assert_eq!(event_lengths(b"a\nb\nc"), [5]);
    }

    #[test]
    fn random_lengths_stay_in_range_for_every_seed() {
        let body = [0u8; 1000];
        for seed in [0, 1, u64::MAX] {
            for max in [0, 1, 7] {
                let lengths = Split::Random { seed, max }.piece_lengths(&body);
                assert_eq!(lengths.iter().sum::<usize>(), 1000);
                assert!(lengths.iter().all(|&n| (1..=max.max(1)).contains(&n)));
            }
        }
    }
}
