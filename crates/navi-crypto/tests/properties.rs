//! Property tests: random payloads round-trip; random bytes never panic the parser.

use navi_crypto::{Ciphertext, CryptoError, Keyring, SealContext};
use proptest::prelude::*;

fn keyring() -> Keyring {
    Keyring::parse(
        "p:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,\
         s:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
    )
    .unwrap()
}

proptest! {
    #[test]
    fn random_payloads_round_trip(
        payload in proptest::collection::vec(any::<u8>(), 0..4096),
        org in "[a-z0-9_]{0,24}",
        row in ".{0,40}",
    ) {
        let keyring = keyring();
        let context = SealContext { org_id: &org, table: "t", column: "c", row_id: &row };
        let sealed = Ciphertext::seal(&keyring, &context, &payload).unwrap();
        let stored = Ciphertext::from_stored_bytes(sealed.as_bytes().to_vec()).unwrap();
        prop_assert_eq!(&stored, &sealed);
        let opened = stored.open(&keyring, &context).unwrap();
        prop_assert_eq!(opened.expose(), &payload[..]);
    }

    #[test]
    fn random_bytes_never_panic_the_parser_and_never_open(
        bytes in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        let keyring = keyring();
        let context = SealContext { org_id: "o", table: "t", column: "c", row_id: "r" };
        match Ciphertext::from_stored_bytes(bytes) {
            Ok(parsed) => prop_assert!(parsed.open(&keyring, &context).is_err()),
            Err(error) => prop_assert!(matches!(
                error,
                CryptoError::NotCiphertext(_) | CryptoError::UnsupportedVersion(_)
            )),
        }
    }

    #[test]
    fn well_formed_headers_with_random_bodies_never_open(
        key_id in prop_oneof![Just("p".to_owned()), Just("s".to_owned()), "[A-Za-z0-9_-]{1,16}"],
        body in proptest::collection::vec(any::<u8>(), 28..200),
    ) {
        let keyring = keyring();
        let context = SealContext { org_id: "o", table: "t", column: "c", row_id: "r" };
        let mut bytes = vec![1, u8::try_from(key_id.len()).unwrap()];
        bytes.extend_from_slice(key_id.as_bytes());
        bytes.extend_from_slice(&body);
        let parsed = Ciphertext::from_stored_bytes(bytes).unwrap();
        prop_assert_eq!(parsed.key_id(), key_id.as_str());
        let outcome = parsed.open(&keyring, &context);
        prop_assert!(
            matches!(outcome, Err(CryptoError::OpenFailed) | Err(CryptoError::UnknownKeyId(_))),
            "unexpected outcome {:?}", outcome
        );
    }
}
