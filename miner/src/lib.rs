//! The Neuro miner.
pub mod actions;
pub mod api;
pub mod chain;
pub mod config;
pub mod engine;
pub mod gate;
pub mod keystore;
pub mod metrics;
pub mod model_id;
pub mod node;
pub mod server;
pub mod store;
pub mod tiny_model;
pub mod work;
