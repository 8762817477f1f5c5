//! Invites on both backends: creation, listing, revocation, expiry, and single-use acceptance
//! (by the invited email's verified user only) under concurrency.

use navi_tenancy::api_keys::{authenticate, create_api_key_privileged, Pepper};
use navi_tenancy::invites::{accept_invite, create_invite, list_pending_invites, revoke_invite};
use navi_tenancy::members::list_members;
use navi_tenancy::orgs::create_org;
use navi_tenancy::testing::fixtures;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::users::{find_or_create_user, session_principal, verify_email, SessionFacts};
use navi_tenancy::{
    backend_tests, checkout, Credential, DbPool, Email, OrgName, Principal, Privileged, Role,
    StoreError, TenantScope,
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

    /// A user whose email Navi verified, calling through a new user key (not pinned).
    fn user(&self, email: &str) -> Principal {
        let mut conn = checkout(&self.pool).unwrap();
        let user = verify_email(
            &self.privileged,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            &Email::parse(email).unwrap(),
        )
        .unwrap();
        assert!(user.email_verified_at.is_some());
        self.key(&user.id, None)
    }

    /// A user whose email was never verified (made by bootstrap, or before sign-in existed),
    /// calling through a user key.
    fn unverified_user(&self, email: &str) -> Principal {
        let mut conn = checkout(&self.pool).unwrap();
        let user = find_or_create_user(&self.privileged, &mut conn, &Email::parse(email).unwrap())
            .unwrap();
        assert_eq!(user.email_verified_at, None);
        self.key(&user.id, None)
    }

    /// The principal of a new key of `user_id`, pinned to `pinned_org_id` if given.
    fn key(&self, user_id: &str, pinned_org_id: Option<&str>) -> Principal {
        let mut conn = checkout(&self.pool).unwrap();
        let (_, key) = create_api_key_privileged(
            &self.privileged,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            pinned_org_id,
            &self.pepper,
            user_id,
            pinned_org_id,
            "k",
        )
        .unwrap();
        authenticate(&self.privileged, &mut conn, &self.pepper, key.expose()).unwrap()
    }

    /// A browser session of `user_id` made just now.
    fn session(&self, user_id: &str) -> Principal {
        let mut conn = checkout(&self.pool).unwrap();
        let principal = session_principal(
            &self.privileged,
            &mut conn,
            &SessionFacts {
                user_id: user_id.to_owned(),
                created_at: navi_tenancy::now(),
                sso_connection: None,
            },
        )
        .unwrap();
        assert!(matches!(principal.credential(), Credential::Session { .. }));
        principal
    }

    fn org(&self, owner: &Principal) -> TenantScope {
        let mut conn = checkout(&self.pool).unwrap();
        create_org(
            owner,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            &OrgName::parse("Org").unwrap(),
            None,
        )
        .unwrap()
        .1
    }

    fn invite(&self, scope: &TenantScope, email: &str, role: Role) -> String {
        let mut conn = checkout(&self.pool).unwrap();
        let (row, token) = create_invite(
            scope,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            &Email::parse(email).unwrap(),
            role,
        )
        .unwrap();
        assert!(row.id.starts_with("inv_"));
        token.expose().to_owned()
    }

    fn accept(
        &self,
        token: &str,
        caller: &Principal,
    ) -> Result<navi_tenancy::invites::AcceptedInvite, StoreError> {
        let mut conn = checkout(&self.pool).unwrap();
        accept_invite(
            &self.privileged,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            token,
            caller,
        )
    }
}

fn an_invited_verified_user_joins_once(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let scope = w.org(&ada);
    let bob = w.user("bob@example.com");
    let token = w.invite(&scope, "BOB@example.com", Role::Admin);
    assert!(token.len() >= 43, "256-bit token");

    let eve = w.user("eve@example.com");
    assert!(
        matches!(w.accept(&token, &eve), Err(StoreError::Forbidden)),
        "a verified user with another email"
    );
    assert!(
        matches!(w.accept(&token, &ada), Err(StoreError::Forbidden)),
        "the inviting admin holds the token too"
    );

    let accepted = w.accept(&token, &bob).unwrap();
    assert_eq!(
        (
            accepted.org_id.as_str(),
            accepted.user_id.as_str(),
            accepted.role
        ),
        (scope.org_id(), bob.user_id(), Role::Admin)
    );
    for caller in [&bob, &eve, &w.session(bob.user_id())] {
        assert!(
            matches!(w.accept(&token, caller), Err(StoreError::InvalidInvite)),
            "used, whoever asks"
        );
    }
    let mut conn = checkout(&w.pool).unwrap();
    assert_eq!(
        bob.scope(&mut conn, Some(scope.org_id())).unwrap().role(),
        Role::Admin
    );
    assert!(eve.scope(&mut conn, Some(scope.org_id())).is_err());
    assert!(list_pending_invites(&scope, &mut conn).unwrap().is_empty());
}

