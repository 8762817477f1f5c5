//! Tidy checks over the whole repository.

use std::path::{Path, PathBuf};

/// Statements that change the schema. Spelled in pieces so this file does not match itself.
fn ddl_patterns() -> Vec<String> {
    let verbs = ["create", "alter", "drop"];
    let objects = ["table", "index", "unique index"];
    let mut patterns: Vec<String> = verbs
        .iter()
        .flat_map(|verb| {
            objects
                .iter()
                .map(move |object| format!("{verb} {object} "))
        })
        .collect();
    patterns.push(["create", " temporary ", "table "].concat());
    patterns
}

/// The DDL statements in `text`, case- and whitespace-insensitively.
fn ddl_in(text: &str) -> Vec<String> {
    let normalised = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        + " ";
    ddl_patterns()
        .into_iter()
        .filter(|pattern| normalised.contains(pattern.as_str()))
        .collect()
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !matches!(
                name.as_ref(),
                "target" | ".git" | "migrations" | "data" | "node_modules"
            ) {
                source_files(&path, out);
            }
        } else if ["rs", "sql", "sh", "py", "yml", "yaml", "toml"]
            .iter()
            .any(|ext| name.ends_with(&format!(".{ext}")))
        {
            out.push(path);
        }
    }
}

#[test]
fn the_scanner_finds_ddl_in_any_case_and_spacing() {
    let statement = ["CREATE", "  TABLE\n", " navi_x (id TEXT)"].concat();
    assert_eq!(ddl_in(&statement).len(), 1);
    let alter = ["alter", " table", " navi_orgs add column x"].concat();
    assert_eq!(ddl_in(&alter).len(), 1);
    assert!(ddl_in("SELECT * FROM navi_orgs; CREATE SCHEMA test_1").is_empty());
}

#[test]
fn no_code_outside_migrations_changes_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    source_files(&root, &mut files);
    assert!(files.len() > 10, "the walk found the sources: {files:?}");
    let offenders: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(path).ok()?;
            let found = ddl_in(&text);
            (!found.is_empty()).then(|| format!("{}: {found:?}", path.display()))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "DDL belongs in migrations/ only (cargo xtask new-migration NAME):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn only_the_server_and_xtask_enable_the_privileged_capability() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    source_files(&root, &mut files);
    let allowed = [
        "bins/navi-server/Cargo.toml",
        "xtask/Cargo.toml",
        "crates/navi-tenancy/Cargo.toml",
    ];
    let manifests: Vec<&PathBuf> = files.iter().filter(|p| p.ends_with("Cargo.toml")).collect();
    assert!(manifests.len() >= 7, "{manifests:?}");
    for manifest in manifests {
        let relative = manifest
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(manifest).unwrap();
        // `test-support` implies `privileged` too, but only in dev-dependencies (tests).
        let enables = text.contains("\"privileged\"");
        assert!(
            !enables || allowed.contains(&relative.as_str()),
            "{relative} enables navi-tenancy's privileged capability: only navi-server and xtask may"
        );
    }
}

#[test]
fn raw_sql_stays_inside_navi_tenancy_and_the_usage_store() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    source_files(&root, &mut files);
    let raw_sql = ["sql_", "query"].concat();
    // navi-tenancy owns the schema; navi-analytics's usage store writes and reads the usage
    // tables in raw SQL, through its own dialect module.
    let allowed = ["crates/navi-tenancy/", "crates/navi-analytics/src/store/"];
    let offenders: Vec<String> = files
        .iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| {
            path.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        // Tests may shape their own fixtures; production code reaches tables only through
        // navi-tenancy's scoped functions and the usage store's.
        .filter(|path| {
            !allowed.iter().any(|dir| path.starts_with(dir))
                && !path.contains("/tests/")
                && !path.contains("/benches/")
        })
        .filter(|path| {
            std::fs::read_to_string(root.join(path)).is_ok_and(|text| text.contains(&raw_sql))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "raw SQL outside navi-tenancy and crates/navi-analytics/src/store/: {offenders:?}"
    );
    // The store's directory is where its raw SQL is, so the exception admits something.
    assert!(
        std::fs::read_to_string(root.join("crates/navi-analytics/src/store/dialect.rs"))
            .is_ok_and(|text| text.contains(&raw_sql)),
        "the usage store moved: update the allowed directories"
    );
}
