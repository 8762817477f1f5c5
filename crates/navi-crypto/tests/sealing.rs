//! Sealing and opening: round trips, tamper detection, context binding, key lookup, rotation.

use navi_crypto::{Ciphertext, CryptoError, Keyring, SealContext, Sealed};

const KEY_A: &str = "a:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "b:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn context() -> SealContext<'static> {
    SealContext {
        org_id: "org_1",
        table: "navi_mcp_servers",
        column: "secret",
        row_id: "mcp_1",
    }
}

fn keyring_a() -> Keyring {
    Keyring::parse(KEY_A).unwrap()
}

#[test]
fn sealed_bytes_open_to_the_original_plaintext() {
    let keyring = keyring_a();
    for plaintext in [
        &b""[..],
        b"x",
        b"a longer secret value with some length to it",
    ] {
        let sealed = Ciphertext::seal(&keyring, &context(), plaintext).unwrap();
        assert_eq!(sealed.key_id(), "a");
        assert_eq!(
            sealed.open(&keyring, &context()).unwrap().expose(),
            plaintext
        );
    }
}

#[test]
fn sealing_the_same_value_twice_gives_different_ciphertexts() {
    let keyring = keyring_a();
    let first = Ciphertext::seal(&keyring, &context(), b"same").unwrap();
    let second = Ciphertext::seal(&keyring, &context(), b"same").unwrap();
    assert_ne!(first, second);
    assert_ne!(first.as_bytes(), second.as_bytes());
}

#[test]
fn flipping_any_single_byte_makes_the_value_refused() {
    let keyring = keyring_a();
    let sealed = Ciphertext::seal(&keyring, &context(), b"{\"token\":\"s3cret\"}").unwrap();
    let original = sealed.as_bytes().to_vec();
    for position in 0..original.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bytes = original.clone();
            bytes[position] ^= flip;
            let outcome = Ciphertext::from_stored_bytes(bytes)
                .and_then(|tampered| tampered.open(&keyring, &context()));
            assert!(
                outcome.is_err(),
                "flipping byte {position} with {flip:#04x} still opened"
            );
        }
    }
}

#[test]
fn a_ciphertext_moved_to_another_row_column_table_or_org_does_not_open() {
    let keyring = keyring_a();
    let sealed = Ciphertext::seal(&keyring, &context(), b"secret").unwrap();
    let elsewhere = [
        SealContext {
            row_id: "mcp_2",
            ..context()
        },
        SealContext {
            column: "url",
            ..context()
        },
        SealContext {
            table: "navi_audit_logs",
            ..context()
        },
        SealContext {
            org_id: "org_2",
            ..context()
        },
    ];
    for other in elsewhere {
        assert!(
            matches!(sealed.open(&keyring, &other), Err(CryptoError::OpenFailed)),
            "opened under {other:?}"
        );
    }
    assert!(sealed.open(&keyring, &context()).is_ok());
}

#[test]
fn an_unknown_key_id_is_an_error_naming_the_id() {
    let sealed = Ciphertext::seal(&keyring_a(), &context(), b"secret").unwrap();
    let other = Keyring::parse(KEY_B).unwrap();
    let error = sealed.open(&other, &context()).unwrap_err();
    assert!(matches!(&error, CryptoError::UnknownKeyId(id) if id == "a"));
    assert!(error.to_string().contains("`a`"), "{error}");
}

#[test]
fn a_different_key_under_the_same_id_fails_authentication_rather_than_trying_others() {
    let sealed = Ciphertext::seal(&keyring_a(), &context(), b"secret").unwrap();
    // Same id `a`, different key material; the right key is present under another id.
    let impostor = Keyring::parse(&format!("a:{},z:{}", &KEY_B[2..], &KEY_A[2..])).unwrap();
    assert!(matches!(
        sealed.open(&impostor, &context()),
        Err(CryptoError::OpenFailed)
    ));
}

#[test]
fn rotation_reseals_under_the_new_primary_and_the_old_key_can_then_go() {
    let a = keyring_a();
    let b = Keyring::parse(KEY_B).unwrap();
    let under_a = Ciphertext::seal(&a, &context(), b"rotate me").unwrap();

    let b_then_a = a.with_new_primary(&b).unwrap();
    assert_eq!(b_then_a.primary_key_id().as_str(), "b");
    assert_eq!(
        b_then_a.key_ids().map(|id| id.as_str()).collect::<Vec<_>>(),
        ["b", "a"]
    );
    assert!(!under_a.is_sealed_under_primary(&b_then_a));
    assert_eq!(
        under_a.open(&b_then_a, &context()).unwrap().expose(),
        b"rotate me"
    );

    let under_b = under_a.reseal(&b_then_a, &context()).unwrap();
    assert_eq!(under_b.key_id(), "b");
    assert!(under_b.is_sealed_under_primary(&b_then_a));

    let b_only = b_then_a.without_key("a").unwrap();
    assert_eq!(
        under_b.open(&b_only, &context()).unwrap().expose(),
        b"rotate me"
    );
    assert!(matches!(
        under_a.open(&b_only, &context()),
        Err(CryptoError::UnknownKeyId(id)) if id == "a"
    ));
}

#[test]
fn reseal_keeps_the_context_binding() {
    let keyring = keyring_a()
        .with_new_primary(&Keyring::parse(KEY_B).unwrap())
        .unwrap();
    let sealed = Ciphertext::seal(&keyring_a(), &context(), b"secret").unwrap();
    let other_row = SealContext {
        row_id: "mcp_2",
        ..context()
    };
    assert!(matches!(
        sealed.reseal(&keyring, &other_row),
        Err(CryptoError::OpenFailed)
    ));
    let resealed = sealed.reseal(&keyring, &context()).unwrap();
    assert!(resealed.open(&keyring, &other_row).is_err());
}

#[test]
fn typed_values_round_trip_and_decode_errors_do_not_quote_the_payload() {
    let keyring = keyring_a();
    let value = serde_json::json!({"token": "hunter2", "headers": {"x-api-key": "k"}});
    let sealed = Sealed::seal(&keyring, &context(), &value).unwrap();
    let opened = sealed.open(&keyring, &context()).unwrap();
    assert_eq!(opened.decode().unwrap(), value);

    let as_number: Sealed<u64> = Sealed::from_ciphertext(sealed.into_ciphertext());
    let error = as_number
        .open(&keyring, &context())
        .unwrap()
        .decode()
        .unwrap_err();
    assert!(matches!(error, CryptoError::Decode(_)));
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[test]
fn decrypted_values_and_keyrings_print_redacted() {
    let keyring = keyring_a();
    let sealed = Sealed::seal(&keyring, &context(), &"hunter2".to_owned()).unwrap();
    let opened = sealed.open(&keyring, &context()).unwrap();
    let plaintext = sealed.ciphertext().open(&keyring, &context()).unwrap();
    for printed in [
        format!("{opened:?}"),
        format!("{plaintext:?}"),
        format!("{keyring:?}"),
        format!("{sealed:?}"),
    ] {
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains(&KEY_A[2..]), "{printed}");
    }
    assert!(format!("{opened:?}").contains("[redacted]"));
    assert!(format!("{plaintext:?}").contains("[redacted]"));
    assert!(format!("{keyring:?}").contains("[redacted]"));
}
