//! The Discord side of the service both front doors share: a [`Reply`] as serenity's and
//! poise's builders, reading a command interaction through the registry, and the
//! service's view of the gateway's shards and the log channel.

use serenity::all::{
    ActionRowComponent, Button, ButtonKind, ButtonStyle, ChannelId, CommandInteraction,
    CommandType, ComponentInteraction, ConnectionStage, CreateActionRow, CreateAllowedMentions,
    CreateAttachment, CreateButton, CreateEmbed, CreateEmbedFooter, CreateInputText,
    CreateInteractionResponse, CreateInteractionResponseFollowup, CreateInteractionResponseMessage,
    CreateMessage, CreateModal, EditInteractionResponse, Http, InputTextStyle, Message,
    ModalInteraction, ResolvedTarget, ResolvedValue, ShardManager, UserId,
};

use crate::answer::{Command, UserError};
use crate::registry::{self, OptionKind};
use crate::render::discord;
pub use crate::service::*;

impl ShardStatus for ShardManager {
    fn connected(&self) -> BoxFuture<'_, usize> {
        Box::pin(async move {
            let runners = self.runners.lock().await;
            runners
                .values()
                .filter(|r| r.stage == ConnectionStage::Connected)
                .count()
        })
    }
}

impl Announcer for Http {
    fn announce(&self, channel: u64, text: String) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let message = CreateMessage::new()
                .content(text)
                .allowed_mentions(no_mentions());
            ChannelId::new(channel)
                .send_message(self, message)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
    }
}

/// Fills one of serenity's message builders from a [`Reply`]: they share method names but
/// no trait, and attachments are added by a differently named method (`$attach`).
macro_rules! fill {
    ($reply:expr, $builder:expr, $attach:ident) => {{
        let reply: &Reply = $reply;
        let mut builder = $builder
            .allowed_mentions(reply.allowed_mentions())
            .embeds(reply.embeds())
            .components(reply.components());
        if let Some(content) = &reply.content {
            builder = builder.content(content);
        }
        for (name, bytes) in &reply.files {
            builder = builder.$attach(CreateAttachment::bytes(bytes.clone(), name.clone()));
        }
        builder
    }};
}

impl Reply {
    pub fn embeds(&self) -> Vec<CreateEmbed> {
        self.view
            .iter()
            .map(|v| {
                let e = &v.embed;
                let mut embed = CreateEmbed::new().title(&e.title).colour(e.color);
                if !e.description.is_empty() {
                    embed = embed.description(&e.description);
                }
                for f in &e.fields {
                    embed = embed.field(&f.name, &f.value, false);
                }
                if !e.footer.is_empty() {
                    embed = embed.footer(CreateEmbedFooter::new(&e.footer));
                }
                embed
            })
            .collect()
    }

    pub fn components(&self) -> Vec<CreateActionRow> {
        let paging = self.view.as_ref().zip(self.pager.as_ref());
        let mut buttons: Vec<CreateButton> = paging
            .into_iter()
            .flat_map(|(view, pager)| view.buttons.iter().map(move |b| (b, pager)))
            .filter_map(|(b, pager)| {
                let id = PageId {
                    owner: pager.owner,
                    also: pager.also,
                    page: b.page,
                    command: pager.command.clone(),
                }
                .encode()?;
                let style = match b.turn {
                    discord::Turn::Next => ButtonStyle::Primary,
                    discord::Turn::Previous => ButtonStyle::Secondary,
                };
                Some(CreateButton::new(id).label(b.label).style(style))
            })
            .collect();
        if let Some(question) = self.vote {
            for (up, emoji) in [(true, '👍'), (false, '👎')] {
                buttons.push(
                    CreateButton::new(VoteId { question, up }.encode())
                        .emoji(emoji)
                        .style(ButtonStyle::Secondary),
                );
            }
        }
        if buttons.is_empty() {
            Vec::new()
        } else {
            vec![CreateActionRow::Buttons(buttons)]
        }
    }

    /// Nobody, or the one member the reply is for.
    pub fn allowed_mentions(&self) -> CreateAllowedMentions {
        match self.mention {
            Some(user) => no_mentions().users(vec![UserId::new(user)]),
            None => no_mentions(),
        }
    }