/// An email Navi never verified may have been typed by anyone (bootstrap, or a user made before
/// sign-in existed): its user cannot take the invite until the mailbox proves it, and the refused
/// attempt leaves the invite usable.
fn an_unverified_invitee_is_forbidden_until_the_email_is_verified(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let scope = w.org(&ada);
    let carl = w.unverified_user("carl@example.com");
    let token = w.invite(&scope, "carl@example.com", Role::Member);

    assert!(matches!(
        w.accept(&token, &carl),
        Err(StoreError::Forbidden)
    ));
    let mut conn = checkout(&w.pool).unwrap();
    let pending: Vec<String> = list_pending_invites(&scope, &mut conn)
        .unwrap()
        .into_iter()
        .map(|invite| invite.email)
        .collect();
    assert_eq!(pending, ["carl@example.com"], "still pending");
    assert_eq!(list_members(&scope, &mut conn).unwrap().len(), 1);
    drop(conn);

    let mut conn = checkout(&w.pool).unwrap();
    verify_email(
        &w.privileged,
        &mut conn,
        &navi_tenancy::testing::audit_trail(),
        &Email::parse("carl@example.com").unwrap(),
    )
    .unwrap();
    drop(conn);
    let carl_signed_in = w.session(carl.user_id());
    let accepted = w.accept(&token, &carl_signed_in).unwrap();
    assert_eq!(
        (accepted.user_id.as_str(), accepted.role),
        (carl.user_id(), Role::Member)
    );
    let mut conn = checkout(&w.pool).unwrap();
    let members: Vec<(String, Role)> = list_members(&scope, &mut conn)
        .unwrap()
        .into_iter()
        .map(|member| (member.email, member.role))
        .collect();
    assert!(
        members.contains(&("carl@example.com".to_owned(), Role::Member)),
        "{members:?}"
    );
    assert!(list_pending_invites(&scope, &mut conn).unwrap().is_empty());
}

/// A key pinned to an org acts inside that org only: it cannot take its user into another.
fn a_pinned_key_cannot_accept_an_invite(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let scope = w.org(&ada);
    let bob = w.user("bob@example.com");
    let bobs_org = w.org(&bob);
    let pinned = w.key(bob.user_id(), Some(bobs_org.org_id()));
    assert_eq!(pinned.pinned_org_id(), Some(bobs_org.org_id()));
    let token = w.invite(&scope, "bob@example.com", Role::Member);

    assert!(matches!(
        w.accept(&token, &pinned),
        Err(StoreError::Forbidden)
    ));
    let accepted = w.accept(&token, &bob).unwrap();
    assert_eq!(accepted.org_id, scope.org_id());
    let mut conn = checkout(&w.pool).unwrap();
    assert_eq!(
        bob.scope(&mut conn, Some(scope.org_id())).unwrap().role(),
        Role::Member
    );
}

fn unknown_revoked_expired_and_used_invites_are_invalid_whoever_asks(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let scope = w.org(&ada);
    // Each token is judged before its caller: the invited user themselves, through a key or a
    // session, is told `InvalidInvite` just as an unverified user, another user, or a pinned key.
    let rex = w.user("rex@example.com");
    let rexs_org = w.org(&rex);
    let callers = [
        rex.clone(),
        w.session(rex.user_id()),
        w.key(rex.user_id(), Some(rexs_org.org_id())),
        w.unverified_user("rex.unverified@example.com"),
        w.user("eve@example.com"),
    ];
    for caller in &callers {
        assert!(
            matches!(
                w.accept("no-such-token", caller),
                Err(StoreError::InvalidInvite)
            ),
            "{caller:?}"
        );
    }

    let live = w.invite(&scope, "live@example.com", Role::Member);
    let revoked = w.invite(&scope, "rex@example.com", Role::Member);
    let mut conn = checkout(&w.pool).unwrap();
    let revoked_id = list_pending_invites(&scope, &mut conn)
        .unwrap()
        .into_iter()
        .find(|invite| invite.email == "rex@example.com")
        .unwrap()
        .id;
    revoke_invite(
        &scope,
        &mut conn,
        &navi_tenancy::testing::audit_trail(),
        &revoked_id,
    )
    .unwrap();
    assert!(matches!(
        revoke_invite(
            &scope,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            &revoked_id
        ),
        Err(StoreError::NotFound)
    ));
    drop(conn);
    let expired = w.invite(&scope, "rex@example.com", Role::Member);
    let mut conn = checkout(&w.pool).unwrap();
    fixtures::set_invite_expiry(&mut conn, "rex@example.com", navi_tenancy::now());
    let still_pending: Vec<String> = list_pending_invites(&scope, &mut conn)
        .unwrap()
        .into_iter()
        .map(|invite| invite.email)
        .collect();
    assert_eq!(still_pending, ["live@example.com"]);
    drop(conn);

    let used = w.invite(&scope, "eve@example.com", Role::Member);
    w.accept(&used, &callers[4]).unwrap();
    for token in [&revoked, &expired, &used] {
        for caller in &callers {
            assert!(
                matches!(w.accept(token, caller), Err(StoreError::InvalidInvite)),
                "{caller:?}"
            );
        }
    }
    // A live token with the wrong caller is refused for the caller, and stays usable.
    assert!(matches!(w.accept(&live, &rex), Err(StoreError::Forbidden)));
    let mut conn = checkout(&w.pool).unwrap();
    assert_eq!(list_pending_invites(&scope, &mut conn).unwrap().len(), 1);
    assert_eq!(
        list_members(&scope, &mut conn).unwrap().len(),
        2,
        "ada and eve"
    );
}

