//! Found by the `pipeline` fuzz target: with small limits, a line that broke both the
//! line and the event limit reported `LineTooLong` when fed whole and `EventTooLong`
//! when fed in pieces. Now the limit crossed at the earlier byte is reported, however
//! the input is split. The input is the fuzzer's, kept as found.

use dashscope_glm::sse::Error;

use crate::harness::{self, Out};

#[test]
fn limit_errors_do_not_depend_on_the_split() {
    let input = include_bytes!("data/sse_limit_order_depends_on_split.bin");
    let whole = harness::run_cuts(harness::small(512, 1024), input, &[]);
    assert!(
        whole.items.iter().any(|item| matches!(
            item,
            Out::Error(Error::LineTooLong { .. } | Error::EventTooLong { .. })
        )),
        "{whole:?}"
    );
    for piece in [1, 7, 100, 512] {
        let run = harness::run_chunked(harness::small(512, 1024), input, piece);
        assert_eq!(run, whole, "{piece}-byte pieces");
    }
}
