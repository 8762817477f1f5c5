//! Dashboards from the reference and from the builder, on fixed data.

mod common;

use chrono_tz::Tz;
use common::{call_at, date, finest_grain_seconds, query, utc, CellSource};
use navi_analytics::{
    AnalyticsError, CostUsd, DashboardBuilder, FeedbackEvent, Hundredths, LlmCall, Reference, Sums,
    UsageSource,
};
use serde_json::json;

/// The reference's dashboards, checked against the builder fed per call and per hourly rollup.
fn both(
    reference: &mut Reference,
    org_id: &str,
    query: &navi_analytics::DashboardQuery,
) -> navi_analytics::Dashboard {
    let expected = reference.org_dashboard(org_id, query).unwrap();
    for grain in [None, Some(finest_grain_seconds(query))] {
        let mut cells = CellSource {
            data: reference,
            grain,
        };
        assert_eq!(
            cells.org_dashboard(org_id, query).unwrap(),
            expected,
            "grain {grain:?}"
        );
    }
    expected
}

#[test]
fn a_dashboard_without_data_has_zeros_and_nulls() {
    let mut reference = Reference::new();
    let query = query(date(2026, 11, 1), date(2026, 11, 3), Tz::UTC);
    let dashboard = both(&mut reference, "org_1", &query);
    assert_eq!(dashboard.totals.requests, 0);
    assert_eq!(dashboard.totals.cost_usd, CostUsd::from_micros(0));
    assert_eq!(dashboard.totals.avg_latency_ms, None);
    assert_eq!(dashboard.totals.p95_latency_ms, None);
    assert_eq!(dashboard.daily.len(), 3);
    assert!(dashboard
        .daily
        .iter()
        .all(|day| day.requests == 0 && day.avg_latency_ms.is_none()));
    assert_eq!(dashboard.by_model, []);
    assert_eq!(dashboard.by_user, Some(vec![]));
    assert_eq!(
        serde_json::to_value(&dashboard).unwrap(),
        json!({
            "org_id": "org_1", "user_id": null, "from": "2026-11-01", "to": "2026-11-03", "tz": "UTC",
            "totals": {
                "requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
                "cost_micros": 0, "cost_usd": "0.000000", "avg_latency_ms": null,
                "p95_latency_ms": null, "feedback_positive": 0, "feedback_negative": 0
            },
            "daily": [
                {"date": "2026-11-01", "requests": 0, "total_tokens": 0, "cost_micros": 0, "cost_usd": "0.000000", "avg_latency_ms": null},
                {"date": "2026-11-02", "requests": 0, "total_tokens": 0, "cost_micros": 0, "cost_usd": "0.000000", "avg_latency_ms": null},
                {"date": "2026-11-03", "requests": 0, "total_tokens": 0, "cost_micros": 0, "cost_usd": "0.000000", "avg_latency_ms": null}
            ],
            "by_model": [],
            "by_user": []
        })
    );
}

