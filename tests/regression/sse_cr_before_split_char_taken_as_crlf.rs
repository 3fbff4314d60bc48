//! Found by the `sse_chunks` fuzz target (lossy, small limits, `split_on_new_id`): the
//! same bytes gave `EventTooLong` fed whole and nothing (or `LineTooLong`) fed in pieces.
//!
//! The cause was not the limit arithmetic but the line ends. A feed ending in CR and then
//! the first byte of a UTF-8 character (held back until the character completes) left
//! the CR as the last *stored* byte, so it was taken for the first half of a CRLF split
//! across feeds. When the next feed started with an LF, that LF was skipped in the CR's
//! name, the held byte was dropped in its place, and the LF (now a line of its own after
//! the held byte was gone) read as a blank line: it ended the event early, which moved
//! where the event limit was crossed. The held byte here is invalid UTF-8, so strict mode
//! also lost its `InvalidUtf8` error. The stream is the fuzzer's, minimized (it was cut
//! after byte 13).

use dashscope_glm::sse::{Decoder, Error};

use crate::harness::{self, Out};

#[test]
fn lone_cr_before_a_split_character_is_not_half_a_crlf() {
    let input = include_bytes!("data/sse_cr_before_split_char_taken_as_crlf.bin");
    let make = || harness::small(17, 32).lossy(true).split_on_new_id(true);
    let whole = harness::run_all_splits(make, input);
    // The event starts at byte 1; its 33rd byte (offset 33) crosses the event limit.
    assert_eq!(
        whole.items,
        [Out::Error(Error::EventTooLong {
            limit: 32,
            offset: 1
        })]
    );
    // The fuzzer's cut, then the other modes.
    assert_eq!(harness::run_cuts(make(), input, &[13]), whole);
    for lossy in [false, true] {
        for split in [false, true] {
            let make = || harness::small(17, 32).lossy(lossy).split_on_new_id(split);
            harness::run_all_splits(make, input);
            let make = || Decoder::new().lossy(lossy).split_on_new_id(split);
            harness::run_all_splits(make, input);
        }
    }
}

#[test]
fn invalid_byte_after_a_cr_stays_on_its_own_line() {
    // "data: x" CR, a lone E8 (a 3-byte lead) and its LF, then "data: y" and the blank
    // line: one event "x\ny"; the E8 line is an error (strict) or an ignored field
    // named U+FFFD (lossy). Split between E8 and the LF, the LF was taken as the end of
    // a CRLF and the event split in two.
    let input = b"data: x\r\xE8\ndata: y\n\n";
    let strict = harness::run_all_splits(harness::strict, input);
    assert_eq!(
        strict.items,
        [
            Out::Error(Error::InvalidUtf8 { offset: 8 }),
            harness::event("message", "x\ny", "", 0)
        ]
    );
    let lossy = harness::run_all_splits(harness::lossy, input);
    assert_eq!(lossy.items, [harness::event("message", "x\ny", "", 0)]);
    // The same with a CRLF after the character, and with a valid character held.
    for input in [
        &b"data: x\r\xE8\r\ndata: y\n\n"[..],
        b"data: x\r\xC3\xA9\ndata: y\n\n",
    ] {
        for split in [false, true] {
            harness::run_all_splits(|| harness::lossy().split_on_new_id(split), input);
            harness::run_all_splits(|| harness::strict().split_on_new_id(split), input);
        }
    }
}
