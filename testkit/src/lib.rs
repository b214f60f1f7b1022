//! Test and benchmark utilities of the Neuro workspace: a dev-dependency and the `neuro-bench` tool, never part
//! of a shipped binary (the products do not know about anvil or the source tree).
//!
//! - [`devnet`]: a local anvil chain with the protocol deployed by the real deploy script.
//! - [`network`]: a whole local network: devnet, an approved model, a staked and registered serving miner, a
//!   funded user.
//! - [`proxy`]: hostile RPC endpoints (a proxy that drops requests, a server that never answers).
//! - [`tiny_model`]: tiny random-weight Llama models for tests.
//! - [`populate`] and [`loadgen`]: chain fillers and an open-loop HTTP load generator for the benchmarks.
//! - [`miner_bench`]: engine and node throughput and proof times.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

// Dependencies of the `neuro-bench` and `neuro-tiny-model` binaries only.
use {anyhow as _, clap as _, neuro_chain as _, neuro_indexer as _, tracing_subscriber as _};

pub mod devnet;
pub mod history;
pub mod loadgen;
pub mod miner_bench;
pub mod network;
pub mod populate;
pub mod proxy;
pub mod tiny_model;

pub use devnet::{Devnet, DevnetError, DevnetOptions};
