//! Contract bindings generated at compile time from `protocol/abi/*.json`.
//!
//! Each type has `new(address, provider)` for calls and transactions, plus the contract's events and custom
//! errors as Rust types (decode a revert with `Emissions::EmissionsErrors::abi_decode`).
#![allow(missing_docs, clippy::too_many_arguments)] // generated code mirrors the ABI

use alloy::sol;

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    NeuroToken,
    "abi/NeuroToken.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    Emissions,
    "abi/Emissions.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    StakingVault,
    "abi/StakingVault.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    NeuroGovernor,
    "abi/NeuroGovernor.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    NeuroTimelock,
    "abi/NeuroTimelock.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    NeuroVestingWallet,
    "abi/NeuroVestingWallet.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    ModelRegistry,
    "abi/ModelRegistry.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    NodeRegistry,
    "abi/NodeRegistry.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    Payments,
    "abi/Payments.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    FeeVault,
    "abi/FeeVault.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    UsageLedger,
    "abi/UsageLedger.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    Disputes,
    "abi/Disputes.json"
);

// Every generated verifier has the same interface; the 64-leaf one stands for all.
sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    UsageVerifier,
    "abi/UsageVerifier64.json"
);
