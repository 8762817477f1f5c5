//! Sign-in on both backends: verifying an email makes (or verifies) its user and ends whatever was
//! made before the mailbox proved it; sessions live only after verification and until their user
//! ends them; a session makes keys only soon after signing in, and never long-lived ones.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use navi_tenancy::api_keys::{
    authenticate, create_api_key, list_api_keys, revoke_api_key, ApiKeyRow, ApiKeySecret,
    NewApiKey, Pepper, RECENT_SIGN_IN, SESSION_KEY_LIFETIME,
};
use navi_tenancy::audit::{list_audit_events, verify_chain, AuditAction, AuditFilter, AuditRecord};
use navi_tenancy::invites::{accept_invite, create_invite};
use navi_tenancy::orgs::create_org;
use navi_tenancy::testing::{audit_keys, audit_trail, fixtures, TestDatabase};
use navi_tenancy::users::{
    end_sessions, find_or_create_user, find_user_by_email, own_user, session_principal,
    verify_email, SessionFacts, UserRow,
};
use navi_tenancy::{
    backend_tests, checkout, now, Credential, DbConnection, DbPool, Email, OrgName, Principal,
    Privileged, Role, StoreError, TenantScope,
};

struct World {
    pool: DbPool,
    pepper: Pepper,
    privileged: Privileged,
    _db: TestDatabase,
}

impl World {
    fn new(db: TestDatabase) -> World {
        World {
            pool: db.migrated_pool(),
            pepper: Pepper::from_base64(&Pepper::generate_base64()).unwrap(),
            privileged: Privileged::acquire("tests"),
            _db: db,
        }
    }

    fn conn(&self) -> navi_tenancy::PooledConnection {
        checkout(&self.pool).unwrap()
    }

    fn verify(&self, email: &str) -> Result<UserRow, StoreError> {
        verify_email(
            &self.privileged,
            &mut self.conn(),
            &audit_trail(),
            &Email::parse(email).unwrap(),
        )
    }

    /// A user made without verifying the email (bootstrap, or before sign-in existed).
    fn unverified(&self, email: &str) -> UserRow {
        let user = find_or_create_user(
            &self.privileged,
            &mut self.conn(),
            &Email::parse(email).unwrap(),
        )
        .unwrap();
        assert_eq!(user.email_verified_at, None);
        user
    }

    fn session(&self, user_id: &str, created_at: NaiveDateTime) -> Result<Principal, StoreError> {
        session_principal(
            &self.privileged,
            &mut self.conn(),
            &SessionFacts {
                user_id: user_id.to_owned(),
                created_at,
                sso_connection: None,
            },
        )
    }

    /// A new org owned by `owner`.
    fn org(&self, owner: &Principal) -> TenantScope {
        create_org(
            owner,
            &mut self.conn(),
            &audit_trail(),
            &OrgName::parse("Acme").unwrap(),
            None,
        )
        .unwrap()
        .1
    }

    fn create_key(
        &self,
        scope: &TenantScope,
        principal: &Principal,
        pinned: bool,
        expires_in_days: Option<u32>,
    ) -> Result<(ApiKeyRow, ApiKeySecret), StoreError> {
        let new = NewApiKey {
            name: "key",
            pinned,
            expires_in_days,
        };
        create_api_key(
            scope,
            principal,
            &mut self.conn(),
            &audit_trail(),
            &self.pepper,
            &new,
        )
    }

    fn authenticate(&self, key: &ApiKeySecret) -> Result<Principal, StoreError> {
        authenticate(
            &self.privileged,
            &mut self.conn(),
            &self.pepper,
            key.expose(),
        )
    }

    /// The scope's events of `action`, oldest first.
    fn events(&self, scope: &TenantScope, action: AuditAction) -> Vec<AuditRecord> {
        let filter = AuditFilter {
            action: Some(action),
            ..AuditFilter::default()
        };
        let mut events = list_audit_events(scope, &mut self.conn(), &filter, None, 1000).unwrap();
        events.reverse();
        events
    }

