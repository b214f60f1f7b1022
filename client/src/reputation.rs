//! Node reputation as the indexer serves it (`/v1/reputation`), for ranking the nodes a user may pick.
//!
//! The indexer derives it from validators' on-chain probe reports (stake-weighted medians across validators,
//! slashed nodes last); the client keeps the indexer's order and lists active nodes it has no reports on after
//! the rated ones, so a new node is visible but never ranked above a node with a record.

use std::{collections::HashSet, time::Duration};

use alloy::primitives::Address;
use serde::Deserialize;

/// Why the ranking could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReputationError {
    /// The indexer could not be reached or answered with an error status.
    #[error("indexer request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The indexer's URL is not a URL.
    #[error("invalid indexer URL {0:?}")]
    Url(String),
}

/// One node's reputation (the fields of the indexer's `Reputation` the CLI shows).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeReputation {
    /// Operator address.
    pub address: Address,
    /// honesty × timeliness × uptime.
    pub score: Option<f64>,
    /// Share of judged probes passed.
    pub honesty: Option<f64>,
    /// Share of probes answered in time.
    pub timeliness: Option<f64>,
    /// Share of epochs with an answer.
    pub uptime: Option<f64>,
    /// Median time to first token, ms.
    pub median_ttft_ms: Option<u64>,
    /// Median completion tokens per second.
    pub median_tokens_per_second: Option<f64>,
    /// Slashes since the window's first report.
    pub slashes: u64,
    /// Validators that reported.
    pub validators: u64,
}

#[derive(Deserialize)]
struct Envelope {
    data: Vec<NodeReputation>,
}

/// The indexer's ranking of every node with reports in the last `epochs` epochs.
pub async fn ranking(indexer: &str, epochs: u64) -> Result<Vec<NodeReputation>, ReputationError> {
    let base = indexer.trim_end_matches('/');
    let url =
        reqwest::Url::parse(&format!("{base}/v1/reputation")).map_err(|_| ReputationError::Url(indexer.to_owned()))?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let response = http
        .get(url)
        .query(&[("epochs", epochs.to_string()), ("limit", "500".to_owned())])
        .send()
        .await?
        .error_for_status()?;
    Ok(response.json::<Envelope>().await?.data)
}

/// A node in the CLI's listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// Operator.
    pub operator: Address,
    /// Its reputation, if any validator reported on it.
    pub reputation: Option<NodeReputation>,
}

/// `active` nodes in the indexer's order, unrated ones after (in their on-chain order). Reputations of nodes
/// that are not active (deregistered, or not serving the model) are left out.
pub fn rank(active: &[Address], ranking: Vec<NodeReputation>) -> Vec<Ranked> {
    let wanted: HashSet<&Address> = active.iter().collect();
    let mut listed = HashSet::new();
    let mut out: Vec<Ranked> = ranking
        .into_iter()
        .filter(|r| wanted.contains(&r.address) && listed.insert(r.address))
        .map(|r| Ranked { operator: r.address, reputation: Some(r) })
        .collect();
    out.extend(active.iter().filter(|a| !listed.contains(*a)).map(|a| Ranked { operator: *a, reputation: None }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(n: u8, score: f64) -> NodeReputation {
        NodeReputation {
            address: Address::repeat_byte(n),
            score: Some(score),
            honesty: Some(score),
            timeliness: Some(1.0),
            uptime: Some(1.0),
            median_ttft_ms: Some(90),
            median_tokens_per_second: Some(30.0),
            slashes: 0,
            validators: 2,
        }
    }

    #[test]
    fn active_nodes_follow_the_indexers_order_and_unrated_ones_come_last() {
        let active = [Address::repeat_byte(1), Address::repeat_byte(2), Address::repeat_byte(3)];
        // Node 9 is rated but not active for this model; node 1 has no record.
        let ranked = rank(&active, vec![rep(3, 0.9), rep(9, 1.0), rep(2, 0.5)]);
        let order: Vec<Address> = ranked.iter().map(|r| r.operator).collect();
        assert_eq!(order, [Address::repeat_byte(3), Address::repeat_byte(2), Address::repeat_byte(1)]);
        assert!(ranked[2].reputation.is_none());
    }

    #[test]
    fn the_indexers_json_decodes() {
        let json = r#"{"block":{"number":1,"hash":"","timestamp":0},"data":[{"address":"0x0101010101010101010101010101010101010101",
            "score":0.5,"honesty":1.0,"timeliness":0.5,"uptime":1.0,"medianTtftMs":400,"medianTokensPerSecond":20.0,
            "probes":{"sent":6,"passed":5,"failed":0,"invalid":0,"timedOut":1},"validators":2,"reportingStake":"3",
            "slashes":1,"bondedStake":"5","fromEpoch":0,"toEpoch":3}]}"#;
        let parsed: Envelope = serde_json::from_str(json).expect("decodes");
        assert_eq!(parsed.data[0].score, Some(0.5));
        assert_eq!(parsed.data[0].slashes, 1);
    }
}
