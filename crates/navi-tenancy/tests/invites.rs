//! Invites on both backends: creation, listing, revocation, expiry, and single-use acceptance
//! under concurrency.

use navi_tenancy::api_keys::{authenticate, create_api_key_privileged, Pepper};
use navi_tenancy::invites::{
    accept_invite, create_invite, list_pending_invites, revoke_invite, InviteCaller,
};
use navi_tenancy::members::list_members;
use navi_tenancy::orgs::create_org;
use navi_tenancy::testing::fixtures;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::users::find_or_create_user;
use navi_tenancy::{
    backend_tests, checkout, DbPool, Email, OrgName, Principal, Privileged, Role, StoreError,
    TenantScope,
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

    fn user(&self, email: &str) -> Principal {
        let mut conn = checkout(&self.pool).unwrap();
        let user = find_or_create_user(&self.privileged, &mut conn, &Email::parse(email).unwrap())
            .unwrap();
        let (_, key) = create_api_key_privileged(
            &self.privileged,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            None,
            &self.pepper,
            &user.id,
            None,
            "k",
        )
        .unwrap();
        authenticate(&self.privileged, &mut conn, &self.pepper, key.expose()).unwrap()
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
        principal: Option<&Principal>,
    ) -> Result<navi_tenancy::invites::AcceptedInvite, StoreError> {
        let mut conn = checkout(&self.pool).unwrap();
        let caller = match principal {
            Some(principal) => InviteCaller::Authenticated(principal.clone()),
            None => InviteCaller::Anonymous,
        };
        accept_invite(
            &self.privileged,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            &self.pepper,
            token,
            &caller,
        )
    }
}

fn an_invited_user_with_a_key_joins_once(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let scope = w.org(&ada);
    let bob = w.user("bob@example.com");
    let token = w.invite(&scope, "BOB@example.com", Role::Admin);
    assert!(token.len() >= 43, "256-bit token");

    let eve = w.user("eve@example.com");
    assert!(
        matches!(w.accept(&token, Some(&eve)), Err(StoreError::Forbidden)),
        "another user's key"
    );
    assert!(
        matches!(w.accept(&token, None), Err(StoreError::Unauthenticated)),
        "the user exists"
    );

    let accepted = w.accept(&token, Some(&bob)).unwrap();
    assert_eq!(
        (
            accepted.org_id.as_str(),
            accepted.user_id.as_str(),
            accepted.role
        ),
        (scope.org_id(), bob.user_id(), Role::Admin)
    );
    assert!(accepted.api_key.is_none());
    for caller in [Some(&bob), Some(&eve), None] {
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
    assert!(list_pending_invites(&scope, &mut conn).unwrap().is_empty());
}

fn an_anonymous_invitee_gets_a_user_and_a_pinned_key(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let scope = w.org(&ada);
    let token = w.invite(&scope, "new@example.com", Role::Member);
    let accepted = w.accept(&token, None).unwrap();
    let key = accepted.api_key.expect("a new key");
    let mut conn = checkout(&w.pool).unwrap();
    let principal = authenticate(&w.privileged, &mut conn, &w.pepper, key.expose()).unwrap();
    assert_eq!(principal.user_id(), accepted.user_id);
    assert_eq!(principal.pinned_org_id(), Some(scope.org_id()));
    assert_eq!(
        principal.scope(&mut conn, None).unwrap().role(),
        Role::Member
    );
    assert_eq!(list_members(&scope, &mut conn).unwrap().len(), 2);
}

fn unknown_revoked_and_expired_invites_are_invalid(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let scope = w.org(&ada);
    assert!(matches!(
        w.accept("no-such-token", None),
        Err(StoreError::InvalidInvite)
    ));
    let mut conn = checkout(&w.pool).unwrap();
    let bad = InviteCaller::BadCredentials;
    let result = accept_invite(
        &w.privileged,
        &mut conn,
        &navi_tenancy::testing::audit_trail(),
        &w.pepper,
        "no-such-token",
        &bad,
    );
    assert!(
        matches!(result, Err(StoreError::InvalidInvite)),
        "the token is judged first"
    );
    let live = w.invite(&scope, "live@example.com", Role::Member);
    let result = accept_invite(
        &w.privileged,
        &mut conn,
        &navi_tenancy::testing::audit_trail(),
        &w.pepper,
        &live,
        &bad,
    );
    assert!(
        matches!(result, Err(StoreError::Unauthenticated)),
        "{result:?}"
    );
    drop(conn);

    let revoked = w.invite(&scope, "r@example.com", Role::Member);
    let expired = w.invite(&scope, "x@example.com", Role::Member);
    let mut conn = checkout(&w.pool).unwrap();
    let pending = list_pending_invites(&scope, &mut conn).unwrap();
    assert_eq!(pending.len(), 3);
    let revoked_id = pending
        .iter()
        .find(|i| i.email == "r@example.com")
        .unwrap()
        .id
        .clone();
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
    fixtures::set_invite_expiry(&mut conn, "x@example.com", navi_tenancy::now());
    let still_pending: Vec<String> = list_pending_invites(&scope, &mut conn)
        .unwrap()
        .into_iter()
        .map(|invite| invite.email)
        .collect();
    assert_eq!(still_pending, ["live@example.com"]);
    assert!(matches!(
        w.accept(&revoked, None),
        Err(StoreError::InvalidInvite)
    ));
    assert!(matches!(
        w.accept(&expired, None),
        Err(StoreError::InvalidInvite)
    ));
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
        let token = w.invite(&scope, &format!("new{round}@example.com"), Role::Member);
        let barrier = std::sync::Barrier::new(32);
        let results: Vec<_> = std::thread::scope(|threads| {
            let handles: Vec<_> = (0..32)
                .map(|_| {
                    let (w, token, barrier) = (&w, &token, &barrier);
                    threads.spawn(move || {
                        barrier.wait();
                        w.accept(token, None)
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
        w.accept(&token, Some(who)).unwrap();
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
    an_invited_user_with_a_key_joins_once,
    an_anonymous_invitee_gets_a_user_and_a_pinned_key,
    unknown_revoked_and_expired_invites_are_invalid,
    members_cannot_invite_and_other_orgs_cannot_revoke,
    thirty_two_concurrent_accepts_of_one_token_succeed_once,
);