    /// For poise (gateway): the framework picks the initial response, followup or edit.
    pub fn to_poise(&self) -> poise::CreateReply {
        let mut reply = poise::CreateReply::default()
            .ephemeral(self.ephemeral)
            .allowed_mentions(self.allowed_mentions())
            .components(self.components());
        if let Some(content) = &self.content {
            reply = reply.content(content);
        }
        for embed in self.embeds() {
            reply = reply.embed(embed);
        }
        for (name, bytes) in &self.files {
            reply = reply.attachment(CreateAttachment::bytes(bytes.clone(), name.clone()));
        }
        reply
    }

    /// As a followup message (a private refusal after a deferred update).
    pub fn to_followup(&self) -> CreateInteractionResponseFollowup {
        fill!(
            self,
            CreateInteractionResponseFollowup::new().ephemeral(self.ephemeral),
            add_file
        )
    }

    /// For editing a deferred response over REST (HTTP endpoint); the deferral already
    /// decided who sees it.
    pub fn to_edit(&self) -> EditInteractionResponse {
        fill!(self, EditInteractionResponse::new(), new_attachment)
    }

    /// As a channel message (a forum suggestion), with no interaction behind it.
    pub fn to_channel_message(&self) -> CreateMessage {
        fill!(self, CreateMessage::new(), add_file)
    }

    /// For an interaction response body (HTTP endpoint, button updates).
    pub fn to_message(&self) -> CreateInteractionResponseMessage {
        fill!(
            self,
            CreateInteractionResponseMessage::new().ephemeral(self.ephemeral),
            add_file
        )
    }
}

/// The vote id an answer's 👍 / 👎 buttons carry, read from the message (a page turn keeps
/// them).
pub fn vote_on(message: &Message) -> Option<i64> {
    message
        .components
        .iter()
        .flat_map(|row| &row.components)
        .find_map(|c| match c {
            ActionRowComponent::Button(Button {
                data: ButtonKind::NonLink { custom_id, .. },
                ..
            }) => VoteId::parse(custom_id).map(|v| v.question),
            _ => None,
        })
}

/// A 👍 / 👎 press, answered the same on both front doors: privately, or with the 👎 form.
pub fn vote_response(
    shared: &Shared,
    press: &ComponentInteraction,
    vote: VoteId,
) -> CreateInteractionResponse {
    let voter = press.user.id.get();
    match shared.vote(voter, press.guild_id.map(|g| g.get()), vote) {
        Voted::Thanks(reply) => CreateInteractionResponse::Message(reply.to_message()),
        Voted::AskWhy(form) => CreateInteractionResponse::Modal(modal(&form)),
    }
}

/// The 👎 form, submitted: kept with the vote, acknowledged privately (both front doors).
pub fn form_response(shared: &Shared, submit: &ModalInteraction) -> CreateInteractionResponse {
    let reply = shared.vote_comment(
        submit.user.id.get(),
        submit.guild_id.map(|g| g.get()),
        &form_submit(submit),
    );
    CreateInteractionResponse::Message(reply.to_message())
}

/// The 👎 form as Discord's modal response.
fn modal(form: &Form) -> CreateModal {
    let input = CreateInputText::new(InputTextStyle::Paragraph, form.label, form.input_id)
        .placeholder(form.placeholder)
        .required(false)
        .max_length(form.max_length as u16);
    CreateModal::new(&form.custom_id, form.title)
        .components(vec![CreateActionRow::InputText(input)])
}

/// A submitted modal, without Discord types.
fn form_submit(modal: &ModalInteraction) -> FormSubmit {
    FormSubmit {
        custom_id: modal.data.custom_id.clone(),
        values: modal
            .data
            .components
            .iter()
            .flat_map(|row| &row.components)
            .filter_map(|c| match c {
                ActionRowComponent::InputText(t) => {
                    Some((t.custom_id.clone(), t.value.clone().unwrap_or_default()))
                }
                _ => None,
            })
            .collect(),
    }
}

/// What Discord answered to a REST call it refused (status and JSON error code); `None`
/// for failures that never got an answer.
pub fn rest_error(e: &serenity::all::Error) -> Option<&serenity::all::ErrorResponse> {
    match e {
        serenity::all::Error::Http(serenity::all::HttpError::UnsuccessfulRequest(response)) => {
            Some(response)
        }
        _ => None,
    }
}

/// Allowed mentions that allow nothing: no reply can ping anyone, whatever its text.
pub fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .everyone(false)
        .all_users(false)
        .all_roles(false)
        .replied_user(false)
}

