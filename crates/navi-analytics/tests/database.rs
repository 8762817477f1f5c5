//! The dashboards read from PostgreSQL and SQLite equal the reference, field by field: random
//! datasets (several orgs, users, models; a year boundary and DST changes; retried batches) for
//! random ranges and zones, and the fixed cases of the issue.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use common::{dataset, date, range, utc, zone, ORGS, USERS};
use navi_analytics::{
    validate_calls, CallInput, DashboardQuery, FeedbackEvent, LlmCall, Reference, Store,
    UsageSource,
};
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::usage::{record_calls, record_feedback};
use navi_tenancy::{checkout, DbConnection, Email, OrgName, Privileged, Role, TenantScope};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Real orgs and users for the generator's symbolic ids.
struct World {
    _db: TestDatabase,
    conn: navi_tenancy::PooledConnection,
    users: BTreeMap<&'static str, String>,
}

impl World {
    fn new(db: TestDatabase) -> World {
        let pool = db.migrated_pool();
        let mut conn = checkout(&pool).unwrap();
        let privileged = Privileged::acquire("tests");
        let users = USERS
            .iter()
            .map(|name| {
                let email = Email::parse(&format!("{name}@example.com")).unwrap();
                let user = navi_tenancy::users::find_or_create_user(&privileged, &mut conn, &email)
                    .unwrap();
                (*name, user.id)
            })
            .collect();
        World {
            _db: db,
            conn,
            users,
        }
    }

    /// New orgs for one case, so cases never see each other's rows.
    fn orgs(&mut self) -> BTreeMap<&'static str, String> {
        let privileged = Privileged::acquire("tests");
        let owner = privileged.act_as(&self.users[USERS[0]]);
        ORGS.iter()
            .map(|name| {
                let (org, _) = navi_tenancy::orgs::create_org(
                    &owner,
                    &mut self.conn,
                    &navi_tenancy::testing::audit_trail(),
                    &OrgName::parse(name).unwrap(),
                    None,
                )
                .unwrap();
                (*name, org.id)
            })
            .collect()
    }
}

/// The dataset with real ids, plus the ingestion of it, retrying every batch once.
fn ingest(w: &mut World, data: &Reference, ids: bool) -> Reference {
    let orgs = w.orgs();
    let real = Reference {
        calls: data
            .calls
            .iter()
            .map(|call| LlmCall {
                org_id: orgs[call.org_id.as_str()].clone(),
                user_id: w.users[call.user_id.as_str()].clone(),
                ..call.clone()
            })
            .collect(),
        feedback: data
            .feedback
            .iter()
            .map(|event| FeedbackEvent {
                org_id: orgs[event.org_id.as_str()].clone(),
                user_id: w.users[event.user_id.as_str()].clone(),
                ..event.clone()
            })
            .collect(),
    };
    let mut batches: BTreeMap<(String, String), Vec<CallInput>> = BTreeMap::new();
    for (i, call) in real.calls.iter().enumerate() {
        batches
            .entry((call.org_id.clone(), call.user_id.clone()))
            .or_default()
            .push(CallInput {
                id: ids.then(|| format!("call-{i}")),
                model: call.model.clone(),
                prompt_tokens: call.prompt_tokens,
                completion_tokens: call.completion_tokens,
                cost_micros: call.cost_micros,
                latency_ms: call.latency_ms,
                occurred_at: Some(call.occurred_at),
            });
    }
    let now = utc(2027, 6, 1, 0, 0, 0);
    for ((org, user), inputs) in batches {
        let scope = TenantScope::for_tests(&org, &user, Role::Member);
        let calls = validate_calls(&inputs, now).unwrap();
        let first = record_calls(&scope, &mut w.conn, &calls).unwrap();
        assert_eq!((first.accepted, first.duplicates), (calls.len() as u64, 0));
        if ids {
            let retry = record_calls(&scope, &mut w.conn, &calls).unwrap();
            assert_eq!((retry.accepted, retry.duplicates), (0, calls.len() as u64));
        }
    }
    for event in &real.feedback {
        let scope = TenantScope::for_tests(&event.org_id, &event.user_id, Role::Member);
        record_feedback(
            &scope,
            &mut w.conn,
            "msg_1",
            i16::from(event.rating),
            None,
            event.created_at.timestamp(),
        )
        .unwrap();
    }
    real
}

