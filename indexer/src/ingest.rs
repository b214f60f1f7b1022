//! Following the chain: backfill over adaptive ranges up to the node's finalized block, then block by block with
//! reorg detection.
//!
//! Invariants: blocks are committed strictly in order, each step in one transaction with the cursor; a block
//! above the finalized one is ingested only after its parent hash matched the stored hash of the previous block,
//! otherwise the stored rows above the last common ancestor are rolled back first. The stored tip is checked
//! against the chain before every round of backfill and whenever the indexer has caught up, so a reorganisation
//! that happened while the indexer was stopped, failing or far behind is found too. A reorganisation of any
//! depth is repaired: the common ancestor is searched among the kept headers, then among the hashes of the
//! blocks that hold stored events (a block whose hash matches proves its whole history), and at worst the
//! deployment is re-indexed from its start block.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{eips::BlockId, primitives::U256};
use futures::{StreamExt, future::join_all, stream};
use indicatif::{ProgressBar, ProgressStyle};
use neuro_chain::retry::backoff;
use neuro_protocol::Manifest;
use tokio_util::sync::CancellationToken;

use crate::{
    catalog::{Catalog, CatalogError, DecodedEvent},
    metrics::Metrics,
    proposals,
    reduce::{ReduceError, Totals},
    rpc::{Chain, RangeLogs, RpcFailure},
    schema::NeuroGovernor::{self, ProposalCreated},
    store::{Batch, BlockRow, Cursor, EventFilter, Store, StoreError},
};

/// Kept headers compared one by one before the ancestor search turns to a binary search over older hashes.
const KEPT_HEADERS_WALKED: u64 = 256;

