//! The crate's layering in its manifest: the runtime dependencies are exactly ureq,
//! serde, serde_json and log, each optional, so that the `sse` layer builds with none.

/// The names in the manifest's `[dependencies]` table, with whether each is optional.
fn dependencies() -> Vec<(String, bool)> {
    let manifest = include_str!("../../Cargo.toml");
    let mut in_table = false;
    let mut out = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_table = line == "[dependencies]";
            continue;
        }
        if !in_table || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, spec) = line.split_once('=').expect("a `name = spec` line");
        out.push((name.trim().to_owned(), spec.contains("optional = true")));
    }
    out.sort();
    out
}

#[test]
fn runtime_dependencies_are_ureq_serde_serde_json_and_log_all_optional() {
    let names = dependencies();
    assert_eq!(
        names,
        [
            ("log".to_owned(), true),
            ("serde".to_owned(), true),
            ("serde_json".to_owned(), true),
            ("ureq".to_owned(), true),
        ]
    );
}
