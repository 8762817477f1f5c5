//! `/v1/audit/logs`, `/v1/audit/export.csv` and `/v1/audit/verify` (admin+).
//!
//! The export streams: rows are read in keyset batches of [`EXPORT_BATCH`], each with a pooled
//! connection checked out for that batch alone (a slow client never pins one), turned into CSV
//! and sent through a channel of [`EXPORT_CHANNEL_CHUNKS`] chunks to the response. The server
//! holds at most a few batches whatever the export's size; when the client goes away the channel
//! closes and reading stops.

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use base64::Engine as _;
use chrono::{Datelike, NaiveDate, NaiveDateTime, Utc};
use navi_tenancy::audit::{list_audit_events, verify_chain, AuditAction, AuditFilter, AuditRecord};
use navi_tenancy::{DbPool, Role, TenantScope};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::timestamp;
use crate::app::{resource, AppState};
use crate::auth::Scoped;
use crate::error::ApiError;

/// Mounts the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/audit/logs").get(logs))
        .service(resource("/v1/audit/export.csv").get(export_csv))
        .service(resource("/v1/audit/verify").get(verify));
}

/// Events per page of `/v1/audit/logs` unless `limit` says otherwise.
pub const DEFAULT_PAGE: i64 = 100;
/// Rows of an export unless `limit` says otherwise.
pub const DEFAULT_EXPORT_ROWS: i64 = 1000;
/// Most rows of one export.
pub const MAX_EXPORT_ROWS: i64 = 10_000;
/// Rows read (and connections checked out) per export batch.
pub const EXPORT_BATCH: i64 = 250;
/// CSV chunks (one per batch) the channel to the response holds.
pub const EXPORT_CHANNEL_CHUNKS: usize = 2;

/// The filters every audit endpoint shares.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    from: Option<String>,
    to: Option<String>,
    action: Option<String>,
    actor: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
    include_payload: Option<String>,
}

impl ListParams {
    fn filter(&self) -> Result<AuditFilter, ApiError> {
        let (from, to) = range(self.from.as_deref(), self.to.as_deref())?;
        let action = match self.action.as_deref() {
            None => None,
            Some(name) => Some(AuditAction::parse(name).ok_or_else(|| {
                ApiError::invalid_request(format!(
                    "action: one of {}.",
                    AuditAction::ALL.map(AuditAction::as_str).join(", ")
                ))
            })?),
        };
        let actor_user_id = match self.actor.as_deref() {
            None => None,
            Some(actor) if is_id(actor) => Some(actor.to_owned()),
            Some(_) => return Err(ApiError::invalid_request("actor: a user id (usr_…).")),
        };
        Ok(AuditFilter {
            from,
            to,
            action,
            actor_user_id,
        })
    }

    fn limit(&self, default: i64, max: i64) -> Result<i64, ApiError> {
        match self.limit.as_deref() {
            None => Ok(default),
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|limit| (1..=max).contains(limit))
                .ok_or_else(|| {
                    ApiError::invalid_request(format!("limit: a whole number from 1 to {max}."))
                }),
        }
    }
}

/// Ids the server makes: a prefix, `_`, lowercase letters and digits.
fn is_id(text: &str) -> bool {
    text.len() <= 64
        && text.split_once('_').is_some_and(|(prefix, rest)| {
            !prefix.is_empty()
                && !rest.is_empty()
                && text
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// `from` and `to` as instants: an RFC 3339 time, or a calendar day (UTC), `from` counting from
/// the start of its day and `to` through the end of its day. `from` is included, `to` is not.
fn range(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Option<NaiveDateTime>, Option<NaiveDateTime>), ApiError> {
    let instant = |name: &str, text: &str, end_of_day: bool| {
        // Both backends compare these timestamps; SQLite compares them as text, which orders
        // correctly for years 0000 to 9999 only.
        let in_range = |at: NaiveDateTime| {
            if (1970..=9999).contains(&at.year()) {
                Ok(at)
            } else {
                Err(ApiError::invalid_request(format!(
                    "{name}: a time between 1970 and 9999."
                )))
            }
        };
        if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
            return in_range(at.naive_utc());
        }
        let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            ApiError::invalid_request(format!(
                "{name}: an RFC 3339 time (2026-11-22T09:15:00Z) or a day (2026-11-22)."
            ))
        })?;
        let day = if end_of_day {
            day.succ_opt()
        } else {
            Some(day)
        };
        day.and_then(|day| day.and_hms_opt(0, 0, 0))
            .ok_or_else(|| ApiError::invalid_request(format!("{name}: out of range.")))
            .and_then(in_range)
    };
    let from = from.map(|text| instant("from", text, false)).transpose()?;
    let to = to.map(|text| instant("to", text, true)).transpose()?;
    if let (Some(from), Some(to)) = (from, to) {
        if from >= to {
            return Err(ApiError::invalid_request("from: must be before to."));
        }
    }
    Ok((from, to))
}

