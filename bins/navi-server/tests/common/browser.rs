//! A browser for the sign-in tests: it keeps the cookies Navi sets (checking their attributes)
//! and sends `Origin` on unsafe methods, as browsers do; and the mail the test SMTP server
//! delivered. Shared by `tests/sign_in.rs` and `tests/sso.rs`.
#![allow(dead_code)] // Each test binary uses part of it.

use std::collections::HashMap;
use std::path::PathBuf;

use actix_web::cookie::Cookie;
use navi_server::config::Config;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::Backend;
use serde_json::{json, Value};

use super::{config_for, state_with, Reply, TestServer};

/// What `NAVI_PUBLIC_URL` is in these tests, and so the `Origin` a browser on Navi sends.
pub const PUBLIC: &str = "http://localhost:8080";

pub fn env(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| {
            panic!("{name} is not set: run the tests with `cargo xtask test`, which starts the SMTP server")
        })
}

pub fn redis_url() -> String {
    std::env::var("NAVI_TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into())
}

/// A configuration that mails through the test SMTP server; PostgreSQL runs with Redis, under a
/// key prefix of its own (`prefix`), which instances that must share sessions share.
pub fn sign_in_config(db: &TestDatabase, prefix: &str) -> Config {
    let mut config = config_for(db);
    config.smtp_url = Some(env("NAVI_TEST_SMTP_URL"));
    config.public_url = PUBLIC.parse().unwrap();
    // Requests name their client in X-Forwarded-For, so tests can be several clients.
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    if db.backend() == Backend::Postgres {
        config.redis_url = Some(redis_url());
        config.cache_key_prefix = prefix.to_owned();
    }
    config
}

pub fn unique(label: &str) -> String {
    let random: String = navi_server::sessions::random_token()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    format!("{label}-{}", random.to_lowercase())
}

pub async fn start(db: &TestDatabase) -> TestServer {
    TestServer::start_with(state_with(sign_in_config(db, &format!("{}:", unique("navi")))).await)
}

/// A browser: it keeps the cookies servers set and sends them back, and sends `Origin` on unsafe
/// methods as browsers do.
#[derive(Default)]
pub struct Browser {
    pub cookies: HashMap<String, String>,
    pub client: String,
    /// The `Location` of the last response, if any.
    pub last_location: Option<String>,
}

impl Browser {
    pub fn at(client: &str) -> Browser {
        Browser {
            cookies: HashMap::new(),
            client: client.to_owned(),
            last_location: None,
        }
    }

    pub async fn send(
        &mut self,
        server: &TestServer,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = awc::Client::builder()
            .disable_redirects()
            .finish()
            .request(method.clone(), server.url(path))
            .insert_header(("X-Forwarded-For", self.client.as_str()));
        if !matches!(method.as_str(), "GET" | "HEAD") {
            request = request.insert_header(("Origin", PUBLIC));
        }
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        if !self.cookies.is_empty() {
            let cookies: Vec<String> = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            request = request.insert_header(("Cookie", cookies.join("; ")));
        }
        let mut response = match body {
            Some(body) => request
                .insert_header(("Content-Type", "application/json"))
                .send_body(body.to_string())
                .await
                .expect("sent"),
            None => request.send().await.expect("sent"),
        };
        self.last_location = response
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_owned());
        for value in response.headers().get_all("set-cookie") {
            let cookie = Cookie::parse(value.to_str().unwrap().to_owned()).unwrap();
            assert!(
                cookie.secure() == Some(true)
                    && cookie.http_only() == Some(true)
                    && cookie.path() == Some("/")
                    && cookie.same_site() == Some(actix_web::cookie::SameSite::Lax),
                "every cookie is Secure, HttpOnly, Path=/, SameSite=Lax: {cookie}"
            );
            if cookie.value().is_empty() {
                self.cookies.remove(cookie.name());
            } else {
                self.cookies
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        let bytes = response.body().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status: response.status().as_u16(),
            body,
        }
    }

    /// Asks for a link to `email`: the reply.
    pub async fn start_email(&mut self, server: &TestServer, email: &str) -> Reply {
        self.send(
            server,
            "POST",
            "/v1/auth/email/start",
            Some(json!({ "email": email })),
            &[],
        )
        .await
    }

    pub async fn confirm(&mut self, server: &TestServer, token: &str) -> Reply {
        self.send(
            server,
            "POST",
            "/v1/auth/email/confirm",
            Some(json!({ "token": token })),
            &[],
        )
        .await
    }

    /// Signs in as `email` through the mailed link: the session's body (user, orgs, CSRF token).
    pub async fn sign_in(&mut self, server: &TestServer, email: &str) -> Value {
        let mails_before = mails_to(email).len();
        let reply = self.start_email(server, email).await;
        assert_eq!(reply.status, 202, "{reply:?}");
        let mails = mails_to(email);
        assert_eq!(mails.len(), mails_before + 1);
        let reply = self
            .confirm(server, &link_token(mails.last().unwrap()))
            .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body
    }

    /// A request as the signed-in user, with the session's CSRF token.
    pub async fn act(
        &mut self,
        server: &TestServer,
        session: &Value,
        method: &str,
        path: &str,
        org: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let csrf = session["csrf_token"].as_str().unwrap().to_owned();
        let mut headers = vec![("X-Navi-CSRF", csrf.as_str())];
        if let Some(org) = org {
            headers.push(("X-Navi-Org", org));
        }
        self.send(server, method, path, body, &headers).await
    }
}

pub fn maildir() -> PathBuf {
    PathBuf::from(env("NAVI_TEST_MAILDIR")).join("new")
}

/// The messages delivered to `email` (their text, soft line breaks of quoted-printable undone),
/// oldest first. Sending is done when Navi answers, so no waiting is needed.
pub fn mails_to(email: &str) -> Vec<String> {
    let mut mails: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(maildir())
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let text = std::fs::read_to_string(entry.path()).ok()?;
                    let modified = entry.metadata().ok()?.modified().ok()?;
                    let to = text
                        .lines()
                        .find(|line| line.starts_with("To: "))?
                        .to_owned();
                    to.contains(email).then(|| {
                        (
                            modified,
                            text.replace("=\r\n", "")
                                .replace("=\n", "")
                                .replace("=3D", "="),
                        )
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    mails.sort();
    mails.into_iter().map(|(_, text)| text).collect()
}

/// The token of the link in a mail.
pub fn link_token(mail: &str) -> String {
    let start = mail.find("#token=").expect("a link with a token") + "#token=".len();
    mail[start..start + 43].to_owned()
}
