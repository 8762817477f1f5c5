//! MCP servers on both backends: the repository, its tenancy and role rules, secrets that never
//! reach the database in plaintext, and key rotation over the registry of encrypted columns.

use navi_crypto::{Keyring, StoredValue};
use navi_tenancy::encrypted_columns::{
    key_usage, read_cells, reseal_cells, rotate_batch, rotate_column, EncryptedColumn,
    RotationBatch, ENCRYPTED_COLUMNS,
};
use navi_tenancy::mcp_servers::{
    create_mcp_server, delete_mcp_server, find_mcp_server, list_mcp_servers,
    read_mcp_server_secret, update_mcp_server, McpSecret, McpServerSpec, SecretChange, Transport,
};
use navi_tenancy::testing::{fixtures, TestDatabase};
use navi_tenancy::{
    backend_tests, checkout, DbPool, PooledConnection, Privileged, Role, StoreError, TenantScope,
};
use serde_json::json;

fn keyring(id: &str, fill: u8) -> Keyring {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode([fill; 32]);
    Keyring::parse(&format!("{id}:{key}")).unwrap()
}

fn secret(value: serde_json::Value) -> McpSecret {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn spec(name: &str) -> McpServerSpec {
    McpServerSpec::parse(name, "https://mcp.example.com/sse", "sse").unwrap()
}

fn column() -> &'static EncryptedColumn {
    ENCRYPTED_COLUMNS
        .iter()
        .find(|c| c.table == "navi_mcp_servers" && c.column == "secret")
        .expect("the MCP secret column is registered")
}

struct World {
    db: TestDatabase,
    pool: DbPool,
    conn: PooledConnection,
    admin: TenantScope,
    member: TenantScope,
    other_org_admin: TenantScope,
}

impl World {
    fn new(db: TestDatabase) -> World {
        use navi_tenancy::users::find_or_create_user;
        let pool = db.migrated_pool();
        let mut conn = checkout(&pool).unwrap();
        let privileged = Privileged::acquire("tests");
        let mut org = |email: &str| {
            let user = find_or_create_user(
                &privileged,
                &mut conn,
                &navi_tenancy::Email::parse(email).unwrap(),
            )
            .unwrap();
            let principal = privileged.act_as(&user.id);
            let (org, scope) = navi_tenancy::orgs::create_org(
                &principal,
                &mut conn,
                &navi_tenancy::testing::audit_trail(),
                &navi_tenancy::OrgName::parse("Org").unwrap(),
                None,
            )
            .unwrap();
            (org.id, scope)
        };
        let (org_id, admin) = org("ada@example.com");
        let (_, other_org_admin) = org("eve@example.com");
        let member_user = find_or_create_user(
            &privileged,
            &mut conn,
            &navi_tenancy::Email::parse("bob@example.com").unwrap(),
        )
        .unwrap();
        fixtures::add_member(&mut conn, &org_id, &member_user.id, Role::Member);
        let member = TenantScope::for_tests(&org_id, &member_user.id, Role::Member);
        World {
            db,
            pool,
            conn,
            admin,
            member,
            other_org_admin,
        }
    }
}

fn rotate_all(
    conn: &mut navi_tenancy::DbConnection,
    keyring: &Keyring,
    batch_size: i64,
    seal_plaintext: bool,
) -> RotationBatch {
    let mut batches = 0;
    let total = rotate_column(
        &Privileged::acquire("tests"),
        conn,
        keyring,
        column(),
        batch_size,
        seal_plaintext,
        |_| batches += 1,
    )
    .unwrap();
    assert!(total.read == 0 || batches > 0, "progress is reported");
    total
}

fn usage(conn: &mut navi_tenancy::DbConnection) -> navi_tenancy::encrypted_columns::ColumnKeyUsage {
    key_usage(&Privileged::acquire("tests"), conn, column(), 7).unwrap()
}

