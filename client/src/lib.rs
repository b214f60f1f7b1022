//! Library side of the `neuro` user CLI.

pub mod sse;
