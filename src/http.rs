//! HTTP interactions mode: Discord's "Interactions Endpoint URL" (`POST /interactions`),
//! verified with Ed25519, answered in the response body by the same command core as the
//! gateway bot. Stateless, so any number of replicas can sit behind a load balancer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serenity::all::{
    CommandInteraction, ComponentInteraction, CreateAutocompleteResponse,
    CreateInteractionResponse, CreateInteractionResponseMessage, Http, Interaction,
};
use serenity::interactions_endpoint::Verifier;

use crate::bot::core::{self, PageTurn, Raced, Reply, Shared};
use crate::bot::reloading::{self, authorize_reload, reload_reply};
use crate::config::Config;
use crate::registry::Action;

/// What the endpoint needs besides the shared core.
pub struct Endpoint {
    pub shared: Arc<Shared>,
    pub verifier: Verifier,
    /// REST client for work that finishes after the response (deferred answers, reloads).
    pub rest: Arc<Http>,
    /// Interaction ids seen within the timestamp window, with when: a signed request sent
    /// again (a replay) is refused. Per replica; Discord never sends an interaction twice.
    seen: std::sync::Mutex<std::collections::HashMap<u64, u64>>,
}

impl Endpoint {
    pub fn new(shared: Arc<Shared>, verifier: Verifier, rest: Arc<Http>) -> Endpoint {
        Endpoint {
            shared,
            verifier,
            rest,
            seen: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Records an interaction id; `false` if it was already seen inside the window, here
    /// or (when replicas share a store) on another replica.
    async fn first_sighting(&self, id: u64) -> bool {
        if !self.first_sighting_here(id) {
            return false;
        }
        let window = Duration::from_secs(2 * self.shared.config.http.max_clock_skew_seconds);
        match self.shared.replicas.get() {
            Some(replicas) => replicas.first_sighting(id, window).await.unwrap_or(true),
            None => true,
        }
    }

    fn first_sighting_here(&self, id: u64) -> bool {
        let now = unix_now();
        let window = self.shared.config.http.max_clock_skew_seconds;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, t| now.saturating_sub(*t) <= 2 * window);
        }
        seen.insert(id, now)
            .is_none_or(|t| now.saturating_sub(t) > 2 * window)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reads `DISCORD_PUBLIC_KEY` (64 hex digits, from the developer portal).
pub fn verifier_from_env() -> anyhow::Result<Verifier> {
    let hex = std::env::var("DISCORD_PUBLIC_KEY").map_err(|_| {
        anyhow::anyhow!("DISCORD_PUBLIC_KEY is not set: copy the application's public key from the Discord developer portal (General Information)")
    })?;
    verifier_from_hex(hex.trim())
}

pub fn verifier_from_hex(hex: &str) -> anyhow::Result<Verifier> {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect::<Option<_>>()
        .ok_or_else(|| anyhow::anyhow!("DISCORD_PUBLIC_KEY must be hex digits"))?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("DISCORD_PUBLIC_KEY must be 64 hex digits (32 bytes)"))?;
    Verifier::try_new(key).map_err(|e| anyhow::anyhow!("DISCORD_PUBLIC_KEY: {e}"))
}

/// `careerbot http`: serves the endpoint (and `/healthz`, `/metrics`) until SIGINT/SIGTERM.
pub fn run_blocking(config: Config, listen: Option<SocketAddr>) -> anyhow::Result<()> {
    let verifier = verifier_from_env()?;
    crate::listener::raise_open_file_limit();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let loaded = crate::app::load_for_service(&config)?;
        let addr = listen.unwrap_or(config.http.listen);
        let token = std::env::var("DISCORD_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty());
        let shared = Shared::new(config, loaded.engine);
        let rest = Arc::new(crate::bot::http_client(
            token.as_deref().unwrap_or(""),
            crate::bot::api_base(&shared.config).as_deref(),
        ));
        match &token {
            // Interaction callbacks need no token; registering commands and posting to the
            // moderator log channel do.
            Some(_) => {
                register(&rest, &shared.config).await?;
                let _ = shared
                    .announcer
                    .set(Arc::clone(&rest) as Arc<dyn core::Announcer>);
            }
            None => tracing::info!(
                "DISCORD_TOKEN not set: commands are not registered and reloads are not posted to reload.log_channel"
            ),
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        let addr = listener.local_addr().unwrap_or(addr);
        tracing::info!(%addr, "serving the interactions endpoint at /interactions (and /healthz)");
        let _ops = crate::ops::start(&shared).await?;
        let endpoint = Arc::new(Endpoint::new(shared, verifier, rest));
        serve(endpoint, listener, crate::bot::shutdown_signal()).await?;
        Ok(())
    })
}

async fn register(rest: &Http, config: &Config) -> anyhow::Result<()> {
    let app = rest.get_current_application_info().await?;
    rest.set_application_id(app.id);
    crate::bot::register(rest, config).await?;
    Ok(())
}

/// Serves until `shutdown` resolves, finishing requests in flight.
pub async fn serve(
    endpoint: Arc<Endpoint>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::ops::record_engine(&endpoint.shared);
    endpoint.shared.start_recording();
    if endpoint.shared.suggestions.is_on() {
        // Thread events come over the gateway only.
        endpoint.shared.suggestions.turn_off();
        tracing::warn!("suggest.enabled has no effect here: forum suggestions need the gateway (careerbot serve)");
    }
    endpoint.shared.start_sharing();
    endpoint.shared.embed_pending().await;
    reloading::reload_on_sighup(&endpoint.shared);
    let _watcher = if endpoint.shared.config.reload.watch {
        Some(reloading::watch(&endpoint.shared).map_err(std::io::Error::other)?)
    } else {
        None
    };
    let guard = crate::listener::Guard::interactions(&endpoint.shared.config.http);
    tracing::info!(
        max_connections = guard.max_connections,
        header_timeout_ms = guard.header_timeout.as_millis() as u64,
        idle_timeout_ms = guard.idle_timeout.as_millis() as u64,
        "interactions listener guarded"
    );
    let served =
        crate::listener::serve(listener, router(Arc::clone(&endpoint)), guard, shutdown).await;
    endpoint.shared.finish().await;
    served
}

/// `POST /interactions` and `GET /healthz`; `/metrics` is on the private ops listener only.
pub fn router(endpoint: Arc<Endpoint>) -> Router {
    Router::new()
        .route("/interactions", post(interactions))
        .with_state(Arc::clone(&endpoint))
        .merge(crate::ops::health_router(Arc::clone(&endpoint.shared)))
}

/// The request body, read within `http.body_timeout_ms` and `http.max_body_bytes`.
async fn read_body(endpoint: &Endpoint, body: Body) -> Result<Bytes, Response> {
    let http = &endpoint.shared.config.http;
    let deadline = std::time::Duration::from_millis(http.body_timeout_ms);
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, http.max_body_bytes)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) if is_length_limit(&e) => {
            Err(reject(StatusCode::PAYLOAD_TOO_LARGE, "body too large"))
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "could not read a request body");
            Err(reject(StatusCode::BAD_REQUEST, "unreadable body"))
        }
        // The connection goes with it: a client this slow is not worth keeping.
        Err(_) => Err((
            [(axum::http::header::CONNECTION, "close")],
            reject(StatusCode::REQUEST_TIMEOUT, "body timeout"),
        )
            .into_response()),
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

