//! The server harness shared by the HTTP tests: a real server on port 0 over a test database.
#![allow(dead_code)] // Each test binary uses part of it.

pub mod browser;

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use navi_server::app::AppState;
use navi_server::config::Config;
use navi_server::startup::{bind, open_database};
use navi_tenancy::api_keys::create_api_key_privileged;
use navi_tenancy::api_keys::Pepper;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::users::verify_email;
use navi_tenancy::Backend;
use navi_tenancy::{checkout, Email, Privileged};
use serde_json::{json, Value};

/// The default configuration over `db`; PostgreSQL gets the pepper it requires.
pub fn config_for(db: &TestDatabase) -> Config {
    let mut config = Config::from_lookup(|_| None).expect("the default configuration is valid");
    config.database_url = db.url().clone();
    if db.backend() == Backend::Postgres {
        config.api_key_pepper = Some(Pepper::generate_base64());
        let key = navi_crypto::generate_key_line().expect("a key");
        config.encryption_keys = Some(navi_server::config::KeySource::Inline(
            key.as_str().to_owned(),
        ));
    }
    config
}

/// Sets the platform's rate of `policy` to `quota` per `seconds`.
pub fn set_limit(
    config: &mut Config,
    policy: navi_server::rate_limits::Policy,
    quota: u64,
    seconds: u64,
) {
    let window = std::time::Duration::from_secs(seconds);
    let rate = navi_cache::Rate::new(quota, window).expect("a rate");
    config.rate_limits.rates.insert(policy, rate);
}

/// The state the server would build over `db`, migrations applied, with the memory cache.
pub async fn state_for(db: &TestDatabase) -> AppState {
    state_with(config_for(db)).await
}

/// The state the server would build from `config` (memory cache unless it names Redis).
pub async fn state_with(config: Config) -> AppState {
    let pool = open_database(&config, true).expect("database opens");
    let cache = navi_server::startup::connect_cache(&config)
        .await
        .expect("cache connects");
    AppState::new(pool, Arc::new(config), cache).expect("keys load")
}

/// A server running in this process on a free port.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    handle: ServerHandle,
}

/// A response: status and JSON body (`Value::Null` when empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl TestServer {
    pub async fn start(db: &TestDatabase) -> TestServer {
        TestServer::start_with(state_for(db).await)
    }

    pub fn start_with(state: AppState) -> TestServer {
        let (server, addr) = bind(state.clone(), "127.0.0.1:0".parse().unwrap()).expect("binds");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        TestServer {
            addr,
            state,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends `method path` with an optional key, org header and JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        org: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let body = body.map(|body| body.to_string());
        self.send(self.request(method, path, key, org), body.as_deref())
            .await
    }

    /// [`TestServer::call`] with a body given as JSON text, which can say what a `Value` cannot
    /// (a key twice, say).
    pub async fn call_text(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        org: Option<&str>,
        body: &str,
    ) -> Reply {
        self.send(self.request(method, path, key, org), Some(body))
            .await
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        org: Option<&str>,
    ) -> awc::ClientRequest {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = awc::Client::new().request(method, self.url(path));
        if let Some(key) = key {
            request = request.insert_header(("Authorization", format!("Bearer {key}")));
        }
        if let Some(org) = org {
            request = request.insert_header(("X-Navi-Org", org));
        }
        request
    }

    async fn send(&self, request: awc::ClientRequest, body: Option<&str>) -> Reply {
        let mut response = match body {
            Some(body) => {
                request
                    .insert_header(("Content-Type", "application/json"))
                    .send_body(body.to_owned())
                    .await
            }
            None => request.send().await,
        }
        .expect("request sent");
        let bytes = response.body().await.expect("body read");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
        };
        Reply {
            status: response.status().as_u16(),
            body,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let reply = self.call("GET", path, None, None, None).await;
        (reply.status, reply.body)
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

pub fn assert_error_body(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(!message.is_empty());
    assert_eq!(body.as_object().unwrap().len(), 1, "only `error`: {body}");
}

/// Runs each async scenario on both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $( #[actix_web::test] async fn $name() { super::$name(super::TestDatabase::postgres()).await } )*
        }
        mod sqlite {
            $( #[actix_web::test] async fn $name() { super::$name(super::TestDatabase::sqlite()).await } )*
        }
    };
}

