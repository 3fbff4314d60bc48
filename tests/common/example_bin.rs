//! Runs an example binary that `cargo test` built (its `[[example]]` has `test = false`)
//! with a clean environment, for the end-to-end example tests.
#![allow(dead_code, reason = "each includer uses a different subset")]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The example binary `name` that `cargo test` built next to this test's binary.
pub(crate) fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo test` (which builds the examples) or `cargo build --example {name}`",
        bin.display()
    );
    bin
}

/// Runs example `name` with `args`, with no DASHSCOPE_* and no proxy variables except
/// those in `env`.
pub(crate) fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(binary(name));
    cmd.args(args);
    for var in [
        "DASHSCOPE_API_KEY",
        "DASHSCOPE_REGION",
        "DASHSCOPE_WORKSPACE",
        "DASHSCOPE_BASE_URL",
        "DASHSCOPE_ENDPOINT",
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}