fn reject(status: StatusCode, reason: &'static str) -> Response {
    metrics::counter!("careerbot_http_rejected_total", "reason" => reason).increment(1);
    tracing::debug!(reason, "interaction request refused");
    (status, reason).into_response()
}

/// Checks the signature over `timestamp + body`, and that the timestamp is recent: a
/// captured request cannot be replayed after the window (and, per replica, not within it
/// either: see [`Endpoint::first_sighting`]).
fn verify(endpoint: &Endpoint, headers: &HeaderMap, body: &[u8]) -> Result<(), &'static str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(signature), Some(timestamp)) = (
        header("X-Signature-Ed25519"),
        header("X-Signature-Timestamp"),
    ) else {
        return Err("missing signature headers");
    };
    let Ok(seconds) = timestamp.parse::<i64>() else {
        return Err("invalid timestamp");
    };
    let now = unix_now() as i64;
    if now.abs_diff(seconds) > endpoint.shared.config.http.max_clock_skew_seconds {
        return Err("stale timestamp");
    }
    if endpoint
        .verifier
        .verify(signature, timestamp, body)
        .is_err()
    {
        return Err("invalid request signature");
    }
    Ok(())
}

async fn interactions(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match read_body(&endpoint, body).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    if let Err(reason) = verify(&endpoint, &headers, &body) {
        return reject(StatusCode::UNAUTHORIZED, reason);
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(e) => {
            tracing::debug!(error = %e, "malformed interaction");
            return reject(StatusCode::BAD_REQUEST, "malformed interaction");
        }
    };
    if !matches!(interaction, Interaction::Ping(_))
        && !endpoint.first_sighting(interaction.id().get()).await
    {
        return reject(StatusCode::UNAUTHORIZED, "replayed request");
    }
    if let Some(app) = interaction_app(&interaction) {
        // Deferred answers are edited through the webhook of this application.
        if endpoint.rest.application_id().is_none() {
            endpoint.rest.set_application_id(app);
        }
    }
    match interaction {
        // Exactly `{"type":1}`, as Discord's URL check expects (serenity's Pong adds a null).
        Interaction::Ping(_) => Json(serde_json::json!({"type": 1})).into_response(),
        Interaction::Command(c) => command(endpoint, c).await,
        Interaction::Autocomplete(c) => autocomplete(&endpoint, &c),
        Interaction::Component(c) => match core::VoteId::parse(&c.data.custom_id) {
            Some(vote) => respond(core::vote_response(&endpoint.shared, &c, vote)),
            None => page_turn(endpoint, c).await,
        },
        Interaction::Modal(m) => respond(core::form_response(&endpoint.shared, &m)),
        _ => respond(CreateInteractionResponse::Message(
            Reply::text("This kind of interaction is not supported.").to_message(),
        )),
    }
}

