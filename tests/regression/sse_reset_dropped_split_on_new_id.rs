//! `Decoder::reset` (a reconnection) kept the limits and the UTF-8 mode but silently
//! turned the legacy `split_on_new_id` framing off, so a native stream resumed after a
//! reconnection came out as one event that never ended.

use dashscope_glm::sse::{Decoder, Item};

#[test]
fn reset_keeps_split_on_new_id() {
    let mut decoder = Decoder::new().split_on_new_id(true);
    decoder.feed(b"id:1\ndata:a\n");
    decoder.reset();
    decoder.feed(b"id:2\ndata:b\nid:3\ndata:c\n");
    let Some(Ok(Item::Event(event))) = decoder.next_item() else {
        panic!("the event before `id:3` is dispatched")
    };
    assert_eq!((event.id(), event.data()), ("2", "b"));
}
