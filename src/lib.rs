//! careerbot: answers career questions on Discord from a community's own guides and FAQs.
//!
//! Data flows content → search → answer → render → (cli | bot | http); see ARCHITECTURE.md.

pub mod answer;
pub mod app;
pub mod bot;
pub mod cli;
pub mod config;
pub mod content;
pub mod feedback;
pub mod http;
pub mod listener;
pub mod ops;
pub mod registry;
pub mod reload;
pub mod render;
pub mod replicas;
pub mod search;
pub mod semantic;
pub mod service;
pub mod suggest;
pub mod throttle;
pub mod typos;