fn interaction_app(i: &Interaction) -> Option<serenity::all::ApplicationId> {
    match i {
        Interaction::Command(c) | Interaction::Autocomplete(c) => Some(c.application_id),
        Interaction::Component(c) => Some(c.application_id),
        Interaction::Modal(m) => Some(m.application_id),
        _ => None,
    }
}

fn respond(response: CreateInteractionResponse) -> Response {
    Json(response).into_response()
}

/// A command, answered in the response body — or, when the answer is slow, a deferral
/// now and an edit over REST when it is ready (the 3-second rule holds either way).
async fn command(endpoint: Arc<Endpoint>, interaction: CommandInteraction) -> Response {
    let invocation = match core::invocation(&interaction) {
        Ok(parsed) => parsed,
        Err(e) => {
            core::count("unknown", "user_error");
            return respond(CreateInteractionResponse::Message(
                Reply::user_error(&e).to_message(),
            ));
        }
    };
    if invocation.command.def().action == Action::Gaps {
        return gaps(endpoint, interaction, invocation.command);
    }
    if invocation.command.def().action == Action::Reload {
        return reload(
            endpoint,
            interaction,
            invocation.flag("dry_run").unwrap_or(false),
        )
        .await;
    }
    let shared = Arc::clone(&endpoint.shared);
    let user = interaction.user.id.get();
    let private = invocation.flag("private");
    let command = invocation.command;
    let (ephemeral, note) = shared
        .visibility(
            user,
            command.name(),
            private,
            interaction.guild_id.is_some(),
        )
        .await;
    let name = command.name();
    let (about, for_member) = (invocation.about, invocation.for_member);
    let request = crate::answer::Request::new(command);
    let work = {
        let shared = Arc::clone(&shared);
        let asker = core::Asker::new(
            user,
            interaction.guild_id.map(|g| g.get()),
            Some(interaction.channel_id.get()),
        );
        move || match shared.reply(asker, &request, ephemeral, note) {
            Ok(reply) => {
                let ping = shared.config.discord.ping_author;
                reply.addressed(about.as_ref(), for_member, ping)
            }
            Err(crate::answer::AnswerError::User(e)) => Reply::user_error(&e),
            Err(e) => {
                tracing::error!(command = %name, error = %e, "command failed");
                Reply::apology()
            }
        }
    };
    let id = interaction.id;
    let failed = move |e: anyhow::Error| {
        tracing::error!(command = %name, interaction = %id, user, error = format!("{e:#}"), "command failed");
        Reply::apology()
    };
    match core::race(work, shared.defer_after()).await {
        Ok(Raced::Ready(reply)) => respond(CreateInteractionResponse::Message(reply.to_message())),
        Err(e) => respond(CreateInteractionResponse::Message(failed(e).to_message())),
        Ok(Raced::Late(pending)) => {
            tokio::spawn(async move {
                let reply = pending.finish().await.unwrap_or_else(failed);
                edit_later(&endpoint, &interaction, reply).await;
            });
            respond(CreateInteractionResponse::Defer(
                CreateInteractionResponseMessage::new().ephemeral(ephemeral),
            ))
        }
    }
}

