//! Audit logs on both backends: every configuration change and secret read appends its event in
//! the change's transaction, the chain verifies, raw-SQL tampering is named by its link, appends
//! never fork under concurrency, and no org sees another's events.

use diesel::prelude::*;
use navi_crypto::{Keyring, MacKeyring};
use navi_tenancy::api_keys::{
    create_api_key, create_api_key_privileged, revoke_api_key, rotate_api_key, NewApiKey, Pepper,
};
use navi_tenancy::audit::{
    list_audit_events, verify_chain, AuditFilter, AuditKeys, AuditRecord, AuditTrail, BrokenReason,
};
use navi_tenancy::encrypted_columns::{rotate_column, ENCRYPTED_COLUMNS};
use navi_tenancy::invites::{accept_invite, create_invite, revoke_invite};
use navi_tenancy::mcp_servers::{
    create_mcp_server, delete_mcp_server, read_mcp_server_secret, update_mcp_server, McpServerSpec,
    SecretChange,
};
use navi_tenancy::members::{change_member_role, remove_member};
use navi_tenancy::orgs::create_org;
use navi_tenancy::testing::{audit_keys, audit_trail, fixtures, TestDatabase};
use navi_tenancy::users::{find_or_create_user, verify_email};
use navi_tenancy::{
    backend_tests, checkout, DbConnection, DbPool, Email, OrgName, Principal, Privileged, Role,
    StoreError, TenantScope,
};
use serde_json::json;

struct World {
    _db: TestDatabase,
    pool: DbPool,
    privileged: Privileged,
    pepper: Pepper,
}

impl World {
    fn new(db: TestDatabase) -> World {
        World {
            pool: db.migrated_pool(),
            _db: db,
            privileged: Privileged::acquire("tests"),
            pepper: Pepper::from_base64(&Pepper::generate_base64()).unwrap(),
        }
    }

    fn conn(&self) -> navi_tenancy::PooledConnection {
        checkout(&self.pool).unwrap()
    }

