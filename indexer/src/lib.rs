//! The Neuro indexer: follows the chain from the deployment block, decodes every event of our contracts, stores
//! them in SQLite or PostgreSQL and serves them over a REST API whose every figure names the block it reflects.
//!
//! - [`catalog`]: ABI-driven decoding of our contracts' logs.
//! - [`reduce`]: lookup columns and block-versioned running totals.
//! - [`store`]: the schema and atomic writes on both database engines.
//! - [`rpc`] and [`ingest`]: adaptive backfill, head following and reorg rollback.
//! - [`api`]: the `/v1` REST API and its OpenAPI document.
//! - [`verify`]: reconciliation of the stored totals with on-chain views at a block.
//! - [`loadgen`] and [`populate`]: the benchmarks' load generator and chain filler.

pub mod api;
pub mod catalog;
pub mod ingest;
pub mod loadgen;
pub mod metrics;
pub mod populate;
pub mod reduce;
pub mod rpc;
pub mod store;
pub mod verify;
