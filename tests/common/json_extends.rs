//! The monotonicity oracle for `PartialJson` snapshots, shared by the property tests
//! and the `partial_json` fuzz target.

use serde_json::Value;

/// Whether snapshot `new` extends snapshot `old`: strings only grow, arrays and objects
/// only gain members or extend their last one, nothing shown changes or disappears.
pub(crate) fn extends(old: &Value, new: &Value) -> bool {
    match (old, new) {
        (Value::String(a), Value::String(b)) => b.starts_with(a.as_str()),
        (Value::Array(a), Value::Array(b)) => {
            b.len() >= a.len()
                && a.iter().zip(b).enumerate().all(|(i, (x, y))| {
                    if i + 1 < a.len() {
                        x == y
                    } else {
                        extends(x, y)
                    }
                })
        }
        (Value::Object(a), Value::Object(b)) => a
            .iter()
            .all(|(k, x)| b.get(k).is_some_and(|y| extends(x, y))),
        (a, b) => a == b,
    }
}
