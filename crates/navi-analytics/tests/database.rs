//! The dashboards read from PostgreSQL and SQLite equal the reference, field by field: random
//! datasets (several orgs, users, models; a year boundary and DST changes; retried batches) for
//! random ranges and zones, a single day and a range that holds nothing among them, in every
//! org of the case, one without data among them; and the fixed cases of the issue, an empty
//! database among them. The zones drawn from reach every grain of the rollups (UTC days, hours,
//! 15-minute buckets); the sums read over random segments (any second, any offset) reach the raw
//! rows too, and match sums taken from the calls.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use common::{dataset, date, empty_range, range, single_day, utc, zone, DATA_DAYS, ORGS, USERS};
use navi_analytics::store::{self, record_calls, record_feedback, Audience};
use navi_analytics::OffsetSegment;
use navi_analytics::{
    latency_bucket, validate_calls, CallInput, CostUsd, Dashboard, DashboardQuery, FeedbackEvent,
    LlmCall, NewCall, Reference, Store, Totals, UsageSource,
};
use navi_tenancy::testing::{fixtures, TestDatabase};
use navi_tenancy::{checkout, DbConnection, Email, OrgName, Privileged, Role, TenantScope};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// An org of every case that the generator never draws: it exists and receives nothing, so
/// every case compares an org without data.
const IDLE_ORG: &str = "org_idle";

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

    /// New orgs for one case, so cases never see each other's rows: those of [`ORGS`] and
    /// [`IDLE_ORG`].
    fn orgs(&mut self) -> BTreeMap<&'static str, String> {
        let privileged = Privileged::acquire("tests");
        let owner = privileged.act_as(&self.users[USERS[0]]);
        ORGS.iter()
            .chain([&IDLE_ORG])
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

/// A case in the database: its dataset with real ids, and every org of the case, each once,
/// whether it holds calls, only feedback or nothing.
struct Ingested {
    data: Reference,
    orgs: Vec<String>,
}