#[test]
fn a_single_day_counts_every_figure() {
    let mut reference = Reference::new();
    reference.calls = vec![
        LlmCall {
            model: "claude".into(),
            ..call_at(utc(2026, 11, 22, 0, 0, 0), 2_500_000, 1)
        },
        call_at(utc(2026, 11, 22, 12, 0, 0), 250_000, 2),
        LlmCall {
            user_id: "usr_2".into(),
            ..call_at(utc(2026, 11, 22, 23, 59, 59), 250_000, 5)
        },
        // The next day, another org: not counted.
        call_at(utc(2026, 11, 23, 0, 0, 0), 1, 1),
        LlmCall {
            org_id: "org_2".into(),
            ..call_at(utc(2026, 11, 22, 12, 0, 0), 1, 1)
        },
    ];
    reference.feedback = vec![
        FeedbackEvent {
            org_id: "org_1".into(),
            user_id: "usr_1".into(),
            rating: 1,
            created_at: utc(2026, 11, 22, 8, 0, 0),
        },
        FeedbackEvent {
            org_id: "org_1".into(),
            user_id: "usr_2".into(),
            rating: -1,
            created_at: utc(2026, 11, 22, 9, 0, 0),
        },
        FeedbackEvent {
            org_id: "org_1".into(),
            user_id: "usr_2".into(),
            rating: -1,
            created_at: utc(2026, 11, 21, 9, 0, 0),
        },
        FeedbackEvent {
            org_id: "org_2".into(),
            user_id: "usr_1".into(),
            rating: 1,
            created_at: utc(2026, 11, 22, 9, 0, 0),
        },
    ];
    let query = query(date(2026, 11, 22), date(2026, 11, 22), Tz::UTC);
    let dashboard = both(&mut reference, "org_1", &query);
    let totals = &dashboard.totals;
    assert_eq!(
        (
            totals.requests,
            totals.prompt_tokens,
            totals.completion_tokens,
            totals.total_tokens
        ),
        (3, 300, 60, 360)
    );
    assert_eq!(totals.cost_micros, 3_000_000);
    assert_eq!(totals.cost_usd.to_string(), "3.000000");
    assert_eq!(
        totals.avg_latency_ms,
        Some(Hundredths::from_hundredths(267))
    ); // 8 / 3
    assert_eq!(totals.p95_latency_ms, Some(5));
    assert_eq!((totals.feedback_positive, totals.feedback_negative), (1, 1));
    // Ties on cost order by name.
    let users: Vec<_> = dashboard
        .by_user
        .as_ref()
        .unwrap()
        .iter()
        .map(|u| (u.user_id.as_str(), u.cost_micros))
        .collect();
    assert_eq!(users, [("usr_1", 2_750_000), ("usr_2", 250_000)]);
    let models: Vec<_> = dashboard
        .by_model
        .iter()
        .map(|m| (m.model.as_str(), m.requests))
        .collect();
    assert_eq!(models, [("claude", 1), ("gpt-4o", 2)]);

    let mine = reference.usage_dashboard("org_1", "usr_2", &query).unwrap();
    assert_eq!(mine.user_id.as_deref(), Some("usr_2"));
    assert_eq!(mine.totals.requests, 1);
    assert_eq!(
        (mine.totals.feedback_positive, mine.totals.feedback_negative),
        (0, 1)
    );
    assert_eq!(mine.by_user, None);
    assert_eq!(
        CellSource {
            data: &reference,
            grain: None
        }
        .usage_dashboard("org_1", "usr_2", &query)
        .unwrap(),
        mine
    );
    assert!(serde_json::to_value(&mine)
        .unwrap()
        .get("by_user")
        .is_none());
}

#[test]
fn models_with_equal_cost_are_ordered_by_name() {
    let mut reference = Reference::new();
    for model in ["b", "a", "c", "B"] {
        reference.calls.push(LlmCall {
            model: model.into(),
            ..call_at(utc(2026, 11, 22, 1, 0, 0), 7, 1)
        });
    }
    reference.calls.push(LlmCall {
        model: "z".into(),
        ..call_at(utc(2026, 11, 22, 1, 0, 0), 8, 1)
    });
    let dashboard = both(
        &mut reference,
        "org_1",
        &query(date(2026, 11, 22), date(2026, 11, 22), Tz::UTC),
    );
    let models: Vec<_> = dashboard
        .by_model
        .iter()
        .map(|m| m.model.as_str())
        .collect();
    assert_eq!(models, ["z", "B", "a", "b", "c"]);
}

