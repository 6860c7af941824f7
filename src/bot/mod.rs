//! Bot stage: puts the answers on Discord over the gateway — serenity with poise's slash
//! commands — and handles the paging buttons. The command logic itself lives in [`core`],
//! shared with the HTTP endpoint.

pub mod commands;
pub mod core;
pub mod reloading;
pub mod suggesting;

use std::future::Future;
use std::sync::Arc;

use poise::serenity_prelude as serenity;
use poise::FrameworkError;
use serenity::{
    ClientBuilder, ComponentInteraction, CreateInteractionResponse, FullEvent, GatewayIntents,
    GuildId, HttpBuilder, Interaction,
};

use crate::answer::{AnswerError, UserError};
use crate::config::{Config, ShardsConfig};
use core::{PageTurn, Reply, Shared};

pub type Context<'a> = poise::Context<'a, Arc<Shared>, BotError>;

/// The two kinds of failure: the member's (told to them, privately) and ours (logged with
/// context; the member gets a short apology).
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error(transparent)]
    User(#[from] UserError),
    #[error("Discord API: {0}")]
    Discord(#[from] serenity::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<AnswerError> for BotError {
    fn from(e: AnswerError) -> Self {
        match e {
            AnswerError::User(u) => BotError::User(u),
            AnswerError::Search(s) => {
                BotError::Internal(anyhow::Error::new(s).context("search failed"))
            }
        }
    }
}

/// Where the REST client sends requests: `DISCORD_API_BASE`, else `discord.api_base`.
pub fn api_base(config: &Config) -> Option<String> {
    std::env::var("DISCORD_API_BASE")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| config.discord.api_base.clone())
        .map(|s| s.trim_end_matches('/').to_string())
}

/// Builds the REST client. With a custom base the ratelimiter is off: serenity's
/// ratelimiter builds requests without the proxy, so they would still go to discord.com.
pub fn http_client(token: &str, api_base: Option<&str>) -> serenity::Http {
    match api_base {
        Some(base) => HttpBuilder::new(token)
            .proxy(base)
            .ratelimiter_disabled(true)
            .build(),
        None => serenity::Http::new(token),
    }
}

/// Reads the token from `DISCORD_TOKEN`; it is never read from config or logged.
pub fn token_from_env() -> anyhow::Result<String> {
    match std::env::var("DISCORD_TOKEN") {
        Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
        _ => anyhow::bail!(
            "DISCORD_TOKEN is not set: export the bot token from the Discord developer portal (Bot → Token)"
        ),
    }
}

/// `careerbot serve`: loads the content, connects, answers until SIGINT or SIGTERM.
pub fn run_blocking(config: Config) -> anyhow::Result<()> {
    let token = token_from_env()?;
    crate::listener::raise_open_file_limit();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let loaded = crate::app::load_for_service(&config)?;
        let shared = Shared::new(config, loaded.engine);
        run(shared, &token, shutdown_signal()).await?;
        Ok(())
    })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. A signal whose handler cannot be installed is
/// logged as an error and never fires: it is no reason to stop serving.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C; stop the bot with SIGTERM");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM; stop the bot with Ctrl-C");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

/// Runs the gateway bot until `shutdown` resolves or the connection fails for good.
pub async fn run(
    shared: Arc<Shared>,
    token: &str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let base = api_base(&shared.config);
    if let Some(base) = &base {
        tracing::info!(api_base = %base, "Discord REST calls go to a custom base");
    }
    let http = Arc::new(http_client(token, base.as_deref()));
    let _ = shared
        .announcer
        .set(Arc::clone(&http) as Arc<dyn core::Announcer>);
    crate::ops::record_engine(&shared);
    shared.start_recording();
    shared.start_sharing();
    shared.embed_pending().await;
    // The operations endpoint lives as long as this bot, however `run` ends: a stopped bot
    // must not keep answering health checks.
    let _ops = crate::ops::start(&shared).await?;
    reloading::reload_on_sighup(&shared);
    let _watcher = if shared.config.reload.watch {
        Some(reloading::watch(&shared)?)
    } else {
        None
    };

    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });

    // What `start_autosharded` does, keeping Discord's recommended count for `/healthz`.
    let (range, total) = match shared.config.discord.shards {
        ShardsConfig::Auto => {
            let total = http.get_bot_gateway().await?.shards;
            (0..total, total)
        }
        ShardsConfig::Fixed { total, range } => (range.0..range.1, total),
    };
    shared.expect_shards(range.len());
    let mut intents = GatewayIntents::GUILDS;
    if shared.suggestions.is_on() {
        // Forum suggestions read new posts: the privileged intent must be on in the portal.
        if message_content_allowed(&http).await {
            intents |= GatewayIntents::MESSAGE_CONTENT;
        } else {
            suggestions_off(&shared);
        }
    }
    let ran = loop {
        let stop = *stopping.borrow();
        if stop {
            break Ok(());
        }
        // A client of its own per attempt: serenity's client cannot reconnect with other
        // intents. The announcer keeps the first REST client; a REST client holds no session.
        let mut client = ClientBuilder::new_with_http(http_client(token, base.as_deref()), intents)
            .framework(framework(Arc::clone(&shared)))
            .await?;
        *shared.shards.write().unwrap_or_else(|p| p.into_inner()) =
            Some(Arc::clone(&client.shard_manager) as Arc<dyn core::ShardStatus>);
        let shards = Arc::clone(&client.shard_manager);
        // serenity 0.12 reads the range's end as the last shard to run (`4..7` runs 4 to 7):
        // pass `start..end - 1` so that no shard past ours starts.
        let mut started =
            std::pin::pin!(client.start_shard_range(range.start..range.end - 1, total));
        let mut watching = stopping.clone();
        // The watch's guard must not live across an await: the future yields nothing.
        let stop_requested = async move {
            let _ = watching.wait_for(|&stop| stop).await;
        };
        let ran = tokio::select! {
            ran = &mut started => ran,
            () = stop_requested => stop_shards(&shards, started).await,
        };
        let refused = matches!(
            ran,
            Err(serenity::Error::Gateway(
                serenity::GatewayError::DisallowedGatewayIntents
            ))
        );
        if refused && intents.contains(GatewayIntents::MESSAGE_CONTENT) {
            // serenity waits 5 s for each shard that already stopped: not on our way back.
            tokio::spawn(async move { shards.shutdown_all().await });
            suggestions_off(&shared);
            intents.remove(GatewayIntents::MESSAGE_CONTENT);
            continue;
        }
        break ran;
    };
    shared.finish().await;
    Ok(ran?)
}

