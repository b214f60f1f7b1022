//! A long synthetic history for the indexer's API benchmarks: one miner with work, usage submissions and reward
//! claims in each of N finalized epochs (10,000 epochs is ~14 months of hourly epochs), stored through the
//! indexer's own decoder and store, as ingestion would store them. Generating it on a chain would take a
//! Groth16 proof per submission and days of anvil time; what the API reads is the stored rows, and these are
//! byte-for-byte what the decoder makes of the protocol's events.

use alloy::{
    primitives::{Address, B256, Log as PrimitiveLog, U256, keccak256},
    rpc::types::Log,
    sol_types::SolEvent,
};
use indicatif::ProgressBar;
use neuro_indexer::{
    catalog::{Catalog, CatalogError, DecodedEvent},
    reduce::{REDUCTION_VERSION, ReduceError, Totals},
    store::{Batch, BlockRow, Cursor, Store, StoreError},
};
use neuro_protocol::{
    Manifest,
    bindings::{Emissions, UsageLedger},
};

/// Why the history could not be written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The catalog could not be built or refused an event.
    #[error("catalog")]
    Catalog(#[from] CatalogError),
    /// The database failed.
    #[error("database")]
    Store(#[from] StoreError),
    /// An event could not be reduced into the running totals.
    #[error("reductions")]
    Reduce(#[from] ReduceError),
    /// The database already holds rows.
    #[error("the database is not empty: write the history into a fresh one")]
    NotEmpty,
    /// The decoder did not recognise a generated event.
    #[error("the catalog does not decode {0}")]
    Undecoded(&'static str),
}

/// Epochs per committed batch.
const EPOCHS_PER_BATCH: u64 = 500;

/// Writes `epochs` epochs of history for `miner` serving `model` into an empty `store`; one block per epoch.
pub async fn write_history(
    store: &Store,
    manifest: &Manifest,
    miner: Address,
    model: B256,
    epochs: u64,
) -> Result<u64, HistoryError> {
    if store.cursor().await?.is_some() {
        return Err(HistoryError::NotEmpty);
    }
    store.bind_deployment(manifest.chain_id, manifest.contracts.token).await?;
    store.ensure_reduction_version(REDUCTION_VERSION).await?;
    let catalog = Catalog::new(manifest)?;
    let mut totals = Totals::new(manifest, Default::default());
    let c = manifest.contracts;
    let progress = ProgressBar::new(epochs);
    let mut written = 0;
    let mut parent = B256::ZERO;
    for start in (0..epochs).step_by(EPOCHS_PER_BATCH as usize) {
        let mut batch = Batch::default();
        let end = (start + EPOCHS_PER_BATCH).min(epochs);
        let mut cursor = None;
        for epoch in start..end {
            let block = manifest.start_block + 1 + epoch;
            let hash = keccak256(block.to_be_bytes());
            let timestamp = manifest.genesis_time + (epoch + 1) * manifest.epoch_length;
            let e = U256::from(epoch);
            let units = U256::from(300 + epoch % 200);
            let fees = units * U256::from(2_000_000_000_000u64);
            let burned = fees / U256::from(4);
            let logs: Vec<(Address, PrimitiveLog<alloy::primitives::LogData>, &'static str)> = vec![
                (
                    c.usage_ledger,
                    log(UsageLedger::UsageSubmitted {
                        epoch: e,
                        miner,
                        modelId: model,
                        batchRoot: U256::from_be_bytes(keccak256(e.to_be_bytes::<32>()).0),
                        batchSize: U256::from(64),
                        tokens: units,
                        fees,
                        burnedFees: burned,
                    }),
                    "UsageSubmitted",
                ),
                (
                    c.emissions,
                    log(Emissions::WorkRecorded { epoch: e, miner, modelId: model, units, burnedFees: burned }),
                    "WorkRecorded",
                ),
                (
                    c.emissions,
                    log(Emissions::EpochFinalized {
                        epoch: e,
                        emission: U256::from(95_000_000_000_000_000_000u128),
                        totalWork: units,
                        minerPool: U256::from(76_000_000_000_000_000_000u128),
                        modelPool: U256::from(19_000_000_000_000_000_000u128),
                        forgone: U256::ZERO,
                        minerRewardPerBurnBps: U256::from(9000),
                        modelRewardPerBurnBps: U256::from(1000),
                    }),
                    "EpochFinalized",
                ),
                (
                    c.emissions,
                    log(Emissions::MinerRewardClaimed {
                        epoch: e,
                        miner,
                        amount: burned * U256::from(9) / U256::from(10),
                        forgone: U256::ZERO,
                    }),
                    "MinerRewardClaimed",
                ),
            ];
            for (index, (address, data, name)) in logs.into_iter().enumerate() {
                let rpc_log = Log {
                    inner: PrimitiveLog { address, data: data.data },
                    block_hash: Some(hash),
                    block_number: Some(block),
                    block_timestamp: Some(timestamp),
                    transaction_hash: Some(keccak256([hash.as_slice(), &[index as u8]].concat())),
                    transaction_index: Some(index as u64),
                    log_index: Some(index as u64),
                    removed: false,
                };
                let decoded: DecodedEvent = catalog.decode(&rpc_log)?.ok_or(HistoryError::Undecoded(name))?;
                totals.apply(&decoded)?;
                batch.events.push(decoded);
            }
            batch.blocks.push(BlockRow { number: block, hash, parent_hash: parent, timestamp });
            parent = hash;
            cursor = Some(Cursor { number: block, hash, timestamp });
            written += 1;
        }
        if let Some(cursor) = cursor {
            batch.totals = totals.take_changes();
            store.commit(&batch, cursor).await?;
        }
        progress.set_position(end);
    }
    progress.finish_and_clear();
    Ok(written)
}

fn log<E: SolEvent>(event: E) -> PrimitiveLog<alloy::primitives::LogData> {
    PrimitiveLog { address: Address::ZERO, data: event.encode_log_data() }
}
