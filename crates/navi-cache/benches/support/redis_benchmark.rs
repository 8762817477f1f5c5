//! `redis-benchmark`, the baseline of the Redis benchmarks (shared by navi-cache's `getdel` and
//! navi-server's `limits`).

use std::process::Command;

/// Requests per second `redis-benchmark` reports for `command` at `clients` connections.
pub fn run(host: &str, port: u16, clients: usize, requests: usize, command: &[String]) -> f64 {
    let output = Command::new("redis-benchmark")
        .args(["-h", host, "-p", &port.to_string()])
        .args([
            "-c",
            &clients.to_string(),
            "-n",
            &requests.to_string(),
            "-q",
        ])
        .args(command)
        .output()
        .expect("run redis-benchmark (installed at /usr/bin/redis-benchmark?)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .split(['\r', '\n'])
        .rfind(|line| line.contains("requests per second"))
        .and_then(|line| line.split(": ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("could not read redis-benchmark output: {stdout}"))
}

/// The host and port of a `redis://` URL.
pub fn host_port(url: &str) -> (String, u16) {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let rest = rest.rsplit('@').next().unwrap_or(rest);
    let rest = rest.split('/').next().unwrap_or(rest);
    match rest.rsplit_once(':') {
        Some((host, port)) => (host.to_owned(), port.parse().unwrap_or(6379)),
        None => (rest.to_owned(), 6379),
    }
}