fn members_cannot_invite_and_other_orgs_cannot_revoke(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let scope = w.org(&ada);
    let eve = w.user("eve@example.com");
    let eves_org = w.org(&eve);
    let mut conn = checkout(&w.pool).unwrap();
    let member = TenantScope::for_tests(scope.org_id(), "usr_member", Role::Member);
    let email = Email::parse("x@example.com").unwrap();
    assert!(matches!(
        create_invite(
            &member,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            &email,
            Role::Member
        ),
        Err(StoreError::Forbidden)
    ));
    assert!(matches!(
        create_invite(
            &scope,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            &email,
            Role::Owner
        ),
        Err(StoreError::Invalid(_))
    ));
    let (invite, _) = create_invite(
        &scope,
        &mut conn,
        &navi_tenancy::testing::audit_trail(),
        &email,
        Role::Member,
    )
    .unwrap();
    assert!(matches!(
        revoke_invite(
            &eves_org,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            &invite.id
        ),
        Err(StoreError::NotFound)
    ));
    assert!(list_pending_invites(&eves_org, &mut conn)
        .unwrap()
        .is_empty());
    assert_eq!(list_pending_invites(&scope, &mut conn).unwrap().len(), 1);
}

fn thirty_two_concurrent_accepts_of_one_token_succeed_once(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let scope = w.org(&ada);
    for round in 0..3 {
        let email = format!("new{round}@example.com");
        let invitee = w.user(&email);
        let signed_in = w.session(invitee.user_id());
        let token = w.invite(&scope, &email, Role::Member);
        let barrier = std::sync::Barrier::new(32);
        let results: Vec<_> = std::thread::scope(|threads| {
            let handles: Vec<_> = (0..32)
                .map(|i| {
                    let (w, token, barrier) = (&w, &token, &barrier);
                    // Half through the invitee's key, half through their session.
                    let caller = if i % 2 == 0 { &invitee } else { &signed_in };
                    threads.spawn(move || {
                        barrier.wait();
                        w.accept(token, caller)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let won = results.iter().filter(|r| r.is_ok()).count();
        let invalid = results
            .iter()
            .filter(|r| matches!(r, Err(StoreError::InvalidInvite)))
            .count();
        assert_eq!((won, invalid), (1, 31), "round {round}: {results:?}");
    }
    let mut conn = checkout(&w.pool).unwrap();
    assert_eq!(list_members(&scope, &mut conn).unwrap().len(), 4);
}

/// A scope is resolved before the org's lock is taken (and may come from another instance's auth
/// cache): an admin removed, or demoted, while their invite waited creates nothing.
fn a_stale_admin_scope_creates_no_invite(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let owner = w.org(&ada);
    let rex = w.user("rex@example.com");
    let dee = w.user("dee@example.com");
    for (who, email) in [(&rex, "rex@example.com"), (&dee, "dee@example.com")] {
        let token = w.invite(&owner, email, Role::Admin);
        w.accept(&token, who).unwrap();
    }
    let mut conn = checkout(&w.pool).unwrap();
    let rex_scope = rex.scope(&mut conn, Some(owner.org_id())).unwrap();
    let dee_scope = dee.scope(&mut conn, Some(owner.org_id())).unwrap();
    let trail = navi_tenancy::testing::audit_trail();
    navi_tenancy::members::remove_member(&owner, &mut conn, &trail, rex.user_id()).unwrap();
    navi_tenancy::members::change_member_role(
        &owner,
        &mut conn,
        &trail,
        dee.user_id(),
        Role::Member,
    )
    .unwrap();
    for stale in [&rex_scope, &dee_scope] {
        let created = create_invite(
            stale,
            &mut conn,
            &trail,
            &Email::parse("accomplice@example.com").unwrap(),
            Role::Admin,
        );
        assert!(matches!(created, Err(StoreError::Forbidden)), "{created:?}");
    }
    assert!(list_pending_invites(&owner, &mut conn).unwrap().is_empty());
}

backend_tests!(
    a_stale_admin_scope_creates_no_invite,
    an_invited_verified_user_joins_once,
    an_unverified_invitee_is_forbidden_until_the_email_is_verified,
    a_pinned_key_cannot_accept_an_invite,
    unknown_revoked_expired_and_used_invites_are_invalid_whoever_asks,
    members_cannot_invite_and_other_orgs_cannot_revoke,
    thirty_two_concurrent_accepts_of_one_token_succeed_once,
);
