//! The one integration-test binary: shared helpers in `suite/util.rs`, one module per area,
//! fixtures under `tests/fixtures/`.

mod suite {
    pub mod fake_discord;
    pub mod harness;
    pub mod postgres;
    pub mod util;

    mod answers;
    mod cli;
    mod content;
    mod discord;
    mod feedback;
    mod hostile;
    mod http;
    mod index_cache;
    mod listener;
    mod reload;
    mod replicas;
    mod semantic;
    mod snapshots;
    mod suggest;
}
