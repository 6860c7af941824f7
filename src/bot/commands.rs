//! The registry's commands as Discord sees them: poise commands for the gateway (one slash
//! action and one autocomplete callback serve them all) and the registration payload for
//! both modes, all derived from [`registry::COMMANDS`]. Nothing here names a command.

use std::sync::Arc;

use poise::serenity_prelude as serenity;

use super::core::{invocation, with_deadline, Asker, Invocation, Reply, Shared};
use super::reloading::{authorize_reload, gaps_refusal, may_see_gaps, refusal, reload_reply};
use super::{BotError, Context};
use crate::answer::Request;
use crate::config::Config;
use crate::registry::{self, Access, Action, CommandDef, OptionDef, OptionKind};

type Command = poise::Command<Arc<Shared>, BotError>;
type AppContext<'a> = poise::ApplicationContext<'a, Arc<Shared>, BotError>;
type FrameworkError<'a> = poise::FrameworkError<'a, Arc<Shared>, BotError>;

/// Every command for poise to dispatch, in the registry's order, then the message commands.
pub fn all(config: &Config) -> Vec<Command> {
    registry::all()
        .map(|def| poise_command(def, config))
        .chain(registry::MESSAGE_COMMANDS.iter().map(|def| Command {
            name: def.name.into(),
            qualified_name: def.name.into(),
            context_menu_name: Some(def.name.into()),
            context_menu_action: Some(poise::ContextMenuCommandAction::Message(|ctx, _| {
                Box::pin(message_command(ctx))
            })),
            ..Default::default()
        }))
        .collect()
}

