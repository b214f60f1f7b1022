//! Re-executing a request a node answered: parse the exact body the receipt commits to, run it teacher-forced
//! through the node's text, and judge the node's claims.

use std::{cmp::Ordering, collections::VecDeque, sync::Arc};

use alloy::primitives::B256;
use neuro_engine::{
    ChatMessage, Engine, EngineError, Sampling,
    forcing::{Alternative, ForcedRun, Steering},
    vocab::Vocabulary,
};
use neuro_protocol::receipt::{InferenceReceipt, SamplingClaim};

use crate::compare::{Claim, Failure, Tolerance, Verdict, judge};

/// Why a request cannot be judged by re-execution (a validator abstains rather than guess).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Unjudgeable {
    /// The receipt is for a model this validator does not hold.
    #[error("the receipt is for model {0}, not the validator's")]
    OtherModel(B256),
    /// The body is not a chat request this comparison can replay.
    #[error("the request cannot be replayed: {0}")]
    Request(String),
    /// Sampled (temperature > 0) answers have no single right answer to compare with.
    #[error("the request was not greedy (temperature {0})")]
    NotGreedy(f64),
    /// Streamed text is assembled from deltas that mistral.rs trims and rewrites differently from a whole answer
    /// (leading whitespace, `▁`), so the forced replay of a whole answer would misjudge it.
    #[error("streamed answers are not replayed")]
    Streamed,
    /// Evidence beyond what one judgement may cost (a hostile dispute could otherwise stall every validator).
    #[error("evidence too large to replay: {0}")]
    TooLarge(&'static str),
    /// The re-execution did not finish within its time budget.
    #[error("the re-execution took longer than {0:?}")]
    TooSlow(std::time::Duration),
}

/// Largest request body replayed.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Largest output replayed.
pub const MAX_OUTPUT_BYTES: usize = 16 * 1024;
/// Largest `max_tokens` replayed.
pub const MAX_REPLAY_TOKENS: usize = 1024;
/// Time budget of one judgement.
pub const JUDGE_BUDGET: std::time::Duration = std::time::Duration::from_secs(300);
/// Most forced runs one judgement takes looking for the tokenization the node's run took (see [`replay`]).
pub const MAX_PATHS: usize = 8;
/// Most near-tie forks one path takes: each lets a node bill at most one token more than the model's own path.
pub const MAX_FORKS: usize = 2;

/// What re-executing one answer concluded.
#[derive(Debug)]
pub enum Outcome {
    /// The comparison's verdict.
    Judged(Verdict),
    /// The validator cannot judge this answer.
    Abstain(Unjudgeable),
}

impl Outcome {
    /// The failure, when the answer failed.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Self::Judged(verdict) => verdict.failure.as_ref(),
            Self::Abstain(_) => None,
        }
    }
}