fn servers_round_trip_with_sealed_secrets(db: TestDatabase) {
    let mut w = World::new(db);
    let keys = keyring("ka", 1);
    let created = create_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &spec("Search"),
        Some(&secret(
            json!({"token": "sk-round-trip", "nested": {"n": 1}}),
        )),
    )
    .unwrap();
    assert!(created.id.starts_with("mcp_"));
    assert!(created.has_secret);
    assert_eq!(created.transport, Transport::Sse);
    assert_eq!(
        find_mcp_server(&w.member, &mut w.conn, &created.id).unwrap(),
        created
    );
    let plain = create_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &McpServerSpec::parse("Local tool", "npx -y @acme/mcp --port 3", "stdio").unwrap(),
        None,
    )
    .unwrap();
    assert!(!plain.has_secret);
    let listed = list_mcp_servers(&w.member, &mut w.conn).unwrap();
    assert_eq!(
        listed,
        vec![plain.clone(), created.clone()],
        "ordered by name"
    );

    let opened = read_mcp_server_secret(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &created.id,
    )
    .unwrap();
    assert_eq!(
        opened,
        Some(secret(
            json!({"token": "sk-round-trip", "nested": {"n": 1}})
        ))
    );
    assert_eq!(
        read_mcp_server_secret(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &plain.id
        )
        .unwrap(),
        None
    );

    // Absent keeps the secret; a new value replaces it; null clears it.
    let renamed = update_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &created.id,
        &spec("Search 2"),
        &SecretChange::Keep,
    )
    .unwrap();
    assert_eq!(renamed.name, "Search 2");
    assert!(renamed.has_secret);
    assert!(renamed.updated_at >= created.updated_at);
    assert_eq!(
        read_mcp_server_secret(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &created.id
        )
        .unwrap()
        .unwrap()["token"],
        "sk-round-trip"
    );
    update_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &created.id,
        &spec("Search 2"),
        &SecretChange::Set(secret(json!({"token": "sk-new"}))),
    )
    .unwrap();
    assert_eq!(
        read_mcp_server_secret(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &created.id
        )
        .unwrap()
        .unwrap()["token"],
        "sk-new"
    );
    let cleared = update_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &created.id,
        &spec("Search 2"),
        &SecretChange::Clear,
    )
    .unwrap();
    assert!(!cleared.has_secret);
    assert_eq!(
        read_mcp_server_secret(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &created.id
        )
        .unwrap(),
        None
    );

    delete_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail(),
        &created.id,
    )
    .unwrap();
    assert!(matches!(
        find_mcp_server(&w.admin, &mut w.conn, &created.id),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        delete_mcp_server(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail(),
            &created.id
        ),
        Err(StoreError::NotFound)
    ));
}

fn names_are_unique_per_org_only(db: TestDatabase) {
    let mut w = World::new(db);
    let keys = keyring("ka", 1);
    let first = create_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &spec("Same"),
        None,
    )
    .unwrap();
    assert!(matches!(
        create_mcp_server(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &spec("Same"),
            None
        ),
        Err(StoreError::Conflict(_))
    ));
    create_mcp_server(
        &w.other_org_admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &spec("Same"),
        None,
    )
    .unwrap();
    let second = create_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &spec("Other"),
        None,
    )
    .unwrap();
    assert!(matches!(
        update_mcp_server(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &second.id,
            &spec("Same"),
            &SecretChange::Keep
        ),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        find_mcp_server(&w.admin, &mut w.conn, &first.id)
            .unwrap()
            .name,
        "Same"
    );
}

fn members_read_but_only_admins_write_or_open_secrets(db: TestDatabase) {
    let mut w = World::new(db);
    let keys = keyring("ka", 1);
    let server = create_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &spec("S"),
        Some(&secret(json!({"k": "v"}))),
    )
    .unwrap();
    assert!(matches!(
        create_mcp_server(
            &w.member,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &spec("M"),
            None
        ),
        Err(StoreError::Forbidden)
    ));
    assert!(matches!(
        update_mcp_server(
            &w.member,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &server.id,
            &spec("M"),
            &SecretChange::Clear
        ),
        Err(StoreError::Forbidden)
    ));
    assert!(matches!(
        delete_mcp_server(
            &w.member,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail(),
            &server.id
        ),
        Err(StoreError::Forbidden)
    ));
    assert!(matches!(
        read_mcp_server_secret(
            &w.member,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &server.id
        ),
        Err(StoreError::Forbidden)
    ));
    assert_eq!(list_mcp_servers(&w.member, &mut w.conn).unwrap().len(), 1);
    assert!(
        find_mcp_server(&w.admin, &mut w.conn, &server.id)
            .unwrap()
            .has_secret
    );
}

