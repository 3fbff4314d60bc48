//! One capturing `log` logger per test binary (`log` takes one logger per process).
//! Tests run in parallel, so each captures only the records written on its own thread,
//! between [`start`] and [`take`].
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::cell::RefCell;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// One record: its level, target and text.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub(crate) level: Level,
    pub(crate) target: String,
    pub(crate) text: String,
}

thread_local! {
    /// This thread's records while it captures.
    static CAPTURED: RefCell<Option<Vec<Captured>>> = const { RefCell::new(None) };
}

struct Capture;

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        CAPTURED.with(|c| {
            if let Some(records) = c.borrow_mut().as_mut() {
                records.push(Captured {
                    level: record.level(),
                    target: record.target().to_owned(),
                    text: record.args().to_string(),
                });
            }
        });
    }

    fn flush(&self) {}
}

static LOGGER: Capture = Capture;

/// Installs the logger (the first call in the binary does) and starts capturing this
/// thread's records, at every level.
pub(crate) fn start() {
    // Only this module sets a logger, so an error means it is already ours.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(LevelFilter::Trace);
    CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
}

/// Stops capturing and returns the crate's records (targets `dashscope_glm...`) this
/// thread wrote since [`start`].
pub(crate) fn take() -> Vec<Captured> {
    CAPTURED
        .with(|c| c.borrow_mut().take())
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.target.starts_with("dashscope_glm"))
        .collect()
}

/// The value of field `key` in a record of `key=value` fields (`stream finished:
/// finish_reason=Some("stop") usage=Some(Usage { .. }) bytes=12`): the text up to the
/// next ` name=`, so a value may hold spaces. `None` when the record has no such field.
pub(crate) fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    // (start of the name, position of its `=`) of each field, in order.
    let mut fields = Vec::new();
    let mut start = 0;
    for word in text.split(' ') {
        if let Some(eq) = word.find('=') {
            let name = &word[..eq];
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                fields.push((start, start + eq));
            }
        }
        start += word.len() + 1;
    }
    let i = fields.iter().position(|&(s, eq)| &text[s..eq] == key)?;
    let end = fields.get(i + 1).map_or(text.len(), |&(next, _)| next - 1);
    Some(&text[fields[i].1 + 1..end])
}

/// The word after the word `key` in a record written as prose (`status 200, request id
/// r1`: after `id` comes `r1`), words being what lies between spaces, commas and
/// parentheses.
pub(crate) fn word_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let mut words = text
        .split([' ', ',', '(', ')'])
        .filter(|word| !word.is_empty());
    words.by_ref().find(|&word| word == key)?;
    words.next()
}

/// A duration as `{:?}` writes it (`1.5s`, `612.345678ms`, `40µs`, `7ns`), exactly.
pub(crate) fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let digits = text.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (number, unit) = text.split_at(digits);
    let nanos_per_unit: u128 = match unit {
        "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "µs" => 1_000,
        "ns" => 1,
        _ => return None,
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let scale = 10u128.checked_pow(u32::try_from(fraction.len()).ok()?)?;
    let fraction_value: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    let nanos =
        whole.parse::<u128>().ok()? * nanos_per_unit + fraction_value * nanos_per_unit / scale;
    // Debug writes every digit it has, so a fraction finer than a nanosecond is a
    // misreading.
    (fraction_value * nanos_per_unit % scale == 0).then_some(())?;
    Some(std::time::Duration::from_nanos(u64::try_from(nanos).ok()?))
}

#[test]
fn the_readers_read_what_the_writers_wrote() {
    use std::time::Duration;
    for d in [
        Duration::from_millis(1500),
        Duration::from_nanos(612_345_678),
        Duration::from_micros(40),
        Duration::from_nanos(7),
        Duration::from_secs(3),
        Duration::ZERO,
    ] {
        assert_eq!(parse_duration(&format!("{d:?}")), Some(d), "{d:?}");
    }
    let text = r#"stream finished: reason=Some("a b") usage=Some(U { n: 3 }) bytes=12"#;
    assert_eq!(field(text, "reason"), Some(r#"Some("a b")"#));
    assert_eq!(field(text, "usage"), Some("Some(U { n: 3 })"));
    assert_eq!(field(text, "bytes"), Some("12"));
    assert_eq!(field(text, "n"), None);
    assert_eq!(
        word_after("POST /p (model m, streaming)", "model"),
        Some("m")
    );
    assert_eq!(word_after("status 200, request id r1", "id"), Some("r1"));
    assert_eq!(word_after("status 200", "200"), None);
}
