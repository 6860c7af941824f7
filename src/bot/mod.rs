//! Discord gateway bot (poise on serenity).

pub fn run_blocking(_config: crate::config::Config) -> anyhow::Result<u8> {
    anyhow::bail!("not yet")
}