fn another_orgs_server_does_not_exist(db: TestDatabase) {
    let mut w = World::new(db);
    let keys = keyring("ka", 1);
    let server = create_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &spec("S"),
        Some(&secret(json!({"k": "v"}))),
    )
    .unwrap();
    let eve = w.other_org_admin.clone();
    assert!(list_mcp_servers(&eve, &mut w.conn).unwrap().is_empty());
    assert!(matches!(
        find_mcp_server(&eve, &mut w.conn, &server.id),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        update_mcp_server(
            &eve,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &server.id,
            &spec("Mine"),
            &SecretChange::Set(secret(json!({"k": "eve"})))
        ),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        read_mcp_server_secret(
            &eve,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &server.id
        ),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        delete_mcp_server(
            &eve,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail(),
            &server.id
        ),
        Err(StoreError::NotFound)
    ));
    let intact = find_mcp_server(&w.admin, &mut w.conn, &server.id).unwrap();
    assert_eq!(intact.name, "S");
    assert_eq!(
        read_mcp_server_secret(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &server.id
        )
        .unwrap()
        .unwrap()["k"],
        "v"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let found = |n: &[u8]| haystack.windows(n.len()).any(|w| w == n);
    found(needle.as_bytes()) || found(hex(needle.as_bytes()).as_bytes())
}

fn a_raw_scan_of_the_database_finds_no_secret(db: TestDatabase) {
    let mut w = World::new(db);
    let keys = keyring("ka", 1);
    let secrets = [
        "sk-live-7f3a9c1e5b",
        "hunter2-correct-horse",
        "ghp_0123456789abcdefXYZ",
    ];
    let mut ids = Vec::new();
    for (i, value) in secrets.iter().enumerate() {
        let server = create_mcp_server(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &spec(&format!("S{i}")),
            Some(&secret(json!({"token": value}))),
        )
        .unwrap();
        ids.push(server.id);
    }
    update_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &ids[0],
        &spec("S0"),
        &SecretChange::Set(secret(json!({"token": "rotated-secret-value-1"}))),
    )
    .unwrap();
    let raw = w.db.raw_contents(&mut w.conn);
    assert!(contains(&raw, "S0"), "the scan sees the rows");
    for value in secrets.iter().chain(["rotated-secret-value-1"].iter()) {
        assert!(!contains(&raw, value), "{value} found in the raw database");
    }
    // The scan would find a secret written around the repository.
    fixtures::write_raw_mcp_secret(&mut w.conn, &ids[1], br#"{"token":"plaintext-canary-42"}"#);
    assert!(contains(
        &w.db.raw_contents(&mut w.conn),
        "plaintext-canary-42"
    ));
}

