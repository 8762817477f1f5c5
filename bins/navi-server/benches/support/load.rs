//! The closed-loop HTTP load of the server benchmarks (`auth`, `limits`).

use std::rc::Rc;
use std::time::{Duration, Instant};

/// Requests per second that `concurrency` tasks get from `url` for `round`. Every response must be
/// 200: a benchmark of errors would measure nothing.
pub async fn measure(
    client: Rc<awc::Client>,
    concurrency: usize,
    round: Duration,
    url: &str,
    key: Option<&str>,
) -> f64 {
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, key) = (Rc::clone(&client), url.to_owned(), key.map(str::to_owned));
            actix_web::rt::spawn(async move {
                let mut done = 0u64;
                while started.elapsed() < round {
                    let mut request = client.get(&url);
                    if let Some(key) = &key {
                        request = request.insert_header(("Authorization", format!("Bearer {key}")));
                    }
                    let mut response = request.send().await.expect("request sent");
                    assert_eq!(response.status().as_u16(), 200, "{url}");
                    response.body().await.expect("body read");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("load task");
    }
    total as f64 / started.elapsed().as_secs_f64()
}
