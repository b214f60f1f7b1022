//! What a validator's probes found, per epoch and node, until it is published with `Disputes.reportProbes`.
//!
//! The tallies live in the daemon's state file, so a restart loses no probe; the chain accepts one report per
//! validator and epoch, in order, so a report sent before a crash and sent again after it is refused, not
//! counted twice (see [`crate::daemon`]).

use std::collections::BTreeMap;

use alloy::primitives::Address;
use neuro_protocol::bindings::Disputes::ProbeReport;
use serde::{Deserialize, Serialize};

use crate::probe::ProbeError;

/// How one probe ended, as far as reputation goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProbeOutcome {
    /// Re-executed within tolerance.
    Passed {
        /// Milliseconds to the first token, when streamed.
        ttft_ms: Option<u32>,
        /// Completion tokens per second.
        tokens_per_second: f64,
    },
    /// Failed re-execution (and was disputed).
    Failed,
    /// Answered without a receipt that holds, or with a receipt for another model.
    Invalid,
    /// Answered, validly signed, but not judged (streamed, or beyond what the validator replays): counts as
    /// answered for timeliness, not for honesty; its token count is the node's unchecked claim, so it gives no
    /// throughput figure.
    Answered {
        /// Milliseconds to the first token, when streamed.
        ttft_ms: Option<u32>,
    },
    /// No answer in time, or the node was unreachable, failed or refused (any status but 401 and 402).
    TimedOut,
    /// Refused for a reason that may be the validator's own key (401, 402): not reported.
    Excluded,
}

impl ProbeOutcome {
    /// The outcome of a probe that produced no evidence.
    pub fn of_error(error: &ProbeError) -> Self {
        match error {
            ProbeError::Unreachable(_) | ProbeError::TimedOut(_) => Self::TimedOut,
            // Only a refusal of the key itself may be the validator's fault (an exhausted or expired allowance);
            // any other refusal of a valid paid request is the node not serving, whatever code it picks.
            ProbeError::Refused { status: 401 | 402, .. } => Self::Excluded,
            ProbeError::Refused { .. } => Self::TimedOut,
            ProbeError::Malformed(_) | ProbeError::Receipt(_) | ProbeError::WrongModel { .. } => Self::Invalid,
        }
    }
}

/// One node's probes in one epoch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Probes counted.
    pub sent: u32,
    /// Passed re-execution.
    pub passed: u32,
    /// Failed re-execution.
    pub failed: u32,
    /// Without a valid receipt.
    pub invalid: u32,
    /// Not answered in time.
    pub timed_out: u32,
    /// Times to first token of streamed answers, milliseconds.
    pub ttft_ms: Vec<u32>,
    /// Completion tokens per second of answers, in thousandths.
    pub milli_tokens_per_second: Vec<u32>,
}

impl Tally {
    /// Counts one probe.
    pub fn record(&mut self, outcome: ProbeOutcome) {
        match outcome {
            ProbeOutcome::Excluded => return,
            ProbeOutcome::Passed { ttft_ms, tokens_per_second } => {
                self.ttft_ms.extend(ttft_ms);
                let milli = (tokens_per_second * 1000.0).clamp(0.0, f64::from(u32::MAX)) as u32;
                self.milli_tokens_per_second.push(milli);
                self.passed += 1;
            }
            ProbeOutcome::Answered { ttft_ms } => self.ttft_ms.extend(ttft_ms),
            ProbeOutcome::Failed => self.failed += 1,
            ProbeOutcome::Invalid => self.invalid += 1,
            ProbeOutcome::TimedOut => self.timed_out += 1,
        }
        self.sent += 1;
    }

    /// The on-chain report of this tally for `miner`.
    pub fn report(&self, miner: Address) -> ProbeReport {
        ProbeReport {
            miner,
            sent: self.sent,
            passed: self.passed,
            failed: self.failed,
            invalid: self.invalid,
            timedOut: self.timed_out,
            medianTtftMs: median(&self.ttft_ms),
            medianMilliTokensPerSecond: median(&self.milli_tokens_per_second),
        }
    }
}

/// The median (the lower one of an even count), 0 for none.
fn median(values: &[u32]) -> u32 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

/// Tallies of every epoch not yet reported, by epoch and node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tallies(BTreeMap<u64, BTreeMap<Address, Tally>>);

/// Most nodes one report may cover (`Disputes.MAX_REPORTS_PER_CALL`).
pub const MAX_REPORTS_PER_CALL: usize = 200;

impl Tallies {
    /// Counts one probe of `node` sent during `epoch`.
    pub fn record(&mut self, epoch: u64, node: Address, outcome: ProbeOutcome) {
        if outcome == ProbeOutcome::Excluded {
            return;
        }
        self.0.entry(epoch).or_default().entry(node).or_default().record(outcome);
    }