/// An event on the wire.
#[derive(Debug, Serialize)]
struct EventResponse {
    id: String,
    org_id: String,
    actor_user_id: Option<String>,
    action: String,
    target_type: String,
    target_id: Option<String>,
    ip: Option<String>,
    created_at: String,
    /// Absent when the stored payload cannot be opened (the verify endpoint says why).
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<Map<String, Value>>,
}

impl EventResponse {
    fn new(record: AuditRecord, keyring: &navi_crypto::Keyring) -> EventResponse {
        let payload = match record.open_payload(keyring) {
            Ok(payload) => Some(payload),
            Err(error) => {
                tracing::warn!(%error, id = %record.id, "an audit payload cannot be opened");
                None
            }
        };
        EventResponse {
            id: record.id,
            org_id: record.org_id,
            actor_user_id: record.actor_user_id,
            action: record.action,
            target_type: record.target_type,
            target_id: record.target_id,
            ip: record.ip,
            created_at: timestamp(record.created_at),
            payload,
        }
    }
}

fn require_admin(scope: &TenantScope) -> Result<(), ApiError> {
    Ok(scope.require(Role::Admin)?)
}

/// The keyset cursor: the `seq` of the last event of the previous page, as text.
fn cursor(text: Option<&str>) -> Result<Option<i64>, ApiError> {
    text.map(|text| {
        text.parse::<i64>()
            .ok()
            .filter(|seq| *seq > 0)
            .ok_or_else(|| ApiError::invalid_request("cursor: a next_cursor from an earlier page."))
    })
    .transpose()
}

async fn logs(
    Scoped { scope, .. }: Scoped,
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&scope)?;
    if params.include_payload.is_some() {
        return Err(ApiError::invalid_request(
            "include_payload: only for /v1/audit/export.csv.",
        ));
    }
    let filter = params.filter()?;
    let limit = params.limit(DEFAULT_PAGE, navi_tenancy::audit::MAX_PAGE)?;
    let before = cursor(params.cursor.as_deref())?;
    let records = state
        .db(move |conn| list_audit_events(&scope, conn, &filter, before, limit))
        .await?;
    let next_cursor = (records.len() as i64 == limit)
        .then(|| records.last().map(|last| last.seq.to_string()))
        .flatten();
    let keyring = state.audit_keys.keyring();
    let events: Vec<EventResponse> = records
        .into_iter()
        .map(|record| EventResponse::new(record, keyring))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "events": events,
        "next_cursor": next_cursor,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyParams {
    from: Option<String>,
    to: Option<String>,
}

async fn verify(
    Scoped { scope, .. }: Scoped,
    state: web::Data<AppState>,
    params: web::Query<VerifyParams>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&scope)?;
    let (from, to) = range(params.from.as_deref(), params.to.as_deref())?;
    let keys = state.audit_keys.clone();
    let report = state
        .db(move |conn| verify_chain(&scope, conn, &keys, from, to))
        .await?;
    let body = match report.broken {
        None => serde_json::json!({ "checked": report.checked, "ok": true }),
        Some(broken) => serde_json::json!({
            "checked": report.checked,
            "ok": false,
            "first_broken": {
                "id": broken.id,
                "seq": broken.seq,
                "created_at": timestamp(broken.created_at),
                "reason": broken.reason.as_str(),
            },
        }),
    };
    Ok(HttpResponse::Ok().json(body))
}