fn a_plaintext_secret_is_refused_on_read_and_other_servers_still_work(db: TestDatabase) {
    let mut w = World::new(db);
    let keys = keyring("ka", 1);
    let bad = create_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &spec("Bad"),
        Some(&secret(json!({"k": 1}))),
    )
    .unwrap();
    let good = create_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &spec("Good"),
        Some(&secret(json!({"k": 2}))),
    )
    .unwrap();
    fixtures::write_raw_mcp_secret(&mut w.conn, &bad.id, br#"{"k":"plaintext"}"#);
    match read_mcp_server_secret(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &bad.id,
    ) {
        Err(StoreError::SecretUnreadable(message)) => {
            assert!(
                message.contains("not a navi-crypto ciphertext"),
                "{message}"
            );
            assert!(!message.contains("plaintext\""), "{message}");
        }
        other => panic!("expected SecretUnreadable, got {other:?}"),
    }
    assert_eq!(list_mcp_servers(&w.admin, &mut w.conn).unwrap().len(), 2);
    assert!(
        find_mcp_server(&w.admin, &mut w.conn, &bad.id)
            .unwrap()
            .has_secret
    );
    assert_eq!(
        read_mcp_server_secret(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &good.id
        )
        .unwrap()
        .unwrap()["k"],
        2
    );
    // Setting a new secret repairs the row.
    update_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &bad.id,
        &spec("Bad"),
        &SecretChange::Set(secret(json!({"k": 3}))),
    )
    .unwrap();
    assert_eq!(
        read_mcp_server_secret(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &bad.id
        )
        .unwrap()
        .unwrap()["k"],
        3
    );
}

fn a_ciphertext_moved_to_another_row_or_org_does_not_open(db: TestDatabase) {
    let mut w = World::new(db);
    let keys = keyring("ka", 1);
    let a = create_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &spec("A"),
        Some(&secret(json!({"k": "a"}))),
    )
    .unwrap();
    let b = create_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &spec("B"),
        Some(&secret(json!({"k": "b"}))),
    )
    .unwrap();
    let eve = w.other_org_admin.clone();
    let e = create_mcp_server(
        &eve,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &spec("E"),
        Some(&secret(json!({"k": "e"}))),
    )
    .unwrap();
    let cells = read_cells(
        &Privileged::acquire("tests"),
        &mut w.conn,
        column(),
        "",
        100,
    )
    .unwrap();
    let stored_a = match &cells.iter().find(|c| c.row_id == a.id).unwrap().value {
        StoredValue::Ciphertext(ciphertext) => ciphertext.as_bytes().to_vec(),
        other => panic!("{other:?}"),
    };
    fixtures::write_raw_mcp_secret(&mut w.conn, &b.id, &stored_a);
    fixtures::write_raw_mcp_secret(&mut w.conn, &e.id, &stored_a);
    for (scope, id) in [(&w.admin.clone(), &b.id), (&eve, &e.id)] {
        match read_mcp_server_secret(
            scope,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            id,
        ) {
            Err(StoreError::SecretUnreadable(message)) => {
                assert!(message.contains("did not open"), "{message}")
            }
            other => panic!("expected SecretUnreadable, got {other:?}"),
        }
    }
    assert_eq!(
        read_mcp_server_secret(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &a.id
        )
        .unwrap()
        .unwrap()["k"],
        "a"
    );
}

fn an_unknown_key_id_is_named(db: TestDatabase) {
    let mut w = World::new(db);
    let server = create_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keyring("kold", 1).clone()),
        &keyring("kold", 1),
        &spec("S"),
        Some(&secret(json!({"k": 1}))),
    )
    .unwrap();
    match read_mcp_server_secret(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keyring("knew", 2).clone()),
        &keyring("knew", 2),
        &server.id,
    ) {
        Err(StoreError::SecretUnreadable(message)) => {
            assert!(message.contains("`kold`"), "{message}")
        }
        other => panic!("expected SecretUnreadable, got {other:?}"),
    }
}