    /// `(key id, reason)` of each `api_key.revoke` in the scope's org, sorted.
    fn revocations(&self, scope: &TenantScope) -> Vec<(String, Option<String>)> {
        let keyring = audit_keys().keyring().clone();
        let mut revoked: Vec<_> = self
            .events(scope, AuditAction::ApiKeyRevoke)
            .into_iter()
            .map(|event| {
                let payload = event.open_payload(&keyring).unwrap();
                (
                    event.target_id.expect("a revocation names its key"),
                    payload
                        .get("reason")
                        .and_then(|reason| reason.as_str())
                        .map(str::to_owned),
                )
            })
            .collect();
        revoked.sort();
        revoked
    }

    /// Verifies the scope's whole chain, returning how many events it checked.
    fn chain_holds(&self, scope: &TenantScope) -> u64 {
        let report = verify_chain(scope, &mut self.conn(), &audit_keys(), None, None).unwrap();
        assert_eq!(report.broken, None, "the chain of {}", scope.org_id());
        report.checked
    }
}

/// Moves a user's verification (and so the start of their sessions) back to `at`, as if they had
/// signed in then: the repositories take the time from the clock.
fn verified_back_at(conn: &mut DbConnection, user_id: &str, at: NaiveDateTime) {
    let at = at.format("%Y-%m-%d %H:%M:%S%.6f");
    let updated = diesel::sql_query(format!(
        "UPDATE navi_users SET email_verified_at = '{at}', sessions_not_before = '{at}' \
         WHERE id = '{user_id}'"
    ))
    .execute(conn)
    .unwrap();
    assert_eq!(updated, 1);
}

/// An instant just before `at`: the stored precision is a microsecond.
fn just_before(at: NaiveDateTime) -> NaiveDateTime {
    at - TimeDelta::microseconds(1)
}

fn verifying_a_new_email_creates_a_verified_user(db: TestDatabase) {
    let w = World::new(db);
    let user = w.verify("Ada@Example.com").unwrap();
    assert!(user.id.starts_with("usr_"), "{}", user.id);
    assert_eq!(user.email, "ada@example.com");
    let verified_at = user.email_verified_at.expect("verified");
    assert_eq!(user.sessions_not_before, Some(verified_at));
    let stored = find_user_by_email(
        &w.privileged,
        &mut w.conn(),
        &Email::parse("ada@example.com").unwrap(),
    )
    .unwrap();
    assert_eq!(
        stored.as_ref(),
        Some(&user),
        "what is returned is what is stored"
    );
}

/// Verifying again (every sign-in through a mailbox link does) keeps the user, its verification
/// and what was made after it.
fn a_second_verification_changes_nothing(db: TestDatabase) {
    let w = World::new(db);
    let first = w.verify("ada@example.com").unwrap();
    let ada = w.privileged.act_as(&first.id);
    let org = w.org(&ada);
    let (_, key) = w.create_key(&org, &ada, false, None).unwrap();
    let signed_in = first.sessions_not_before.unwrap();
    assert!(w.session(&first.id, signed_in).is_ok());
    let events_before = w.chain_holds(&org);

    let second = w.verify("ADA@example.com").unwrap();
    assert_eq!(
        second, first,
        "same id, same verified_at, same sessions_not_before"
    );
    let (stored, _) = own_user(&mut w.conn(), &ada).unwrap();
    assert_eq!(stored, first);
    assert_eq!(w.authenticate(&key).unwrap().user_id(), first.id);
    assert!(
        w.session(&first.id, signed_in).is_ok(),
        "the session lives on"
    );
    assert!(w.revocations(&org).is_empty());
    assert_eq!(w.chain_holds(&org), events_before, "nothing was audited");
}

