//! Usage proofs for Neuro.
//!
//! A miner proves, in one constant-size Groth16 proof on BN254, that a batch of metered inference receipts adds
//! up to the tokens and fees it claims, bound to the miner, the epoch and the model. The batch's Poseidon Merkle
//! root lets anyone later challenge a single receipt.
//!
//! - [`receipt`]: receipts and their leaf encoding; [`batch`]: padded batches and Merkle trees;
//! - [`circuit`]: the constraint system; [`poseidon`]: the shared hash parameters; [`field`]: value encodings;
//! - [`keys`]: deterministic (devnet) key setup and key files; [`proof`]: proving, verifying, Solidity encoding;
//! - [`solidity`]: the generator of `contracts/src/verifiers/UsageVerifier*.sol`.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

// Dependencies of the `neuro-prover` binary only.
#[cfg(feature = "cli")]
use {anyhow as _, clap as _, indicatif as _, serde_json as _, tracing_subscriber as _};

pub mod batch;
pub mod circuit;
pub mod field;
pub mod keys;
pub mod poseidon;
pub mod proof;
pub mod receipt;
pub mod solidity;

pub use batch::{Batch, BatchError};
pub use circuit::{PublicInputs, UsageCircuit};
pub use receipt::Receipt;