/// Ingestion settings.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// When the node reports no finalized block, blocks below `head - reorg_depth` are backfilled without
    /// per-block checks (a deeper reorganisation is still repaired, at the cost of an ancestor search).
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
    /// The chain no longer holds the deployment's start block as this database recorded it (or at all).
    #[error("the chain no longer holds the deployment's start block {0}: wrong node or a fork of the deployment")]
    StartBlockGone(u64),
    /// A backfill range did not come back as one chain (retried).
    #[error(
        "blocks {from}..={to} came back from more than one fork (a reorganisation during the fetch, or \
             backends on different forks): retrying"
    )]
    ForkedRange {
        /// First block.
        from: u64,
        /// Last block.
        to: u64,
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

impl IngestError {
    /// What `/ready` tells anyone who asks: the kind of failure, never its details (an RPC error can hold the
    /// node's URL with a provider key; a database error, the database's).
    pub fn public_reason(&self, attempt: u32) -> String {
        let what = match self {
            Self::Rpc(_) => "the chain's RPC node is failing",
            Self::Store(_) => "the database is failing",
            Self::Catalog(_) => "a log of the deployment did not decode",
            Self::Reduce(_) => "an event contradicts the stored totals",
            Self::StartBlockGone(_) => "the chain no longer holds the deployment's start block",
            Self::Inconsistent { .. } | Self::ForkedRange { .. } => "the RPC node returned inconsistent logs",
        };
        format!("{what} (attempt {attempt}; details in the indexer's log)")
    }
}

/// A backfill range, checked to be one chain.
struct FetchedRange {
    logs: RangeLogs,
    /// Header of the range's first block (its parent links it to what came before).
    first: BlockRow,
    /// Header of the range's last block (the new cursor).
    last: BlockRow,
}

/// Fetches the logs of blocks `from..=to` by number and checks that they are the chain's: the last block's
/// header is read before and after the logs and must not change, and every log's block hash must be the hash of
/// the header at its number. A reorganisation during the fetch, or a load-balanced provider whose backends sit
/// on different forks, is a retried error, never rows of an orphaned block under a canonical cursor.
async fn fetch_range(chain: Chain, from: u64, to: u64) -> Result<FetchedRange, IngestError> {
    let last = chain.header(to).await?;
    let first = if from == to { last } else { chain.header(from).await? };
    let logs = chain.logs_of_range(from, to).await?;
    let mut blocks: Vec<u64> = logs.logs.iter().filter_map(|log| log.block_number).collect();
    blocks.dedup();
    let headers: Vec<Result<BlockRow, RpcFailure>> =
        stream::iter(blocks.into_iter().map(|number| chain.header(number))).buffered(8).collect().await;
    let mut hashes = BTreeMap::new();
    for header in headers {
        let header = header?;
        hashes.insert(header.number, header.hash);
    }
    for log in &logs.logs {
        let number = log.block_number.unwrap_or_default();
        if log.block_hash.is_none() || log.block_hash != hashes.get(&number).copied() {
            return Err(IngestError::ForkedRange { from, to });
        }
    }
    if chain.header(to).await?.hash != last.hash {
        return Err(IngestError::ForkedRange { from, to });
    }
    Ok(FetchedRange { logs, first, last })
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
    /// Blocks plus events backfilled since the planner statistics were last refreshed.
    backfilled: u64,
    /// The node's finalized block, as last seen: headers below it are final and need not be kept.
    finalized: Option<u64>,
    /// The newest block fetched in ranges at the last step (the finalized block, or the reorg window's edge).
    backfill_until: u64,
    /// Proposals whose quorum at the snapshot is not stored yet, by decimal id, with their snapshot (`None`: to
    /// be loaded from the store).
    quorum_pending: Option<BTreeMap<String, U256>>,
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
            finalized: None,
            backfill_until: 0,
            quorum_pending: None,
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
                    // The details (which may hold the RPC URL and its key) stay in the log.
                    self.metrics.set_not_ready(Some(e.public_reason(failures + 1)));
                    // Memory may be ahead of the database: reload it on the next step.
                    (self.cursor, self.totals, self.quorum_pending) = (None, None, None);
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
        self.finalized = self.chain.finalized().await.map(|finalized| finalized.min(head));
        if let Some(finalized) = self.finalized {
            self.metrics.chain_finalized.set(finalized);
        }
        if cursor.number > head {
            // The node is behind the indexed head: a lagging backend, a node rewinding after a crash, or a
            // chain that got shorter. They look the same from here, and only the last is a reorganisation, so
            // wait: once the node is past the indexed head again, a fork shows as a parent-hash mismatch.
            tracing::warn!(indexed = cursor.number, node_head = head, "the RPC node is behind the indexed head");
            return Ok(Step::CaughtUp);
        }
        if cursor.number == head {
            // Caught up: the tip must still be on the chain.
            if !self.is_canonical(cursor).await? {
                return self.roll_back(cursor, head).await;
            }
            if let Some(bar) = self.progress.take() {
                bar.finish_and_clear();
            }
            self.refresh_statistics().await?;
            return Ok(Step::CaughtUp);
        }
        // Blocks up to the finalized one, or up to `reorg_depth` below the head when finality lags further
        // (rollups, stalls), are fetched in ranges (each checked to be one chain); the rest block by block, each
        // checked against its parent.
        let window = head.saturating_sub(self.config.reorg_depth);
        let safe = self.finalized.map_or(window, |finalized| finalized.max(window));
        self.backfill_until = safe;
        let step = if cursor.number < safe {
            self.backfill(cursor, safe).await?
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
                // Recorded first: a crash between the two leaves a recorded hash and no cursor, which the next
                // start repeats harmlessly; the other order could leave a database without it.
                self.store.record_start_hash(header.hash).await?;
                self.store.commit(&batch, cursor).await?;
                cursor
            }
        };
        self.cursor = Some(cursor);
        self.metrics.indexed_head.set(cursor.number);
        Ok(cursor)
    }

    /// Whether the chain still holds `cursor`'s block. A block the node does not have (at or below its head)
    /// is an error to retry, not evidence of a reorganisation: a lagging backend must not roll the tables back.
    async fn is_canonical(&self, cursor: Cursor) -> Result<bool, IngestError> {
        Ok(self.chain.header(cursor.number).await?.hash == cursor.hash)
    }

    /// Fetches up to `concurrency` ranges at once and commits them in order.
    async fn backfill(&mut self, cursor: Cursor, safe: u64) -> Result<Step, IngestError> {
        // The rows stored so far must still be on the chain before more are built on them: after a restart, a
        // failure or a long gap the stored tip may belong to an orphaned fork.
        if !self.is_canonical(cursor).await? {
            return self.roll_back(cursor, safe).await;
        }
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
        let fetched = join_all(ranges.iter().map(|&(from, to)| fetch_range(self.chain.clone(), from, to))).await;
        let mut split = false;
        let mut last = cursor.number;
        let mut parent = cursor.hash;
        let mut events = 0usize;
        for ((from, to), result) in ranges.into_iter().zip(fetched) {
            let fetched = match result {
                Ok(fetched) => fetched,
                Err(e) => {
                    // A range that keeps failing (a provider limit it words as something else, a timeout) is
                    // retried smaller rather than as it was forever.
                    if matches!(e, IngestError::Rpc(RpcFailure::Exhausted { .. })) {
                        self.range = (self.range / 2).max(1);
                    }
                    return Err(e);
                }
            };
            // Consecutive ranges must be one chain: each starts on the block the previous one (or the stored
            // tip) ended with.
            if fetched.first.parent_hash != parent {
                return Err(IngestError::ForkedRange { from, to });
            }
            parent = fetched.last.hash;
            let (logs, header) = (fetched.logs, fetched.last);
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
        // Rows, not only blocks: 100,000 events in 150 blocks change the tables' shape as much as a long chain.
        self.backfilled += last.saturating_sub(cursor.number) + events as u64;
        Ok(Step::Advanced(last))
    }

    /// Ingests the block after `cursor`, or rolls back if it does not extend the stored chain.
    async fn follow(&mut self, cursor: Cursor) -> Result<Step, IngestError> {
        let started = Instant::now();
        let header = self.chain.header(cursor.number + 1).await?;
        if header.parent_hash != cursor.hash {
            // A reorganisation replaced the stored tip, or a flaky backend answered from another fork: only
            // the first is worth a rollback.
            if self.is_canonical(cursor).await? {
                return Err(IngestError::ForkedRange { from: cursor.number, to: cursor.number + 1 });
            }
            return self.roll_back(cursor, cursor.number + 1).await;
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
    async fn roll_back(&mut self, cursor: Cursor, head: u64) -> Result<Step, IngestError> {
        let ancestor = self.common_ancestor(cursor, head).await?;
        self.store.rollback_to(ancestor).await?;
        let depth = cursor.number - ancestor.number;
        tracing::warn!(from = cursor.number, to = ancestor.number, depth, "chain reorganised: rolled back");
        self.metrics.reorgs.inc();
        self.metrics.reorged_blocks.inc_by(depth);
        self.metrics.indexed_head.set(ancestor.number);
        self.cursor = Some(ancestor);
        self.totals = Some(Totals::new(&self.manifest, self.store.latest_totals().await?));
        self.quorum_pending = None;
        Ok(Step::RolledBack(ancestor.number))
    }

    /// The newest stored block the chain still holds, given that `cursor`'s block is not canonical and the node
    /// has blocks up to `head` at least.
    ///
    /// The kept headers are walked newest first (a reorganisation is nearly always shallow); past them the hashes
    /// of the blocks holding stored events are binary-searched (a block whose hash matches proves every block
    /// below it, and no stored row lies between two such blocks, so rolling back to the newest matching one loses
    /// nothing); below all of them the deployment's start block is the ancestor and everything is re-indexed.
    async fn common_ancestor(&self, cursor: Cursor, head: u64) -> Result<Cursor, IngestError> {
        let mut lowest_checked = cursor.number;
        for (number, hash) in self.store.kept_headers_below(cursor.number, KEPT_HEADERS_WALKED).await? {
            match self.chain.header(number).await {
                Ok(on_chain) if on_chain.hash == hash => {
                    return Ok(Cursor { number, hash, timestamp: on_chain.timestamp });
                }
                // Another block there, or none above the node's head: keep looking below.
                Ok(_) => lowest_checked = number,
                Err(RpcFailure::MissingBlock(missing)) if missing > head => lowest_checked = number,
                Err(e) => return Err(e.into()),
            }
        }
        let known = self.store.known_hashes_below(lowest_checked).await?;
        tracing::warn!(below = lowest_checked, candidates = known.len(), "deep reorganisation: searching");
        // Matches form a prefix of `known` (ascending): find its length. known[..low] match, known[high..] do not.
        let (mut low, mut high) = (0, known.len());
        while low < high {
            let mid = low + (high - low) / 2;
            let (number, hash) = known[mid];
            if self.is_canonical(Cursor { number, hash, timestamp: 0 }).await? {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        if let Some(&(number, hash)) = low.checked_sub(1).and_then(|last| known.get(last)) {
            let header = self.chain.header(number).await?;
            return Ok(Cursor { number, hash, timestamp: header.timestamp });
        }
        let start = self.manifest.start_block;
        let header = match self.chain.header(start).await {
            Ok(header) => header,
            Err(RpcFailure::MissingBlock(_)) => return Err(IngestError::StartBlockGone(start)),
            Err(e) => return Err(e.into()),
        };
        if let Some(stored) = self.store.start_hash().await?
            && stored != header.hash
        {
            return Err(IngestError::StartBlockGone(start));
        }
        Ok(Cursor { number: header.number, hash: header.hash, timestamp: header.timestamp })
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
        let mut changes = totals.take_changes();
        let quorums = self.read_quorums(&events, header).await?;
        changes.extend(quorums.iter().map(|(id, quorum)| (proposals::quorum_key(id), header.number, *quorum)));
        let count = events.len() as u64;
        let batch = Batch {
            totals: changes,
            events,
            blocks: vec![header],
            // Headers above the finalized block stay (a reorganisation there is found by a walk); without a
            // finalized block, the reorg window's.
            prune_below: header
                .number
                .checked_sub(self.config.reorg_depth + 1)
                .map(|below| self.finalized.map_or(below, |finalized| below.min(finalized))),
        };
        let cursor = Cursor { number: header.number, hash: header.hash, timestamp: header.timestamp };
        self.store.commit(&batch, cursor).await?;
        if let Some(pending) = self.quorum_pending.as_mut() {
            for (id, _) in &quorums {
                pending.remove(id);
            }
        }
        self.cursor = Some(cursor);
        self.metrics.indexed_head.set(header.number);
        self.metrics.events_ingested.inc_by(count);
        Ok(())
    }

    /// The quorums to store with the block `header`: those of proposals (already pending, or created in
    /// `events`) whose snapshot is before the block's timestamp, read from the Governor as of that block.
    async fn read_quorums(
        &mut self,
        events: &[DecodedEvent],
        header: BlockRow,
    ) -> Result<Vec<(String, U256)>, IngestError> {
        if self.quorum_pending.is_none() {
            self.quorum_pending = Some(self.load_quorum_pending().await?);
        }
        let pending = self.quorum_pending.get_or_insert_default();
        for event in events {
            if event.contract == NeuroGovernor::CONTRACT && event.name == ProposalCreated::NAME {
                let (Some(id), Some(start)) =
                    (event.arg(ProposalCreated::proposalId), event.arg(ProposalCreated::voteStart))
                else {
                    continue;
                };
                pending.insert(id.to_owned(), start.parse().unwrap_or(U256::MAX));
            }
        }
        let due: Vec<(String, U256)> = pending
            .iter()
            .filter(|(_, start)| **start < U256::from(header.timestamp))
            .map(|(id, start)| (id.clone(), *start))
            .collect();
        // A backfilled block's state may be pruned on a non-archive node, and the answer is the same at any
        // later block (the checkpoints before the snapshot are history): ask the latest state for those. A block
        // near the head is asked by hash (EIP-1898), so the answer is that fork's.
        let at = if header.number <= self.backfill_until { BlockId::latest() } else { BlockId::from(header.hash) };
        let mut quorums = Vec::with_capacity(due.len());
        for (id, start) in due {
            quorums.push((id, self.chain.governor_quorum(self.manifest.contracts.governor, start, at).await?));
        }
        Ok(quorums)
    }

    /// Proposals stored without a quorum (the snapshot was not passed yet, or the database predates quorums).
    async fn load_quorum_pending(&self) -> Result<BTreeMap<String, U256>, IngestError> {
        let Some(cursor) = self.cursor else { return Ok(BTreeMap::new()) };
        let filter = EventFilter {
            contract: Some(NeuroGovernor::CONTRACT.into()),
            names: vec![ProposalCreated::NAME.into()],
            ..Default::default()
        };
        let mut pending = BTreeMap::new();
        for created in self.store.events(&filter, cursor.number, None).await?.events {
            let id = created.arg(ProposalCreated::proposalId).to_owned();
            if self.store.total_at(&proposals::quorum_key(&id), cursor.number).await?.is_zero() {
                pending.insert(id, created.amount(ProposalCreated::voteStart));
            }
        }
        Ok(pending)
    }

    fn record_rate(&self, events: usize, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        if events > 0 && seconds > 0.0 {
            self.metrics.events_per_second.set((events as f64 / seconds) as u64);
        }
    }
}
