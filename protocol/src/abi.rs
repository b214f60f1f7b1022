//! The contracts' ABI documents as JSON text, for tools that decode dynamically (the indexer).
//!
//! Invariant: these are the same files the [`crate::bindings`] are generated from, so static and dynamic
//! decoding agree.

/// `(ABI name, JSON text)` of every contract that emits events. The vesting wallets share `NeuroVestingWallet`;
/// the usage verifiers emit none.
pub const ABIS: [(&str, &str); 12] = [
    ("NeuroToken", include_str!("../abi/NeuroToken.json")),
    ("Emissions", include_str!("../abi/Emissions.json")),
    ("StakingVault", include_str!("../abi/StakingVault.json")),
    ("NeuroGovernor", include_str!("../abi/NeuroGovernor.json")),
    ("NeuroTimelock", include_str!("../abi/NeuroTimelock.json")),
    ("NeuroVestingWallet", include_str!("../abi/NeuroVestingWallet.json")),
    ("ModelRegistry", include_str!("../abi/ModelRegistry.json")),
    ("NodeRegistry", include_str!("../abi/NodeRegistry.json")),
    ("Payments", include_str!("../abi/Payments.json")),
    ("FeeVault", include_str!("../abi/FeeVault.json")),
    ("UsageLedger", include_str!("../abi/UsageLedger.json")),
    ("Disputes", include_str!("../abi/Disputes.json")),
];

/// The ABI name of the contract deployed under `manifest_name` (a key of the manifest's `contracts`), or `None`
/// for contracts that emit no events.
pub fn abi_name(manifest_name: &str) -> Option<&'static str> {
    match manifest_name {
        "TeamVesting" | "InvestorVesting" => Some("NeuroVestingWallet"),
        "UsageVerifier64" | "UsageVerifier1024" => None,
        other => ABIS.iter().find(|(name, _)| *name == other).map(|(name, _)| *name),
    }
}

/// The JSON text of the ABI named `name`.
pub fn abi_json(name: &str) -> Option<&'static str> {
    ABIS.iter().find(|(n, _)| *n == name).map(|(_, json)| *json)
}
