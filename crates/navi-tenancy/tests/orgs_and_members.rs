//! Users, orgs, org context resolution and members, on both backends.

use navi_tenancy::members::{change_member_role, list_members, remove_member};
use navi_tenancy::orgs::{create_org, find_org};
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::users::find_or_create_user;
use navi_tenancy::{
    backend_tests, checkout, DbPool, Email, OrgName, Principal, Privileged, Role, Slug, StoreError,
    TenantScope,
};

fn user(pool: &DbPool, email: &str) -> Principal {
    let privileged = Privileged::acquire("test setup");
    let mut conn = checkout(pool).unwrap();
    let user = find_or_create_user(&privileged, &mut conn, &Email::parse(email).unwrap()).unwrap();
    Principal::for_tests(&user.id, "key_test", None)
}

fn org(pool: &DbPool, owner: &Principal, name: &str) -> TenantScope {
    let mut conn = checkout(pool).unwrap();
    create_org(
        owner,
        &mut conn,
        &navi_tenancy::testing::audit_trail(),
        &OrgName::parse(name).unwrap(),
        None,
    )
    .unwrap()
    .1
}

/// Adds `who` to `scope`'s org with `role` by plain SQL (invites come with their issue).
fn join(db: &TestDatabase, scope: &TenantScope, who: &Principal, role: Role) {
    navi_tenancy::testing::fixtures::add_member(
        &mut db.connect(),
        scope.org_id(),
        who.user_id(),
        role,
    );
}

fn users_are_found_by_email_case_insensitively(db: TestDatabase) {
    let pool = db.migrated_pool();
    let a = user(&pool, "Ada@Example.com");
    let b = user(&pool, "ada@EXAMPLE.COM");
    assert_eq!(a.user_id(), b.user_id());
    assert!(a.user_id().starts_with("usr_"));
}

fn creating_an_org_makes_the_caller_its_owner(db: TestDatabase) {
    let pool = db.migrated_pool();
    let ada = user(&pool, "ada@example.com");
    let mut conn = checkout(&pool).unwrap();
    let (org, scope) = create_org(
        &ada,
        &mut conn,
        &navi_tenancy::testing::audit_trail(),
        &OrgName::parse("Acme Corp").unwrap(),
        None,
    )
    .unwrap();
    assert!(org.id.starts_with("org_"));
    assert_eq!(org.slug, "acme-corp");
    assert_eq!(org.owner_user_id, ada.user_id());
    assert_eq!(scope.role(), Role::Owner);
    assert_eq!(find_org(&scope, &mut conn).unwrap(), org);
    let members = list_members(&scope, &mut conn).unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(
        (members[0].user_id.as_str(), members[0].role),
        (ada.user_id(), Role::Owner)
    );
    assert_eq!(members[0].email, "ada@example.com");
}

fn a_taken_explicit_slug_conflicts_and_a_derived_one_gets_a_suffix(db: TestDatabase) {
    let pool = db.migrated_pool();
    let ada = user(&pool, "ada@example.com");
    let mut conn = checkout(&pool).unwrap();
    let name = OrgName::parse("Acme").unwrap();
    let slug = Slug::parse("acme").unwrap();
    create_org(
        &ada,
        &mut conn,
        &navi_tenancy::testing::audit_trail(),
        &name,
        Some(&slug),
    )
    .unwrap();
    assert!(matches!(
        create_org(
            &ada,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            &name,
            Some(&slug)
        ),
        Err(StoreError::Conflict(_))
    ));
    let (derived, _) = create_org(
        &ada,
        &mut conn,
        &navi_tenancy::testing::audit_trail(),
        &name,
        None,
    )
    .unwrap();
    assert!(
        derived.slug.starts_with("acme-") && derived.slug.len() == 11,
        "{}",
        derived.slug
    );
}

fn org_context_comes_from_the_header_else_the_pin(db: TestDatabase) {
    let pool = db.migrated_pool();
    let ada = user(&pool, "ada@example.com");
    let bob = user(&pool, "bob@example.com");
    let org_a = org(&pool, &ada, "A");
    let org_b = org(&pool, &bob, "B");
    let mut conn = checkout(&pool).unwrap();

    let unpinned = Principal::for_tests(ada.user_id(), "key_1", None);
    assert!(matches!(
        unpinned.scope(&mut conn, None),
        Err(StoreError::OrgContextRequired)
    ));
    let scope = unpinned.scope(&mut conn, Some(org_a.org_id())).unwrap();
    assert_eq!(
        (scope.org_id(), scope.role()),
        (org_a.org_id(), Role::Owner)
    );

    let pinned = Principal::for_tests(ada.user_id(), "key_2", Some(org_a.org_id()));
    assert_eq!(
        pinned.scope(&mut conn, None).unwrap().org_id(),
        org_a.org_id()
    );
    assert_eq!(
        pinned
            .scope(&mut conn, Some(org_a.org_id()))
            .unwrap()
            .org_id(),
        org_a.org_id()
    );

    // Pinned elsewhere, not a member, no such org: one and the same answer.
    assert!(matches!(
        pinned.scope(&mut conn, Some(org_b.org_id())),
        Err(StoreError::Forbidden)
    ));
    assert!(matches!(
        unpinned.scope(&mut conn, Some(org_b.org_id())),
        Err(StoreError::Forbidden)
    ));
    assert!(matches!(
        unpinned.scope(&mut conn, Some("org_nonexistent")),
        Err(StoreError::Forbidden)
    ));
}

