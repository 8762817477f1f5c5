//! Navi's mail (sign-in links, invites): by SMTP when `NAVI_SMTP_URL` is set; else, on the
//! embedded default, written as `.eml` files (0600) to `outbox/` next to the database, at most
//! [`OUTBOX_LIMIT`] of them (the oldest dropped); else (PostgreSQL without SMTP) none, and what
//! needs mail answers 503.

use std::path::{Path, PathBuf};

use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

/// The most messages `outbox/` keeps.
pub const OUTBOX_LIMIT: usize = 1_000;

/// Where mail goes.
#[derive(Debug, Clone)]
pub struct Mailer {
    from: Mailbox,
    route: Route,
}

#[derive(Debug, Clone)]
enum Route {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
    Nowhere,
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// No way to send mail is configured.
    #[error("no mail transport is configured (NAVI_SMTP_URL)")]
    NotConfigured,
    /// The relay refused this recipient for good (no such mailbox, say). The sender answers as
    /// if it had been sent, so the answer tells nothing about the address.
    #[error("the mail relay refused the message: {0}")]
    Refused(String),
    /// The relay or the outbox cannot take mail now.
    #[error("mail cannot be sent now: {0}")]
    Unavailable(String),
}

impl Mailer {
    /// The mailer the configuration asks for, logging where mail goes when it is not SMTP.
    pub fn from_config(config: &Config) -> anyhow::Result<Mailer> {
        let route = match (&config.smtp_url, config.database_url.sqlite_path()) {
            (Some(url), _) => {
                Route::Smtp(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build())
            }
            (None, Some(database)) => {
                let outbox = database
                    .parent()
                    .filter(|dir| !dir.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .join("outbox");
                tracing::warn!(
                    outbox = %outbox.display(),
                    "NAVI_SMTP_URL is not set: mail (sign-in links, invites) is written to the \
                     outbox directory instead of being sent"
                );
                Route::Outbox(outbox)
            }
            (None, None) => {
                tracing::warn!(
                    "NAVI_SMTP_URL is not set: email sign-in answers 503 and invites are not mailed"
                );
                Route::Nowhere
            }
        };
        Ok(Mailer {
            from: config.mail_from.clone(),
            route,
        })
    }

    /// Whether mail can go anywhere.
    pub fn is_configured(&self) -> bool {
        !matches!(self.route, Route::Nowhere)
    }

    /// Sends a plain-text message to `to`.
    pub async fn send(&self, to: &str, subject: &str, text: String) -> Result<(), MailError> {
        // A bare address, never a display name: `to` is already a checked `Email`.
        let to = Mailbox::new(
            None,
            to.parse()
                .map_err(|e| MailError::Refused(format!("recipient: {e}")))?,
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(text)
            .map_err(|e| MailError::Refused(e.to_string()))?;
        match &self.route {
            Route::Smtp(transport) => match transport.send(message).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(MailError::Refused(e.to_string())),
                Err(e) => Err(MailError::Unavailable(e.to_string())),
            },
            Route::Outbox(dir) => {
                let dir = dir.clone();
                let bytes = message.formatted();
                tokio::task::spawn_blocking(move || write_to_outbox(&dir, &bytes))
                    .await
                    .map_err(|e| MailError::Unavailable(e.to_string()))?
                    .map_err(|e| MailError::Unavailable(format!("outbox: {e}")))
            }
            Route::Nowhere => Err(MailError::NotConfigured),
        }
    }
}

/// Writes one message as `<microseconds since 1970>-<random>.eml` (so names sort by age), then
/// drops the oldest beyond [`OUTBOX_LIMIT`].
fn write_to_outbox(dir: &Path, message: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let micros = chrono::Utc::now().timestamp_micros();
    let name = format!("{micros:020}-{}.eml", crate::sessions::random_token());
    let mut file = navi_tenancy::create_private_file(&dir.join(name))?
        .ok_or_else(|| std::io::Error::other("an outbox file of that name exists"))?;
    file.write_all(message)?;
    file.sync_all()?;
    let mut names: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name())
        .filter(|name| name.to_string_lossy().ends_with(".eml"))
        .collect();
    if names.len() > OUTBOX_LIMIT {
        names.sort();
        for name in &names[..names.len() - OUTBOX_LIMIT] {
            // Another instance may have dropped it already.
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    Ok(())
}
