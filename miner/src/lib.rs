//! The Neuro miner: serves models with mistral.rs behind an OpenAI-compatible API, meters usage, proves it and
//! claims rewards. Chain access goes through `neuro-chain`; test networks and benchmarks live in the dev-only
//! `neuro-testkit` (`neuro-bench miner`), so this crate knows nothing of anvil or the source tree.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

// Dependencies of the `neuro-miner` binary only.
use {anyhow as _, clap as _, tracing_subscriber as _};

pub use neuro_engine::{self as engine, model_id};

pub mod actions;
pub mod api;
pub mod chain;
pub mod chain_cache;
pub mod config;
pub mod gate;
pub mod http;
pub mod metrics;
pub mod node;
pub mod server;
pub mod store;
pub mod work;
