//! The services the test suite needs: found running, or started as throwaway instances from the
//! installed binaries under `target/navi-test-services/`, and stopped when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use navi_tenancy::{ConnectionOptions, DatabaseUrl};

/// A service the suite talks to, and what to undo when it is dropped.
#[derive(Debug)]
pub struct Service {
    pub url: String,
    pub origin: &'static str,
    cleanup: Option<Cleanup>,
}

#[derive(Debug)]
enum Cleanup {
    Postgres { data_dir: PathBuf, pg_ctl: PathBuf },
    Process { child: Child, dir: PathBuf },
    Child(Child),
}

impl Drop for Service {
    fn drop(&mut self) {
        match self.cleanup.take() {
            Some(Cleanup::Postgres { data_dir, pg_ctl }) => {
                let _ = as_postgres_user(&pg_ctl)
                    .args(["-D", path_str(&data_dir), "-m", "immediate", "-w", "stop"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                let _ = std::fs::remove_dir_all(&data_dir);
            }
            Some(Cleanup::Child(mut child)) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Some(Cleanup::Process { mut child, dir }) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(&dir);
            }
            None => {}
        }
    }
}

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
const DEFAULT_REDIS: &str = "redis://127.0.0.1:6379";

/// PostgreSQL from `NAVI_TEST_DATABASE_URL`, else the local service, else a throwaway cluster.
pub fn postgres(scratch: &Path) -> anyhow::Result<Service> {
    if let Some(url) = env_url("NAVI_TEST_DATABASE_URL") {
        postgres_answers(&url).context("NAVI_TEST_DATABASE_URL is set but its server does not answer; start it or unset the variable")?;
        return Ok(Service {
            url,
            origin: "NAVI_TEST_DATABASE_URL",
            cleanup: None,
        });
    }
    if postgres_answers(DEFAULT_POSTGRES).is_ok() {
        return Ok(Service {
            url: DEFAULT_POSTGRES.into(),
            origin: "local service",
            cleanup: None,
        });
    }
    start_postgres(scratch).context(
        "no PostgreSQL answers at 127.0.0.1:5432 and a throwaway one could not be started: install \
         PostgreSQL (Debian: apt-get install postgresql) or set NAVI_TEST_DATABASE_URL",
    )
}

/// Redis from `NAVI_TEST_REDIS_URL`, else the local service, else a throwaway server.
pub fn redis(scratch: &Path) -> anyhow::Result<Service> {
    if let Some(url) = env_url("NAVI_TEST_REDIS_URL") {
        redis_answers(&url).context("NAVI_TEST_REDIS_URL is set but its server does not answer; start it or unset the variable")?;
        return Ok(Service {
            url,
            origin: "NAVI_TEST_REDIS_URL",
            cleanup: None,
        });
    }
    if redis_answers(DEFAULT_REDIS).is_ok() {
        return Ok(Service {
            url: DEFAULT_REDIS.into(),
            origin: "local service",
            cleanup: None,
        });
    }
    start_redis(scratch).context(
        "no Redis answers at 127.0.0.1:6379 and a throwaway one could not be started: install \
         redis-server (Debian: apt-get install redis-server) or set NAVI_TEST_REDIS_URL",
    )
}

fn env_url(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

fn postgres_answers(url: &str) -> anyhow::Result<()> {
    let url = DatabaseUrl::parse(url)?;
    url.connect(&ConnectionOptions::default())?;
    Ok(())
}

/// Sends `PING` over a plain socket: the suite's own Redis client lives in navi-cache.
fn redis_answers(url: &str) -> anyhow::Result<()> {
    let rest = url
        .strip_prefix("redis://")
        .context("only redis:// URLs can be checked here")?;
    let host_port = rest.split('/').next().unwrap_or(rest);
    let host_port = host_port.rsplit('@').next().unwrap_or(host_port);
    let addr = host_port
        .to_socket_addrs()?
        .next()
        .context("the Redis address resolves to nothing")?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"PING\r\n")?;
    let mut reply = [0u8; 64];
    let n = stream.read(&mut reply)?;
    let reply = String::from_utf8_lossy(&reply[..n]);
    // A password-protected server answers NOAUTH: it is up, and the tests authenticate.
    if reply.starts_with("+PONG") || reply.contains("NOAUTH") {
        Ok(())
    } else {
        bail!("unexpected reply to PING: {reply}")
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn find_binary(name: &str) -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    from_path.or_else(|| {
        // Debian keeps the server binaries off PATH.
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin").join(name)))
            .filter(|candidate| candidate.is_file())
            .collect();
        versions.sort();
        versions.pop()
    })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        .unwrap_or(false)
}

/// PostgreSQL refuses to run as root: run its tools as the `postgres` user when we are root.
fn as_postgres_user(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

fn start_postgres(scratch: &Path) -> anyhow::Result<Service> {
    let initdb = find_binary("initdb").context("initdb is not installed")?;
    let pg_ctl = find_binary("pg_ctl").context("pg_ctl is not installed")?;
    let port = free_port()?;
    let data_dir = scratch.join(format!("postgres-{port}"));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir)?;
    if running_as_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres", path_str(scratch)])
            .status()?;
        if !status.success() {
            bail!("cannot hand {} to the postgres user", scratch.display());
        }
    }
    eprintln!("xtask: starting a throwaway PostgreSQL on 127.0.0.1:{port}");
    let status = as_postgres_user(&initdb)
        .args([
            "-D",
            path_str(&data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("initdb failed");
    }
    let log = data_dir.join("server.log");
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
        path_str(&data_dir)
    );
    let status = as_postgres_user(&pg_ctl)
        .args([
            "-D",
            path_str(&data_dir),
            "-l",
            path_str(&log),
            "-o",
            &options,
            "-w",
            "start",
        ])
        .stdout(Stdio::null())
        .status()?;
    let service = Service {
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        origin: "throwaway server",
        cleanup: Some(Cleanup::Postgres { data_dir, pg_ctl }),
    };
    if !status.success() {
        bail!("pg_ctl start failed");
    }
    postgres_answers(&service.url)?;
    Ok(service)
}

fn start_redis(scratch: &Path) -> anyhow::Result<Service> {
    let redis_server = find_binary("redis-server").context("redis-server is not installed")?;
    let port = free_port()?;
    let dir = scratch.join(format!("redis-{port}"));
    std::fs::create_dir_all(&dir)?;
    eprintln!("xtask: starting a throwaway Redis on 127.0.0.1:{port}");
    let child = Command::new(redis_server)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let service = Service {
        url: format!("redis://127.0.0.1:{port}"),
        origin: "throwaway server",
        cleanup: Some(Cleanup::Process { child, dir }),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(error) = redis_answers(&service.url) {
        if Instant::now() > deadline {
            bail!("the throwaway Redis did not answer: {error}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(service)
}

/// A throwaway SMTP server (aiosmtpd, installed pinned into a virtualenv under `scratch`) that
/// delivers every message into a Maildir: the sign-in tests read the links Navi mails from it.
/// Returns the service (`smtp://127.0.0.1:PORT`) and the Maildir.
pub fn smtp(scratch: &Path) -> anyhow::Result<(Service, PathBuf)> {
    let python = python_with_peers(scratch)?;
    let port = free_port()?;
    let dir = scratch.join(format!("smtp-{port}"));
    let _ = std::fs::remove_dir_all(&dir);
    // aiosmtpd's Mailbox makes the Maildir (with its tmp/, new/ and cur/) when it is missing.
    let maildir = dir.join("maildir");
    std::fs::create_dir_all(&dir)?;
    let child = Command::new(python)
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start aiosmtpd")?;
    let service = Service {
        url: format!("smtp://127.0.0.1:{port}"),
        origin: "throwaway server",
        cleanup: Some(Cleanup::Process { child, dir }),
    };
    wait_for_port(port, "aiosmtpd")?;
    Ok((service, maildir))
}

/// The virtualenv's python with `xtask/peers/requirements.txt` installed (once; pip checks every
/// file against its pinned hash).
fn python_with_peers(scratch: &Path) -> anyhow::Result<PathBuf> {
    let venv = scratch.join("venv");
    let python = venv.join("bin").join("python");
    let requirements = crate::workspace_root()
        .join("xtask")
        .join("peers")
        .join("requirements.txt");
    let stamp = venv.join("requirements.txt");
    let wanted = std::fs::read(&requirements)?;
    if python.is_file() && std::fs::read(&stamp).ok().as_deref() == Some(&wanted[..]) {
        return Ok(python);
    }
    eprintln!(
        "xtask: installing the pinned SMTP test server into {}",
        venv.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .status()
        .context(
            "python3 is needed for the SMTP test server (Debian: apt-get install python3-venv)",
        )?;
    if !status.success() {
        bail!("python3 -m venv failed (Debian: apt-get install python3-venv)");
    }
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--require-hashes",
            "--no-deps",
            "-r",
        ])
        .arg(&requirements)
        .status()?;
    if !status.success() {
        bail!("pip could not install {}", requirements.display());
    }
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

fn wait_for_port(port: u16, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if Instant::now() > deadline {
            bail!("{what} did not listen on 127.0.0.1:{port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The redirect URI the test OpenID Provider allows: the sign-in tests' `NAVI_PUBLIC_URL`
/// (`http://localhost:8080`) and the callback path.
const OIDC_REDIRECT_URI: &str = "http://localhost:8080/v1/auth/sso/callback";

/// A throwaway OpenID Provider (`oidc-provider` from npm, pinned by `xtask/peers/oidc/
/// package-lock.json`, on Node >= 20) with two issuers: the platform's and an org's. Returns the
/// service and the two issuer URLs.
pub fn oidc(scratch: &Path) -> anyhow::Result<(Service, String, String)> {
    let version = Command::new("node")
        .arg("--version")
        .output()
        .context("node is needed for the test OpenID Provider (Node.js 20 or later)")?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|major| major.parse().ok())
        .unwrap_or(0);
    if major < 20 {
        bail!(
            "node {version} is too old for the test OpenID Provider: install Node.js 20 or later \
             (Debian 12's nodejs package is 18; use NodeSource or nvm)"
        );
    }
    let source = crate::workspace_root()
        .join("xtask")
        .join("peers")
        .join("oidc");
    let dir = scratch.join("oidc");
    std::fs::create_dir_all(&dir)?;
    for file in ["package.json", "package-lock.json", "provider.mjs"] {
        std::fs::copy(source.join(file), dir.join(file))
            .with_context(|| format!("cannot copy {file} of the test OpenID Provider"))?;
    }
    let lock = std::fs::read(source.join("package-lock.json"))?;
    let stamp = dir.join("node_modules").join(".navi-lock");
    if std::fs::read(&stamp).ok().as_deref() != Some(&lock[..]) {
        eprintln!(
            "xtask: installing the pinned test OpenID Provider into {}",
            dir.display()
        );
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .context("npm is needed for the test OpenID Provider")?;
        if !status.success() {
            bail!("npm ci failed for the test OpenID Provider");
        }
        std::fs::write(&stamp, &lock)?;
    }
    let (platform, org) = (free_port()?, free_port()?);
    let log = std::fs::File::create(dir.join(format!("provider-{platform}.log")))?;
    let child = Command::new("node")
        .arg("provider.mjs")
        .args([
            platform.to_string(),
            org.to_string(),
            OIDC_REDIRECT_URI.to_owned(),
        ])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot start the test OpenID Provider")?;
    let service = Service {
        url: format!("http://127.0.0.1:{platform}"),
        origin: "throwaway server",
        cleanup: Some(Cleanup::Child(child)),
    };
    wait_for_port(platform, "the test OpenID Provider")?;
    wait_for_port(org, "the test OpenID Provider")?;
    Ok((
        service,
        format!("http://127.0.0.1:{platform}"),
        format!("http://127.0.0.1:{org}"),
    ))
}
