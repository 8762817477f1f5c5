//! API keys on both backends: creation, authentication, pinning, revocation, rotation with a grace
//! period, expiry, and `last_used_at` throttling.

use navi_tenancy::api_keys::{
    authenticate, create_api_key, create_api_key_privileged, list_api_keys, revoke_api_key,
    rotate_api_key, NewApiKey, Pepper,
};
use navi_tenancy::orgs::create_org;
use navi_tenancy::testing::fixtures;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::users::find_or_create_user;
use navi_tenancy::{
    backend_tests, checkout, Email, OrgName, Principal, Privileged, Role, StoreError, TenantScope,
};

struct World {
    db: TestDatabase,
    conn: navi_tenancy::PooledConnection,
    pepper: Pepper,
    privileged: Privileged,
}

impl World {
    fn new(db: TestDatabase) -> World {
        let pool = db.migrated_pool();
        World {
            conn: checkout(&pool).unwrap(),
            db,
            pepper: Pepper::from_base64(&Pepper::generate_base64()).unwrap(),
            privileged: Privileged::acquire("tests"),
        }
    }

    /// A user with an unpinned key, owner of a new org.
    fn owner(&mut self, email: &str) -> (Principal, TenantScope, String) {
        let user = find_or_create_user(
            &self.privileged,
            &mut self.conn,
            &Email::parse(email).unwrap(),
        )
        .unwrap();
        let (_, key) = create_api_key_privileged(
            &self.privileged,
            &mut self.conn,
            &navi_tenancy::testing::audit_trail(),
            None,
            &self.pepper,
            &user.id,
            None,
            "setup",
        )
        .unwrap();
        let principal = self.auth(key.expose()).unwrap();
        let (_, scope) = create_org(
            &principal,
            &mut self.conn,
            &navi_tenancy::testing::audit_trail(),
            &OrgName::parse("Org").unwrap(),
            None,
        )
        .unwrap();
        (principal, scope, key.expose().to_owned())
    }

    fn auth(&mut self, key: &str) -> Result<Principal, StoreError> {
        authenticate(&self.privileged, &mut self.conn, &self.pepper, key)
    }
}

fn pinned(name: &str) -> NewApiKey<'_> {
    NewApiKey {
        name,
        pinned: true,
        expires_in_days: None,
    }
}

fn a_created_key_authenticates_as_its_user_with_its_pin(db: TestDatabase) {
    let mut w = World::new(db);
    let (ada, scope, _) = w.owner("ada@example.com");
    let pepper = Pepper::from_base64(&Pepper::generate_base64()).unwrap();
    let (row, key) = create_api_key(
        &scope,
        &ada,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &w.pepper,
        &pinned("ci"),
    )
    .unwrap();
    assert!(key.expose().starts_with(&format!("navi_{}_", row.prefix)));
    assert_eq!(row.prefix.len(), 8);
    assert!(!format!("{key:?}").contains(key.expose()));
    let principal = w.auth(key.expose()).unwrap();
    assert_eq!(principal.user_id(), ada.user_id());
    assert_eq!(principal.key_id(), Some(row.id.as_str()));
    assert_eq!(principal.pinned_org_id(), Some(scope.org_id()));
    // The stored hash is keyed: another pepper does not accept the key.
    assert!(matches!(
        authenticate(&w.privileged, &mut w.conn, &pepper, key.expose()),
        Err(StoreError::Unauthenticated)
    ));
    // The secret is not stored anywhere in the row.
    let secret = key.expose().rsplit('_').next().unwrap().to_owned();
    let stored = fixtures::api_key_secret_hash(&mut w.conn, &row.id);
    assert_ne!(stored, secret);
    assert!(!stored.contains(&secret));
}

