//! [`Timings`]: when each step of a call happened. Data only: this layer reads no
//! clock; the blocking client fills it.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// When each step of one call happened, counted from the call's start (before the first
/// request was sent), and how many requests it took.
///
/// The blocking client fills it (`ChatStream::timings` while streaming,
/// [`Completion::timings`](crate::chat::Completion::timings) at the end); the sans-IO
/// layers read no clock, so a completion they make has none. A step that did not happen
/// (no reasoning in the answer, a stream that failed before its first byte) is `None`.
///
/// "First" texts are taken where the merger hands them out, not when their bytes reached
/// the socket: what a user saw. A non-streaming answer is merged whole, so there the
/// first reasoning, answer text and tool call (those present) all take the moment the
/// body was merged, which is also the end. As JSON each duration is a number of milliseconds
/// (fractions allowed), named with an `_ms` suffix.
///
/// # Example
///
/// This example reads the time to the first token of a completion stored as JSON.
///
/// ```
/// use std::time::Duration;
/// use dashscope_glm::chat::Timings;
///
/// let timings: Timings = serde_json::from_str(
///     r#"{"response_head_ms": 180.5, "first_reasoning_ms": 240, "first_content_ms": 910, "end_ms": 1500, "requests": 1}"#,
/// ).unwrap();
/// assert_eq!(timings.first_token(), Some(Duration::from_millis(240)));
/// assert_eq!(timings.first_tool_call, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Timings {
    /// Opening a new connection for the last request began: the request was checked
    /// and encoded and the host looked up (so on a new connection this is mostly the
    /// lookup's time). `None` when the request went on a pooled connection, or with an
    /// agent of your own, whose connections the client does not see.
    #[serde(rename = "connecting_ms", with = "millis")]
    pub connecting: Option<Duration>,
    /// That new connection was ready: TCP connected, through the proxy if any, the TLS
    /// handshake done; `connected - connecting` is the cost of a new connection. `None`
    /// as for `connecting`.
    #[serde(rename = "connected_ms", with = "millis")]
    pub connected: Option<Duration>,
    /// The last request (after any retries) was written out: the client began waiting
    /// for the answer.
    #[serde(rename = "request_written_ms", with = "millis")]
    pub request_written: Option<Duration>,
    /// The response's status line and headers arrived.
    #[serde(rename = "response_head_ms", with = "millis")]
    pub response_head: Option<Duration>,
    /// The first byte of the response body arrived.
    #[serde(rename = "first_byte_ms", with = "millis")]
    pub first_byte: Option<Duration>,
    /// The merger handed out the first reasoning text.
    #[serde(rename = "first_reasoning_ms", with = "millis")]
    pub first_reasoning: Option<Duration>,
    /// The merger handed out the first answer text.
    #[serde(rename = "first_content_ms", with = "millis")]
    pub first_content: Option<Duration>,
    /// The merger handed out the first piece of a tool call.
    #[serde(rename = "first_tool_call_ms", with = "millis")]
    pub first_tool_call: Option<Duration>,
    /// The call ended: the last event was handed out, or the call failed.
    #[serde(rename = "end_ms", with = "millis")]
    pub end: Option<Duration>,
    /// Requests sent for the call, retries included.
    pub requests: u32,
}

impl Timings {
    /// The time to the first token of any kind (reasoning, answer text or a tool call),
    /// the usual "time to first token".
    #[must_use]
    pub fn first_token(&self) -> Option<Duration> {
        [
            self.first_reasoning,
            self.first_content,
            self.first_tool_call,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// An optional duration as a number of milliseconds.
mod millis {
    use super::{Deserialize, Deserializer, Duration, Serialize, Serializer};

    #[allow(
        clippy::ref_option,
        reason = "serde's `with` hands the field by reference"
    )]
    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        d.map(|d| d.as_secs_f64() * 1000.0).serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let ms = Option::<f64>::deserialize(d)?;
        ms.map(|ms| {
            Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| {
                serde::de::Error::custom(format_args!(
                    "{ms} is not a number of milliseconds (finite, not negative)"
                ))
            })
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip_as_milliseconds() {
        let timings = Timings {
            connected: Some(Duration::from_micros(250)),
            request_written: Some(Duration::from_micros(1500)),
            end: Some(Duration::from_secs(2)),
            requests: 2,
            ..Timings::default()
        };
        let json = serde_json::to_value(timings).unwrap();
        assert_eq!(json["connected_ms"], 0.25);
        assert_eq!(json["request_written_ms"], 1.5);
        assert_eq!(json["end_ms"], 2000.0);
        assert_eq!(json["first_byte_ms"], serde_json::Value::Null);
        assert_eq!(serde_json::from_value::<Timings>(json).unwrap(), timings);
        assert!(serde_json::from_str::<Timings>(r#"{"end_ms": -1}"#).is_err());
    }

    #[test]
    fn the_first_token_is_the_earliest_of_the_three() {
        let ms = Duration::from_millis;
        let mut t = Timings::default();
        assert_eq!(t.first_token(), None);
        t.first_content = Some(ms(30));
        t.first_tool_call = Some(ms(20));
        assert_eq!(t.first_token(), Some(ms(20)));
        t.first_reasoning = Some(ms(10));
        assert_eq!(t.first_token(), Some(ms(10)));
    }
}
