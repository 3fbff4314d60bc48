//! Found while documenting `StreamDecoder::next_event`: after an error, a later call
//! with nothing new to decode returned `Ok(None)`, which reads as a clean pause in a
//! failed stream. It now returns the same error every time.

use dashscope_glm::chat::{Protocol, StreamDecoder};

#[test]
fn a_failed_stream_repeats_its_error_without_more_input() {
    let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    stream.feed(b"data: {broken\n\n");
    let first = stream.next_event().unwrap_err();
    assert_eq!(stream.next_event().unwrap_err(), first);
    assert_eq!(stream.next_event().unwrap_err(), first);
}
