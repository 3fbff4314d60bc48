//! Found by the `pipeline` fuzz target: with small limits, a line that broke both the
//! line and the event limit reported `LineTooLong` when fed whole and `EventTooLong`
//! when fed in pieces. Now the limit crossed at the earlier byte is reported, however
//! the input is split. The input is the fuzzer's, kept as found.

use dashscope_glm::sse::{Decoder, Limits};

fn items(input: &[u8], piece: usize) -> Vec<String> {
    let mut decoder = Decoder::with_limits(Limits::new().max_line(512).max_event(1024));
    let mut out = Vec::new();
    for chunk in input.chunks(piece) {
        decoder.feed(chunk);
        while let Some(item) = decoder.next_item() {
            out.push(format!("{item:?}"));
        }
    }
    out.push(format!("{:?}", decoder.finish()));
    out
}

#[test]
fn limit_errors_do_not_depend_on_the_split() {
    let input = include_bytes!("data/sse_limit_order_depends_on_split.bin");
    let whole = items(input, input.len());
    assert!(whole.iter().any(|i| i.contains("TooLong")), "{whole:?}");
    for piece in [1, 7, 100, 512] {
        assert_eq!(items(input, piece), whole, "{piece}-byte pieces");
    }
}
