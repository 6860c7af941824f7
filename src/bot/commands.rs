//! The slash commands as poise declares them: names, options and the descriptions members
//! see in Discord. Each handler only reads its options and hands over to the shared core.

use std::sync::Arc;

use poise::serenity_prelude as serenity;

use super::core::{with_deadline, Reply, Shared};
use super::reloading::{authorize_reload, refusal, reload_reply};
use super::{BotError, Context};
use crate::answer::{Command, Request};
use crate::config::Config;

/// Salary figures from the guide, by career level and region.
#[poise::command(slash_command, rename = "salary")]
pub async fn salary(
    ctx: Context<'_>,
    #[description = "Career level, e.g. senior"]
    #[autocomplete = "ac_salary_level"]
    #[max_length = 100]
    level: Option<String>,
    #[description = "Region or country, e.g. india"]
    #[autocomplete = "ac_salary_region"]
    #[max_length = 100]
    region: Option<String>,
    #[description = "Show the answer only to you"] private: Option<bool>,
) -> Result<(), BotError> {
    respond(ctx, &[("level", level), ("region", region)], private).await
}

/// Certifications worth taking, and what each is good for.
#[poise::command(slash_command)]
pub async fn certs(
    ctx: Context<'_>,
    #[description = "Cloud or course provider, e.g. aws or gcp"]
    #[autocomplete = "ac_certs_provider"]
    #[max_length = 100]
    provider: Option<String>,
    #[description = "Show the answer only to you"] private: Option<bool>,
) -> Result<(), BotError> {
    respond(ctx, &[("provider", provider)], private).await
}

/// What people at each career level are responsible for.
#[poise::command(slash_command)]
pub async fn levels(
    ctx: Context<'_>,
    #[description = "Career level, e.g. junior or senior"]
    #[autocomplete = "ac_levels_level"]
    #[max_length = 100]
    level: Option<String>,
    #[description = "Show the answer only to you"] private: Option<bool>,
) -> Result<(), BotError> {
    respond(ctx, &[("level", level)], private).await
}

/// Ask anything about the career; answers come from the community's guide.
#[poise::command(slash_command)]
pub async fn ask(
    ctx: Context<'_>,
    #[description = "Your question, e.g. which MLOps tools should I learn first"]
    #[max_length = 300]
    question: String,
    #[description = "Show the answer only to you"] private: Option<bool>,
) -> Result<(), BotError> {
    respond(ctx, &[("question", Some(question))], private).await
}

/// Frequently asked questions, by topic.
#[poise::command(slash_command)]
pub async fn faq(
    ctx: Context<'_>,
    #[description = "Topic, e.g. salary or tools"]
    #[autocomplete = "ac_faq_topic"]
    #[max_length = 100]
    topic: Option<String>,
    #[description = "Show the answer only to you"] private: Option<bool>,
) -> Result<(), BotError> {
    respond(ctx, &[("topic", topic)], private).await
}

/// What I can answer, and how to ask.
#[poise::command(slash_command)]
pub async fn help(
    ctx: Context<'_>,
    #[description = "Show the answer only to you"] private: Option<bool>,
) -> Result<(), BotError> {
    respond(ctx, &[], private).await
}

/// Moderators: reload the guides from disk, or check them with dry_run.
#[poise::command(slash_command, guild_only, default_member_permissions = "MANAGE_GUILD")]
pub async fn reload(
    ctx: Context<'_>,
    #[description = "Only validate and show what would change; keep serving the current guides"]
    dry_run: Option<bool>,
) -> Result<(), BotError> {
    let poise::Context::Application(app) = ctx else {
        return Ok(());
    };
    let shared = Arc::clone(ctx.data());
    let Some(trigger) = authorize_reload(&shared.config, app.interaction) else {
        ctx.send(refusal().to_poise()).await?;
        return Ok(());
    };
    // Rebuilding can take seconds: acknowledge first, privately.
    ctx.defer_ephemeral().await?;
    let outcome = shared.reload(trigger, dry_run.unwrap_or(false)).await;
    ctx.send(reload_reply(&outcome, &shared.config.data_dir).to_poise())
        .await?;
    Ok(())
}

