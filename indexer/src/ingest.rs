//! Following the chain: backfill over adaptive ranges, then block by block with reorg detection.
//!
//! Invariants: blocks are committed strictly in order, each step in one transaction with the cursor; a block
//! within `reorg_depth` of the head is ingested only after its parent hash matched the stored hash of the
//! previous block, otherwise the stored rows above the last common ancestor are rolled back first.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::future::join_all;
use indicatif::{ProgressBar, ProgressStyle};
use neuro_chain::retry::backoff;
use neuro_protocol::Manifest;
use tokio_util::sync::CancellationToken;

use crate::{
    catalog::{Catalog, CatalogError, DecodedEvent},
    metrics::Metrics,
    reduce::{ReduceError, Totals},
    rpc::{Chain, RpcFailure},
    store::{Batch, BlockRow, Cursor, Store, StoreError},
};

/// Ingestion settings.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Blocks below `head - reorg_depth` are backfilled without per-block checks; reorgs deeper than this are
    /// reported, not repaired.
    pub reorg_depth: u64,
    /// Largest `eth_getLogs` range, in blocks.
    pub max_block_range: u64,
    /// `eth_getLogs` requests in flight during backfill.
    pub concurrency: usize,
    /// Pause between polls once caught up.
    pub poll_interval: Duration,
    /// Show a progress bar during backfill.
    pub progress: bool,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            reorg_depth: 64,
            max_block_range: 10_000,
            concurrency: 4,
            poll_interval: Duration::from_secs(1),
            progress: false,
        }
    }
}