/// Whoever made an unverified user's keys may not have owned the mailbox: its first verification
/// revokes every live key, each audited where it worked (a pinned key in its org, a user key in
/// each of the user's orgs), and the chains still verify.
fn a_first_verification_revokes_every_key_made_before_it(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.verify("ada@example.com").unwrap();
    let ada = w.privileged.act_as(&ada.id);
    let adas_org = w.org(&ada);

    let carl = w.unverified("carl@example.com");
    let carl_acting = w.privileged.act_as(&carl.id);
    let carls_org = w.org(&carl_acting);
    fixtures::add_member(&mut w.conn(), adas_org.org_id(), &carl.id, Role::Member);
    let (pinned, pinned_secret) = w.create_key(&carls_org, &carl_acting, true, None).unwrap();
    let (user_key, user_secret) = w.create_key(&carls_org, &carl_acting, false, None).unwrap();
    let (gone, _) = w.create_key(&carls_org, &carl_acting, true, None).unwrap();
    revoke_api_key(
        &carls_org,
        &carl_acting,
        &mut w.conn(),
        &audit_trail(),
        &gone.id,
    )
    .unwrap();
    assert_eq!(
        w.authenticate(&pinned_secret).unwrap().pinned_org_id(),
        Some(carls_org.org_id())
    );
    assert_eq!(w.authenticate(&user_secret).unwrap().pinned_org_id(), None);
    let revoked_before = w.revocations(&carls_org);
    assert_eq!(revoked_before.len(), 1, "{revoked_before:?}");

    let verified = w.verify("carl@example.com").unwrap();
    assert_eq!(verified.id, carl.id, "the same user, now verified");
    assert!(verified.email_verified_at.is_some());
    assert_eq!(verified.sessions_not_before, verified.email_verified_at);

    for secret in [&pinned_secret, &user_secret] {
        assert!(matches!(
            w.authenticate(secret),
            Err(StoreError::Unauthenticated)
        ));
    }
    assert!(list_api_keys(&carls_org, &mut w.conn()).unwrap().is_empty());

    let reason = Some("email_verified".to_owned());
    let mut expected_in_carls_org = vec![
        (pinned.id.clone(), reason.clone()),
        (user_key.id.clone(), reason.clone()),
    ];
    expected_in_carls_org.extend(revoked_before);
    expected_in_carls_org.sort();
    assert_eq!(
        w.revocations(&carls_org),
        expected_in_carls_org,
        "the pinned and the user key, once each; the already revoked key not again"
    );
    assert_eq!(
        w.revocations(&adas_org),
        [(user_key.id.clone(), reason)],
        "the user key worked in ada's org too; the key pinned elsewhere did not"
    );
    for event in w
        .events(&carls_org, AuditAction::ApiKeyRevoke)
        .iter()
        .chain(&w.events(&adas_org, AuditAction::ApiKeyRevoke))
    {
        assert_eq!(event.actor_user_id.as_deref(), Some(carl.id.as_str()));
    }
    w.chain_holds(&carls_org);
    w.chain_holds(&adas_org);
}