    /// The oldest epoch before `current` with probes to report, and its reports in ascending node order (the
    /// order the contract requires), at most [`MAX_REPORTS_PER_CALL`]: a validator that probed more nodes in
    /// one epoch reports those with the most probes.
    pub fn due(&self, current: u64) -> Option<(u64, Vec<ProbeReport>)> {
        let (epoch, nodes) = self.0.range(..current).next()?;
        let mut chosen: Vec<(&Address, &Tally)> = nodes.iter().collect();
        if chosen.len() > MAX_REPORTS_PER_CALL {
            chosen.sort_by(|a, b| b.1.sent.cmp(&a.1.sent).then(a.0.cmp(b.0)));
            chosen.truncate(MAX_REPORTS_PER_CALL);
            chosen.sort_by_key(|(address, _)| **address);
        }
        Some((*epoch, chosen.into_iter().map(|(address, tally)| tally.report(*address)).collect()))
    }

    /// Forgets `epoch` (reported, or refused for good).
    pub fn settle(&mut self, epoch: u64) {
        self.0.remove(&epoch);
    }

    /// Epochs held.
    pub fn epochs(&self) -> Vec<u64> {
        self.0.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: u8) -> Address {
        Address::repeat_byte(n)
    }

    #[test]
    fn a_tally_counts_each_outcome_once_and_excludes_the_validators_own_refusals() {
        let mut t = Tally::default();
        t.record(ProbeOutcome::Passed { ttft_ms: None, tokens_per_second: 30.0 });
        t.record(ProbeOutcome::Answered { ttft_ms: Some(80) });
        t.record(ProbeOutcome::Passed { ttft_ms: Some(120), tokens_per_second: 20.5 });
        t.record(ProbeOutcome::Failed);
        t.record(ProbeOutcome::Invalid);
        t.record(ProbeOutcome::TimedOut);
        t.record(ProbeOutcome::Excluded);
        let r = t.report(node(1));
        assert_eq!((r.sent, r.passed, r.failed, r.invalid, r.timedOut), (6, 2, 1, 1, 1));
        assert_eq!(r.medianTtftMs, 80, "lower median of streamed probes only");
        assert_eq!(r.medianMilliTokensPerSecond, 20_500, "lower median of judged probes only");
        assert!(r.passed + r.failed + r.invalid + r.timedOut <= r.sent, "the contract's check holds");
    }

    #[test]
    fn errors_map_to_the_outcome_the_node_is_responsible_for() {
        let refused = |status| ProbeError::Refused { status, message: String::new() };
        assert_eq!(ProbeOutcome::of_error(&refused(503)), ProbeOutcome::TimedOut);
        assert_eq!(ProbeOutcome::of_error(&refused(429)), ProbeOutcome::TimedOut);
        // A node may not dodge timeliness by answering 400 or 403 instead of 503.
        assert_eq!(ProbeOutcome::of_error(&refused(400)), ProbeOutcome::TimedOut);
        assert_eq!(ProbeOutcome::of_error(&refused(403)), ProbeOutcome::TimedOut);
        assert_eq!(ProbeOutcome::of_error(&refused(402)), ProbeOutcome::Excluded);
        assert_eq!(ProbeOutcome::of_error(&refused(401)), ProbeOutcome::Excluded);
        assert_eq!(ProbeOutcome::of_error(&ProbeError::TimedOut(Default::default())), ProbeOutcome::TimedOut);
        assert_eq!(ProbeOutcome::of_error(&ProbeError::Malformed("x".into())), ProbeOutcome::Invalid);
    }

    #[test]
    fn only_finished_epochs_are_due_oldest_first_in_ascending_node_order() {
        let mut t = Tallies::default();
        t.record(7, node(9), ProbeOutcome::TimedOut);
        t.record(5, node(3), ProbeOutcome::Failed);
        t.record(5, node(1), ProbeOutcome::TimedOut);
        t.record(5, node(2), ProbeOutcome::Excluded);
        assert_eq!(t.due(5), None, "epoch 5 is not over");
        let (epoch, reports) = t.due(6).expect("epoch 5 is due");
        assert_eq!(epoch, 5);
        assert_eq!(reports.iter().map(|r| r.miner).collect::<Vec<_>>(), vec![node(1), node(3)]);
        t.settle(5);
        assert_eq!(t.due(7), None);
        assert_eq!(t.due(8).map(|(e, _)| e), Some(7));
    }

    #[test]
    fn a_crowded_epoch_reports_the_most_probed_nodes_within_the_contracts_limit() {
        let mut t = Tallies::default();
        for i in 0..(MAX_REPORTS_PER_CALL + 10) {
            let address = Address::left_padding_from(&(i as u64 + 1).to_be_bytes());
            // Ten nodes probed once, the others twice.
            for _ in 0..(if i % 21 == 0 { 1 } else { 2 }) {
                t.record(1, address, ProbeOutcome::TimedOut);
            }
        }
        let (_, reports) = t.due(2).expect("due");
        assert_eq!(reports.len(), MAX_REPORTS_PER_CALL);
        assert!(reports.windows(2).all(|w| w[0].miner < w[1].miner), "strictly ascending");
        assert!(reports.iter().all(|r| r.sent == 2), "the least-probed nodes are the ones left out");
    }
}