/// Why a step of ingestion failed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The chain could not be read (transient: retried).
    #[error(transparent)]
    Rpc(#[from] RpcFailure),
    /// The database failed (transient: retried).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A log did not decode.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// An event contradicts the stored totals.
    #[error(transparent)]
    Reduce(#[from] ReduceError),
    /// The chain reorganised below the blocks kept for comparison.
    #[error("reorganisation deeper than {depth} blocks below block {at}: re-index from a fresh database")]
    DeepReorg {
        /// Configured depth.
        depth: u64,
        /// Block where the mismatch was seen.
        at: u64,
    },
    /// A log from `eth_getLogs` belongs to another block than asked for (a misbehaving node).
    #[error("the node returned a log of block {got} when asked for block {asked}")]
    Inconsistent {
        /// Block asked for.
        asked: u64,
        /// Block of the log.
        got: u64,
    },
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Stored blocks up to this one.
    Advanced(u64),
    /// Rolled back to this block after a reorganisation.
    RolledBack(u64),
    /// Nothing new on chain.
    CaughtUp,
}

/// The ingester of one deployment into one store.
#[derive(Debug)]
pub struct Indexer {
    chain: Chain,
    store: Store,
    catalog: Catalog,
    manifest: Manifest,
    config: IngestConfig,
    metrics: Arc<Metrics>,
    cursor: Option<Cursor>,
    totals: Option<Totals>,
    range: u64,
    progress: Option<ProgressBar>,
    /// Blocks backfilled since the planner statistics were last refreshed.
    backfilled: u64,
}

impl Indexer {
    /// An ingester; state is loaded from `store` on the first step.
    pub fn new(
        chain: Chain,
        store: Store,
        catalog: Catalog,
        manifest: Manifest,
        config: IngestConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        let range = config.max_block_range.clamp(1, 2_000);
        Self {
            chain,
            store,
            catalog,
            manifest,
            config,
            metrics,
            cursor: None,
            totals: None,
            range,
            progress: None,
            backfilled: 0,
        }
    }

    /// Runs until `shutdown` is cancelled: transient failures are retried with backoff and reported through
    /// `/ready`. Shutdown is honoured between steps (each step commits atomically), so a stop never leaves a
    /// half-written block range.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut failures = 0u32;
        while !shutdown.is_cancelled() {
            let pause = match self.step().await {
                Ok(Step::CaughtUp) => {
                    failures = 0;
                    self.metrics.set_not_ready(None);
                    self.config.poll_interval
                }
                Ok(_) => {
                    failures = 0;
                    Duration::ZERO
                }
                Err(e) => {
                    match &e {
                        IngestError::Rpc(_) => self.metrics.rpc_errors.inc(),
                        IngestError::Store(_) => self.metrics.db_errors.inc(),
                        _ => 0,
                    };
                    tracing::warn!(error = %e, "ingestion step failed; retrying");
                    self.metrics.set_not_ready(Some(e.to_string()));
                    // Memory may be ahead of the database: reload both on the next step.
                    (self.cursor, self.totals) = (None, None);
                    failures = failures.saturating_add(1);
                    backoff(Duration::from_millis(500), failures - 1)
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = shutdown.cancelled() => {}
            }
        }
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
        tracing::info!(indexed = self.cursor.map_or(0, |c| c.number), "ingestion stopped");
    }

    /// Ingests until the indexed head reaches the chain head seen at the time of the call.
    pub async fn sync(&mut self) -> Result<u64, IngestError> {
        let target = self.chain.head().await?;
        loop {
            match self.step().await? {
                Step::CaughtUp => return Ok(self.cursor.map_or(0, |c| c.number)),
                Step::Advanced(n) if n >= target => {
                    self.refresh_statistics().await?;
                    return Ok(n);
                }
                _ => {}
            }
        }
    }

    /// One step: a round of backfill, one block near the head, or a rollback.
    pub async fn step(&mut self) -> Result<Step, IngestError> {
        let cursor = self.load().await?;
        let head = self.chain.head().await?;
        self.metrics.chain_head.set(head);
        if let Some(finalized) = self.chain.finalized().await {
            self.metrics.chain_finalized.set(finalized);
        }
        if cursor.number >= head {
            if let Some(bar) = self.progress.take() {
                bar.finish_and_clear();
            }
            self.refresh_statistics().await?;
            return Ok(Step::CaughtUp);
        }
        let safe = head.saturating_sub(self.config.reorg_depth);
        let step = if cursor.number < safe {
            let step = self.backfill(cursor, safe).await?;
            if let Step::Advanced(to) = step {
                self.backfilled += to - cursor.number;
            }
            step
        } else {
            self.refresh_statistics().await?;
            self.follow(cursor).await?
        };
        let lag = head.saturating_sub(self.cursor.map_or(0, |c| c.number));
        if lag > self.config.reorg_depth {
            self.metrics.set_not_ready(Some(format!("backfilling: {lag} blocks behind the chain head")));
        } else {
            self.metrics.set_not_ready(None);
        }
        Ok(step)
    }

    /// After a large backfill, refreshes the planner's statistics once.
    async fn refresh_statistics(&mut self) -> Result<(), IngestError> {
        if self.backfilled > 1_000 {
            self.store.analyze().await?;
            self.backfilled = 0;
        }
        Ok(())
    }

    async fn load(&mut self) -> Result<Cursor, IngestError> {
        if self.totals.is_none() {
            self.totals = Some(Totals::new(&self.manifest, self.store.latest_totals().await?));
        }
        if let Some(cursor) = self.cursor {
            return Ok(cursor);
        }
        let cursor = match self.store.cursor().await? {
            Some(cursor) => cursor,
            None => {
                // Nothing stored: start at the deployment's start block, which holds none of our events.
                let header = self.chain.header(self.manifest.start_block).await?;
                let cursor = Cursor { number: header.number, hash: header.hash, timestamp: header.timestamp };
                let batch = Batch { blocks: vec![header], ..Batch::default() };
                self.store.commit(&batch, cursor).await?;
                cursor
            }
        };
        self.cursor = Some(cursor);
        self.metrics.indexed_head.set(cursor.number);
        Ok(cursor)
    }

    /// Fetches up to `concurrency` ranges at once and commits them in order.
    async fn backfill(&mut self, cursor: Cursor, safe: u64) -> Result<Step, IngestError> {
        if self.config.progress && self.progress.is_none() {
            let bar = ProgressBar::new(safe.saturating_sub(cursor.number));
            bar.set_style(
                ProgressStyle::with_template("backfill {bar:40} {pos}/{len} blocks, {msg} ({eta} left)")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            self.progress = Some(bar);
        }
        let started = Instant::now();
        let mut ranges = Vec::new();
        let mut from = cursor.number + 1;
        while ranges.len() < self.config.concurrency.max(1) && from <= safe {
            let to = (from + self.range - 1).min(safe);
            ranges.push((from, to));
            from = to + 1;
        }
        let fetched = join_all(ranges.iter().map(|&(from, to)| {
            let chain = self.chain.clone();
            async move {
                let logs = chain.logs_of_range(from, to).await?;
                let header = chain.header(to).await?;
                Ok::<_, RpcFailure>((logs, header))
            }
        }))
        .await;
        let mut split = false;
        let mut last = cursor.number;
        let mut events = 0usize;
        for ((from, to), result) in ranges.into_iter().zip(fetched) {
            let (logs, header) = result?;
            split |= logs.split;
            let mut decoded = Vec::with_capacity(logs.logs.len());
            for log in &logs.logs {
                let number = log.block_number.unwrap_or_default();
                if !(from..=to).contains(&number) {
                    return Err(IngestError::Inconsistent { asked: to, got: number });
                }
                if let Some(event) = self.catalog.decode(log)? {
                    decoded.push(event);
                }
            }
            events += decoded.len();
            self.commit(decoded, header).await?;
            last = to;
        }
        // Grow after clean rounds, shrink after a refusal: converge on the node's limit.
        self.range = if split { (self.range / 2).max(1) } else { (self.range * 2).min(self.config.max_block_range) };
        self.record_rate(events, started);
        if let Some(bar) = &self.progress {
            bar.set_position(last.saturating_sub(cursor.number) + bar.position());
            bar.set_message(format!("{} events/s", self.metrics.events_per_second.get()));
        }
        Ok(Step::Advanced(last))
    }

    /// Ingests the block after `cursor`, or rolls back if it does not extend the stored chain.
    async fn follow(&mut self, cursor: Cursor) -> Result<Step, IngestError> {
        let started = Instant::now();
        let header = self.chain.header(cursor.number + 1).await?;
        if header.parent_hash != cursor.hash {
            return self.roll_back(cursor).await;
        }
        let logs = self.chain.logs_of_block(header.hash).await?;
        let mut decoded = Vec::with_capacity(logs.len());
        for log in &logs {
            if log.block_hash != Some(header.hash) {
                return Err(IngestError::Inconsistent {
                    asked: header.number,
                    got: log.block_number.unwrap_or_default(),
                });
            }
            if let Some(event) = self.catalog.decode(log)? {
                decoded.push(event);
            }
        }
        let events = decoded.len();
        self.commit(decoded, header).await?;
        self.record_rate(events, started);
        Ok(Step::Advanced(header.number))
    }

    /// Finds the last block the stored chain shares with the node's and deletes everything above it.
    async fn roll_back(&mut self, cursor: Cursor) -> Result<Step, IngestError> {
        let mut number = cursor.number;
        loop {
            if cursor.number - number > self.config.reorg_depth {
                return Err(IngestError::DeepReorg { depth: self.config.reorg_depth, at: cursor.number + 1 });
            }
            let Some(stored) = self.store.block_hash(number).await? else {
                return Err(IngestError::DeepReorg { depth: self.config.reorg_depth, at: cursor.number + 1 });
            };
            let on_chain = self.chain.header(number).await?;
            if on_chain.hash == stored {
                let ancestor = Cursor { number, hash: on_chain.hash, timestamp: on_chain.timestamp };
                self.store.rollback_to(ancestor).await?;
                tracing::warn!(from = cursor.number, to = number, "chain reorganised: rolled back");
                self.metrics.reorgs.inc();
                self.metrics.reorged_blocks.inc_by(cursor.number - number);
                self.metrics.indexed_head.set(number);
                self.cursor = Some(ancestor);
                self.totals = Some(Totals::new(&self.manifest, self.store.latest_totals().await?));
                return Ok(Step::RolledBack(number));
            }
            number -= 1;
        }
    }

    /// Applies and stores the events of blocks up to `header`, with `header` as the new cursor.
    async fn commit(&mut self, events: Vec<DecodedEvent>, header: BlockRow) -> Result<(), IngestError> {
        let totals = match self.totals.as_mut() {
            Some(totals) => totals,
            None => self.totals.insert(Totals::new(&self.manifest, self.store.latest_totals().await?)),
        };
        for event in &events {
            totals.apply(event)?;
        }
        let count = events.len() as u64;
        let batch = Batch {
            totals: totals.take_changes(),
            events,
            blocks: vec![header],
            prune_below: header.number.checked_sub(self.config.reorg_depth + 1),
        };
        let cursor = Cursor { number: header.number, hash: header.hash, timestamp: header.timestamp };
        self.store.commit(&batch, cursor).await?;
        self.cursor = Some(cursor);
        self.metrics.indexed_head.set(header.number);
        self.metrics.events_ingested.inc_by(count);
        Ok(())
    }

    fn record_rate(&self, events: usize, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        if events > 0 && seconds > 0.0 {
            self.metrics.events_per_second.set((events as f64 / seconds) as u64);
        }
    }
}