/// The export's columns, in order.
const CSV_HEADER: [&str; 8] = [
    "id",
    "created_at",
    "org_id",
    "actor_user_id",
    "action",
    "target_type",
    "target_id",
    "ip",
];

/// A cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR)
/// gets a leading `'`, which spreadsheets show as text.
fn neutralised(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// Writes CSV rows (RFC 4180: quoted where needed, CRLF line ends).
struct CsvRows {
    include_payload: bool,
}

impl CsvRows {
    fn writer() -> csv::Writer<Vec<u8>> {
        csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Necessary)
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new())
    }

    fn header(&self) -> Result<Vec<u8>, csv::Error> {
        let mut writer = CsvRows::writer();
        let mut header: Vec<&str> = CSV_HEADER.to_vec();
        if self.include_payload {
            header.push("payload_b64");
        }
        writer.write_record(&header)?;
        into_bytes(writer)
    }

    fn rows(&self, records: &[AuditRecord]) -> Result<Vec<u8>, csv::Error> {
        let mut writer = CsvRows::writer();
        for record in records {
            let created_at = timestamp(record.created_at);
            let payload = self.include_payload.then(|| {
                record
                    .payload_bytes()
                    .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes))
                    .unwrap_or_default()
            });
            let cells = [
                record.id.as_str(),
                created_at.as_str(),
                record.org_id.as_str(),
                record.actor_user_id.as_deref().unwrap_or(""),
                record.action.as_str(),
                record.target_type.as_str(),
                record.target_id.as_deref().unwrap_or(""),
                record.ip.as_deref().unwrap_or(""),
            ];
            let row = cells.into_iter().chain(payload.as_deref()).map(neutralised);
            writer.write_record(row.map(|cell| cell.into_owned()))?;
        }
        into_bytes(writer)
    }
}

fn into_bytes(writer: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, csv::Error> {
    writer
        .into_inner()
        .map_err(|error| csv::Error::from(error.into_error()))
}

#[derive(Debug, Clone, Copy)]
struct ExportPlan {
    limit: i64,
    include_payload: bool,
}

/// One batch of an export, already CSV.
struct Chunk {
    csv: Bytes,
    rows: i64,
    last_seq: Option<i64>,
}

/// What reads an export's batches. Each batch runs on the blocking pool with a connection
/// checked out for it alone.
#[derive(Clone)]
struct ExportReader {
    pool: DbPool,
    scope: TenantScope,
    filter: AuditFilter,
    include_payload: bool,
}

impl ExportReader {
    /// Reads up to `size` rows older than `before` and writes them as CSV.
    async fn chunk(&self, before: Option<i64>, size: i64) -> Result<Chunk, ApiError> {
        let reader = self.clone();
        let result = web::block(move || -> Result<Chunk, ApiError> {
            let mut conn = navi_tenancy::checkout(&reader.pool)?;
            let records =
                list_audit_events(&reader.scope, &mut conn, &reader.filter, before, size)?;
            drop(conn);
            let rows = CsvRows {
                include_payload: reader.include_payload,
            };
            let csv = rows.rows(&records).map_err(|error| {
                tracing::error!(%error, "cannot write audit CSV");
                ApiError::internal()
            })?;
            Ok(Chunk {
                csv: Bytes::from(csv),
                rows: records.len() as i64,
                last_seq: records.last().map(|record| record.seq),
            })
        })
        .await;
        result.map_err(|error| {
            tracing::error!(%error, "audit export task panicked");
            ApiError::internal()
        })?
    }
}

/// How long an export waits for its client to take the next chunk before giving up: a client
/// that stops reading without going away holds no more than this.
pub const EXPORT_SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

type ChunkSender = tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>;

async fn export_csv(
    Scoped { scope, org, .. }: Scoped,
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&scope)?;
    if params.cursor.is_some() {
        return Err(ApiError::invalid_request(
            "cursor: the export is one stream; narrow it with from and to.",
        ));
    }
    let filter = params.filter()?;
    let plan = ExportPlan {
        limit: params.limit(DEFAULT_EXPORT_ROWS, MAX_EXPORT_ROWS)?,
        include_payload: match params.include_payload.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(ApiError::invalid_request("include_payload: true or false.")),
        },
    };
    let reader = ExportReader {
        pool: state.pool.clone(),
        scope,
        filter,
        include_payload: plan.include_payload,
    };
    // The first batch is read before the response starts, so a failure there is a proper
    // error status rather than a cut-off download.
    let first = reader.chunk(None, EXPORT_BATCH.min(plan.limit)).await?;
    let header = CsvRows {
        include_payload: plan.include_payload,
    }
    .header()
    .map_err(|error| {
        tracing::error!(%error, "cannot write audit CSV");
        ApiError::internal()
    })?;
    let (sender, receiver) = tokio::sync::mpsc::channel(EXPORT_CHANNEL_CHUNKS);
    let metrics = state.http_metrics.clone();
    let active = metrics.audit_export_started();
    actix_web::rt::spawn(async move {
        let header = Bytes::from(header);
        if let Err(error) = stream_export(&reader, plan, &metrics, header, first, &sender).await {
            tracing::error!(%error, "audit export stopped");
            // The client sees a truncated body, never a half-written row.
            let _ = sender
                .send(Err(std::io::Error::other("export failed")))
                .await;
        }
        // Everything this task holds is let go before the sender, whose drop ends the response:
        // a client that has read the whole body never outlives the task's share of the pool.
        drop((reader, active));
        drop(sender);
    });
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let filename = format!(
        "audit-{}-{}.csv",
        org.slug,
        Utc::now().date_naive().format("%Y-%m-%d")
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(filename)],
        })
        .streaming(body))
}

