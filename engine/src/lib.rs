//! The Neuro inference engine, shared by the miner (which serves models) and the validator (which re-executes
//! what miners served): mistral.rs models loaded offline, the model id that names a model on chain, the raw bytes
//! behind each token of a model's vocabulary, and teacher-forced re-execution of someone else's answer.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod chat;
pub mod cpu;
mod engine;
pub mod forcing;
pub mod model_id;
pub mod vocab;

pub use chat::{ChatMessage, ChatOptions, OptionsError, ToolCall, ToolMode};
pub use engine::{Engine, EngineError, ModelSource, Sampling, StepCount};
pub use mistralrs;