/// Concurrent first verifications of one email (two links clicked at once) verify it once: one
/// user, one verification instant, one revocation of each earlier key.
fn concurrent_first_verifications_agree(db: TestDatabase) {
    let w = World::new(db);
    let carl = w.unverified("carl@example.com");
    let carl_acting = w.privileged.act_as(&carl.id);
    let carls_org = w.org(&carl_acting);
    let (pinned, _) = w.create_key(&carls_org, &carl_acting, true, None).unwrap();
    let barrier = std::sync::Barrier::new(8);
    let users: Vec<UserRow> = std::thread::scope(|threads| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (w, barrier) = (&w, &barrier);
                threads.spawn(move || {
                    barrier.wait();
                    w.verify("carl@example.com").unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(users.iter().all(|user| *user == users[0]), "{users:?}");
    assert_eq!(users[0].id, carl.id);
    assert_eq!(
        w.revocations(&carls_org),
        [(pinned.id, Some("email_verified".to_owned()))]
    );
    w.chain_holds(&carls_org);
}

fn only_live_sessions_of_verified_users_are_principals(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.verify("ada@example.com").unwrap();
    let signed_in = ada.sessions_not_before.unwrap();
    let principal = session_principal(
        &w.privileged,
        &mut w.conn(),
        &SessionFacts {
            user_id: ada.id.clone(),
            created_at: signed_in,
            sso_connection: Some("sso_acme".to_owned()),
        },
    )
    .unwrap();
    assert_eq!(principal.user_id(), ada.id);
    assert_eq!(
        principal.credential(),
        &Credential::Session {
            signed_in_at: signed_in,
            sso_connection: Some("sso_acme".to_owned()),
        }
    );
    assert_eq!(
        (principal.key_id(), principal.pinned_org_id()),
        (None, None)
    );
    let (own, orgs) = own_user(&mut w.conn(), &principal).unwrap();
    assert_eq!((own, orgs), (ada.clone(), vec![]));

    assert!(
        matches!(
            w.session(&ada.id, just_before(signed_in)),
            Err(StoreError::Unauthenticated)
        ),
        "made before the email was verified"
    );
    assert!(matches!(
        w.session("usr_nosuchuser", now()),
        Err(StoreError::Unauthenticated)
    ));
    let bob = w.unverified("bob@example.com");
    assert!(
        matches!(w.session(&bob.id, now()), Err(StoreError::Unauthenticated)),
        "an unverified user has no sessions"
    );
}

fn ending_sessions_refuses_every_earlier_session(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.verify("ada@example.com").unwrap();
    let verified_at = ada.sessions_not_before.unwrap();
    let earlier = w.session(&ada.id, verified_at).unwrap();
    let adas_org = w.org(&earlier);
    let (_, pinned_secret) = w.create_key(&adas_org, &earlier, true, None).unwrap();
    let pinned = w.authenticate(&pinned_secret).unwrap();
    assert!(matches!(
        end_sessions(&mut w.conn(), &pinned),
        Err(StoreError::Forbidden)
    ));
    let (unchanged, _) = own_user(&mut w.conn(), &pinned).unwrap();
    assert_eq!(
        unchanged.sessions_not_before,
        Some(verified_at),
        "a pinned key ends nothing"
    );

    // Let the clock pass the session's instant, so "earlier" is earlier at the stored precision.
    while now() <= verified_at {
        std::hint::spin_loop();
    }
    end_sessions(&mut w.conn(), &earlier).unwrap();
    let (user, orgs) = own_user(&mut w.conn(), &earlier).unwrap();
    let ended_at = user.sessions_not_before.unwrap();
    assert!(ended_at > verified_at);
    assert_eq!(user.email_verified_at, Some(verified_at), "still verified");
    assert_eq!(
        orgs.iter()
            .map(|org| (org.org_id.as_str(), org.role))
            .collect::<Vec<_>>(),
        [(adas_org.org_id(), Role::Owner)]
    );
    for created_at in [verified_at, just_before(ended_at)] {
        assert!(
            matches!(
                w.session(&ada.id, created_at),
                Err(StoreError::Unauthenticated)
            ),
            "a session made at {created_at}"
        );
    }
    assert!(
        w.session(&ada.id, ended_at).is_ok(),
        "signing in again works"
    );
    assert_eq!(
        w.authenticate(&pinned_secret).unwrap().user_id(),
        ada.id,
        "ending sessions leaves keys alone"
    );
}

/// A stolen session cookie cannot mint a long-lived credential: a session makes keys only within
/// `RECENT_SIGN_IN` of signing in, and they expire within `SESSION_KEY_LIFETIME`.
fn a_session_makes_keys_only_soon_after_signing_in(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.verify("ada@example.com").unwrap();
    let adas_org = w.org(&w.privileged.act_as(&ada.id));
    let signed_in_at = now() - TimeDelta::minutes(16);
    assert!(TimeDelta::minutes(16) > RECENT_SIGN_IN);
    verified_back_at(&mut w.conn(), &ada.id, signed_in_at - TimeDelta::minutes(4));
    let stale = w.session(&ada.id, signed_in_at).unwrap();
    let stale_scope = stale.scope(&mut w.conn(), Some(adas_org.org_id())).unwrap();
    assert!(matches!(
        w.create_key(&stale_scope, &stale, true, Some(30)),
        Err(StoreError::RecentSignInRequired)
    ));
    assert!(list_api_keys(&adas_org, &mut w.conn()).unwrap().is_empty());
    assert!(w.events(&adas_org, AuditAction::ApiKeyCreate).is_empty());

    let fresh = w.session(&ada.id, now()).unwrap();
    let fresh_scope = fresh.scope(&mut w.conn(), Some(adas_org.org_id())).unwrap();
    // Bounds rather than instants: the repository reads the clock itself.
    let lives_at_most = |before: NaiveDateTime, key: &ApiKeyRow, lifetime: TimeDelta| {
        let expires_at = key.expires_at.expect("a session's key expires");
        assert!(
            before + lifetime <= expires_at && expires_at <= key.created_at + lifetime,
            "asked before {before}, created {}, expires {expires_at}",
            key.created_at
        );
    };
    // A session makes only keys pinned to the org it acts in (a user key would carry it into
    // orgs whose rules, such as an enforced SSO, it never met).
    assert!(matches!(
        w.create_key(&fresh_scope, &fresh, false, Some(30)),
        Err(StoreError::Forbidden)
    ));
    for asked in [Some(365), None] {
        let before = now();
        let (key, secret) = w.create_key(&fresh_scope, &fresh, true, asked).unwrap();
        lives_at_most(before, &key, SESSION_KEY_LIFETIME);
        assert_eq!(
            w.authenticate(&secret).unwrap().credential(),
            &Credential::Key(key.id.clone())
        );
    }
    let before = now();
    let (shorter, _) = w.create_key(&fresh_scope, &fresh, true, Some(30)).unwrap();
    lives_at_most(before, &shorter, TimeDelta::days(30));

    // Taking a key away needs no recent sign-in.
    revoke_api_key(
        &stale_scope,
        &stale,
        &mut w.conn(),
        &audit_trail(),
        &shorter.id,
    )
    .unwrap();
    let live: Vec<String> = list_api_keys(&adas_org, &mut w.conn())
        .unwrap()
        .into_iter()
        .map(|key| key.id)
        .collect();
    assert_eq!(live.len(), 2);
    assert!(!live.contains(&shorter.id));
    w.chain_holds(&adas_org);
}

/// Accepting an invite through a session joins its user, who then sees the org among their own.
fn own_user_lists_the_callers_orgs_with_their_roles(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.verify("ada@example.com").unwrap();
    let adas_org = w.org(&w.privileged.act_as(&ada.id));
    let bob = w.verify("bob@example.com").unwrap();
    let bob_signed_in = w.session(&bob.id, now()).unwrap();
    let bobs_org = w.org(&bob_signed_in);
    let (_, token) = create_invite(
        &adas_org,
        &mut w.conn(),
        &audit_trail(),
        &Email::parse("bob@example.com").unwrap(),
        Role::Admin,
    )
    .unwrap();
    accept_invite(
        &w.privileged,
        &mut w.conn(),
        &audit_trail(),
        token.expose(),
        &bob_signed_in,
    )
    .unwrap();

    let (user, orgs) = own_user(&mut w.conn(), &bob_signed_in).unwrap();
    assert_eq!(user, bob);
    let mut expected = vec![
        (adas_org.org_id().to_owned(), Role::Admin),
        (bobs_org.org_id().to_owned(), Role::Owner),
    ];
    expected.sort();
    let listed: Vec<(String, Role)> = orgs
        .into_iter()
        .map(|org| {
            assert_eq!((org.slug.is_empty(), org.name.as_str()), (false, "Acme"));
            (org.org_id, org.role)
        })
        .collect();
    assert_eq!(listed, expected, "by org id");
    assert!(matches!(
        own_user(
            &mut w.conn(),
            &Principal::for_tests("usr_nosuchuser", "key_x", None)
        ),
        Err(StoreError::Unauthenticated)
    ));
}

backend_tests!(
    verifying_a_new_email_creates_a_verified_user,
    a_second_verification_changes_nothing,
    a_first_verification_revokes_every_key_made_before_it,
    concurrent_first_verifications_agree,
    only_live_sessions_of_verified_users_are_principals,
    ending_sessions_refuses_every_earlier_session,
    a_session_makes_keys_only_soon_after_signing_in,
    own_user_lists_the_callers_orgs_with_their_roles,
);