#[test]
fn new_year_falls_on_different_calls_in_utc_and_auckland() {
    let mut reference = Reference::new();
    reference.calls = vec![
        call_at(utc(2026, 12, 30, 10, 59, 59), 1, 10), // 23:59:59 on the 30th in Auckland
        call_at(utc(2026, 12, 30, 11, 0, 0), 2, 10),   // midnight of the 31st in Auckland
        call_at(utc(2026, 12, 31, 11, 0, 0), 4, 10),   // midnight of 1 January in Auckland
        call_at(utc(2027, 1, 1, 10, 59, 59), 8, 10),   // last second of 1 January in Auckland
        call_at(utc(2027, 1, 1, 11, 0, 0), 16, 10),    // 2 January in Auckland
        call_at(utc(2027, 1, 1, 23, 59, 59), 32, 10),  // last second of 1 January in UTC
        call_at(utc(2027, 1, 2, 0, 0, 0), 64, 10),     // 2 January in UTC
    ];
    let daily_costs = |tz| {
        let dashboard = both(
            &mut reference.clone(),
            "org_1",
            &query(date(2026, 12, 31), date(2027, 1, 1), tz),
        );
        dashboard
            .daily
            .iter()
            .map(|day| day.cost_micros)
            .collect::<Vec<_>>()
    };
    assert_eq!(daily_costs(Tz::UTC), [4, 8 + 16 + 32]);
    assert_eq!(daily_costs(Tz::Pacific__Auckland), [2, 4 + 8]);
}

#[test]
fn the_25_hour_day_in_new_york_holds_both_one_thirties() {
    let mut reference = Reference::new();
    reference.calls = vec![
        call_at(utc(2026, 11, 1, 3, 59, 59), 1, 10), // 23:59:59 EDT on 31 October
        call_at(utc(2026, 11, 1, 4, 0, 0), 2, 10),   // midnight EDT
        call_at(utc(2026, 11, 1, 5, 30, 0), 4, 10),  // 01:30 EDT
        call_at(utc(2026, 11, 1, 6, 30, 0), 8, 10),  // 01:30 EST
        call_at(utc(2026, 11, 2, 4, 59, 59), 16, 10), // 23:59:59 EST
        call_at(utc(2026, 11, 2, 5, 0, 0), 32, 10),  // midnight EST of the 2nd
    ];
    let query = query(date(2026, 11, 1), date(2026, 11, 1), Tz::America__New_York);
    let dashboard = both(&mut reference, "org_1", &query);
    assert_eq!(dashboard.daily[0].requests, 4);
    assert_eq!(dashboard.daily[0].cost_micros, 2 + 4 + 8 + 16);
}

#[test]
fn the_23_hour_day_in_new_york_ends_at_04_utc() {
    let mut reference = Reference::new();
    reference.calls = vec![
        call_at(utc(2027, 3, 14, 4, 59, 59), 1, 10), // 23:59:59 EST on the 13th
        call_at(utc(2027, 3, 14, 5, 0, 0), 2, 10),   // midnight EST
        call_at(utc(2027, 3, 14, 6, 59, 59), 4, 10), // 01:59:59 EST
        call_at(utc(2027, 3, 14, 7, 0, 0), 8, 10),   // 03:00 EDT
        call_at(utc(2027, 3, 15, 3, 59, 59), 16, 10), // 23:59:59 EDT
        call_at(utc(2027, 3, 15, 4, 0, 0), 32, 10),  // midnight EDT of the 15th
    ];
    let query = query(date(2027, 3, 14), date(2027, 3, 15), Tz::America__New_York);
    let dashboard = both(&mut reference, "org_1", &query);
    assert_eq!(dashboard.daily[0].cost_micros, 2 + 4 + 8 + 16);
    assert_eq!(dashboard.daily[1].cost_micros, 32);
}

