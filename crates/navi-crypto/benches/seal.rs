//! Seal + open of a 1 KiB value through navi-crypto against bare ring AES-256-GCM, in the same
//! run. Prints ops/s for each and the ratio (target >= 0.8). `cargo bench -p navi-crypto`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use navi_crypto::{Ciphertext, Keyring, SealContext};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

const VALUE_LEN: usize = 1024;
const OPS_PER_ROUND: u32 = 20_000;
const ROUNDS: usize = 7;

fn main() {
    let value = vec![0x5au8; VALUE_LEN];
    let keyring = Keyring::parse("k0123456:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .expect("the benchmark key is valid");
    let context = SealContext {
        org_id: "org_01HZX4T2V8K9",
        table: "navi_mcp_servers",
        column: "secret",
        row_id: "mcp_01HZX4T2V8K9QW",
    };

    let ring_key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &[7u8; 32]).expect("a 32-byte key is valid"),
    );
    let random = SystemRandom::new();
    // About the size of the crate's associated data for this context (header + 4 length-prefixed
    // fields), so both sides authenticate the same amount.
    let aad = vec![
        0x11u8;
        2 + 9
            + NONCE_LEN
            + 4 * 8
            + context.org_id.len()
            + context.table.len()
            + context.column.len()
            + context.row_id.len()
    ];

    let navi = || {
        let sealed = Ciphertext::seal(&keyring, &context, black_box(&value)).expect("seal");
        let opened = sealed.open(&keyring, &context).expect("open");
        black_box(opened.len());
    };
    let bare = || {
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce).expect("random");
        let mut sealed = Vec::with_capacity(VALUE_LEN + 16);
        sealed.extend_from_slice(black_box(&value));
        ring_key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut sealed,
            )
            .expect("seal");
        let mut opening = sealed.clone();
        let opened = ring_key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut opening,
            )
            .expect("open");
        black_box(opened.len());
    };

    // The same plus zeroing the decrypted buffer on drop, as navi-crypto must: shows what the
    // zeroing itself costs.
    let bare_zeroized = || {
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce).expect("random");
        let mut sealed = Vec::with_capacity(VALUE_LEN + 16);
        sealed.extend_from_slice(black_box(&value));
        ring_key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut sealed,
            )
            .expect("seal");
        let mut opening = zeroize::Zeroizing::new(sealed.clone());
        let opened = ring_key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut opening,
            )
            .expect("open");
        black_box(opened.len());
    };

    // Interleave rounds so drift on a shared machine hits both sides alike; keep the best.
    let mut best_navi = Duration::MAX;
    let mut best_bare = Duration::MAX;
    let mut best_bare_zeroized = Duration::MAX;
    for _ in 0..ROUNDS {
        best_bare = best_bare.min(time(OPS_PER_ROUND, bare));
        best_navi = best_navi.min(time(OPS_PER_ROUND, navi));
        best_bare_zeroized = best_bare_zeroized.min(time(OPS_PER_ROUND, bare_zeroized));
    }
    let navi_ops = f64::from(OPS_PER_ROUND) / best_navi.as_secs_f64();
    let bare_ops = f64::from(OPS_PER_ROUND) / best_bare.as_secs_f64();
    println!(
        "seal + open of a {VALUE_LEN}-byte value (best of {ROUNDS} rounds of {OPS_PER_ROUND})"
    );
    println!("{:<28} {:>14}", "implementation", "ops/s");
    println!("{:<28} {:>14.0}", "bare ring AES-256-GCM", bare_ops);
    let bare_zeroized_ops = f64::from(OPS_PER_ROUND) / best_bare_zeroized.as_secs_f64();
    println!(
        "{:<28} {:>14.0}",
        "bare ring + zeroize output", bare_zeroized_ops
    );
    println!("{:<28} {:>14.0}", "navi-crypto", navi_ops);
    println!(
        "{:<28} {:>14.3}  (target >= 0.8)",
        "ratio navi / ring",
        navi_ops / bare_ops
    );
    println!(
        "{:<28} {:>14.3}",
        "ratio navi / ring + zeroize",
        navi_ops / bare_zeroized_ops
    );
}

fn time(operations: u32, mut operation: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..operations {
        operation();
    }
    start.elapsed()
}