/// Every command, in the order Discord lists them. `/reload`'s default visibility comes
/// from `reload.permission`.
pub fn all(config: &Config) -> Vec<poise::Command<Arc<Shared>, BotError>> {
    let mut commands = vec![salary(), certs(), levels(), ask(), faq(), help(), reload()];
    let visible_to = reload_permission(config);
    for c in &mut commands {
        if c.name == "reload" {
            c.default_member_permissions = visible_to;
        }
    }
    commands
}

/// Read options, answer, reply — deferring first when the answer is slow. Options go
/// through [`Command::from_options`], as on the HTTP endpoint and in the terminal, so blank
/// values and validation behave the same everywhere.
async fn respond(
    ctx: Context<'_>,
    options: &[(&str, Option<String>)],
    private: Option<bool>,
) -> Result<(), BotError> {
    let given = options
        .iter()
        .filter_map(|(name, value)| value.clone().map(|v| (*name, v)));
    let command = Command::from_options(&ctx.command().name, given)?;
    let shared = Arc::clone(ctx.data());
    let user = ctx.author().id.get();
    let (ephemeral, note) = shared.visibility(user, command.name(), private);
    let request = Request::new(command);
    let work = {
        let shared = Arc::clone(&shared);
        move || shared.reply(user, &request, ephemeral, note)
    };
    let defer = async {
        let deferred = if ephemeral {
            ctx.defer_ephemeral().await
        } else {
            ctx.defer().await
        };
        if let Err(e) = deferred {
            tracing::warn!(error = %e, "could not defer a slow answer");
        }
    };
    let reply = with_deadline(work, shared.defer_after(), defer).await??;
    send_with_retry(ctx, &reply).await
}

/// Sends a reply, retrying once when Discord answers with a server error: a 5xx means the
/// reply was not taken, and the interaction is still waiting for one.
async fn send_with_retry(ctx: Context<'_>, reply: &Reply) -> Result<(), BotError> {
    match ctx.send(reply.to_poise()).await {
        Err(e) if is_server_error(&e) => {
            tracing::warn!(command = %ctx.command().name, error = %e, "Discord rejected a reply with a server error; retrying once");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            ctx.send(reply.to_poise()).await?;
            Ok(())
        }
        other => {
            other?;
            Ok(())
        }
    }
}

fn is_server_error(e: &serenity::Error) -> bool {
    matches!(e, serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r)) if r.status_code.is_server_error())
}

async fn autocomplete(
    ctx: Context<'_>,
    option: &str,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let choices = ctx
        .data()
        .choices(&ctx.command().name, option, partial)
        .into_iter()
        .map(|(label, value)| serenity::AutocompleteChoice::new(label, value))
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

async fn ac_salary_level(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    autocomplete(ctx, "level", partial).await
}

async fn ac_salary_region(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    autocomplete(ctx, "region", partial).await
}

async fn ac_certs_provider(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    autocomplete(ctx, "provider", partial).await
}

async fn ac_levels_level(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    autocomplete(ctx, "level", partial).await
}

async fn ac_faq_topic(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    autocomplete(ctx, "topic", partial).await
}

/// The permission `/reload` asks for (validated with the config, so never unknown here).
pub fn reload_permission(config: &Config) -> serenity::Permissions {
    crate::config::permission_bits(&config.reload.permission).map_or(
        serenity::Permissions::MANAGE_GUILD,
        serenity::Permissions::from_bits_truncate,
    )
}

#[cfg(test)]
mod tests {
    use poise::serenity_prelude as serenity;

    use crate::config::DISCORD_PERMISSIONS;

    /// The config's permission table is Discord's, as serenity knows it: every name with its
    /// bit, and none missing.
    #[test]
    fn the_config_knows_every_discord_permission() {
        for &(name, bits) in DISCORD_PERMISSIONS {
            assert_eq!(
                serenity::Permissions::from_name(name).map(|p| p.bits()),
                Some(bits),
                "{name}"
            );
        }
        for (name, flag) in serenity::Permissions::all().iter_names() {
            assert!(
                DISCORD_PERMISSIONS.contains(&(name, flag.bits())),
                "{name} is missing from config::DISCORD_PERMISSIONS"
            );
        }
    }
}
