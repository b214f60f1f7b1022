//! The Neuro indexer: follows the chain from the deployment block, decodes every event of our contracts, stores
//! them in SQLite or PostgreSQL and serves them over a REST API whose every figure names the block it reflects.
//!
//! - [`catalog`]: ABI-driven decoding of our contracts' logs.
//! - [`schema`]: every contract, event and argument name read, checked against the exported ABIs.
//! - [`reduce`]: lookup columns and block-versioned running totals.
//! - [`store`]: the schema and atomic writes on both database engines.
//! - [`rpc`] and [`ingest`]: adaptive backfill, head following and reorg rollback.
//! - [`api`]: the `/v1` REST API and its OpenAPI document.
//! - [`verify`]: reconciliation of the stored totals with on-chain views at a block.
//! - [`service`]: open everything from options and run until shutdown (what `main.rs` wires).
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

// Dependencies of the `neuro-indexer` binary only.
use {anyhow as _, clap as _, tracing_subscriber as _};

pub mod api;
pub mod catalog;
pub mod ingest;
pub mod metrics;
pub mod proposals;
pub mod reduce;
pub mod rpc;
pub mod schema;
pub mod service;
pub mod store;
pub mod verify;
