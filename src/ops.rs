//! Operations endpoints, the same in both modes: `GET /healthz` (ready once an index is
//! serving and, over the gateway, every shard this process should run is connected) and `GET /metrics`
//! (Prometheus text, from the `metrics` facade), on the private `[ops] listen` address; the
//! public interactions listener serves `/healthz` only.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;

use crate::listener::AbortOnDrop;
use crate::service::Shared;

/// Latency buckets for answers and interactions, in seconds (100 µs … 5 s).
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// How careerbot's metrics are exported: latency histograms with [`LATENCY_BUCKETS`].
pub fn prometheus() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
        .expect("buckets are non-empty")
}

/// The process-wide Prometheus recorder, installed on first use.
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let handle = prometheus()
            .install_recorder()
            .expect("no other metrics recorder is installed");
        describe();
        // Histograms keep raw samples until upkeep folds them in.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let h = handle.clone();
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    h.run_upkeep();
                }
            });
        }
        handle
    })
}

fn describe() {
    metrics::describe_counter!(
        "careerbot_interactions_total",
        "Interactions handled, by command and outcome"
    );
    metrics::describe_histogram!(
        "careerbot_answer_seconds",
        metrics::Unit::Seconds,
        "Time to answer a command, search and rendering included"
    );
    metrics::describe_counter!(
        "careerbot_zero_result_answers_total",
        "Answers with no passage (no data or nothing found), by command"
    );
    metrics::describe_counter!("careerbot_reloads_total", "Content reloads, by result");
    metrics::describe_gauge!(
        "careerbot_passages_indexed",
        "Passages in the serving index"
    );
    metrics::describe_gauge!(
        "careerbot_content_info",
        "Always 1; the label carries the serving content version"
    );
    metrics::describe_gauge!(
        "careerbot_shards_connected",
        "Gateway shards connected (gateway mode)"
    );
    metrics::describe_counter!(
        "careerbot_http_rejected_total",
        "HTTP requests and connections refused or cut before any handler ran, by reason"
    );
    metrics::describe_counter!(
        "careerbot_feedback_recorded_total",
        "Questions handed to the recorder (written in batches off the answer path)"
    );
    metrics::describe_counter!(
        "careerbot_feedback_dropped_total",
        "Questions and votes not recorded: the queue was full (database slow or down)"
    );
    metrics::describe_counter!(
        "careerbot_votes_total",
        "Votes on answers handed to the recorder, by vote (up, down)"
    );
    metrics::describe_counter!(
        "careerbot_vote_comments_total",
        "What-were-you-looking-for texts sent with a down vote"
    );
    metrics::describe_counter!(
        "careerbot_feedback_write_errors_total",
        "Failed batch writes to the feedback database (retried)"
    );
    metrics::describe_counter!(
        "careerbot_suggestions_total",
        "New forum posts decided on, by outcome (posted, below_floor, unlisted, bot, ...)"
    );
    metrics::describe_histogram!(
        "careerbot_suggestion_seconds",
        metrics::Unit::Seconds,
        "From a new thread's event to its suggestion posted"
    );
    metrics::describe_gauge!(
        "careerbot_http_connections",
        "Connections open, by listener (interactions, ops)"
    );
}

/// Publishes what the serving engine holds (after start-up and every reload).
pub fn record_engine(shared: &Shared) {
    metrics_handle();
    let engine = shared.engine();
    metrics::gauge!("careerbot_passages_indexed").set(engine.passage_count() as f64);
    static LAST_VERSION: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let version = engine.manifest().content_version.clone();
    let mut last = LAST_VERSION.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(old) = last.replace(version.clone()) {
        if old != version {
            metrics::gauge!("careerbot_content_info", "version" => old).set(0.0);
        }
    }
    metrics::gauge!("careerbot_content_info", "version" => version).set(1.0);
}

/// `/healthz` and `/metrics`: the private ops listener (`[ops] listen`).
pub fn router(shared: Arc<Shared>) -> Router {
    metrics_handle();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(shared)
}

/// `/healthz` alone, for the public interactions listener: load balancers need it, and
/// there it tells nothing but up or down (the details are on the ops listener).
pub fn health_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(public_healthz))
        .with_state(shared)
}

/// Binds `[ops] listen`, if set, and serves [`router`] there until the returned task is
/// aborted (both modes abort it when they stop).
pub async fn start(shared: &Arc<Shared>) -> anyhow::Result<Option<AbortOnDrop<()>>> {
    let Some(addr) = shared.config.ops.listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {addr} for /healthz and /metrics: {e} (set [ops] listen to a free address, or \"off\")"
        )
    })?;
    let addr = listener.local_addr().unwrap_or(addr);
    tracing::info!(%addr, "serving /healthz and /metrics (ops)");
    let shared = Arc::clone(shared);
    Ok(Some(AbortOnDrop(tokio::spawn(async move {
        if let Err(e) = serve(shared, listener).await {
            tracing::error!(error = %e, "the ops listener stopped");
        }
    }))))
}

/// Serves [`router`] on `listener`, guarded as the public listener is, until aborted.
pub async fn serve(shared: Arc<Shared>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let guard = crate::listener::Guard::ops(&shared.config.http);
    crate::listener::serve(listener, router(shared), guard, std::future::pending()).await
}

/// Ready when every shard this process should run is connected (gateway mode). An engine
/// is always loaded once serving starts, an empty but valid content set included: it
/// answers "nothing found" correctly, so it is no reason to take the replica out.
async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let engine = shared.engine();
    let shards = shared.shard_status().await;
    let connected = shards.is_none_or(|(up, total)| total > 0 && up == total);
    let status = if connected {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": status_word(status),
        "passages": engine.passage_count(),
        "content_version": engine.manifest().content_version,
        "shards": shards.map(|(up, total)| json!({"connected": up, "total": total})),
        // Degraded, never down: answers do not depend on it.
        "feedback": shared.recorder.get().map(|r| json!({
            "database": if r.healthy() { "ok" } else { "degraded" },
            "waiting": r.waiting(),
        })),
        "replicas": shared.replicas.get().map(|r| json!({
            "shared_store": if r.connected() { "ok" } else { "connecting" },
        })),
        // Off after Discord refused the Message Content intent (the log says how to fix it).
        "suggestions": shared.config.suggest.enabled.then(|| {
            if shared.suggestions.is_on() { "on" } else { "off" }
        }),
    });
    (status, Json(body)).into_response()
}

/// [`healthz`] for anyone on the internet: the status and nothing else.
async fn public_healthz(state: State<Arc<Shared>>) -> Response {
    let status = healthz(state).await.status();
    (status, Json(json!({"status": status_word(status)}))).into_response()
}

fn status_word(status: StatusCode) -> &'static str {
    if status == StatusCode::OK {
        "ok"
    } else {
        "unavailable"
    }
}

async fn metrics_text(State(shared): State<Arc<Shared>>) -> Response {
    if let Some((up, _)) = shared.shard_status().await {
        metrics::gauge!("careerbot_shards_connected").set(up as f64);
    }
    // Histograms keep raw samples until upkeep folds them in.
    shared.metrics.run_upkeep();
    let body = shared.metrics.render();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