/// Whether the application may ask for the Message Content intent (its flags say the
/// portal toggle is on, or it is approved). When Discord cannot be asked, it is tried: a
/// refusal at the gateway turns suggestions off then.
async fn message_content_allowed(http: &serenity::Http) -> bool {
    use serenity::ApplicationFlags as F;
    match http.get_current_application_info().await {
        Ok(app) => app.flags.is_some_and(|f| {
            f.intersects(F::GATEWAY_MESSAGE_CONTENT | F::GATEWAY_MESSAGE_CONTENT_LIMITED)
        }),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the application's flags; asking for the Message Content intent anyway");
            true
        }
    }
}

fn suggestions_off(shared: &Shared) {
    shared.suggestions.turn_off();
    tracing::error!(
        "Discord refuses the Message Content intent: forum suggestions are off. Turn it on in \
         the Discord developer portal (your app › Bot › Privileged Gateway Intents › Message \
         Content Intent) and restart careerbot; it is connecting without it"
    );
}

/// Stops the shards on shutdown and waits for the client to return. `shutdown_all` does
/// nothing while no shard has registered yet (one may still be queued to start), so it is
/// repeated until the client returns, for 10 s at most.
async fn stop_shards(
    shards: &serenity::ShardManager,
    mut started: std::pin::Pin<&mut impl Future<Output = Result<(), serenity::Error>>>,
) -> Result<(), serenity::Error> {
    for _ in 0..50 {
        shards.shutdown_all().await;
        if let Ok(ran) =
            tokio::time::timeout(std::time::Duration::from_millis(200), &mut started).await
        {
            return ran;
        }
    }
    tracing::warn!("the gateway did not stop within 10 s; leaving it");
    Ok(())
}

fn framework(shared: Arc<Shared>) -> poise::Framework<Arc<Shared>, BotError> {
    let options = poise::FrameworkOptions {
        commands: commands::all(&shared.config),
        on_error: |error| Box::pin(on_error(error)),
        event_handler: |framework, event| Box::pin(on_event(framework, event)),
        allowed_mentions: Some(core::no_mentions()),
        // Owner-only commands are not used; skip the application lookup at start-up.
        initialize_owners: false,
        ..Default::default()
    };
    poise::Framework::builder()
        .options(options)
        .setup(move |ctx, ready, _framework| {
            Box::pin(async move {
                tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
                register(&ctx.http, &shared.config).await?;
                Ok(shared)
            })
        })
        .build()
}

/// Registers the commands in the configured servers (instant) or globally.
pub async fn register(http: &serenity::Http, config: &Config) -> Result<(), BotError> {
    let commands = commands::create(config);
    let count = commands.len();
    let guilds = &config.discord.guild_ids;
    if guilds.is_empty() {
        serenity::Command::set_global_commands(http, commands).await?;
        tracing::info!(commands = count, "registered commands globally");
    } else {
        for &g in guilds {
            GuildId::new(g).set_commands(http, commands.clone()).await?;
        }
        tracing::info!(
            commands = count,
            guilds = guilds.len(),
            "registered commands in servers"
        );
    }
    Ok(())
}

