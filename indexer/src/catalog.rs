//! Decoding our contracts' logs from their ABI documents, without a line of per-event code.
//!
//! Invariant: a log is decoded only when its address is one of the manifest's contracts and its first topic is
//! an event of that contract's ABI; everything else is ignored, never guessed.

use std::collections::HashMap;

use alloy::{
    dyn_abi::{DynSolEvent, DynSolValue, Specifier},
    json_abi::JsonAbi,
    primitives::{Address, B256, Log},
};
use neuro_protocol::{Manifest, abi};
use serde_json::{Map, Value};

/// Why the catalog could not be built or a log not decoded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// An ABI document embedded in this build is malformed (a build defect).
    #[error("ABI {name} is malformed: {source}")]
    Abi {
        /// ABI name.
        name: &'static str,
        /// Cause.
        source: serde_json::Error,
    },
    /// An event type cannot be resolved (a build defect).
    #[error("event {contract}.{event} cannot be resolved: {source}")]
    Resolve {
        /// Contract name.
        contract: &'static str,
        /// Event name.
        event: String,
        /// Cause.
        source: Box<alloy::dyn_abi::Error>,
    },
    /// A log of a known event does not decode: the chain does not hold the contracts the manifest names.
    #[error("log {log_index} of tx {tx} at {address} does not decode as {contract}.{event}: {source}")]
    Decode {
        /// Contract name.
        contract: &'static str,
        /// Event name.
        event: String,
        /// Emitting address.
        address: Address,
        /// Transaction hash.
        tx: B256,
        /// Log index in its block.
        log_index: u64,
        /// Cause.
        source: Box<alloy::dyn_abi::Error>,
    },
}

/// One event type of one deployed contract.
#[derive(Debug)]
struct EventType {
    contract: &'static str,
    name: String,
    /// `(parameter name, indexed)` in declaration order.
    params: Vec<(String, bool)>,
    decoder: DynSolEvent,
}

/// A decoded event with its position on chain.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEvent {
    /// Block number.
    pub block_number: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Index of the transaction in its block.
    pub tx_index: u64,
    /// Index of the log in its block.
    pub log_index: u64,
    /// Emitting contract.
    pub address: Address,
    /// Manifest name of the emitting contract (`TeamVesting`, not `NeuroVestingWallet`).
    pub contract: &'static str,
    /// Event name.
    pub name: String,
    /// Arguments by parameter name: integers as decimal strings, addresses checksummed, bytes as 0x-hex.
    pub args: Map<String, Value>,
}

impl DecodedEvent {
    /// An argument as text, when present.
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args.get(name).and_then(Value::as_str)
    }
}

/// Event types of every contract of one deployment, by `(address, topic0)`.
#[derive(Debug)]
pub struct Catalog {
    events: HashMap<(Address, B256), EventType>,
    addresses: Vec<Address>,
}

impl Catalog {
    /// The catalog of `manifest`'s contracts.
    pub fn new(manifest: &Manifest) -> Result<Self, CatalogError> {
        let mut events = HashMap::new();
        let mut addresses = Vec::new();
        for (contract, address) in manifest.contracts.named() {
            let Some(abi_name) = abi::abi_name(contract) else { continue };
            let Some(json) = abi::abi_json(abi_name) else { continue };
            let parsed: JsonAbi =
                serde_json::from_str(json).map_err(|source| CatalogError::Abi { name: abi_name, source })?;
            addresses.push(address);
            for event in parsed.events() {
                let decoder = event.resolve().map_err(|source| CatalogError::Resolve {
                    contract,
                    event: event.name.clone(),
                    source: Box::new(source),
                })?;
                let params = event.inputs.iter().map(|p| (p.name.clone(), p.indexed)).collect();
                events.insert(
                    (address, event.selector()),
                    EventType { contract, name: event.name.clone(), params, decoder },
                );
            }
        }
        Ok(Self { events, addresses })
    }

    /// Addresses whose logs are indexed.
    pub fn addresses(&self) -> &[Address] {
        &self.addresses
    }

    /// Decodes `log`; `Ok(None)` for logs of other contracts or events outside the ABI. Logs must be mined.
    pub fn decode(&self, log: &alloy::rpc::types::Log) -> Result<Option<DecodedEvent>, CatalogError> {
        let inner: &Log = &log.inner;
        let Some(topic0) = inner.data.topics().first() else { return Ok(None) };
        let Some(kind) = self.events.get(&(inner.address, *topic0)) else { return Ok(None) };
        let (tx_hash, log_index) = (log.transaction_hash.unwrap_or_default(), log.log_index.unwrap_or_default());
        let decoded = kind.decoder.decode_log_data(&inner.data).map_err(|source| CatalogError::Decode {
            contract: kind.contract,
            event: kind.name.clone(),
            address: inner.address,
            tx: tx_hash,
            log_index,
            source: Box::new(source),
        })?;
        let (mut indexed, mut body) = (decoded.indexed.into_iter(), decoded.body.into_iter());
        let mut args = Map::with_capacity(kind.params.len());
        for (name, is_indexed) in &kind.params {
            let value = if *is_indexed { indexed.next() } else { body.next() };
            if let Some(value) = value {
                args.insert(name.clone(), to_json(&value));
            }
        }
        Ok(Some(DecodedEvent {
            block_number: log.block_number.unwrap_or_default(),
            block_hash: log.block_hash.unwrap_or_default(),
            tx_hash,
            tx_index: log.transaction_index.unwrap_or_default(),
            log_index,
            address: inner.address,
            contract: kind.contract,
            name: kind.name.clone(),
            args,
        }))
    }
}

/// JSON for an ABI value. Integers are strings: JSON numbers lose precision past 2^53.
fn to_json(value: &DynSolValue) -> Value {
    match value {
        DynSolValue::Bool(b) => Value::Bool(*b),
        DynSolValue::Int(i, _) => Value::String(i.to_string()),
        DynSolValue::Uint(u, _) => Value::String(u.to_string()),
        DynSolValue::FixedBytes(word, size) => Value::String(alloy::hex::encode_prefixed(&word[..*size])),
        DynSolValue::Address(a) => Value::String(a.to_checksum(None)),
        DynSolValue::Function(f) => Value::String(alloy::hex::encode_prefixed(f.as_slice())),
        DynSolValue::Bytes(b) => Value::String(alloy::hex::encode_prefixed(b)),
        DynSolValue::String(s) => Value::String(s.clone()),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) | DynSolValue::Tuple(items) => {
            Value::Array(items.iter().map(to_json).collect())
        }
        #[allow(unreachable_patterns)] // CustomStruct exists only with the eip712 feature
        _ => Value::Null,
    }
}
