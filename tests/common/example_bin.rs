//! Runs an example binary (its `[[example]]` has `test = false`) with a clean
//! environment, for the end-to-end example tests.
//!
//! The binary is built on demand by the cargo running this test, so the tests pass
//! however they are invoked: `cargo test`, `cargo test --test client`, a filter, or the
//! test binary run by hand. After a plain `cargo test` the build is a no-op.
#![allow(dead_code, reason = "each includer uses a different subset")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// Example name to its built executable, filled once per example and process.
static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());

/// The example binary `name`, built with this test's features and profile into this
/// test's target directory (so that it is the one `cargo test` already built, when it
/// did).
pub(crate) fn binary(name: &str) -> PathBuf {
    // Held across the build: one cargo at a time, each example built once.
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(bin) = built.get(name) {
        return bin.clone();
    }
    let bin = build(name);
    built.insert(name.to_owned(), bin.clone());
    bin
}

/// `cargo build --example name`, and the `executable` it reports.
fn build(name: &str) -> PathBuf {
    // Set by cargo when it runs a test; the one that compiled this test otherwise.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let exe = std::env::current_exe().unwrap();
    // <target dir>/<profile dir>/deps/<this test>
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let target_dir = profile_dir.parent().unwrap();
    let features: Vec<&str> = [
        ("default", cfg!(feature = "default")),
        ("chat", cfg!(feature = "chat")),
        ("blocking", cfg!(feature = "blocking")),
        ("testing", cfg!(feature = "testing")),
    ]
    .into_iter()
    .filter_map(|(feature, on)| on.then_some(feature))
    .collect();
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "--message-format=json-render-diagnostics",
    ])
    .args(["--example", name])
    .arg("--manifest-path")
    .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
    .arg("--target-dir")
    .arg(target_dir)
    .args(["--no-default-features", "--features", &features.join(",")]);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        // `dev` and `test` share `debug`, and build examples alike.
        Some("debug") => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(custom) => {
            cmd.args(["--profile", custom]);
        }
        None => panic!("no profile directory above {}", exe.display()),
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|m| {
            m["reason"] == "compiler-artifact"
                && m["target"]["name"] == name
                && m["target"]["kind"][0] == "example"
        })
        .and_then(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("{cmd:?} reported no executable for {name}:\n{stdout}"))
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
