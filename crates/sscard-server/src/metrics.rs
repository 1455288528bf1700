//! Prometheus text metrics without an exporter dependency: request counts by route and status
//! class, and a latency histogram.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<([u64; BUCKETS.len()], u64, f64)>,
}

pub(crate) async fn track(State(st): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let class = response.status().as_u16() / 100 * 100;
    *st.metrics
        .requests
        .lock()
        .expect("not poisoned")
        .entry((method, route, class))
        .or_default() += 1;
    let mut lat = st.metrics.latency.lock().expect("not poisoned");
    for (i, b) in BUCKETS.iter().enumerate() {
        if seconds <= *b {
            lat.0[i] += 1;
        }
    }
    lat.1 += 1;
    lat.2 += seconds;
    response
}

pub(crate) async fn render(State(st): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    out.push_str(
        "# HELP sscard_http_requests_total HTTP requests by method, route and status class.\n",
    );
    out.push_str("# TYPE sscard_http_requests_total counter\n");
    for ((method, route, class), n) in st.metrics.requests.lock().expect("not poisoned").iter() {
        let _ = writeln!(
            out,
            "sscard_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{class}\"}} {n}"
        );
    }
    out.push_str("# HELP sscard_http_request_seconds HTTP request latency.\n");
    out.push_str("# TYPE sscard_http_request_seconds histogram\n");
    let lat = st.metrics.latency.lock().expect("not poisoned");
    for (i, b) in BUCKETS.iter().enumerate() {
        let _ = writeln!(
            out,
            "sscard_http_request_seconds_bucket{{le=\"{b}\"}} {}",
            lat.0[i]
        );
    }
    let _ = writeln!(
        out,
        "sscard_http_request_seconds_bucket{{le=\"+Inf\"}} {}",
        lat.1
    );
    let _ = writeln!(out, "sscard_http_request_seconds_sum {}", lat.2);
    let _ = writeln!(out, "sscard_http_request_seconds_count {}", lat.1);
    ([("content-type", "text/plain; version=0.0.4")], out)
}
