//! Validating calls before they are recorded: what `POST /v1/llm-calls` accepts, with errors
//! that name the call's index and field.

use chrono::{DateTime, TimeDelta, Utc};

use crate::{latency_bucket, InvalidCall, EARLIEST_DATE};

/// One call as a client describes it: the JSON of `POST /v1/llm-calls` (unknown fields refused).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallInput {
    /// The client's own id (≤ 100 characters): a retry with the same id is not counted twice.
    #[serde(default)]
    pub id: Option<String>,
    /// The model, 1–100 characters.
    pub model: String,
    /// 0 to [`MAX_TOKENS_PER_CALL`].
    pub prompt_tokens: i64,
    /// 0 to [`MAX_TOKENS_PER_CALL`].
    pub completion_tokens: i64,
    /// 0 to [`MAX_COST_MICROS_PER_CALL`], millionths of a US dollar.
    pub cost_micros: i64,
    /// 0 to [`MAX_LATENCY_MS_PER_CALL`].
    pub latency_ms: i64,
    /// When the call happened (default: now); not before 1980, not more than a day ahead.
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Most calls in one batch.
pub const MAX_BATCH: usize = 1000;

/// A validated call to record: what [`validate_calls`] makes of a [`CallInput`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCall {
    /// The client's id for the call, unique per org and user (the user the call is recorded
    /// for): another member's call with the same id is another call.
    pub client_call_id: Option<String>,
    /// The model name.
    pub model: String,
    /// ≥ 0.
    pub prompt_tokens: i64,
    /// ≥ 0.
    pub completion_tokens: i64,
    /// ≥ 0, millionths of a US dollar.
    pub cost_micros: i64,
    /// ≥ 0.
    pub latency_ms: i64,
    /// Index of the call's latency bucket, `0..LATENCY_BUCKET_COUNT`.
    pub latency_bucket: i16,
    /// Unix seconds.
    pub occurred_at: i64,
}

/// How far ahead of the server's clock a call may be dated (client clocks drift).
const MAX_FUTURE: TimeDelta = TimeDelta::days(1);

/// The most prompt tokens, and the most completion tokens, one call may report.
///
/// The bounds of one call keep every sum the rollups hold far inside 64 bits: a rollup row
/// overflows only past about 9.2 × 10⁸ calls at the largest cost, so one caller cannot break
/// the sums of a model and day for the whole org.
pub const MAX_TOKENS_PER_CALL: i64 = 100_000_000;
/// The largest cost of one call, in micro-dollars: 10,000 US dollars.
pub const MAX_COST_MICROS_PER_CALL: i64 = 10_000_000_000;
/// The longest latency of one call, in milliseconds: one day.
pub const MAX_LATENCY_MS_PER_CALL: i64 = 86_400_000;

/// Validates a batch, all or nothing: the first invalid call is the error, naming its index.
pub fn validate_calls(
    calls: &[CallInput],
    now: DateTime<Utc>,
) -> Result<Vec<NewCall>, InvalidCall> {
    if calls.is_empty() || calls.len() > MAX_BATCH {
        return Err(InvalidCall {
            index: None,
            field: "calls",
            message: format!("calls: 1 to {MAX_BATCH} calls per request"),
        });
    }
    calls
        .iter()
        .enumerate()
        .map(|(index, call)| {
            validate_call(call, now).map_err(|(field, why)| InvalidCall {
                index: Some(index),
                field,
                message: format!("calls[{index}].{field}: {why}"),
            })
        })
        .collect()
}

fn validate_call(call: &CallInput, now: DateTime<Utc>) -> Result<NewCall, (&'static str, String)> {
    if let Some(id) = &call.id {
        if id.is_empty() || id.chars().count() > 100 || id.chars().any(char::is_control) {
            return Err((
                "id",
                "1 to 100 characters, no control characters".to_owned(),
            ));
        }
    }
    let model = &call.model;
    if let Some(why) = navi_text::name_problem(model, 100) {
        return Err(("model", why));
    }
    for (field, value, max) in [
        ("prompt_tokens", call.prompt_tokens, MAX_TOKENS_PER_CALL),
        (
            "completion_tokens",
            call.completion_tokens,
            MAX_TOKENS_PER_CALL,
        ),
        ("cost_micros", call.cost_micros, MAX_COST_MICROS_PER_CALL),
        ("latency_ms", call.latency_ms, MAX_LATENCY_MS_PER_CALL),
    ] {
        if !(0..=max).contains(&value) {
            return Err((field, format!("a whole number from 0 to {max}")));
        }
    }
    let occurred_at = call.occurred_at.unwrap_or(now);
    let earliest = EARLIEST_DATE.and_hms_opt(0, 0, 0).map(|at| at.and_utc());
    if earliest.is_some_and(|earliest| occurred_at < earliest) || occurred_at > now + MAX_FUTURE {
        return Err((
            "occurred_at",
            "an RFC 3339 time from 1980 to one day from now".to_owned(),
        ));
    }
    let bucket = i16::try_from(latency_bucket(call.latency_ms))
        .map_err(|_| ("latency_ms", "out of range".to_owned()))?;
    Ok(NewCall {
        client_call_id: call.id.clone(),
        model: model.trim().to_owned(),
        prompt_tokens: call.prompt_tokens,
        completion_tokens: call.completion_tokens,
        cost_micros: call.cost_micros,
        latency_ms: call.latency_ms,
        latency_bucket: bucket,
        occurred_at: occurred_at.timestamp(),
    })
}