/// "Ask careerbot" on a message: the message's text, answered as its slash command would
/// be (read by [`invocation`], as over HTTP).
async fn message_command(ctx: AppContext<'_>) -> Result<(), FrameworkError<'_>> {
    let run = async {
        let invocation = invocation(ctx.interaction)?;
        respond(ctx.into(), invocation).await
    };
    run.await
        .map_err(|error| poise::FrameworkError::new_command(ctx.into(), error))
}

fn poise_command(def: &'static CommandDef, config: &Config) -> Command {
    Command {
        name: def.name.into(),
        qualified_name: def.name.into(),
        description: Some(def.description.into()),
        slash_action: Some(|ctx| Box::pin(slash(ctx))),
        parameters: def.options.iter().map(parameter).collect(),
        guild_only: def.access == Access::Moderators,
        default_member_permissions: visible_to(def, config),
        ..Default::default()
    }
}

/// Names and autocomplete callbacks, for poise's autocomplete dispatch; option types and
/// limits go to Discord through [`create`].
fn parameter(option: &'static OptionDef) -> poise::CommandParameter<Arc<Shared>, BotError> {
    poise::CommandParameter {
        name: option.name.into(),
        name_localizations: Default::default(),
        description: Some(option.description.into()),
        description_localizations: Default::default(),
        required: option.required,
        channel_types: None,
        choices: Default::default(),
        type_setter: None,
        autocomplete_callback: option
            .autocompletes()
            .then_some(|ctx, partial| Box::pin(autocomplete(ctx, partial))),
        // poise has no constructor for parameters; its own macro fills this field too.
        __non_exhaustive: (),
    }
}

/// Who sees the command in Discord's list by default: everyone, or members with
/// `reload.permission`.
fn visible_to(def: &CommandDef, config: &Config) -> serenity::Permissions {
    match def.access {
        Access::Everyone => serenity::Permissions::empty(),
        Access::Moderators => reload_permission(config),
    }
}

/// The commands as registered with Discord (both modes), in the registry's order.
pub fn create(config: &Config) -> Vec<serenity::CreateCommand> {
    registry::all()
        .map(|def| {
            let command = serenity::CreateCommand::new(def.name)
                .description(def.description)
                .set_options(def.options.iter().map(create_option).collect());
            match def.access {
                Access::Everyone => anywhere(command),
                Access::Moderators => command
                    .default_member_permissions(visible_to(def, config))
                    .integration_types(vec![serenity::InstallationContext::Guild])
                    .contexts(vec![serenity::InteractionContext::Guild]),
            }
        })
        .chain(registry::MESSAGE_COMMANDS.iter().map(|def| {
            anywhere(serenity::CreateCommand::new(def.name).kind(serenity::CommandType::Message))
        }))
        .collect()
}

/// Members' commands work wherever the app is: installed in a server, or by a member for
/// themselves (their DMs with the bot, and group or private chats).
fn anywhere(command: serenity::CreateCommand) -> serenity::CreateCommand {
    command
        .integration_types(vec![
            serenity::InstallationContext::Guild,
            serenity::InstallationContext::User,
        ])
        .contexts(vec![
            serenity::InteractionContext::Guild,
            serenity::InteractionContext::BotDm,
            serenity::InteractionContext::PrivateChannel,
        ])
}

fn create_option(option: &OptionDef) -> serenity::CreateCommandOption {
    let kind = match option.kind {
        OptionKind::Flag => serenity::CommandOptionType::Boolean,
        OptionKind::Facet(_) | OptionKind::Text { .. } => serenity::CommandOptionType::String,
        OptionKind::Integer { .. } => serenity::CommandOptionType::Integer,
        OptionKind::Member => serenity::CommandOptionType::User,
    };
    let mut created = serenity::CreateCommandOption::new(kind, option.name, option.description)
        .required(option.required);
    if let OptionKind::Integer { min, max } = option.kind {
        created = created
            .min_int_value(u64::from(min))
            .max_int_value(u64::from(max));
    }
    if let Some(max) = option.max_chars() {
        created = created.max_length(max);
    }
    if option.autocompletes() {
        created = created.set_autocomplete(true);
    }
    created
}

/// The permission `/reload` asks for (validated with the config, so never unknown here).
pub fn reload_permission(config: &Config) -> serenity::Permissions {
    crate::config::permission_bits(&config.reload.permission).map_or(
        serenity::Permissions::MANAGE_GUILD,
        serenity::Permissions::from_bits_truncate,
    )
}

/// Every slash command: read the options through the registry, then answer or reload.
async fn slash(ctx: AppContext<'_>) -> Result<(), FrameworkError<'_>> {
    let run = async {
        let invocation = invocation(ctx.interaction)?;
        match invocation.command.def().action {
            Action::Reload => reload(ctx, &invocation).await,
            Action::Gaps => gaps(ctx, &invocation).await,
            _ => respond(ctx.into(), invocation).await,
        }
    };
    run.await
        .map_err(|error| poise::FrameworkError::new_command(ctx.into(), error))
}

/// Moderators: reload the guides (deferred privately: a rebuild can take seconds).
async fn reload(ctx: AppContext<'_>, invocation: &Invocation) -> Result<(), BotError> {
    let shared = Arc::clone(ctx.data());
    let poise_ctx: Context<'_> = ctx.into();
    let Some(trigger) = authorize_reload(&shared.config, ctx.interaction) else {
        poise_ctx.send(refusal().to_poise()).await?;
        return Ok(());
    };
    poise_ctx.defer_ephemeral().await?;
    let dry_run = invocation.flag("dry_run").unwrap_or(false);
    let outcome = shared.reload(trigger, dry_run).await;
    poise_ctx
        .send(reload_reply(&outcome, &shared.config.data_dir).to_poise())
        .await?;
    Ok(())
}

/// Moderators: the content-gap report (deferred privately: it reads the database).
async fn gaps(ctx: AppContext<'_>, invocation: &Invocation) -> Result<(), BotError> {
    let shared = Arc::clone(ctx.data());
    let poise_ctx: Context<'_> = ctx.into();
    if !may_see_gaps(&shared.config, ctx.interaction) {
        poise_ctx.send(gaps_refusal().to_poise()).await?;
        return Ok(());
    }
    poise_ctx.defer_ephemeral().await?;
    let guild = ctx.interaction.guild_id.map(|g| g.get());
    let reply = shared.gaps_reply(&invocation.command, guild).await;
    poise_ctx.send(reply.to_poise()).await?;
    Ok(())
}

/// Answer, reply — deferring first when the answer is slow.
async fn respond(ctx: Context<'_>, invocation: Invocation) -> Result<(), BotError> {
    let shared = Arc::clone(ctx.data());
    let user = ctx.author().id.get();
    let asker = Asker::new(
        user,
        ctx.guild_id().map(|g| g.get()),
        Some(ctx.channel_id().get()),
    );
    let private = invocation.flag("private");
    let command = invocation.command;
    let (ephemeral, note) = shared
        .visibility(user, command.name(), private, asker.guild.is_some())
        .await;
    let request = Request::new(command);
    let (about, for_member) = (invocation.about, invocation.for_member);
    let work = {
        let shared = Arc::clone(&shared);
        move || {
            let reply = shared.reply(asker, &request, ephemeral, note)?;
            let ping = shared.config.discord.ping_author;
            Ok::<_, crate::answer::AnswerError>(reply.addressed(about.as_ref(), for_member, ping))
        }
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
    super::core::rest_error(e).is_some_and(|r| r.status_code.is_server_error())
}

/// Completions for whichever facet option is being typed.
async fn autocomplete<'a>(
    ctx: AppContext<'a>,
    partial: &'a str,
) -> serenity::CreateAutocompleteResponse {
    let option = ctx.args.iter().find_map(|o| match o.value {
        serenity::ResolvedValue::Autocomplete { .. } => Some(o.name),
        _ => None,
    });
    let choices = option
        .map(|option| ctx.data().choices(&ctx.command().name, option, partial))
        .unwrap_or_default()
        .into_iter()
        .map(|(label, value)| serenity::AutocompleteChoice::new(label, value))
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
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