fn rotation_moves_every_row_to_the_new_primary_while_writes_continue(db: TestDatabase) {
    let mut w = World::new(db);
    let old = keyring("ka", 1);
    let mut ids = Vec::new();
    for i in 0..40 {
        let server = create_mcp_server(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(old.clone()),
            &old,
            &spec(&format!("S{i:02}")),
            Some(&secret(json!({"n": i}))),
        )
        .unwrap();
        ids.push(server.id);
    }
    assert_eq!(
        usage(&mut w.conn).rows_per_key,
        [("ka".to_owned(), 40)].into()
    );
    let both = old.with_new_primary(&keyring("kb", 2)).unwrap();

    // Servers already on the new keyring keep writing while the rotation runs.
    let writer = {
        let pool = w.pool.clone();
        let admin = w.admin.clone();
        let both = both.clone();
        let ids = ids.clone();
        std::thread::spawn(move || {
            let mut conn = checkout(&pool).unwrap();
            for (round, id) in ids.iter().enumerate().step_by(3) {
                let name = format!("S{:02}", ids.iter().position(|x| x == id).unwrap());
                update_mcp_server(
                    &admin,
                    &mut conn,
                    &navi_tenancy::testing::audit_trail_sealing_with(both.clone()),
                    &both,
                    id,
                    &spec(&name),
                    &SecretChange::Set(secret(json!({"n": 1000 + round}))),
                )
                .unwrap();
            }
        })
    };
    let rotated = rotate_all(&mut w.conn, &both, 6, false);
    writer.join().unwrap();
    assert!(rotated.read >= 40);
    assert!(rotated.unopenable.is_empty() && rotated.not_ciphertext.is_empty());
    let rerun = rotate_all(&mut w.conn, &both, 6, false);
    assert_eq!(
        rerun.resealed, 0,
        "everything was on the primary after one pass and the writes"
    );
    assert_eq!(rerun.already_primary, 40);

    assert_eq!(
        usage(&mut w.conn).rows_per_key,
        [("kb".to_owned(), 40)].into()
    );
    let only_new = both.without_key("ka").unwrap();
    for (i, id) in ids.iter().enumerate() {
        let value = read_mcp_server_secret(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(only_new.clone()),
            &only_new,
            id,
        )
        .unwrap()
        .unwrap();
        let expected = if i % 3 == 0 { 1000 + i } else { i };
        assert_eq!(value["n"], expected, "server {i}");
    }
}

fn an_interrupted_rotation_resumes(db: TestDatabase) {
    let mut w = World::new(db);
    let old = keyring("ka", 1);
    for i in 0..12 {
        create_mcp_server(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(old.clone()),
            &old,
            &spec(&format!("S{i:02}")),
            Some(&secret(json!({"n": i}))),
        )
        .unwrap();
    }
    let both = old.with_new_primary(&keyring("kb", 2)).unwrap();
    let privileged = Privileged::acquire("tests");
    let first = rotate_batch(&privileged, &mut w.conn, &both, column(), "", 5, false).unwrap();
    assert_eq!(first.resealed, 5);
    // Stopped here. Usage shows the split; a rerun from the start finishes the job.
    assert_eq!(
        usage(&mut w.conn).rows_per_key,
        [("ka".to_owned(), 7), ("kb".to_owned(), 5)].into()
    );
    let rerun = rotate_all(&mut w.conn, &both, 5, false);
    assert_eq!((rerun.resealed, rerun.already_primary), (7, 5));
    assert_eq!(
        usage(&mut w.conn).rows_per_key,
        [("kb".to_owned(), 12)].into()
    );
}

fn a_row_written_between_read_and_write_back_is_not_overwritten(db: TestDatabase) {
    let mut w = World::new(db);
    let old = keyring("ka", 1);
    let server = create_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(old.clone()),
        &old,
        &spec("S"),
        Some(&secret(json!({"v": "before"}))),
    )
    .unwrap();
    let both = old.with_new_primary(&keyring("kb", 2)).unwrap();
    let privileged = Privileged::acquire("tests");
    let cells = read_cells(&privileged, &mut w.conn, column(), "", 10).unwrap();
    // A server still on the old keyring writes a new secret meanwhile.
    update_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(old.clone()),
        &old,
        &server.id,
        &spec("S"),
        &SecretChange::Set(secret(json!({"v": "after"}))),
    )
    .unwrap();
    let batch = reseal_cells(&privileged, &mut w.conn, &both, column(), &cells, false).unwrap();
    assert_eq!((batch.resealed, batch.changed_meanwhile), (0, 1));
    assert_eq!(
        read_mcp_server_secret(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(both.clone()),
            &both,
            &server.id
        )
        .unwrap()
        .unwrap()["v"],
        "after"
    );
    // The next pass rotates the new value.
    assert_eq!(rotate_all(&mut w.conn, &both, 10, false).resealed, 1);
    assert_eq!(
        usage(&mut w.conn).rows_per_key,
        [("kb".to_owned(), 1)].into()
    );
}