/// A command interaction read through the registry: the request, and its switches
/// (`private`, `dry_run`), which change how it is answered, not what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub command: Command,
    flags: Vec<(String, bool)>,
    /// For a message command: whose message it answers.
    pub about: Option<About>,
    /// The member `for` names: the answer is addressed to them.
    pub for_member: Option<u64>,
}

impl Invocation {
    /// A switch's value, when the member set it.
    pub fn flag(&self, name: &str) -> Option<bool> {
        self.flags.iter().find(|(n, _)| n == name).map(|&(_, b)| b)
    }
}

/// Reads a command interaction's options by the registry's names and kinds: the same for
/// the gateway and the HTTP endpoint.
pub fn invocation(interaction: &CommandInteraction) -> Result<Invocation, UserError> {
    if interaction.data.kind == CommandType::Message {
        return message_invocation(interaction);
    }
    let def = registry::find(&interaction.data.name);
    let mut flags = Vec::new();
    let mut options: Vec<(&str, String)> = Vec::new();
    let mut for_member = None;
    for option in interaction.data.options() {
        match option.value {
            ResolvedValue::User(user, member)
                if def
                    .and_then(|d| d.option(option.name))
                    .is_some_and(|o| o.kind == OptionKind::Member) =>
            {
                if user.bot {
                    return Err(UserError::ForABot(user.name.clone()));
                }
                // Discord resolves the member's permissions in this channel; outside a
                // server there are none to check.
                let sees = member
                    .and_then(|m| m.permissions)
                    .is_none_or(|p| p.view_channel());
                if !sees {
                    return Err(UserError::ForSomeoneElsewhere(user.name.clone()));
                }
                for_member = Some(user.id.get());
            }
            ResolvedValue::Boolean(b)
                if def
                    .and_then(|d| d.option(option.name))
                    .is_some_and(|o| o.kind == OptionKind::Flag) =>
            {
                flags.push((option.name.to_string(), b))
            }
            ResolvedValue::String(s) => options.push((option.name, s.to_string())),
            // Read as words, as typed in a terminal: the handler checks the range either way.
            ResolvedValue::Integer(i) => options.push((option.name, i.to_string())),
            ResolvedValue::Autocomplete { value, .. } => {
                options.push((option.name, value.to_string()))
            }
            _ => {}
        }
    }
    let command = Command::from_options(&interaction.data.name, options)?;
    Ok(Invocation {
        command,
        flags,
        about: None,
        for_member,
    })
}

/// A message command: the message's question, answered as its slash command would be.
fn message_invocation(interaction: &CommandInteraction) -> Result<Invocation, UserError> {
    let def = registry::find_message_command(&interaction.data.name).ok_or_else(|| {
        UserError::UnknownCommand {
            name: interaction.data.name.clone(),
            suggestion: None,
        }
    })?;
    let Some(ResolvedTarget::Message(message)) = interaction.data.target() else {
        return Err(UserError::NoQuestionInMessage);
    };
    // The message fills the first word option of the command it answers as (`/ask`'s
    // question), within that option's length.
    let option = registry::find(def.answers_as)
        .and_then(|d| d.word_options().next())
        .expect("a message command answers as a command with a word option");
    let max = option.max_chars().map_or(usize::MAX, usize::from);
    let question =
        question_in_message(&message.content, max).ok_or(UserError::NoQuestionInMessage)?;
    let command = Command::from_options(def.answers_as, [(option.name, question)])?;
    let place = interaction
        .guild_id
        .map_or_else(|| "@me".to_string(), |g| g.to_string());
    Ok(Invocation {
        command,
        flags: Vec::new(),
        for_member: None,
        about: Some(About {
            author: message.author.id.get(),
            link: format!(
                "https://discord.com/channels/{place}/{}/{}",
                message.channel_id, message.id
            ),
        }),
    })
}

/// The focused option of an autocomplete interaction: `(option name, what is typed)`.
pub fn focused_option(interaction: &CommandInteraction) -> Option<(String, String)> {
    interaction
        .data
        .options()
        .into_iter()
        .find_map(|o| match o.value {
            ResolvedValue::Autocomplete { value, .. } => {
                Some((o.name.to_string(), value.to_string()))
            }
            _ => None,
        })
}