/// Sends the header and the batches to `sender` until the export is complete, the client is gone
/// (the channel is closed) or it stopped reading for [`EXPORT_SEND_TIMEOUT`].
async fn stream_export(
    reader: &ExportReader,
    plan: ExportPlan,
    metrics: &crate::metrics::HttpMetrics,
    header: Bytes,
    first: Chunk,
    sender: &ChunkSender,
) -> Result<(), ApiError> {
    let send = |bytes: Bytes| async move {
        sender
            .send_timeout(Ok(bytes), EXPORT_SEND_TIMEOUT)
            .await
            .is_ok()
    };
    if !send(header).await {
        return Ok(());
    }
    let mut chunk = first;
    let mut sent = 0i64;
    loop {
        let requested = EXPORT_BATCH.min(plan.limit - sent);
        sent += chunk.rows;
        metrics.observe_audit_export_rows(chunk.rows as usize);
        if chunk.rows > 0 && !send(chunk.csv).await {
            tracing::info!(
                sent,
                "audit export: the client went away or stopped reading"
            );
            return Ok(());
        }
        let (Some(before), true) = (chunk.last_seq, chunk.rows == requested && sent < plan.limit)
        else {
            return Ok(());
        };
        chunk = reader
            .chunk(Some(before), EXPORT_BATCH.min(plan.limit - sent))
            .await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_others_kept() {
        for cell in ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralised(cell), format!("'{cell}"));
        }
        for cell in ["", "aud_x", "1.2.3.4", "a=b", "é"] {
            assert_eq!(neutralised(cell), cell);
        }
    }

    #[test]
    fn ranges_take_times_or_whole_days() {
        let (from, to) = range(Some("2026-11-22"), Some("2026-11-22")).unwrap();
        assert_eq!(from.unwrap().to_string(), "2026-11-22 00:00:00");
        assert_eq!(to.unwrap().to_string(), "2026-11-23 00:00:00");
        let (from, _) = range(Some("2026-11-22T09:15:00+01:00"), None).unwrap();
        assert_eq!(from.unwrap().to_string(), "2026-11-22 08:15:00");
        assert!(range(Some("2026-11-23"), Some("2026-11-22")).is_err());
        assert!(range(Some("yesterday"), None).is_err());
        assert!(range(None, Some("9999-12-31")).is_err(), "past year 9999");
        assert!(range(Some("1969-12-31T23:59:59Z"), None).is_err());
        assert!(range(None, Some("9999-12-30")).is_ok());
    }

    #[test]
    fn actor_filters_take_only_ids() {
        assert!(is_id("usr_abc234"));
        assert!(!is_id("usr_"));
        assert!(!is_id("Usr_abc"));
        assert!(!is_id("abc"));
        assert!(!is_id("usr_a'b"));
    }
}