fn bad_keys_are_unauthenticated(db: TestDatabase) {
    let mut w = World::new(db);
    let (_, _, key) = w.owner("ada@example.com");
    let mut wrong_secret = key.clone();
    wrong_secret.pop();
    wrong_secret.push(if key.ends_with('a') { 'b' } else { 'a' });
    for bad in [
        "",
        "navi_",
        "Bearer x",
        "navi_abcdefgh_short",
        wrong_secret.as_str(),
        &key.replace("navi_", "navx_"),
    ] {
        assert!(
            matches!(w.auth(bad), Err(StoreError::Unauthenticated)),
            "{bad}"
        );
    }
    assert!(w.auth(&key).is_ok());
}

fn a_pinned_key_cannot_create_a_user_key(db: TestDatabase) {
    let mut w = World::new(db);
    let (ada, scope, _) = w.owner("ada@example.com");
    let (_, pinned_key) = create_api_key(
        &scope,
        &ada,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &w.pepper,
        &pinned("p"),
    )
    .unwrap();
    let as_pinned = w.auth(pinned_key.expose()).unwrap();
    let pinned_scope = as_pinned.scope(&mut w.conn, None).unwrap();
    let user_key = NewApiKey {
        name: "u",
        pinned: false,
        expires_in_days: None,
    };
    assert!(matches!(
        create_api_key(
            &pinned_scope,
            &as_pinned,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail(),
            &w.pepper,
            &user_key
        ),
        Err(StoreError::Forbidden)
    ));
    let (row, _) = create_api_key(
        &pinned_scope,
        &as_pinned,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &w.pepper,
        &pinned("p2"),
    )
    .unwrap();
    assert_eq!(row.org_id.as_deref(), Some(scope.org_id()));
    let (row, _) = create_api_key(
        &scope,
        &ada,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &w.pepper,
        &user_key,
    )
    .unwrap();
    assert_eq!(row.org_id, None);
}

fn a_revoked_key_is_refused_at_once(db: TestDatabase) {
    let mut w = World::new(db);
    let (ada, scope, _) = w.owner("ada@example.com");
    let (row, key) = create_api_key(
        &scope,
        &ada,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &w.pepper,
        &pinned("k"),
    )
    .unwrap();
    assert!(w.auth(key.expose()).is_ok());
    revoke_api_key(
        &scope,
        &ada,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &row.id,
    )
    .unwrap();
    assert!(matches!(
        w.auth(key.expose()),
        Err(StoreError::Unauthenticated)
    ));
    assert!(list_api_keys(&scope, &mut w.conn)
        .unwrap()
        .iter()
        .all(|k| k.id != row.id));
}

fn admins_revoke_keys_pinned_to_their_org_and_members_do_not(db: TestDatabase) {
    let mut w = World::new(db);
    let (ada, scope, _) = w.owner("ada@example.com");
    let (bob, _, _) = w.owner("bob@example.com");
    fixtures::add_member(&mut w.conn, scope.org_id(), bob.user_id(), Role::Member);
    let bob_scope = bob.scope(&mut w.conn, Some(scope.org_id())).unwrap();
    assert_eq!(bob_scope.role(), Role::Member);
    let (bobs_key, _) = create_api_key(
        &bob_scope,
        &bob,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &w.pepper,
        &pinned("bob's"),
    )
    .unwrap();
    let (adas_key, _) = create_api_key(
        &scope,
        &ada,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &w.pepper,
        &pinned("ada's"),
    )
    .unwrap();
    // A member does not even see another user's key.
    assert!(matches!(
        revoke_api_key(
            &bob_scope,
            &bob,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail(),
            &adas_key.id
        ),
        Err(StoreError::NotFound)
    ));
    // Rotation hands out a secret: only the key's own user.
    assert!(matches!(
        rotate_api_key(
            &scope,
            &ada,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail(),
            &w.pepper,
            &bobs_key.id,
            0
        ),
        Err(StoreError::Forbidden)
    ));
    revoke_api_key(
        &scope,
        &ada,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &bobs_key.id,
    )
    .unwrap();
}