fn legacy_plaintext_is_reported_and_sealed_on_request(db: TestDatabase) {
    let mut w = World::new(db);
    let keys = keyring("ka", 1);
    let legacy = create_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &spec("Legacy"),
        Some(&secret(json!({"k": 0}))),
    )
    .unwrap();
    create_mcp_server(
        &w.admin,
        &mut w.conn,
        &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
        &keys,
        &spec("Fine"),
        Some(&secret(json!({"k": 1}))),
    )
    .unwrap();
    fixtures::write_raw_mcp_secret(&mut w.conn, &legacy.id, br#"{"token":"imported"}"#);
    let found = usage(&mut w.conn);
    assert_eq!(found.not_ciphertext, vec![legacy.id.clone()]);
    assert_eq!(found.rows_per_key, [("ka".to_owned(), 1)].into());
    assert_eq!(found.total(), 2);

    let report = rotate_all(&mut w.conn, &keys, 10, false);
    assert_eq!(report.not_ciphertext, vec![legacy.id.clone()]);
    assert_eq!(report.sealed_plaintext, 0);
    let sealed = rotate_all(&mut w.conn, &keys, 10, true);
    assert_eq!(sealed.sealed_plaintext, 1);
    assert!(usage(&mut w.conn).not_ciphertext.is_empty());
    assert_eq!(
        read_mcp_server_secret(
            &w.admin,
            &mut w.conn,
            &navi_tenancy::testing::audit_trail_sealing_with(keys.clone()),
            &keys,
            &legacy.id
        )
        .unwrap()
        .unwrap()["token"],
        "imported"
    );
}

backend_tests!(
    servers_round_trip_with_sealed_secrets,
    names_are_unique_per_org_only,
    members_read_but_only_admins_write_or_open_secrets,
    another_orgs_server_does_not_exist,
    a_raw_scan_of_the_database_finds_no_secret,
    a_plaintext_secret_is_refused_on_read_and_other_servers_still_work,
    a_ciphertext_moved_to_another_row_or_org_does_not_open,
    an_unknown_key_id_is_named,
    rotation_moves_every_row_to_the_new_primary_while_writes_continue,
    an_interrupted_rotation_resumes,
    a_row_written_between_read_and_write_back_is_not_overwritten,
    legacy_plaintext_is_reported_and_sealed_on_request,
);

#[test]
fn specs_are_validated_naming_the_field() {
    let invalid =
        |name: &str, url: &str, transport: &str| match McpServerSpec::parse(name, url, transport) {
            Err(StoreError::Invalid(message)) => message,
            other => panic!("{name:?} {url:?} {transport:?} accepted: {other:?}"),
        };
    assert!(invalid("", "https://x.example", "http").starts_with("name:"));
    assert!(invalid(" padded", "https://x.example", "http").starts_with("name:"));
    assert!(invalid(&"n".repeat(101), "https://x.example", "http").starts_with("name:"));
    assert!(invalid("tab\tname", "https://x.example", "http").starts_with("name:"));
    assert!(invalid("n", "https://x.example", "websocket").starts_with("transport:"));
    assert!(invalid("n", "ftp://x.example", "http").starts_with("url:"));
    assert!(invalid("n", "not a url", "sse").starts_with("url:"));
    assert!(invalid("n", "https://", "sse").starts_with("url:"));
    assert!(invalid("n", "", "stdio").starts_with("url:"));
    assert!(invalid("n", "run\nrm -rf /", "stdio").starts_with("url:"));
    assert!(invalid(
        "n",
        &format!("https://x.example/{}", "a".repeat(2048)),
        "http"
    )
    .starts_with("url:"));
    assert!(McpServerSpec::parse(&"é".repeat(100), "http://localhost:8080/mcp", "http").is_ok());
    assert!(McpServerSpec::parse("n", "uvx mcp-server-git --repository .", "stdio").is_ok());
}
