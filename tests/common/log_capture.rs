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