fn a_rotated_key_works_during_its_grace_period_and_not_after(db: TestDatabase) {
    let mut w = World::new(db);
    let (ada, scope, _) = w.owner("ada@example.com");
    let (old, old_key) = create_api_key(
        &scope,
        &ada,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &w.pepper,
        &pinned("svc"),
    )
    .unwrap();
    let (new, new_key) = rotate_api_key(
        &scope,
        &ada,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &w.pepper,
        &old.id,
        3600,
    )
    .unwrap();
    assert_eq!(
        (new.name.as_str(), new.org_id.as_deref()),
        ("svc", Some(scope.org_id()))
    );
    assert_ne!(new.id, old.id);
    assert!(
        w.auth(old_key.expose()).is_ok(),
        "the old key works during the grace period"
    );
    assert!(w.auth(new_key.expose()).is_ok());
    // The grace period ends.
    let past = navi_tenancy::now() - chrono::TimeDelta::seconds(1);
    fixtures::set_api_key_expiry(&mut w.conn, &old.id, past);
    assert!(matches!(
        w.auth(old_key.expose()),
        Err(StoreError::Unauthenticated)
    ));
    assert!(w.auth(new_key.expose()).is_ok());
    // Without grace the old key stops at once.
    let (_, newer_key) = rotate_api_key(
        &scope,
        &ada,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &w.pepper,
        &new.id,
        0,
    )
    .unwrap();
    assert!(matches!(
        w.auth(new_key.expose()),
        Err(StoreError::Unauthenticated)
    ));
    assert!(w.auth(newer_key.expose()).is_ok());
    assert!(matches!(
        rotate_api_key(
            &scope,
            &ada,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail(),
            &w.pepper,
            &new.id,
            604_801
        ),
        Err(StoreError::Invalid(_))
    ));
}

fn an_expired_key_is_refused(db: TestDatabase) {
    let mut w = World::new(db);
    let (ada, scope, _) = w.owner("ada@example.com");
    let expiring = NewApiKey {
        name: "tmp",
        pinned: true,
        expires_in_days: Some(1),
    };
    let (row, key) = create_api_key(
        &scope,
        &ada,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &w.pepper,
        &expiring,
    )
    .unwrap();
    assert!(row.expires_at.is_some());
    assert!(w.auth(key.expose()).is_ok());
    fixtures::set_api_key_expiry(&mut w.conn, &row.id, navi_tenancy::now());
    assert!(matches!(
        w.auth(key.expose()),
        Err(StoreError::Unauthenticated)
    ));
    let bad = NewApiKey {
        name: "x",
        pinned: true,
        expires_in_days: Some(0),
    };
    assert!(matches!(
        create_api_key(
            &scope,
            &ada,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail(),
            &w.pepper,
            &bad
        ),
        Err(StoreError::Invalid(_))
    ));
}

fn last_used_at_is_written_at_most_once_a_minute(db: TestDatabase) {
    let mut w = World::new(db);
    let (ada, scope, _) = w.owner("ada@example.com");
    let (row, key) = create_api_key(
        &scope,
        &ada,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &w.pepper,
        &pinned("k"),
    )
    .unwrap();
    let last_used = |w: &mut World| -> Option<chrono::NaiveDateTime> {
        fixtures::api_key_last_used(&mut w.conn, &row.id)
    };
    assert_eq!(last_used(&mut w), None);
    w.auth(key.expose()).unwrap();
    let first = last_used(&mut w).expect("recorded");
    w.auth(key.expose()).unwrap();
    assert_eq!(
        last_used(&mut w),
        Some(first),
        "not rewritten within the minute"
    );
    let old = first - chrono::TimeDelta::minutes(2);
    fixtures::set_api_key_last_used(&mut w.conn, &row.id, old);
    w.auth(key.expose()).unwrap();
    assert!(last_used(&mut w).unwrap() > old);
    drop(w.db);
}

backend_tests!(
    a_created_key_authenticates_as_its_user_with_its_pin,
    bad_keys_are_unauthenticated,
    a_pinned_key_cannot_create_a_user_key,
    a_revoked_key_is_refused_at_once,
    admins_revoke_keys_pinned_to_their_org_and_members_do_not,
    a_rotated_key_works_during_its_grace_period_and_not_after,
    an_expired_key_is_refused,
    last_used_at_is_written_at_most_once_a_minute,
);