/// The dataset with real ids, plus the ingestion of it, retrying every batch once.
fn ingest(w: &mut World, data: &Reference, ids: bool) -> Ingested {
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
        let first = record_calls(&scope, &mut w.conn, None, &calls).unwrap();
        assert_eq!(
            (first.accepted(), first.duplicates),
            (calls.len() as u64, 0)
        );
        if ids {
            let retry = record_calls(&scope, &mut w.conn, None, &calls).unwrap();
            assert_eq!(
                (retry.accepted(), retry.duplicates),
                (0, calls.len() as u64)
            );
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
    Ingested {
        data: real,
        orgs: orgs.into_values().collect(),
    }
}

/// Both dashboards of every org of the case, the org's and the own usage in it of each of
/// `users`, equal the reference's.
fn compare(
    w: &mut World,
    real: &mut Ingested,
    query: &DashboardQuery,
    users: &[&str],
) -> Result<(), TestCaseError> {
    let conn: &mut DbConnection = &mut w.conn;
    for org in &real.orgs {
        let admin = TenantScope::for_tests(org, &w.users[USERS[0]], Role::Admin);
        let expected = real.data.org_dashboard(org, query).unwrap();
        let actual = Store::new(&admin, conn).whole_org(query).unwrap();
        prop_assert_eq!(actual, expected, "org dashboard of {} for {:?}", org, query);
        for user in users.iter().map(|name| &w.users[name]) {
            let member = TenantScope::for_tests(org, user, Role::Member);
            let expected = real.data.usage_dashboard(org, user, query).unwrap();
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

/// Besides its random ranges, every case reads a single day that holds a call and a range
/// that holds nothing, both in random zones, and an empty dataset still reads both dashboards of
/// every org. Each range reads the own usage of one user, a different one for each range of the
/// case.
fn random_datasets_match_the_reference(db: TestDatabase) {
    let w = std::cell::RefCell::new(World::new(db));
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let strategy = (
        dataset(),
        proptest::collection::vec((range(), zone()), 1..4),
        (any::<proptest::sample::Index>(), 0..DATA_DAYS, zone()),
        (0..DATA_DAYS, 1_i64..=45, zone()),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(data, mut queries, single, empty, ids)| {
            let (pick, fallback, single_tz) = single;
            queries.push((single_day(&data, pick, fallback, single_tz), single_tz));
            let (start, length, empty_tz) = empty;
            queries.push((empty_range(&data, start, length, empty_tz), empty_tz));
            let mut w = w.borrow_mut();
            let mut real = ingest(&mut w, &data, ids);
            for (n, ((from, to), tz)) in queries.into_iter().enumerate() {
                let query = DashboardQuery::new(from, to, tz).unwrap();
                compare(&mut w, &mut real, &query, &[USERS[n % USERS.len()]])?;
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
        compare(&mut w, &mut real, &query, &USERS).unwrap();
    }
    // Spot checks of the figures themselves, beyond agreement.
    let org = real.data.calls[0].org_id.clone();
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

/// With no calls and no feedback anywhere, both dashboards of every org, whose members made
/// nothing, equal the reference's and count nothing: every day of the range present with zeros,
/// no models, no users, no latency; for one day up to a year, over a year boundary, DST changes
/// and odd offsets.
fn an_empty_database_matches_the_reference(db: TestDatabase) {
    let mut w = World::new(db);
    let mut real = ingest(&mut w, &Reference::new(), false);
    for org in &real.orgs {
        for user in &USERS[1..] {
            fixtures::add_member(&mut w.conn, org, &w.users[user], Role::Member);
        }
    }
    let cases: [(NaiveDate, NaiveDate, Tz); 7] = [
        (date(2027, 1, 1), date(2027, 1, 1), chrono_tz::UTC),
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
            date(2027, 3, 14),
            date(2027, 3, 14),
            chrono_tz::America::New_York,
        ),
        (
            date(2026, 11, 15),
            date(2026, 11, 28),
            chrono_tz::Asia::Kathmandu,
        ),
        // Summer time begins on 27 September.
        (
            date(2026, 9, 20),
            date(2026, 10, 3),
            chrono_tz::Pacific::Chatham,
        ),
        // 366 days, with both of the half-hour changes.
        (
            date(2026, 5, 1),
            date(2027, 5, 1),
            chrono_tz::Australia::Lord_Howe,
        ),
    ];
    for (from, to, tz) in cases {
        let query = DashboardQuery::new(from, to, tz).unwrap();
        compare(&mut w, &mut real, &query, &USERS).unwrap();
        for org in &real.orgs {
            let admin = TenantScope::for_tests(org, &w.users[USERS[0]], Role::Admin);
            let dashboard = Store::new(&admin, &mut w.conn).whole_org(&query).unwrap();
            assert_counts_nothing(&dashboard, from, to);
            let member = TenantScope::for_tests(org, &w.users[USERS[1]], Role::Member);
            let dashboard = Store::new(&member, &mut w.conn).own_usage(&query).unwrap();
            assert_counts_nothing(&dashboard, from, to);
        }
    }
}

/// `dashboard` counts nothing: zero totals without latency, each day from `from` to `to` with
/// zeros, no models, and (on the org's dashboard) no users.
fn assert_counts_nothing(dashboard: &Dashboard, from: NaiveDate, to: NaiveDate) {
    let what = format!(
        "{} of {:?} in {}, {from} to {to}",
        dashboard.org_id, dashboard.user_id, dashboard.tz
    );
    assert_eq!(
        dashboard.totals,
        Totals {
            requests: 0,
            prompt_tokens: 0,
            completion_tokens: 0,
            total_tokens: 0,
            cost_micros: 0,
            cost_usd: CostUsd::from_micros(0),
            avg_latency_ms: None,
            p95_latency_ms: None,
            feedback_positive: 0,
            feedback_negative: 0,
        },
        "{what}"
    );
    let days: Vec<_> = dashboard
        .daily
        .iter()
        .map(|day| {
            (
                day.date,
                day.requests,
                day.total_tokens,
                day.cost_micros,
                day.avg_latency_ms,
            )
        })
        .collect();
    let zeros: Vec<_> = from
        .iter_days()
        .take_while(|day| *day <= to)
        .map(|day| (day, 0, 0, 0, None))
        .collect();
    assert_eq!(days, zeros, "{what}");
    assert!(dashboard.by_model.is_empty(), "{what}");
    let users = dashboard.by_user.as_ref().map(Vec::len);
    assert_eq!(users, dashboard.user_id.is_none().then_some(0), "{what}");
}

/// What the usage reads must return for `segments`, summed from the calls themselves: each call
/// in a segment counts for the day `(t + offset) div 86400` of that segment.
struct Expected {
    day_model: Vec<(i64, String, [i64; 5])>,
    latency: (Vec<i64>, Option<i64>),
    users: Vec<(String, [i64; 5])>,
    feedback: (i64, i64),
}

fn expected(data: &Reference, org: &str, segments: &[OffsetSegment]) -> Expected {
    let segment_of = |t: i64| segments.iter().find(|s| s.start <= t && t < s.end);
    let mut day_model: BTreeMap<(i64, String), [i64; 5]> = BTreeMap::new();
    let mut users: BTreeMap<String, [i64; 5]> = BTreeMap::new();
    let mut counts = vec![0; navi_analytics::LATENCY_BUCKET_COUNT];
    let mut max_ms = None;
    for call in data.calls.iter().filter(|c| c.org_id == org) {
        let t = call.occurred_at.timestamp();
        let Some(segment) = segment_of(t) else {
            continue;
        };
        let sums = [
            1,
            call.prompt_tokens,
            call.completion_tokens,
            call.cost_micros,
            call.latency_ms,
        ];
        let day = (t + segment.offset).div_euclid(86_400);
        for (total, value) in day_model
            .entry((day, call.model.clone()))
            .or_default()
            .iter_mut()
            .zip(sums)
        {
            *total += value;
        }
        for (total, value) in users
            .entry(call.user_id.clone())
            .or_default()
            .iter_mut()
            .zip(sums)
        {
            *total += value;
        }
        counts[latency_bucket(call.latency_ms)] += 1;
        max_ms = Some(max_ms.map_or(call.latency_ms, |m: i64| m.max(call.latency_ms)));
    }
    let mut feedback = (0, 0);
    for event in data.feedback.iter().filter(|f| f.org_id == org) {
        if segment_of(event.created_at.timestamp()).is_some() {
            if event.rating > 0 {
                feedback.0 += 1;
            } else {
                feedback.1 += 1;
            }
        }
    }
    Expected {
        day_model: day_model
            .into_iter()
            .map(|((day, model), sums)| (day, model, sums))
            .collect(),
        latency: (counts, max_ms),
        users: users.into_iter().collect(),
        feedback,
    }
}

/// The usage reads of the whole org over `segments`, in the shape of [`Expected`].
fn read(conn: &mut DbConnection, scope: &TenantScope, segments: &[OffsetSegment]) -> Expected {
    let read = store::usage_sums(scope, conn, Audience::WholeOrg, segments).unwrap();
    let day_model = read
        .day_models
        .iter()
        .map(|row| (row.day, row.model.clone(), row.sums.values()))
        .collect();
    // In no particular order: compared in the order of their ids.
    let mut users: Vec<(String, [i64; 5])> = read
        .users
        .iter()
        .map(|row| (row.user_id.clone(), row.sums.values()))
        .collect();
    users.sort();
    Expected {
        day_model,
        latency: (read.latency.counts, read.latency.max_ms),
        users,
        feedback: (read.feedback_positive, read.feedback_negative),
    }
}

fn assert_reads(
    w: &mut World,
    real: &Reference,
    org: &str,
    segments: &[OffsetSegment],
) -> Result<(), TestCaseError> {
    let admin = TenantScope::for_tests(org, &w.users[USERS[0]], Role::Admin);
    let actual = read(&mut w.conn, &admin, segments);
    let wanted = expected(real, org, segments);
    prop_assert_eq!(
        &actual.day_model,
        &wanted.day_model,
        "per day and model, {:?}",
        segments
    );
    prop_assert_eq!(&actual.latency, &wanted.latency, "latency, {:?}", segments);
    prop_assert_eq!(&actual.users, &wanted.users, "per user, {:?}", segments);
    prop_assert_eq!(actual.feedback, wanted.feedback, "feedback, {:?}", segments);
    Ok(())
}

/// The first instant of the three days [`dense_dataset`] packs its calls into (2026-11-20).
const DENSE_START: i64 = 1_795_132_800;
const DENSE_SECONDS: i64 = 3 * 86_400;

/// A random dataset folded into three days, times of day kept: about one call an hour, so that
/// the few minutes a segment reads from raw rows or from 15-minute buckets often hold calls.
fn dense_dataset() -> impl Strategy<Value = Reference> {
    let fold = |at: DateTime<Utc>| {
        let t = DENSE_START + (at.timestamp() - DENSE_START).rem_euclid(DENSE_SECONDS);
        DateTime::from_timestamp(t, 0).unwrap()
    };
    dataset().prop_map(move |mut data| {
        for call in &mut data.calls {
            call.occurred_at = fold(call.occurred_at);
        }
        for event in &mut data.feedback {
            event.created_at = fold(event.created_at);
        }
        data
    })
}

/// Contiguous segments (now and then with a gap) over the dense days, starting at any second
/// or right at a call: lengths from one second to five days, offsets of any quarter hour from
/// −12:00 to +14:00 or of any second (so that days begin off every grain).
fn segments(calls: Vec<i64>) -> impl Strategy<Value = Vec<OffsetSegment>> {
    let offset = prop_oneof![
        3 => (-48_i64..=56).prop_map(|quarters| quarters * 900),
        1 => -43_200_i64..=50_400,
    ];
    let length = prop_oneof![1_i64..3_600, 600_i64..86_400, 86_400_i64..5 * 86_400];
    let gap = prop_oneof![4 => Just(0_i64), 1 => 1_i64..40_000];
    let start = if calls.is_empty() {
        (DENSE_START - 43_200..DENSE_START + DENSE_SECONDS).boxed()
    } else {
        prop_oneof![
            DENSE_START - 43_200..DENSE_START + DENSE_SECONDS,
            (proptest::sample::select(calls), -2_i64..=2).prop_map(|(t, nudge)| t + nudge),
        ]
        .boxed()
    };
    (
        start,
        proptest::collection::vec((length, offset, gap), 1..4),
    )
        .prop_map(|(start, pieces)| {
            let mut at = start;
            pieces
                .into_iter()
                .map(|(length, offset, gap)| {
                    at += gap;
                    let segment = OffsetSegment {
                        start: at,
                        end: at + length,
                        offset,
                    };
                    at += length;
                    segment
                })
                .collect()
        })
}

fn random_segments_read_exactly(db: TestDatabase) {
    let w = std::cell::RefCell::new(World::new(db));
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let strategy = dense_dataset().prop_flat_map(|data| {
        let calls: Vec<i64> = data
            .calls
            .iter()
            .map(|c| c.occurred_at.timestamp())
            .collect();
        (
            Just(data),
            proptest::collection::vec(segments(calls), 1..6),
            any::<bool>(),
        )
    });
    runner
        .run(&strategy, |(data, queries, ids)| {
            let mut w = w.borrow_mut();
            let real = ingest(&mut w, &data, ids);
            for segments in &queries {
                for org in &real.orgs {
                    assert_reads(&mut w, &real.data, org, segments)?;
                }
            }
            Ok(())
        })
        .unwrap();
}

/// Calls one second either side of the edge each grain has in a day: UTC midnight (the day
/// rollups and the running totals), 23:00 UTC (midnight in Paris in winter: hours), 18:15 UTC
/// (midnight in Kathmandu: 15-minute buckets) and 12:34:56 (a segment's start: raw rows).
fn each_grain_reads_exactly_at_its_edges(db: TestDatabase) {
    let mut w = World::new(db);
    let edges = [
        utc(2027, 1, 1, 0, 0, 0),
        utc(2027, 1, 2, 0, 0, 0),
        utc(2027, 1, 1, 23, 0, 0),
        utc(2026, 12, 31, 23, 0, 0),
        utc(2027, 1, 1, 18, 15, 0),
        utc(2026, 12, 31, 18, 15, 0),
        utc(2027, 1, 1, 12, 34, 56),
    ];
    let mut calls = Vec::new();
    for (i, edge) in edges.iter().enumerate() {
        for (j, at) in [*edge - TimeDelta::seconds(1), *edge]
            .into_iter()
            .enumerate()
        {
            let user = USERS[(i + j) % 2];
            calls.push(call(
                ORGS[0],
                user,
                ["m1", "m2"][j],
                at,
                1_000 + i as i64,
                10 * i as i64,
            ));
        }
    }
    let data = Reference {
        calls,
        feedback: Vec::new(),
    };
    let mut real = ingest(&mut w, &data, false);
    let org = real.data.calls[0].org_id.clone();
    let new_year = date(2027, 1, 1);
    for (tz, requests) in [
        // 1 Jan 00:00:00 to 23:59:59 UTC: both calls at 12:34, 18:15 and 23:00, and one at each
        // midnight.
        (chrono_tz::UTC, 8),
        // 31 Dec 23:00:00 to 1 Jan 22:59:59 UTC.
        (chrono_tz::Europe::Paris, 8),
        // 31 Dec 18:15:00 to 1 Jan 18:14:59 UTC.
        (chrono_tz::Asia::Kathmandu, 8),
    ] {
        let query = DashboardQuery::new(new_year, new_year, tz).unwrap();
        compare(&mut w, &mut real, &query, &USERS).unwrap();
        let admin = TenantScope::for_tests(&org, &w.users[USERS[0]], Role::Admin);
        let dashboard = Store::new(&admin, &mut w.conn).whole_org(&query).unwrap();
        assert_eq!(dashboard.daily[0].requests, requests, "{tz}");
        let by_user: i64 = dashboard
            .by_user
            .unwrap()
            .iter()
            .map(|user| user.requests)
            .sum();
        assert_eq!(by_user, requests, "{tz}");
    }
    // From 12:34:56 (raw rows up to 12:45, then 15-minute buckets, hours) to the end of the day.
    let start = utc(2027, 1, 1, 12, 34, 56).timestamp();
    let segments = [OffsetSegment {
        start,
        end: utc(2027, 1, 2, 0, 0, 0).timestamp(),
        offset: 0,
    }];
    assert_reads(&mut w, &real.data, &org, &segments).unwrap();
    let admin = TenantScope::for_tests(&org, &w.users[USERS[0]], Role::Admin);
    let read = read(&mut w.conn, &admin, &segments);
    let requests: i64 = read.day_model.iter().map(|(_, _, sums)| sums[0]).sum();
    assert_eq!(
        requests, 6,
        "12:34:56, 18:14:59, 18:15:00, 22:59:59, 23:00:00 and 23:59:59; not 12:34:55"
    );
}

/// A dashboard read while batches are being recorded describes one state of the calls: its
/// totals, days, models and users add up to the same requests, and its p95 counts them too.
/// (Its statements read one snapshot; each on its own would see the batches committed since the
/// one before, and `by_user` would disagree with the totals.)
fn a_dashboard_read_during_ingest_adds_up(db: TestDatabase) {
    let mut w = World::new(db);
    let org = w.orgs()[ORGS[0]].clone();
    let users: Vec<String> = USERS.iter().map(|name| w.users[name].clone()).collect();
    let pool = w._db.pool();
    let day = date(2027, 1, 1);
    let start = utc(2027, 1, 1, 0, 0, 0).timestamp();
    let writer = {
        let (org, users) = (org.clone(), users.clone());
        std::thread::spawn(move || {
            let mut conn = checkout(&pool).unwrap();
            for batch in 0..150_i64 {
                let scope = TenantScope::for_tests(
                    &org,
                    &users[batch as usize % users.len()],
                    Role::Member,
                );
                let calls: Vec<_> = (0..20_i64)
                    .map(|i| {
                        let latency_ms = 10 + (batch * 20 + i) % 5_000;
                        NewCall {
                            client_call_id: None,
                            model: ["m1", "m2", "m3"][(i % 3) as usize].to_owned(),
                            prompt_tokens: i,
                            completion_tokens: batch,
                            cost_micros: 1_000 + i,
                            latency_ms,
                            latency_bucket: latency_bucket(latency_ms) as i16,
                            // Spread over the local day of Kathmandu, so that every rollup and
                            // the raw rows are read.
                            occurred_at: start - 6 * 3_600 + (batch * 997 + i * 4_001) % 86_400,
                        }
                    })
                    .collect();
                record_calls(&scope, &mut conn, None, &calls).unwrap();
            }
        })
    };
    let admin = TenantScope::for_tests(&org, &users[0], Role::Admin);
    let query = DashboardQuery::new(day, day, chrono_tz::Asia::Kathmandu).unwrap();
    let mut reads = 0;
    let mut last = 0;
    while !writer.is_finished() || reads < 10 {
        let dashboard = Store::new(&admin, &mut w.conn).whole_org(&query).unwrap();
        let requests = dashboard.totals.requests;
        let sum = |values: Vec<i64>| values.into_iter().sum::<i64>();
        assert_eq!(
            sum(dashboard.daily.iter().map(|d| d.requests).collect()),
            requests
        );
        assert_eq!(
            sum(dashboard.by_model.iter().map(|m| m.requests).collect()),
            requests
        );
        let by_user = dashboard.by_user.as_ref().unwrap();
        assert_eq!(
            sum(by_user.iter().map(|u| u.requests).collect()),
            requests,
            "read {reads}"
        );
        assert_eq!(dashboard.totals.p95_latency_ms.is_some(), requests > 0);
        assert!(requests >= last, "the calls never go away");
        last = requests;
        reads += 1;
    }
    writer.join().unwrap();
    let dashboard = Store::new(&admin, &mut w.conn).whole_org(&query).unwrap();
    assert!(dashboard.totals.requests > 0 && dashboard.totals.requests <= 150 * 20);
}

/// Two attempts at the same batch sent at once, holding its calls in opposite orders (a retry
/// while the first still runs), both succeed and the calls count once: ingest takes the ids in
/// one order, so neither attempt can hold an id the other waits for.
fn concurrent_attempts_at_a_batch_count_it_once(db: TestDatabase) {
    let mut w = World::new(db);
    let org = w.orgs()[ORGS[0]].clone();
    let user = w.users[USERS[0]].clone();
    let pool = w._db.pool();
    let start = utc(2027, 1, 1, 0, 0, 0).timestamp();
    const ROUNDS: i64 = 8;
    const CALLS: i64 = 300;
    for round in 0..ROUNDS {
        let calls: Vec<NewCall> = (0..CALLS)
            .map(|i| NewCall {
                client_call_id: Some(format!("round-{round}-call-{i:04}")),
                model: "m1".to_owned(),
                prompt_tokens: 1,
                completion_tokens: 1,
                cost_micros: 1,
                latency_ms: 10,
                latency_bucket: latency_bucket(10) as i16,
                occurred_at: start + round * 86_400 + i,
            })
            .collect();
        let mut reversed = calls.clone();
        reversed.reverse();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let attempts: Vec<_> = [calls, reversed]
            .into_iter()
            .map(|batch| {
                let (pool, barrier) = (pool.clone(), barrier.clone());
                let scope = TenantScope::for_tests(&org, &user, Role::Member);
                std::thread::spawn(move || {
                    let mut conn = checkout(&pool).unwrap();
                    barrier.wait();
                    record_calls(&scope, &mut conn, None, &batch)
                })
            })
            .collect();
        let accepted: u64 = attempts
            .into_iter()
            .map(|attempt| {
                attempt
                    .join()
                    .unwrap()
                    .expect("both attempts succeed")
                    .accepted()
            })
            .sum();
        assert_eq!(
            accepted, CALLS as u64,
            "round {round}: each call accepted once"
        );
    }
    let admin = TenantScope::for_tests(&org, &user, Role::Admin);
    let query = DashboardQuery::new(date(2027, 1, 1), date(2027, 1, 31), chrono_tz::UTC).unwrap();
    let dashboard = Store::new(&admin, &mut w.conn).whole_org(&query).unwrap();
    assert_eq!(dashboard.totals.requests, ROUNDS * CALLS);
}

navi_tenancy::backend_tests!(
    random_datasets_match_the_reference,
    fixed_cases_match_the_reference,
    an_empty_database_matches_the_reference,
    random_segments_read_exactly,
    each_grain_reads_exactly_at_its_edges,
    a_dashboard_read_during_ingest_adds_up,
    concurrent_attempts_at_a_batch_count_it_once,
);

/// PostgreSQL keeps each statement of an ingest prepared, one per table whatever the batch's
/// size, so a batch only binds and runs them.
#[test]
fn postgres_prepares_each_ingest_statement_once() {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        statements: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        texts: i64,
    }
    let mut w = World::new(TestDatabase::postgres());
    let org = w.orgs()[ORGS[0]].clone();
    let scope = TenantScope::for_tests(&org, &w.users[USERS[0]], Role::Member);
    let start = utc(2027, 1, 1, 0, 0, 0).timestamp();
    let mut counts = Vec::new();
    // Batches whose calls all carry ids, then batches where some do not: those are inserted by
    // an eighth statement, without the check of the ids.
    for (size, anonymous) in [(3_i64, 0), (7, 0), (5, 2), (9, 4)] {
        let calls: Vec<_> = (0..size)
            .map(|i| NewCall {
                client_call_id: (i >= anonymous).then(|| format!("call-{size}-{i}")),
                model: ["m1", "m2"][(i % 2) as usize].to_owned(),
                prompt_tokens: i,
                completion_tokens: size,
                cost_micros: 1_000,
                latency_ms: 40,
                latency_bucket: latency_bucket(40) as i16,
                occurred_at: start + i * 7_000 + size * 100_000,
            })
            .collect();
        record_calls(&scope, &mut w.conn, None, &calls).unwrap();
        use diesel::RunQueryDsl;
        let count: Count = diesel::sql_query(
            "SELECT COUNT(*) AS statements, COUNT(DISTINCT statement) AS texts \
             FROM pg_prepared_statements WHERE statement LIKE 'INSERT INTO navi_%'",
        )
        .get_result(&mut *w.conn)
        .unwrap();
        counts.push((count.statements, count.texts));
    }
    assert_eq!(counts[0].0, 7, "the calls and the six rollups: {counts:?}");
    assert_eq!(counts[0].0, counts[0].1, "each text prepared once");
    assert_eq!(
        counts[0], counts[1],
        "the second batch prepared nothing new"
    );
    assert_eq!(counts[2], (8, 8), "calls without ids: one statement more");
    assert_eq!(counts[2], counts[3], "and prepared once");
}