    fn user(&self, email: &str) -> Principal {
        let user = find_or_create_user(
            &self.privileged,
            &mut self.conn(),
            &Email::parse(email).unwrap(),
        )
        .unwrap();
        self.privileged.act_as(&user.id)
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

    fn events(&self, scope: &TenantScope) -> Vec<AuditRecord> {
        let mut events =
            list_audit_events(scope, &mut self.conn(), &AuditFilter::default(), None, 1000)
                .unwrap();
        events.reverse();
        events
    }

    fn verify(&self, scope: &TenantScope) -> navi_tenancy::audit::ChainReport {
        verify_chain(scope, &mut self.conn(), &audit_keys(), None, None).unwrap()
    }
}

fn actions(events: &[AuditRecord]) -> Vec<&str> {
    events.iter().map(|event| event.action.as_str()).collect()
}

fn spec(name: &str) -> McpServerSpec {
    McpServerSpec::parse(name, "https://mcp.example.com/sse", "sse").unwrap()
}

fn object(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// `count` invites from `owner`, each an audited change.
fn invite_many(owner: &TenantScope, conn: &mut DbConnection, trail: &AuditTrail, count: usize) {
    for i in 0..count {
        create_invite(
            owner,
            conn,
            trail,
            &Email::parse(&format!("u{i}@example.com")).unwrap(),
            Role::Member,
        )
        .unwrap();
    }
}

fn every_change_appends_its_event_and_the_chain_verifies(db: TestDatabase) {
    let w = World::new(db);
    let trail = audit_trail();
    let keyring = audit_keys().keyring().clone();
    let ada = w.user("ada@example.com");
    let owner = w.org(&ada);
    let mut conn = w.conn();

    let (invite, _) = create_invite(
        &owner,
        &mut conn,
        &trail,
        &Email::parse("gone@example.com").unwrap(),
        Role::Member,
    )
    .unwrap();
    revoke_invite(&owner, &mut conn, &trail, &invite.id).unwrap();
    let (_, token) = create_invite(
        &owner,
        &mut conn,
        &trail,
        &Email::parse("bob@example.com").unwrap(),
        Role::Member,
    )
    .unwrap();
    let bob = verify_email(
        &w.privileged,
        &mut conn,
        &trail,
        &Email::parse("bob@example.com").unwrap(),
    )
    .unwrap();
    let bob = w.privileged.act_as(&bob.id);
    let joined = accept_invite(&w.privileged, &mut conn, &trail, token.expose(), &bob).unwrap();
    let bob_scope = bob.scope(&mut conn, Some(owner.org_id())).unwrap();
    let bobs_key = NewApiKey {
        name: "laptop",
        pinned: true,
        expires_in_days: None,
    };
    create_api_key(&bob_scope, &bob, &mut conn, &trail, &w.pepper, &bobs_key).unwrap();
    change_member_role(&owner, &mut conn, &trail, &joined.user_id, Role::Admin).unwrap();
    remove_member(&owner, &mut conn, &trail, &joined.user_id).unwrap();

    let new_key = NewApiKey {
        name: "ci",
        pinned: true,
        expires_in_days: None,
    };
    let (key, _) = create_api_key(&owner, &ada, &mut conn, &trail, &w.pepper, &new_key).unwrap();
    let (rotated, _) =
        rotate_api_key(&owner, &ada, &mut conn, &trail, &w.pepper, &key.id, 0).unwrap();
    revoke_api_key(&owner, &ada, &mut conn, &trail, &rotated.id).unwrap();

    let secret = object(json!({ "token": "s3cr3t-value" }));
    let server = create_mcp_server(
        &owner,
        &mut conn,
        &trail,
        &keyring,
        &spec("A"),
        Some(&secret),
    )
    .unwrap();
    update_mcp_server(
        &owner,
        &mut conn,
        &trail,
        &keyring,
        &server.id,
        &spec("B"),
        &SecretChange::Keep,
    )
    .unwrap();
    read_mcp_server_secret(&owner, &mut conn, &trail, &keyring, &server.id).unwrap();
    delete_mcp_server(&owner, &mut conn, &trail, &server.id).unwrap();

    let events = w.events(&owner);
    assert_eq!(
        actions(&events),
        [
            "org.create",
            "invite.create",
            "invite.revoke",
            "invite.create",
            "invite.accept",
            "api_key.create",
            "member.role_change",
            "member.remove",
            "api_key.revoke",
            "api_key.create",
            "api_key.rotate",
            "api_key.revoke",
            "mcp_server.create",
            "mcp_server.update",
            "mcp_server.secret_read",
            "mcp_server.delete",
        ]
    );
    let seqs: Vec<i64> = events.iter().map(|event| event.seq).collect();
    assert_eq!(seqs, (1..=16).collect::<Vec<i64>>());
    // Actor, target and address are recorded; the invite acceptance is the invitee's act.
    assert_eq!(events[0].actor_user_id.as_deref(), Some(ada.user_id()));
    assert_eq!(events[0].target_type, "org");
    assert_eq!(events[0].target_id.as_deref(), Some(owner.org_id()));
    assert_eq!(events[0].ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        events[4].actor_user_id.as_deref(),
        Some(joined.user_id.as_str())
    );
    assert_eq!(events[6].target_type, "member");
    assert_eq!(
        events[6].open_payload(&keyring).unwrap(),
        object(json!({ "from": "member", "to": "admin" }))
    );
    // The removed member's key pinned to the org (made after joining) goes with them.
    assert_eq!(events[8].target_id, events[5].target_id);
    assert_eq!(
        events[8].open_payload(&keyring).unwrap()["reason"],
        "member removed"
    );
    assert_eq!(events[13].open_payload(&keyring).unwrap()["secret"], "kept");
    // No payload carries a secret: not the MCP secret, an invite token or an API key.
    for event in &events {
        let payload = serde_json::Value::Object(event.open_payload(&keyring).unwrap()).to_string();
        assert!(!payload.contains("s3cr3t"), "{payload}");
        assert!(!payload.contains("navi_"), "{payload}");
        assert!(!payload.contains(token.expose()), "{payload}");
    }
    let report = w.verify(&owner);
    assert_eq!((report.checked, report.broken), (16, None));
}

fn a_change_that_fails_leaves_no_event(db: TestDatabase) {
    let w = World::new(db);
    let trail = audit_trail();
    let keyring = audit_keys().keyring().clone();
    let ada = w.user("ada@example.com");
    let owner = w.org(&ada);
    let mut conn = w.conn();
    create_mcp_server(&owner, &mut conn, &trail, &keyring, &spec("Same"), None).unwrap();
    let before = w.events(&owner).len();

    assert!(matches!(
        create_mcp_server(&owner, &mut conn, &trail, &keyring, &spec("Same"), None),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        change_member_role(&owner, &mut conn, &trail, ada.user_id(), Role::Member),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        revoke_invite(&owner, &mut conn, &trail, "inv_nosuch"),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        read_mcp_server_secret(&owner, &mut conn, &trail, &keyring, "mcp_nosuch"),
        Err(StoreError::NotFound)
    ));
    assert_eq!(w.events(&owner).len(), before);

    // And a change whose event cannot be written does not happen: a head at the largest seq
    // leaves no next number, so the append fails and the change rolls back with it.
    let sql = format!(
        "INSERT INTO navi_audit_logs (id, org_id, seq, action, target_type, created_at, \
         chain_key_id, link) VALUES ('aud_blocker', '{}', {}, 'x.y', 'x', \
         '2026-01-01 00:00:00', 'k', X'00')",
        owner.org_id(),
        i64::MAX
    );
    let sql = match &*conn {
        DbConnection::Postgresql(_) => sql.replace("X'00'", "'\\x00'::bytea"),
        DbConnection::Sqlite(_) => sql,
    };
    diesel::sql_query(sql).execute(&mut conn).unwrap();
    assert!(create_mcp_server(&owner, &mut conn, &trail, &keyring, &spec("New"), None).is_err());
    let names: Vec<String> = navi_tenancy::mcp_servers::list_mcp_servers(&owner, &mut conn)
        .unwrap()
        .into_iter()
        .map(|server| server.name)
        .collect();
    assert_eq!(
        names,
        ["Same"],
        "the server was not created without its event"
    );
}

fn raw_sql_tampering_is_named_by_its_link(db: TestDatabase) {
    let w = World::new(db);
    let trail = audit_trail();
    let ada = w.user("ada@example.com");
    let owner = w.org(&ada);
    let mut conn = w.conn();
    invite_many(&owner, &mut conn, &trail, 5);
    assert_eq!(w.verify(&owner).broken, None);
    let events = w.events(&owner);
    let exec = |conn: &mut DbConnection, sql: String| {
        diesel::sql_query(sql).execute(conn).unwrap();
    };
    let broken_at = |w: &World| {
        let broken = w.verify(&owner).broken.expect("verify finds the break");
        (broken.seq, broken.reason)
    };

    // A field.
    exec(
        &mut conn,
        format!(
            "UPDATE navi_audit_logs SET actor_user_id = 'usr_someoneelse' WHERE id = '{}'",
            events[2].id
        ),
    );
    assert_eq!(broken_at(&w), (3, BrokenReason::LinkMismatch));
    exec(
        &mut conn,
        format!(
            "UPDATE navi_audit_logs SET actor_user_id = '{}' WHERE id = '{}'",
            ada.user_id(),
            events[2].id
        ),
    );
    assert_eq!(
        w.verify(&owner).broken,
        None,
        "restoring the field heals it"
    );

    // The ciphertext: another row's payload copied in does not open here.
    exec(
        &mut conn,
        format!(
            "UPDATE navi_audit_logs SET payload = (SELECT payload FROM navi_audit_logs \
             WHERE id = '{}') WHERE id = '{}'",
            events[1].id, events[3].id
        ),
    );
    assert_eq!(broken_at(&w), (4, BrokenReason::PayloadUnreadable));
    exec(
        &mut conn,
        format!("DELETE FROM navi_audit_logs WHERE id = '{}'", events[3].id),
    );
    // A deleted row: the next one is named.
    assert_eq!(broken_at(&w), (5, BrokenReason::MissingRow));
    // A later range is widened by the event before it, whose own predecessor is the gap.
    let from = events[5].created_at;
    let later = verify_chain(&owner, &mut conn, &audit_keys(), Some(from), None).unwrap();
    let broken = later.broken.expect("the gap before the range is seen");
    assert_eq!((broken.seq, broken.reason), (5, BrokenReason::MissingRow));
}

fn the_database_refuses_rows_out_of_sequence(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let owner = w.org(&ada);
    let mut conn = w.conn();
    // A row below every real seq (which could make a range start before the chain), or one
    // repeating a seq (which could fork it), is refused by the schema itself; verify_chain
    // also names such rows, should the constraints ever be dropped.
    for (id, seq) in [("aud_zero", 0), ("aud_min", i64::MIN), ("aud_again", 1)] {
        let sql = format!(
            "INSERT INTO navi_audit_logs (id, org_id, seq, action, target_type, created_at, \
             chain_key_id, link) VALUES ('{id}', '{}', {seq}, 'org.create', 'org', \
             '2999-01-01 00:00:00', 'k', X'00')",
            owner.org_id()
        );
        let sql = match &*conn {
            DbConnection::Postgresql(_) => sql.replace("X'00'", "'\\x00'::bytea"),
            DbConnection::Sqlite(_) => sql,
        };
        assert!(
            diesel::sql_query(sql).execute(&mut conn).is_err(),
            "seq {seq} was accepted"
        );
    }
    assert_eq!(w.verify(&owner).broken, None);
}

fn an_event_moved_out_of_a_range_still_breaks_a_checked_link(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let owner = w.org(&ada);
    let mut conn = w.conn();
    invite_many(&owner, &mut conn, &audit_trail(), 5);
    let events = w.events(&owner);
    let (third, fourth, fifth) = (&events[2], &events[3], &events[4]);
    let to = fourth.created_at + chrono::TimeDelta::microseconds(1);
    let clean = verify_chain(&owner, &mut conn, &audit_keys(), None, Some(to)).unwrap();
    assert_eq!(
        (clean.checked, clean.broken),
        (5, None),
        "4 in range and the one after"
    );
    let redate = |id: &str, at: &str| {
        diesel::sql_query(format!(
            "UPDATE navi_audit_logs SET created_at = '{at}' WHERE id = '{id}'"
        ))
        .execute(&mut w.conn())
        .unwrap();
    };
    // The range's last event re-dated past `to`: the range ends earlier, but the event that ends
    // it is checked.
    redate(&fourth.id, "2999-01-01 00:00:00");
    let report = verify_chain(&owner, &mut conn, &audit_keys(), None, Some(to)).unwrap();
    let broken = report.broken.expect("the re-dated event is named");
    assert_eq!((broken.seq, broken.reason), (4, BrokenReason::LinkMismatch));
    redate(
        &fourth.id,
        &fourth
            .created_at
            .format("%Y-%m-%d %H:%M:%S%.6f")
            .to_string(),
    );
    assert_eq!(w.verify(&owner).broken, None, "restored");
    // The range's first event re-dated before `from`: the range starts later, but the event
    // before it is checked too.
    redate(&third.id, "2000-01-01 00:00:00");
    let from = Some(third.created_at);
    let report = verify_chain(&owner, &mut conn, &audit_keys(), from, None).unwrap();
    let broken = report.broken.expect("the re-dated event is named");
    assert_eq!((broken.seq, broken.reason), (3, BrokenReason::LinkMismatch));
    let _ = fifth;
}

fn the_chain_cannot_be_recomputed_without_the_chain_key(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let owner = w.org(&ada);
    let mut conn = w.conn();
    invite_many(&owner, &mut conn, &audit_trail(), 3);
    let keys = audit_keys();
    let primary = keys.chain().primary_key_id().as_str().to_owned();
    // Someone with the database and the code, but not the chain key, alters an event and
    // recomputes every link with a key of their own under the same id.
    let forged_chain = MacKeyring::parse(&format!("{primary}:{}", "A".repeat(43) + "=")).unwrap();
    let forger = AuditKeys::new(keys.keyring().clone(), forged_chain);
    let second = &w.events(&owner)[1];
    diesel::sql_query(format!(
        "UPDATE navi_audit_logs SET actor_user_id = 'usr_scapegoat' WHERE id = '{}'",
        second.id
    ))
    .execute(&mut conn)
    .unwrap();
    navi_tenancy::audit::relink_for_tests(&owner, &mut conn, &forger).unwrap();
    let to_the_forger = verify_chain(&owner, &mut conn, &forger, None, None).unwrap();
    assert_eq!(
        to_the_forger.broken, None,
        "the forged chain is self-consistent"
    );
    let report = verify_chain(&owner, &mut conn, &keys, None, None).unwrap();
    let broken = report.broken.expect("the real key sees through it");
    assert_eq!((broken.seq, broken.reason), (1, BrokenReason::LinkMismatch));
    // A ring without the row's key says so.
    let stranger = AuditKeys::new(
        keys.keyring().clone(),
        MacKeyring::derive("other", b"x", "audit").unwrap(),
    );
    let report = verify_chain(&owner, &mut conn, &stranger, None, None).unwrap();
    assert_eq!(report.broken.unwrap().reason, BrokenReason::UnknownChainKey);
}

fn key_rotation_reseals_payloads_and_leaves_the_chain_intact(db: TestDatabase) {
    let w = World::new(db);
    let old = Keyring::generate().unwrap();
    let trail = navi_tenancy::testing::audit_trail_sealing_with(old.clone());
    let ada = w.user("ada@example.com");
    let owner = create_org(
        &ada,
        &mut w.conn(),
        &trail,
        &OrgName::parse("Acme").unwrap(),
        None,
    )
    .unwrap()
    .1;
    invite_many(&owner, &mut w.conn(), &trail, 3);
    let new = old.with_new_primary(&Keyring::generate().unwrap()).unwrap();
    let column = ENCRYPTED_COLUMNS
        .iter()
        .find(|column| column.table == "navi_audit_logs" && column.column == "payload")
        .expect("the audit payload is a registered encrypted column");
    let rotated =
        rotate_column(&w.privileged, &mut w.conn(), &new, column, 2, false, |_| {}).unwrap();
    assert_eq!(rotated.resealed, 4);
    let only_new = new.without_key(old.primary_key_id().as_str()).unwrap();
    let keys = AuditKeys::new(only_new.clone(), audit_keys().chain().clone());
    let report = verify_chain(&owner, &mut w.conn(), &keys, None, None).unwrap();
    assert_eq!((report.checked, report.broken), (4, None));
    let events =
        list_audit_events(&owner, &mut w.conn(), &AuditFilter::default(), None, 10).unwrap();
    assert!(events
        .iter()
        .all(|event| event.open_payload(&only_new).is_ok()));
}

fn concurrent_changes_in_one_org_leave_an_unbroken_chain(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let owner = w.org(&ada);
    let keyring = audit_keys().keyring().clone();
    std::thread::scope(|threads| {
        for i in 0..50 {
            let (owner, keyring, pool) = (owner.clone(), keyring.clone(), w.pool.clone());
            threads.spawn(move || {
                let mut conn = checkout(&pool).unwrap();
                create_mcp_server(
                    &owner,
                    &mut conn,
                    &audit_trail(),
                    &keyring,
                    &spec(&format!("server {i}")),
                    None,
                )
                .unwrap();
            });
        }
    });
    let events = w.events(&owner);
    assert_eq!(events.len(), 51);
    let seqs: Vec<i64> = events.iter().map(|event| event.seq).collect();
    assert_eq!(seqs, (1..=51).collect::<Vec<i64>>());
    let report = w.verify(&owner);
    assert_eq!((report.checked, report.broken), (51, None));
}

fn events_stay_in_their_org_and_need_admin(db: TestDatabase) {
    let w = World::new(db);
    let trail = audit_trail();
    let ada = w.user("ada@example.com");
    let eve = w.user("eve@example.com");
    let adas = w.org(&ada);
    let eves = w.org(&eve);
    let mut conn = w.conn();
    create_invite(
        &adas,
        &mut conn,
        &trail,
        &Email::parse("x@example.com").unwrap(),
        Role::Member,
    )
    .unwrap();
    let eves_events = w.events(&eves);
    assert_eq!(actions(&eves_events), ["org.create"]);
    assert!(eves_events
        .iter()
        .all(|event| event.org_id == eves.org_id()));
    assert_eq!(w.verify(&eves).checked, 1);

    let bob = w.user("bob@example.com");
    fixtures::add_member(&mut conn, adas.org_id(), bob.user_id(), Role::Member);
    let member = TenantScope::for_tests(adas.org_id(), bob.user_id(), Role::Member);
    assert!(matches!(
        list_audit_events(&member, &mut conn, &AuditFilter::default(), None, 10),
        Err(StoreError::Forbidden)
    ));
    assert!(matches!(
        verify_chain(&member, &mut conn, &audit_keys(), None, None),
        Err(StoreError::Forbidden)
    ));
}

fn filters_and_keyset_pages_cover_every_event_once(db: TestDatabase) {
    let w = World::new(db);
    let trail = audit_trail();
    let ada = w.user("ada@example.com");
    let owner = w.org(&ada);
    let mut conn = w.conn();
    invite_many(&owner, &mut conn, &trail, 7);
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page =
            list_audit_events(&owner, &mut conn, &AuditFilter::default(), cursor, 3).unwrap();
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(|event| event.seq);
        seen.extend(page.into_iter().map(|event| event.seq));
    }
    assert_eq!(seen, (1..=8).rev().collect::<Vec<i64>>());

    let only = |filter: AuditFilter| {
        list_audit_events(&owner, &mut w.conn(), &filter, None, 100)
            .unwrap()
            .len()
    };
    let invites = AuditFilter {
        action: Some(navi_tenancy::audit::AuditAction::InviteCreate),
        ..AuditFilter::default()
    };
    assert_eq!(only(invites), 7);
    let by_someone_else = AuditFilter {
        actor_user_id: Some("usr_nobody".to_owned()),
        ..AuditFilter::default()
    };
    assert_eq!(only(by_someone_else), 0);
    let events = w.events(&owner);
    let from_fourth = AuditFilter {
        from: Some(events[3].created_at),
        ..AuditFilter::default()
    };
    assert_eq!(only(from_fourth), 5);
    let before_all = AuditFilter {
        to: Some(events[0].created_at),
        ..AuditFilter::default()
    };
    assert_eq!(only(before_all), 0);
    assert!(matches!(
        list_audit_events(&owner, &mut conn, &AuditFilter::default(), None, 1001),
        Err(StoreError::Invalid(_))
    ));
}

fn a_key_made_outside_every_org_is_not_audited_anywhere(db: TestDatabase) {
    let w = World::new(db);
    let ada = w.user("ada@example.com");
    let owner = w.org(&ada);
    let before = w.events(&owner).len();
    create_api_key_privileged(
        &w.privileged,
        &mut w.conn(),
        &audit_trail(),
        None,
        &w.pepper,
        ada.user_id(),
        None,
        "personal",
    )
    .unwrap();
    assert_eq!(w.events(&owner).len(), before);
}

/// The trail type is what repository functions require: this is here to fail the build if it
/// stops being public and cloneable.
fn _trail_is_cloneable(trail: &AuditTrail) -> AuditTrail {
    trail.clone()
}

backend_tests!(
    every_change_appends_its_event_and_the_chain_verifies,
    a_change_that_fails_leaves_no_event,
    raw_sql_tampering_is_named_by_its_link,
    the_database_refuses_rows_out_of_sequence,
    an_event_moved_out_of_a_range_still_breaks_a_checked_link,
    the_chain_cannot_be_recomputed_without_the_chain_key,
    key_rotation_reseals_payloads_and_leaves_the_chain_intact,
    concurrent_changes_in_one_org_leave_an_unbroken_chain,
    events_stay_in_their_org_and_need_admin,
    filters_and_keyset_pages_cover_every_event_once,
    a_key_made_outside_every_org_is_not_audited_anywhere,
);
