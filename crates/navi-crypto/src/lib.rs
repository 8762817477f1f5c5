//! `navi-crypto`: a keyring of AES-256-GCM keys, sealing bound to where a value lives, and
//! crypto-typed database columns that cannot hold plaintext.
//!
//! It deliberately knows no tables: the repositories in `navi-tenancy` use it.
#![warn(missing_docs)]
