//! HTTP interactions endpoint.

pub fn run_blocking(
    _config: crate::config::Config,
    _listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<u8> {
    anyhow::bail!("not yet")
}