async fn on_event(
    framework: poise::FrameworkContext<'_, Arc<Shared>, BotError>,
    event: &FullEvent,
) -> Result<(), BotError> {
    let ctx = framework.serenity_context;
    let shared = framework.user_data;
    match event {
        FullEvent::InteractionCreate {
            interaction: Interaction::Component(press),
        } => match core::VoteId::parse(&press.data.custom_id) {
            Some(vote) => {
                let response = core::vote_response(shared, press, vote);
                if let Err(e) = press.create_response(&ctx.http, response).await {
                    tracing::error!(interaction = %press.id, error = %e, "could not acknowledge a vote");
                }
            }
            None => page_turn(ctx, Arc::clone(shared), press).await,
        },
        FullEvent::InteractionCreate {
            interaction: Interaction::Modal(submit),
        } => {
            let response = core::form_response(shared, submit);
            if let Err(e) = submit.create_response(&ctx.http, response).await {
                tracing::error!(interaction = %submit.id, error = %e, "could not acknowledge a form");
            }
        }
        FullEvent::ThreadCreate { thread } => {
            suggesting::on_thread_create(shared, &ctx.http, thread).await;
        }
        FullEvent::Resume { .. } => tracing::info!("gateway session resumed"),
        FullEvent::ShardStageUpdate { event } => {
            tracing::debug!(shard = %event.shard_id, stage = %event.new, "shard stage");
        }
        _ => {}
    }
    Ok(())
}

/// A "More results" / "Previous" press: the page now, or acknowledged first when slow.
async fn page_turn(ctx: &serenity::Context, shared: Arc<Shared>, press: &ComponentInteraction) {
    let presser = press.user.id.get();
    let custom_id = press.data.custom_id.clone();
    let vote = core::vote_on(&press.message);
    let defer_after = shared.defer_after();
    let deferred = std::sync::atomic::AtomicBool::new(false);
    // A slow page acknowledges first ("deferred update"), then edits the message.
    let defer = async {
        match press.defer(&ctx.http).await {
            Ok(()) => deferred.store(true, std::sync::atomic::Ordering::SeqCst),
            Err(e) => {
                tracing::warn!(interaction = %press.id, error = %e, "could not defer a page turn")
            }
        }
    };
    let turn = core::with_deadline(
        move || shared.page_turn(presser, &custom_id, vote),
        defer_after,
        defer,
    )
    .await
    .unwrap_or_else(|e| {
        tracing::error!(interaction = %press.id, user = presser, error = format!("{e:#}"), "page turn failed");
        PageTurn::Refused(Reply::apology())
    });
    let sent = if deferred.load(std::sync::atomic::Ordering::SeqCst) {
        match turn {
            PageTurn::Update(reply) => press
                .edit_response(&ctx.http, reply.to_edit())
                .await
                .map(drop),
            PageTurn::Refused(reply) => press
                .create_followup(&ctx.http, reply.to_followup())
                .await
                .map(drop),
        }
    } else {
        let response = match turn {
            PageTurn::Update(reply) => CreateInteractionResponse::UpdateMessage(reply.to_message()),
            PageTurn::Refused(reply) => CreateInteractionResponse::Message(reply.to_message()),
        };
        press.create_response(&ctx.http, response).await
    };
    if let Err(e) = sent {
        tracing::error!(interaction = %press.id, user = presser, error = %e, "could not answer a button press");
    }
}

async fn on_error(error: FrameworkError<'_, Arc<Shared>, BotError>) {
    match error {
        FrameworkError::Command { error, ctx, .. } => {
            let reply = match &error {
                BotError::User(e) => Reply::user_error(e),
                internal => {
                    tracing::error!(
                        command = %ctx.command().name,
                        user = %ctx.author().id,
                        interaction = %interaction_id(ctx),
                        error = format!("{internal:#}"),
                        "command failed"
                    );
                    Reply::apology()
                }
            };
            send_or_log(ctx, reply).await;
        }
        FrameworkError::ArgumentParse { error, ctx, .. } => {
            let reply = Reply::text(&format!("I could not read that option: {error}"));
            send_or_log(ctx, reply).await;
        }
        FrameworkError::CommandPanic { payload, ctx, .. } => {
            tracing::error!(command = %ctx.command().name, interaction = %interaction_id(ctx), panic = ?payload, "command panicked");
            send_or_log(ctx, Reply::apology()).await;
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::error!(error = %e, "could not report a framework error");
            }
        }
    }
}

fn interaction_id(ctx: Context<'_>) -> String {
    match ctx {
        poise::Context::Application(a) => a.interaction.id.to_string(),
        poise::Context::Prefix(_) => "-".into(),
    }
}

async fn send_or_log(ctx: Context<'_>, reply: Reply) {
    if let Err(e) = ctx.send(reply.to_poise()).await {
        tracing::error!(interaction = %interaction_id(ctx), error = %e, "could not send an error reply");
    }
}
