//! Library side of the `neuro` user CLI.

pub mod delegate;
pub mod receipt;
pub mod reputation;
pub mod sse;