/// The chat messages and completion bound of a greedy request body.
pub fn parse_request(body: &[u8]) -> Result<(Vec<ChatMessage>, usize), Unjudgeable> {
    let bad = |why: &str| Unjudgeable::Request(why.to_string());
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
    let object = value.as_object().ok_or_else(|| bad("not a JSON object"))?;
    for key in object.keys() {
        if !matches!(
            key.as_str(),
            "model" | "messages" | "max_tokens" | "max_completion_tokens" | "temperature" | "stream" | "stream_options"
        ) {
            return Err(bad(&format!("field `{key}` is not replayed")));
        }
    }
    if body.len() > MAX_REQUEST_BYTES {
        return Err(Unjudgeable::TooLarge("request"));
    }
    if object.get("stream").and_then(serde_json::Value::as_bool) == Some(true) {
        return Err(Unjudgeable::Streamed);
    }
    let temperature = object.get("temperature").and_then(serde_json::Value::as_f64).unwrap_or(1.0);
    if temperature != 0.0 {
        return Err(Unjudgeable::NotGreedy(temperature));
    }
    // Either spelling of the limit, as the node reads it; both at once is not a shape any client sends.
    let max_tokens = match (object.get("max_tokens"), object.get("max_completion_tokens")) {
        (Some(limit), None) | (None, Some(limit)) => limit.as_u64().ok_or_else(|| bad("max_tokens is not a count"))?,
        (Some(_), Some(_)) => return Err(bad("both max_tokens and max_completion_tokens")),
        (None, None) => return Err(bad("no max_tokens")),
    };
    let messages = object
        .get("messages")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| bad("no messages"))?
        .iter()
        .map(|m| {
            // A message key the replay would drop (`name`, `refusal`, `tool_calls`, `tool_call_id`) changes the
            // node's prompt: replaying without it would fail an honest answer, so such a request is not judged.
            let keys = m.as_object().map(|o| o.keys().all(|k| k == "role" || k == "content"));
            match (keys, m["role"].as_str(), m["content"].as_str()) {
                (Some(true), Some(role), Some(content)) => Ok(ChatMessage::new(role, content)),
                (Some(false), _, _) => Err(bad("a message field other than role and content is not replayed")),
                _ => Err(bad("a message without a text role and content")),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let max_tokens = usize::try_from(max_tokens).map_err(|_| bad("max_tokens out of range"))?;
    if max_tokens > MAX_REPLAY_TOKENS {
        return Err(Unjudgeable::TooLarge("max_tokens"));
    }
    Ok((messages, max_tokens))
}

/// The model a validator holds, ready to re-execute answers.
#[derive(Debug, Clone)]
pub struct Reexecutor {
    engine: Arc<Engine>,
    vocab: Arc<Vocabulary>,
    model_id: B256,
    tolerance: Tolerance,
}

impl Reexecutor {
    /// A re-executor for the loaded `engine`, whose weights hash to `model_id`.
    pub fn new(engine: Arc<Engine>, vocab: Arc<Vocabulary>, model_id: B256, tolerance: Tolerance) -> Self {
        Self { engine, vocab, model_id, tolerance }
    }

    /// The model id this validator can judge.
    pub fn model_id(&self) -> B256 {
        self.model_id
    }

    /// Re-executes the request a receipt commits to and judges the node's text and billed counts.
    pub async fn judge(
        &self,
        receipt: &InferenceReceipt,
        request: &[u8],
        output: &str,
    ) -> Result<Outcome, EngineError> {
        if receipt.modelId != self.model_id {
            return Ok(Outcome::Abstain(Unjudgeable::OtherModel(receipt.modelId)));
        }
        let (messages, max_tokens) = match parse_request(request) {
            Ok(parsed) => parsed,
            Err(why) => return Ok(Outcome::Abstain(why)),
        };
        if output.len() > MAX_OUTPUT_BYTES {
            return Ok(Outcome::Abstain(Unjudgeable::TooLarge("output")));
        }
        let claimed = SamplingClaim { max_tokens: max_tokens as u64, temperature: Some(0.0), ..Default::default() };
        if receipt.samplingHash != claimed.hash() {
            // The node signed other sampling parameters than the request it answered: a false claim on its own.
            return Ok(Outcome::Judged(Verdict {
                steps: 0,
                near_ties: 0,
                worst_margin: 0.0,
                paths: 0,
                failure: Some(Failure::SamplingClaim),
            }));
        }
        let sampling = Sampling { max_tokens, temperature: Some(0.0), ..Default::default() };
        let claim = Claim {
            text: output.to_string(),
            prompt_tokens: receipt.promptTokens,
            completion_tokens: receipt.completionTokens,
        };
        let replayed = replay(&self.engine, &self.vocab, &messages, &sampling, &claim, self.tolerance, JUDGE_BUDGET);
        Ok(match replayed.await? {
            Some(verdict) => Outcome::Judged(verdict),
            None => Outcome::Abstain(Unjudgeable::TooSlow(JUDGE_BUDGET)),
        })
    }
}

/// Re-executes `messages` teacher-forced through the node's text and judges its claim.
///
/// The first run takes, at every step, the model's most likely token that continues the text. Where the text
/// could also be tokenized otherwise through near-ties (" the" against " th" + "e", within `tolerance`), an
/// honest node on other hardware may have taken the other path and billed its count, so when the first run
/// fails on the count, the length or a divergence after such a step, the paths through those near-ties are
/// tried too, breadth first, at most [`MAX_PATHS`] runs in all. The answer passes if one path passes.
///
/// Who could abuse it: a node padding its count by one token where a near-tie split exists gains a token's
/// fee on the rare answers that have one, and only there; every other padding or truncation still fails. A
/// hostile dispute can make each validator run at most `MAX_PATHS` forced runs, within `JUDGE_BUDGET`.
pub async fn replay(
    engine: &Engine,
    vocab: &Arc<Vocabulary>,
    messages: &[ChatMessage],
    sampling: &Sampling,
    claim: &Claim,
    tolerance: Tolerance,
    budget: std::time::Duration,
) -> Result<Option<Verdict>, EngineError> {
    let deadline = tokio::time::Instant::now() + budget;
    let mut steering = Steering { alternatives: tolerance.top_k, ..Default::default() };
    let forced = engine.chat_forced(messages, sampling, vocab.clone(), &claim.text, &steering);
    let Ok(run) = tokio::time::timeout_at(deadline, forced).await else { return Ok(None) };
    let run = run?;
    let first = judge(&run, claim, tolerance);
    let mut paths = 1;
    let mut frontier = VecDeque::from([(steering.forks.clone(), run, first.clone())]);
    while let Some((forks, run, verdict)) = frontier.pop_front() {
        if forks.len() == MAX_FORKS {
            continue;
        }
        for fork in forks_worth_trying(&run, &verdict, &forks, vocab, tolerance) {
            if paths == MAX_PATHS {
                return Ok(Some(Verdict { paths, ..first }));
            }
            steering.forks = forks.clone();
            steering.forks.insert(fork.step, fork.token);
            let forced = engine.chat_forced(messages, sampling, vocab.clone(), &claim.text, &steering);
            // Out of time looking for another path: the first run's verdict stands (a search must never turn a
            // failing answer into an abstention).
            let Ok(run) = tokio::time::timeout_at(deadline, forced).await else {
                return Ok(Some(Verdict { paths, ..first }));
            };
            let run = run?;
            paths += 1;
            let verdict = judge(&run, claim, tolerance);
            if verdict.passed() {
                return Ok(Some(Verdict { paths, ..verdict }));
            }
            frontier.push_back((steering.forks.clone(), run, verdict));
        }
    }
    Ok(Some(Verdict { paths, ..first }))
}

/// The near-tie alternatives of `run` that could explain its failure, closest first: after the path's last
/// fork, before the divergence, and splitting the text otherwise (a piece of another length), the way the
/// claim's count needs.
///
/// A token of the same length that continues the text too is a byte the lossy decoding cannot tell apart (two
/// invalid bytes both read U+FFFD); it is not tried. On the tiny model's byte soup trying them let 8 more of
/// 100 answers of an 8-bit quantization through, and a real model's text rarely holds invalid bytes.
fn forks_worth_trying(
    run: &ForcedRun,
    verdict: &Verdict,
    forks: &std::collections::BTreeMap<usize, u32>,
    vocab: &Vocabulary,
    tolerance: Tolerance,
) -> Vec<Alternative> {
    let after = forks.keys().next_back().map_or(0, |last| last + 1);
    // The length a fork's token must have against the steered one: shorter pieces take more tokens.
    let (until, wanted) = match &verdict.failure {
        Some(Failure::CompletionTokens { claimed, actual }) => (run.steps.len(), Some(actual.cmp(claimed))),
        // The run ran out of tokens before the text did: the node's path took fewer.
        Some(Failure::TooLong) => (run.steps.len(), Some(Ordering::Greater)),
        Some(Failure::Diverged { index, .. }) => (*index, None),
        _ => return Vec::new(),
    };
    let mut worth: Vec<Alternative> = run
        .alternatives
        .iter()
        .filter(|alt| (after..until).contains(&alt.step))
        .filter(|alt| {
            let step = &run.steps[alt.step];
            alt.rank < tolerance.top_k && step.top_logprob - alt.logprob <= tolerance.margin
        })
        .filter(|alt| {
            let steered = vocab.bytes(run.steps[alt.step].chosen).len();
            let length = vocab.bytes(alt.token).len().cmp(&steered);
            length != Ordering::Equal && wanted.is_none_or(|wanted| length == wanted)
        })
        .copied()
        .collect();
    worth.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
    worth
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_greedy_chat_requests_are_replayed() {
        let ok = br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":8,"temperature":0}"#;
        let (messages, max) = parse_request(ok).expect("replayable");
        assert_eq!((messages.len(), max), (1, 8));
        let sampled = br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":8}"#;
        assert_eq!(parse_request(sampled).expect_err("sampled"), Unjudgeable::NotGreedy(1.0));
        let streamed = br#"{"model":"m","messages":[],"max_tokens":8,"temperature":0,"stream":true}"#;
        assert_eq!(parse_request(streamed).expect_err("streamed"), Unjudgeable::Streamed);
        let long = br#"{"model":"m","messages":[],"max_tokens":100000,"temperature":0}"#;
        assert_eq!(parse_request(long).expect_err("long"), Unjudgeable::TooLarge("max_tokens"));
        let extra = br#"{"model":"m","messages":[],"max_tokens":8,"temperature":0,"stop":["x"]}"#;
        assert!(matches!(parse_request(extra), Err(Unjudgeable::Request(why)) if why.contains("stop")));
        assert!(matches!(parse_request(b"not json"), Err(Unjudgeable::Request(_))));
        let newer = br#"{"model":"m","messages":[],"max_completion_tokens":8,"temperature":0.0,"stream":false}"#;
        assert_eq!(parse_request(newer).expect("replayable").1, 8);
        // A message field the node renders into the prompt and the replay would drop: a framing attempt.
        let refusal = br#"{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"","refusal":"no"}],"max_tokens":8,"temperature":0}"#;
        assert!(matches!(parse_request(refusal), Err(Unjudgeable::Request(why)) if why.contains("other than role")));
        let named =
            br#"{"model":"m","messages":[{"role":"user","content":"hi","name":"eve"}],"max_tokens":8,"temperature":0}"#;
        assert!(matches!(parse_request(named), Err(Unjudgeable::Request(_))));
        let both = br#"{"model":"m","messages":[],"max_tokens":8,"max_completion_tokens":9,"temperature":0}"#;
        assert!(matches!(parse_request(both), Err(Unjudgeable::Request(why)) if why.contains("both")));
    }
}
