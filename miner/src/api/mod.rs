//! The OpenAI API as a node serves it: requests read strictly (every field honoured, or refused with a 400 that
//! names it), responses in OpenAI's shapes, and the error body. `docs/miner.md` ("The OpenAI surface") lists
//! every field.

mod chat;
mod completion;
mod error;
mod fields;
pub mod wire;

pub use chat::ChatJob;
pub use completion::{CompletionJob, DEFAULT_COMPLETION_TOKENS, MAX_COMPLETION_LOGPROBS, MAX_PROMPTS};
pub use error::ApiError;
pub use fields::{Checked, MAX_CHOICES, MAX_STOP_SEQUENCES, MAX_TOKENS_LIMIT, MAX_TOP_LOGPROBS, Stop, StreamOptions};