#[test]
fn kathmandu_counts_18_15_utc_as_the_next_day() {
    let mut reference = Reference::new();
    reference.calls = vec![
        call_at(utc(2026, 12, 1, 18, 14, 59), 1, 10),
        call_at(utc(2026, 12, 1, 18, 15, 0), 2, 10),
    ];
    let query = query(date(2026, 12, 1), date(2026, 12, 2), Tz::Asia__Kathmandu);
    let dashboard = both(&mut reference, "org_1", &query);
    assert_eq!(dashboard.daily[0].cost_micros, 1);
    assert_eq!(dashboard.daily[1].cost_micros, 2);
    // An hourly rollup would put both calls in the 18:00 bucket, on the 1st: it is not exact.
    let mut hourly = CellSource {
        data: &reference,
        grain: Some(3600),
    };
    assert_ne!(hourly.org_dashboard("org_1", &query).unwrap(), dashboard);
}

#[test]
fn cost_totals_beyond_32_bits_are_exact() {
    let mut reference = Reference::new();
    for hour in 0..3 {
        reference
            .calls
            .push(call_at(utc(2026, 11, 22, hour, 0, 0), 3_000_000_000, 10));
    }
    reference
        .calls
        .push(call_at(utc(2026, 11, 22, 4, 0, 0), 7, 10));
    let dashboard = both(
        &mut reference,
        "org_1",
        &query(date(2026, 11, 22), date(2026, 11, 22), Tz::UTC),
    );
    assert_eq!(dashboard.totals.cost_micros, 9_000_000_007);
    assert_eq!(dashboard.totals.cost_usd.to_string(), "9000.000007");
    let json = serde_json::to_value(&dashboard).unwrap();
    assert_eq!(json["totals"]["cost_micros"], json!(9_000_000_007_i64));
    assert_eq!(json["totals"]["cost_usd"], json!("9000.000007"));
}

#[test]
fn averages_round_half_away_from_zero_in_dashboards() {
    let mut reference = Reference::new();
    // 1 ms over 8 calls: 0.125 → 0.13.
    reference
        .calls
        .push(call_at(utc(2026, 11, 22, 1, 0, 0), 1, 1));
    for minute in 1..8 {
        reference
            .calls
            .push(call_at(utc(2026, 11, 22, 1, minute, 0), 1, 0));
    }
    let dashboard = both(
        &mut reference,
        "org_1",
        &query(date(2026, 11, 22), date(2026, 11, 22), Tz::UTC),
    );
    let json = serde_json::to_string(&dashboard.totals).unwrap();
    assert!(json.contains(r#""avg_latency_ms":0.13,"#), "{json}");
}

#[test]
fn overflowing_totals_are_errors_in_both_implementations() {
    let mut reference = Reference::new();
    reference
        .calls
        .push(call_at(utc(2026, 11, 22, 1, 0, 0), i64::MAX, 1));
    reference
        .calls
        .push(call_at(utc(2026, 11, 22, 2, 0, 0), 1, 1));
    let query = query(date(2026, 11, 22), date(2026, 11, 22), Tz::UTC);
    let overflow = Err(AnalyticsError::Overflow {
        quantity: "cost_micros",
    });
    assert_eq!(reference.org_dashboard("org_1", &query), overflow);
    assert_eq!(
        CellSource {
            data: &reference,
            grain: None
        }
        .org_dashboard("org_1", &query),
        overflow
    );
}

#[test]
fn the_builder_refuses_days_outside_the_range() {
    let query = query(date(2026, 11, 1), date(2026, 11, 30), Tz::UTC);
    let mut builder = DashboardBuilder::new(&query, "org_1".into(), None, true);
    let sums = Sums::of_call(1, 1, 1, 1);
    for outside in [date(2026, 10, 31), date(2026, 12, 1)] {
        assert_eq!(
            builder.add_day_model(outside, "m", &sums),
            Err(AnalyticsError::DateOutsideRange {
                date: outside,
                from: query.from(),
                to: query.to()
            })
        );
    }
    builder
        .add_day_model(date(2026, 11, 30), "m", &sums)
        .unwrap();
    let dashboard = builder.finish().unwrap();
    assert_eq!(dashboard.totals.requests, 1);
    assert_eq!(dashboard.daily[29].requests, 1);
}

#[test]
fn totals_beyond_64_bits_fail_only_when_stated() {
    let query = query(date(2026, 11, 1), date(2026, 11, 2), Tz::UTC);
    let mut builder = DashboardBuilder::new(&query, "org_1".into(), Some("usr_1".into()), true);
    let big = Sums::of_call(1, 1, i64::MAX - 5, 1);
    builder
        .add_day_model(date(2026, 11, 1), "m", &Sums::of_call(1, 1, 5, 1))
        .unwrap();
    builder.add_day_model(date(2026, 11, 2), "n", &big).unwrap();
    builder.add_user("usr_1", &big).unwrap();
    assert_eq!(
        builder.clone().finish().unwrap().totals.cost_micros,
        i64::MAX
    );
    // The day, the model and the user could take more; the totals cannot. Adding is exact in
    // 128 bits, so the figure that does not fit fails when the dashboard is stated, and a
    // source may feed the rows in any order.
    builder
        .add_day_model(date(2026, 11, 1), "m", &Sums::of_call(1, 1, 1, 1))
        .unwrap();
    assert_eq!(
        builder.clone().finish(),
        Err(AnalyticsError::Overflow {
            quantity: "cost_micros"
        })
    );
    let mut reordered = DashboardBuilder::new(&query, "org_1".into(), Some("usr_1".into()), true);
    for _ in 0..3 {
        reordered
            .add_day_model(date(2026, 11, 2), "n", &big)
            .unwrap();
    }
    assert!(reordered.finish().is_err());
}

#[test]
fn users_are_listed_only_on_the_org_dashboard() {
    let query = query(date(2026, 11, 1), date(2026, 11, 1), Tz::UTC);
    let sums = Sums::of_call(1, 1, 1, 1);
    let mut usage = DashboardBuilder::new(&query, "org_1".into(), Some("usr_1".into()), false);
    usage.add_user("usr_1", &sums).unwrap();
    assert_eq!(usage.finish().unwrap().by_user, None);
    let mut org = DashboardBuilder::new(&query, "org_1".into(), None, true);
    org.add_user("usr_1", &sums).unwrap();
    org.add_user("usr_0", &Sums::default()).unwrap();
    let users = org.finish().unwrap().by_user.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].user_id, "usr_1");
}