fn compare(
    w: &mut World,
    real: &mut Reference,
    query: &DashboardQuery,
) -> Result<(), TestCaseError> {
    let conn: &mut DbConnection = &mut w.conn;
    let orgs: Vec<String> = real
        .calls
        .iter()
        .map(|c| c.org_id.clone())
        .chain(real.feedback.iter().map(|f| f.org_id.clone()))
        .collect();
    for org in orgs.iter().take(2) {
        let admin = TenantScope::for_tests(org, &w.users[USERS[0]], Role::Admin);
        let expected = real.org_dashboard(org, query).unwrap();
        let actual = Store::new(&admin, conn).whole_org(query).unwrap();
        prop_assert_eq!(actual, expected, "org dashboard of {} for {:?}", org, query);
        for user in w.users.values() {
            let member = TenantScope::for_tests(org, user, Role::Member);
            let expected = real.usage_dashboard(org, user, query).unwrap();
            let actual = Store::new(&member, conn).own_usage(query).unwrap();
            prop_assert_eq!(
                actual,
                expected,
                "usage of {} in {} for {:?}",
                user,
                org,
                query
            );
        }
    }
    Ok(())
}

fn random_datasets_match_the_reference(db: TestDatabase) {
    let w = std::cell::RefCell::new(World::new(db));
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let strategy = (
        dataset(),
        proptest::collection::vec((range(), zone()), 1..4),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(data, queries, ids)| {
            let mut w = w.borrow_mut();
            let mut real = ingest(&mut w, &data, ids);
            for ((from, to), tz) in queries {
                let query = DashboardQuery::new(from, to, tz).unwrap();
                compare(&mut w, &mut real, &query)?;
            }
            Ok(())
        })
        .unwrap();
}

fn call(
    org: &str,
    user: &str,
    model: &str,
    at: DateTime<Utc>,
    cost_micros: i64,
    latency_ms: i64,
) -> LlmCall {
    LlmCall {
        org_id: org.into(),
        user_id: user.into(),
        model: model.into(),
        prompt_tokens: 100,
        completion_tokens: 50,
        cost_micros,
        latency_ms,
        occurred_at: at,
    }
}