/// Edits the deferred response. The edit can reach Discord before our HTTP response with
/// the deferral has (a fast reload): Discord then does not know the webhook yet, so a 404
/// is retried a few times.
async fn edit_later(endpoint: &Endpoint, interaction: &CommandInteraction, reply: Reply) {
    for attempt in 1..=4u32 {
        match interaction
            .edit_response(endpoint.rest.as_ref(), reply.to_edit())
            .await
        {
            Ok(_) => return,
            Err(e)
                if core::rest_error(&e).is_some_and(|r| r.status_code == StatusCode::NOT_FOUND)
                    && attempt < 4 =>
            {
                tokio::time::sleep(Duration::from_millis(150 * u64::from(attempt))).await;
            }
            Err(e) => {
                tracing::error!(interaction = %interaction.id, error = %e, "could not deliver a deferred answer");
                return;
            }
        }
    }
}

fn autocomplete(endpoint: &Endpoint, interaction: &CommandInteraction) -> Response {
    let choices = core::focused_option(interaction)
        .map(|(option, typed)| {
            endpoint
                .shared
                .choices(&interaction.data.name, &option, &typed)
        })
        .unwrap_or_default()
        .into_iter()
        .map(|(label, value)| serenity::all::AutocompleteChoice::new(label, value))
        .collect();
    respond(CreateInteractionResponse::Autocomplete(
        CreateAutocompleteResponse::new().set_choices(choices),
    ))
}

async fn page_turn(endpoint: Arc<Endpoint>, press: ComponentInteraction) -> Response {
    let shared = Arc::clone(&endpoint.shared);
    let presser = press.user.id.get();
    let custom_id = press.data.custom_id.clone();
    let vote = core::vote_on(&press.message);
    let defer_after = shared.defer_after();
    let raced = core::race(
        move || shared.page_turn(presser, &custom_id, vote),
        defer_after,
    )
    .await;
    let turn_response = |turn| match turn {
        PageTurn::Update(reply) => CreateInteractionResponse::UpdateMessage(reply.to_message()),
        PageTurn::Refused(reply) => CreateInteractionResponse::Message(reply.to_message()),
    };
    let id = press.id;
    let failed = move |e: anyhow::Error| {
        tracing::error!(interaction = %id, user = presser, error = format!("{e:#}"), "page turn failed");
        PageTurn::Refused(Reply::apology())
    };
    match raced {
        Ok(Raced::Ready(turn)) => respond(turn_response(turn)),
        Err(e) => respond(turn_response(failed(e))),
        Ok(Raced::Late(pending)) => {
            // Slow: acknowledge now ("deferred update"), edit the message when ready.
            tokio::spawn(async move {
                let result = match pending.finish().await.unwrap_or_else(failed) {
                    PageTurn::Update(reply) => press
                        .edit_response(endpoint.rest.as_ref(), reply.to_edit())
                        .await
                        .map(drop),
                    PageTurn::Refused(reply) => press
                        .create_followup(endpoint.rest.as_ref(), reply.to_followup())
                        .await
                        .map(drop),
                };
                if let Err(e) = result {
                    tracing::error!(interaction = %press.id, error = %e, "could not deliver a deferred page");
                }
            });
            respond(CreateInteractionResponse::Acknowledge)
        }
    }
}

/// `/gaps` over HTTP: the same check and report as the gateway, deferred (it reads the
/// database) and finished over REST with the CSV attached.
fn gaps(
    endpoint: Arc<Endpoint>,
    interaction: CommandInteraction,
    command: crate::answer::Command,
) -> Response {
    if !reloading::may_see_gaps(&endpoint.shared.config, &interaction) {
        return respond(CreateInteractionResponse::Message(
            reloading::gaps_refusal().to_message(),
        ));
    }
    tokio::spawn(async move {
        let guild = interaction.guild_id.map(|g| g.get());
        let reply = endpoint.shared.gaps_reply(&command, guild).await;
        edit_later(&endpoint, &interaction, reply).await;
    });
    respond(CreateInteractionResponse::Defer(
        CreateInteractionResponseMessage::new().ephemeral(true),
    ))
}

/// `/reload` over HTTP: the same checks and core as the gateway; always deferred, since a
/// rebuild can take longer than Discord waits.
async fn reload(
    endpoint: Arc<Endpoint>,
    interaction: CommandInteraction,
    dry_run: bool,
) -> Response {
    let shared = Arc::clone(&endpoint.shared);
    let Some(trigger) = authorize_reload(&shared.config, &interaction) else {
        return respond(CreateInteractionResponse::Message(
            reloading::refusal().to_message(),
        ));
    };
    tokio::spawn(async move {
        let outcome = shared.reload(trigger, dry_run).await;
        edit_later(
            &endpoint,
            &interaction,
            reload_reply(&outcome, &shared.config.data_dir),
        )
        .await;
    });
    respond(CreateInteractionResponse::Defer(
        CreateInteractionResponseMessage::new().ephemeral(true),
    ))
}