fn roles_are_enforced_and_an_org_always_keeps_an_owner(db: TestDatabase) {
    let pool = db.migrated_pool();
    let ada = user(&pool, "ada@example.com");
    let bob = user(&pool, "bob@example.com");
    let cy = user(&pool, "cy@example.com");
    let owner = org(&pool, &ada, "Acme");
    join(&db, &owner, &bob, Role::Admin);
    join(&db, &owner, &cy, Role::Member);
    let mut conn = checkout(&pool).unwrap();
    let as_bob = bob.scope(&mut conn, Some(owner.org_id())).unwrap();
    let as_cy = cy.scope(&mut conn, Some(owner.org_id())).unwrap();

    // Only owners change roles.
    assert!(matches!(
        change_member_role(
            &as_bob,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            cy.user_id(),
            Role::Admin
        ),
        Err(StoreError::Forbidden)
    ));
    // The last owner can be neither demoted nor removed.
    assert!(matches!(
        change_member_role(
            &owner,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            ada.user_id(),
            Role::Admin
        ),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        remove_member(
            &owner,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            ada.user_id()
        ),
        Err(StoreError::Conflict(_))
    ));
    // Members remove nobody; admins do not remove owners.
    assert!(matches!(
        remove_member(
            &as_cy,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            bob.user_id()
        ),
        Err(StoreError::Forbidden)
    ));
    assert!(matches!(
        remove_member(
            &as_bob,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            ada.user_id()
        ),
        Err(StoreError::Forbidden)
    ));

    let promoted = change_member_role(
        &owner,
        &mut conn,
        &navi_tenancy::testing::audit_trail(),
        bob.user_id(),
        Role::Owner,
    )
    .unwrap();
    assert_eq!(promoted.role, Role::Owner);
    change_member_role(
        &owner,
        &mut conn,
        &navi_tenancy::testing::audit_trail(),
        ada.user_id(),
        Role::Member,
    )
    .unwrap();
    remove_member(
        &as_bob,
        &mut conn,
        &navi_tenancy::testing::audit_trail(),
        cy.user_id(),
    )
    .unwrap();
    let roles: Vec<(String, Role)> = list_members(&as_bob, &mut conn)
        .unwrap()
        .into_iter()
        .map(|m| (m.user_id, m.role))
        .collect();
    assert_eq!(
        roles,
        vec![
            (ada.user_id().to_owned(), Role::Member),
            (bob.user_id().to_owned(), Role::Owner)
        ]
    );
}

fn another_orgs_members_are_not_found(db: TestDatabase) {
    let pool = db.migrated_pool();
    let ada = user(&pool, "ada@example.com");
    let eve = user(&pool, "eve@example.com");
    let org_a = org(&pool, &ada, "A");
    let org_e = org(&pool, &eve, "E");
    let mut conn = checkout(&pool).unwrap();
    for result in [
        change_member_role(
            &org_e,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            ada.user_id(),
            Role::Member,
        )
        .map(drop),
        remove_member(
            &org_e,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            ada.user_id(),
        ),
        change_member_role(
            &org_e,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            "usr_nobody",
            Role::Member,
        )
        .map(drop),
    ] {
        assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    }
    assert_eq!(list_members(&org_a, &mut conn).unwrap().len(), 1);
}

fn two_owners_demoting_each_other_at_once_leave_one_owner(db: TestDatabase) {
    let pool = db.migrated_pool();
    for round in 0..5 {
        let ada = user(&pool, &format!("ada{round}@example.com"));
        let bob = user(&pool, &format!("bob{round}@example.com"));
        let scope_a = org(&pool, &ada, "Race");
        join(&db, &scope_a, &bob, Role::Owner);
        let scope_b = bob
            .scope(&mut checkout(&pool).unwrap(), Some(scope_a.org_id()))
            .unwrap();
        let barrier = std::sync::Barrier::new(2);
        let results: Vec<Result<_, StoreError>> = std::thread::scope(|threads| {
            let handles =
                [(&scope_a, bob.user_id()), (&scope_b, ada.user_id())].map(|(scope, target)| {
                    let (pool, barrier) = (&pool, &barrier);
                    threads.spawn(move || {
                        let mut conn = checkout(pool).unwrap();
                        barrier.wait();
                        change_member_role(
                            scope,
                            &mut conn,
                            &navi_tenancy::testing::audit_trail(),
                            target,
                            Role::Member,
                        )
                    })
                });
            handles.map(|h| h.join().unwrap()).into_iter().collect()
        });
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "round {round}: {results:?}");
        let owners = list_members(&scope_a, &mut checkout(&pool).unwrap())
            .unwrap()
            .into_iter()
            .filter(|m| m.role == Role::Owner)
            .count();
        assert_eq!(owners, 1, "round {round}");
    }
}

backend_tests!(
    users_are_found_by_email_case_insensitively,
    creating_an_org_makes_the_caller_its_owner,
    a_taken_explicit_slug_conflicts_and_a_derived_one_gets_a_suffix,
    org_context_comes_from_the_header_else_the_pin,
    roles_are_enforced_and_an_org_always_keeps_an_owner,
    another_orgs_members_are_not_found,
    two_owners_demoting_each_other_at_once_leave_one_owner,
);
