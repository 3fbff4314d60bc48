//! One module per bug that fuzzing, the soak or a review found, named after what broke
//! (serde_json's `tests/regression/` habit). Each test fails on the code before its fix.

#[path = "common/sse_harness.rs"]
mod harness;

#[path = "regression/sse_limit_order_depends_on_split.rs"]
mod sse_limit_order_depends_on_split;

#[path = "regression/legacy_id_line_counted_in_previous_event.rs"]
mod legacy_id_line_counted_in_previous_event;

#[cfg(feature = "chat")]
#[path = "regression/stream_decoder_not_fused_without_input.rs"]
mod stream_decoder_not_fused_without_input;

#[cfg(all(feature = "blocking", feature = "testing"))]
#[path = "regression/finished_stream_with_stalled_tail_timed_out.rs"]
mod finished_stream_with_stalled_tail_timed_out;