pub struct Api {
    pub server: TestServer,
    _db: Option<TestDatabase>,
}

/// A user with an unpinned key, and the org they own.
pub struct Owner {
    pub key: String,
    pub user_id: String,
    pub org_id: String,
}

impl Api {
    pub async fn start(db: TestDatabase) -> Api {
        Api {
            server: TestServer::start(&db).await,
            _db: Some(db),
        }
    }

    /// A server over `db` started from `config` (made by [`config_for`] and changed).
    pub async fn start_with_config(db: TestDatabase, config: Config) -> Api {
        Api {
            server: TestServer::start_with(state_with(config).await),
            _db: Some(db),
        }
    }

    /// Drives a server the caller started (and whose database the caller keeps alive).
    pub fn start_on(server: TestServer) -> Api {
        Api { server, _db: None }
    }

    /// A user whose email is verified, with a fresh unpinned key, made directly in the database.
    pub fn user(&self, email: &str) -> (String, String) {
        let privileged = Privileged::acquire("test setup");
        let mut conn = checkout(&self.server.state.pool).unwrap();
        let user = verify_email(
            &privileged,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            &Email::parse(email).unwrap(),
        )
        .unwrap();
        let (_, key) = create_api_key_privileged(
            &privileged,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            None,
            &self.server.state.pepper,
            &user.id,
            None,
            "test",
        )
        .unwrap();
        (key.expose().to_owned(), user.id)
    }

    pub async fn owner(&self, email: &str, org_name: &str) -> Owner {
        let (key, user_id) = self.user(email);
        let reply = self
            .call(
                "POST",
                "/v1/orgs",
                Some(&key),
                None,
                Some(json!({"name": org_name})),
            )
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
        Owner {
            key,
            user_id,
            org_id: reply.body["id"].as_str().unwrap().to_owned(),
        }
    }

    /// A fresh key of the owner pinned to their org, made in the database (so making it counts
    /// against no rate limit).
    pub fn pinned_key(&self, owner: &Owner) -> String {
        let privileged = Privileged::acquire("test setup");
        let mut conn = checkout(&self.server.state.pool).unwrap();
        let (_, key) = create_api_key_privileged(
            &privileged,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            Some(&owner.org_id),
            &self.server.state.pepper,
            &owner.user_id,
            Some(&owner.org_id),
            "pinned",
        )
        .unwrap();
        key.expose().to_owned()
    }

    /// Invites `email` as `role` and has them accept with their own new unpinned key.
    pub async fn member(&self, owner: &Owner, email: &str, role: &str) -> (String, String) {
        let (key, user_id) = self.user(email);
        let token = self.invite(owner, email, role).await;
        let reply = self
            .call(
                "POST",
                "/v1/invites/accept",
                Some(&key),
                None,
                Some(json!({"token": token})),
            )
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
        (key, user_id)
    }

    pub async fn invite(&self, owner: &Owner, email: &str, role: &str) -> String {
        let reply = self
            .call(
                "POST",
                "/v1/org/invites",
                Some(&owner.key),
                Some(&owner.org_id),
                Some(json!({"email": email, "role": role})),
            )
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
        reply.body["token"].as_str().unwrap().to_owned()
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        org: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.server.call(method, path, key, org, body).await
    }

    /// `GET path` as `key` in `org`, which must answer 200: its body.
    pub async fn get_ok(&self, path: &str, key: &str, org: Option<&str>) -> Value {
        let reply = self.call("GET", path, Some(key), org, None).await;
        assert_eq!(reply.status, 200, "GET {path}: {reply:?}");
        reply.body
    }

    pub async fn call_text(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        org: Option<&str>,
        body: &str,
    ) -> Reply {
        self.server.call_text(method, path, key, org, body).await
    }
}

pub fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_error_body(&reply.body, code);
}

pub fn is_timestamp(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok() && s.ends_with('Z'))
}
