//! Keyring parsing and key files.

use navi_crypto::{generate_key_line, CryptoError, KeyFileOrigin, Keyring};

const MATERIAL_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const MATERIAL_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn ids(keyring: &Keyring) -> Vec<String> {
    keyring.key_ids().map(|id| id.to_string()).collect()
}

#[test]
fn the_first_entry_is_primary_and_separators_comments_and_whitespace_are_accepted() {
    let keyring = Keyring::parse(&format!("k2:{MATERIAL_B},k1:{MATERIAL_A}")).unwrap();
    assert_eq!(keyring.primary_key_id().as_str(), "k2");
    assert_eq!(ids(&keyring), ["k2", "k1"]);

    let file_style = format!(
        "# rotated 2026-11\n  new_key : {MATERIAL_B}  # primary\n\n,old-key:{MATERIAL_A},\n"
    );
    let keyring = Keyring::parse(&file_style).unwrap();
    assert_eq!(ids(&keyring), ["new_key", "old-key"]);
    assert!(keyring.contains("old-key"));
    assert!(!keyring.contains("other"));
}

#[test]
fn bad_specs_are_refused_without_echoing_key_material() {
    let short_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="; // 31 bytes
    let long_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"; // 33 bytes
    let cases = [
        (String::new(), "no keys"),
        ("  # only a comment\n".to_owned(), "no keys"),
        (MATERIAL_A.to_owned(), "id:base64key"),
        (format!(":{MATERIAL_A}"), "key id"),
        (format!("this-id-is-far-too-long:{MATERIAL_A}"), "key id"),
        (format!("bad id:{MATERIAL_A}"), "key id"),
        (format!("a:{MATERIAL_A},a:{MATERIAL_B}"), "more than once"),
        (format!("a:{}!", &MATERIAL_A[..43]), "base64"),
        (
            "a:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".to_owned(),
            "base64",
        ),
        (format!("a:{short_key}"), "31 bytes"),
        (format!("a:{long_key}"), "33 bytes"),
    ];
    for (spec, expected) in cases {
        let error = Keyring::parse(&spec).unwrap_err();
        assert!(
            matches!(error, CryptoError::InvalidKey(_)),
            "{spec:?}: {error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(expected), "{spec:?}: {message}");
        for material in [
            MATERIAL_A,
            MATERIAL_B,
            short_key,
            long_key,
            &MATERIAL_A[..20],
        ] {
            assert!(!message.contains(material), "{message}");
        }
        assert!(!format!("{error:?}").contains(&MATERIAL_A[..20]));
    }
}

#[test]
fn key_files_load_with_comments_and_one_key_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys");
    std::fs::write(
        &path,
        format!("# navi keys\nb:{MATERIAL_B}\na:{MATERIAL_A}\n"),
    )
    .unwrap();
    let keyring = Keyring::from_file(&path).unwrap();
    assert_eq!(ids(&keyring), ["b", "a"]);

    std::fs::write(&path, "b:not-a-key\n").unwrap();
    let error = Keyring::from_file(&path).unwrap_err();
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );

    let missing = Keyring::from_file(&dir.path().join("missing")).unwrap_err();
    assert!(matches!(missing, CryptoError::Io { .. }));
}

#[test]
fn a_generated_key_file_is_private_loadable_and_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("navi.keys");

    let (generated, origin) = Keyring::load_or_generate(&path).unwrap();
    assert_eq!(origin, KeyFileOrigin::Generated);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let (loaded, origin) = Keyring::load_or_generate(&path).unwrap();
    assert_eq!(origin, KeyFileOrigin::Loaded);
    assert_eq!(loaded.primary_key_id(), generated.primary_key_id());

    let refused = Keyring::generate_into_file(&path).unwrap_err();
    assert!(
        matches!(&refused, CryptoError::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists),
        "{refused:?}"
    );
    // Only the key file is left behind, no temporary copies of the key.
    let entries: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(entries.len(), 1);
}

#[test]
fn generated_key_lines_are_fresh_and_parse() {
    let first = generate_key_line().unwrap();
    let second = generate_key_line().unwrap();
    assert_ne!(*first, *second);
    let (id, material) = first.split_once(':').unwrap();
    assert!(id.starts_with('k') && id.len() == 9);
    assert_eq!(material.len(), 44);
    let keyring = Keyring::parse(&first).unwrap();
    assert_eq!(keyring.primary_key_id().as_str(), id);
}

#[test]
fn adding_a_key_whose_id_is_already_present_is_refused() {
    let a = Keyring::parse(&format!("a:{MATERIAL_A}")).unwrap();
    let another_a = Keyring::parse(&format!("a:{MATERIAL_B}")).unwrap();
    assert!(matches!(
        a.with_new_primary(&another_a),
        Err(CryptoError::InvalidKey(message)) if message.contains("`a`")
    ));
}