#[test]
fn dashboards_read_back_from_json_equal_themselves() {
    let mut reference = Reference::new();
    reference
        .calls
        .push(call_at(utc(2026, 11, 22, 1, 0, 0), 1_234_567, 333));
    reference
        .calls
        .push(call_at(utc(2026, 11, 22, 1, 0, 1), 1, 334));
    let dashboard = reference
        .org_dashboard(
            "org_1",
            &query(date(2026, 11, 21), date(2026, 11, 22), Tz::Asia__Kolkata),
        )
        .unwrap();
    let text = serde_json::to_string(&dashboard).unwrap();
    assert!(text.contains(r#""tz":"Asia/Kolkata""#), "{text}");
    assert!(text.contains(r#""avg_latency_ms":333.5"#), "{text}");
    assert_eq!(
        serde_json::from_str::<navi_analytics::Dashboard>(&text).unwrap(),
        dashboard
    );
    // Unknown fields and malformed dollars are refused.
    let mut value = serde_json::to_value(&dashboard).unwrap();
    value["totals"]["extra"] = json!(1);
    assert!(serde_json::from_value::<navi_analytics::Dashboard>(value).is_err());
    let mut value = serde_json::to_value(&dashboard).unwrap();
    value["totals"]["cost_usd"] = json!("1.23");
    assert!(serde_json::from_value::<navi_analytics::Dashboard>(value).is_err());
    let mut value = serde_json::to_value(&dashboard).unwrap();
    value["totals"]["avg_latency_ms"] = json!(1.234);
    assert!(serde_json::from_value::<navi_analytics::Dashboard>(value).is_err());
}