/// Calls right at the edges of the fixed days, in every zone it names.
fn fixed_cases_match_the_reference(db: TestDatabase) {
    let mut w = World::new(db);
    let (a, b) = (ORGS[0], USERS[1]);
    let mut calls = Vec::new();
    for (i, at) in [
        utc(2026, 12, 31, 10, 59, 59), // Auckland: 23:59:59 on the 31st (+13)
        utc(2026, 12, 31, 11, 0, 0),   // Auckland: 1 January
        utc(2026, 12, 31, 23, 59, 59),
        utc(2027, 1, 1, 0, 0, 0),
        utc(2026, 11, 1, 4, 0, 0), // New York: 00:00 EDT on the 25-hour day
        utc(2026, 11, 2, 4, 59, 59), // still 1 November (EST)
        utc(2026, 11, 2, 5, 0, 0), // 2 November
        utc(2027, 3, 14, 4, 59, 59), // 13 March
        utc(2027, 3, 14, 5, 0, 0), // the 23-hour day begins
        utc(2027, 3, 15, 3, 59, 59), // its last second (EDT)
        utc(2027, 3, 15, 4, 0, 0), // 15 March
        utc(2026, 11, 21, 18, 14, 59), // Kathmandu: 23:59:59 on the 21st (+05:45)
        utc(2026, 11, 21, 18, 15, 0), // Kathmandu: 22 November
    ]
    .into_iter()
    .enumerate()
    {
        let user = if i % 2 == 0 { USERS[0] } else { b };
        calls.push(call(
            a,
            user,
            ["m1", "m2"][i % 2],
            at,
            3_000_000_000 + i as i64,
            1 + 37 * i as i64,
        ));
    }
    // Beyond 2^32 micros in one day, and averages that round half away from zero.
    for latency in [1, 2, 2, 2, 2, 2, 2, 2] {
        calls.push(call(
            a,
            b,
            "m3",
            utc(2026, 12, 5, 12, 0, 0),
            4_294_967_296,
            latency,
        ));
    }
    let data = Reference {
        calls,
        feedback: vec![FeedbackEvent {
            org_id: a.into(),
            user_id: b.into(),
            rating: -1,
            created_at: utc(2026, 11, 21, 18, 15, 0),
        }],
    };
    let mut real = ingest(&mut w, &data, true);
    let cases: [(NaiveDate, NaiveDate, Tz); 9] = [
        (date(2026, 12, 31), date(2027, 1, 1), chrono_tz::UTC),
        (
            date(2026, 12, 31),
            date(2027, 1, 1),
            chrono_tz::Pacific::Auckland,
        ),
        (
            date(2026, 11, 1),
            date(2026, 11, 1),
            chrono_tz::America::New_York,
        ),
        (
            date(2026, 11, 1),
            date(2026, 11, 2),
            chrono_tz::America::New_York,
        ),
        (
            date(2027, 3, 14),
            date(2027, 3, 14),
            chrono_tz::America::New_York,
        ),
        (
            date(2027, 3, 13),
            date(2027, 3, 15),
            chrono_tz::America::New_York,
        ),
        (
            date(2026, 11, 21),
            date(2026, 11, 22),
            chrono_tz::Asia::Kathmandu,
        ),
        (date(2026, 12, 5), date(2026, 12, 5), chrono_tz::UTC),
        (date(2030, 1, 1), date(2030, 1, 31), chrono_tz::UTC),
    ];
    for (from, to, tz) in cases {
        let query = DashboardQuery::new(from, to, tz).unwrap();
        compare(&mut w, &mut real, &query).unwrap();
    }
    // Spot checks of the figures themselves, beyond agreement.
    let org = real.calls[0].org_id.clone();
    let admin = TenantScope::for_tests(&org, &w.users[USERS[0]], Role::Admin);
    let mut store = Store::new(&admin, &mut w.conn);
    let new_york = store
        .whole_org(
            &DashboardQuery::new(
                date(2026, 11, 1),
                date(2026, 11, 1),
                chrono_tz::America::New_York,
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!(
        new_york.daily[0].requests, 2,
        "00:00 EDT and 23:59:59 EST of the 25-hour day"
    );
    let short = store
        .whole_org(
            &DashboardQuery::new(
                date(2027, 3, 14),
                date(2027, 3, 14),
                chrono_tz::America::New_York,
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!(short.daily[0].requests, 2);
    let kathmandu = store
        .whole_org(
            &DashboardQuery::new(
                date(2026, 11, 22),
                date(2026, 11, 22),
                chrono_tz::Asia::Kathmandu,
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!(
        (
            kathmandu.totals.requests,
            kathmandu.totals.feedback_negative
        ),
        (1, 1)
    );
    let big = store
        .whole_org(
            &DashboardQuery::new(date(2026, 12, 5), date(2026, 12, 5), chrono_tz::UTC).unwrap(),
        )
        .unwrap();
    assert_eq!(big.totals.cost_micros, 8 * 4_294_967_296);
    assert_eq!(big.totals.cost_usd.to_string(), "34359.738368");
    let json = serde_json::to_value(&big).unwrap();
    assert_eq!(
        json["totals"]["avg_latency_ms"],
        serde_json::json!(1.88),
        "15 / 8 = 1.875 rounds up"
    );
}

navi_tenancy::backend_tests!(
    random_datasets_match_the_reference,
    fixed_cases_match_the_reference
);
