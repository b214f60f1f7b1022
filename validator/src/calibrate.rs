//! Calibration of the comparison: honest answers from other thread counts must all pass, answers from a
//! substituted model, quantization, temperature or a tampered text must all fail.
//!
//! Thread counts change the order of floating-point reductions in candle's matrix products, which is how honest
//! machines differ; a thread count is fixed per process (`RAYON_NUM_THREADS`), so honest answers come from
//! `neuro-validator calibrate answer` processes and are judged here.

use std::{collections::BTreeMap, sync::Arc};

use neuro_engine::{Engine, EngineError, Sampling, vocab::Vocabulary};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::{
    compare::{Claim, Failure, Tolerance},
    corpus::{self, Probe},
    reexecute::replay,
};

/// One answer a node gave to a probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Index of the probe in the seeded sequence.
    pub probe: usize,
    /// The generated text.
    pub text: String,
    /// Prompt tokens counted.
    pub prompt_tokens: u64,
    /// Completion tokens counted.
    pub completion_tokens: u64,
}

impl Answer {
    /// What the node claimed with this answer.
    pub fn claim(&self) -> Claim {
        Claim { text: self.text.clone(), prompt_tokens: self.prompt_tokens, completion_tokens: self.completion_tokens }
    }
}

/// The probes of a calibration run: `count` draws from the corpus with `seed`, 8 to 48 completion tokens.
pub fn probes(seed: u64, count: usize) -> Vec<Probe> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..count).map(|_| corpus::draw(&mut rng, 8..=48)).collect()
}

/// Answers `probes` the way a node would: greedy unless `temperature` is given.
pub async fn answer(engine: &Engine, probes: &[Probe], temperature: Option<f64>) -> Result<Vec<Answer>, EngineError> {
    let mut answers = Vec::with_capacity(probes.len());
    for (index, probe) in probes.iter().enumerate() {
        let sampling = Sampling {
            max_tokens: probe.max_tokens,
            temperature: Some(temperature.unwrap_or(0.0)),
            ..Default::default()
        };
        let response = engine.chat(&probe.messages, &sampling).await?;
        let text = response.choices.first().and_then(|c| c.message.content.clone()).unwrap_or_default();
        answers.push(Answer {
            probe: index,
            text,
            prompt_tokens: response.usage.prompt_tokens as u64,
            completion_tokens: response.usage.completion_tokens as u64,
        });
    }
    Ok(answers)
}

/// Answers `probes` greedily with `concurrency` requests in flight at once, as a busy node does: the engine
/// batches concurrent sequences, which changes the order of floating-point reductions like another machine.
pub async fn answer_concurrently(
    engine: &Engine,
    probes: &[Probe],
    concurrency: usize,
) -> Result<Vec<Answer>, EngineError> {
    let mut answers = Vec::with_capacity(probes.len());
    for (chunk_index, chunk) in probes.chunks(concurrency.max(1)).enumerate() {
        let requests = chunk.iter().enumerate().map(|(i, probe)| async move {
            let sampling = Sampling { max_tokens: probe.max_tokens, temperature: Some(0.0), ..Default::default() };
            let response = engine.chat(&probe.messages, &sampling).await?;
            let text = response.choices.first().and_then(|c| c.message.content.clone()).unwrap_or_default();
            Ok::<_, EngineError>(Answer {
                probe: chunk_index * concurrency.max(1) + i,
                text,
                prompt_tokens: response.usage.prompt_tokens as u64,
                completion_tokens: response.usage.completion_tokens as u64,
            })
        });
        for answer in futures::future::join_all(requests).await {
            answers.push(answer?);
        }
    }
    Ok(answers)
}

/// A cheat applied to an honest answer's text or bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Half the text is delivered, the whole is billed.
    Truncate,
    /// Text the model did not write is appended and billed.
    Pad,
}

/// Applies `tamper` to an answer.
pub fn tampered(answer: &Answer, tamper: Tamper) -> Answer {
    let mut out = answer.clone();
    match tamper {
        Tamper::Truncate => {
            let mut cut = answer.text.len() / 2;
            while !answer.text.is_char_boundary(cut) {
                cut -= 1;
            }
            out.text.truncate(cut);
        }
        Tamper::Pad => {
            out.text.push_str(" That is all.");
            out.completion_tokens += 4;
        }
    }
    out
}

/// What judging a set of answers found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Answers judged.
    pub comparisons: usize,
    /// Answers that passed.
    pub passed: usize,
    /// Steps compared.
    pub steps: usize,
    /// Accepted divergences (floating-point near-ties).
    pub near_ties: usize,
    /// Largest accepted margin, nats.
    pub worst_margin: f32,
    /// Forced runs beyond the first, looking for the node's tokenization through near-ties.
    pub extra_paths: usize,
    /// Failures by kind.
    pub failures: BTreeMap<&'static str, usize>,
    /// The smallest margin at which a failing answer first diverged (how far substitutions sit from the
    /// tolerance), nats.
    pub closest_divergence: Option<f32>,
}

impl Report {
    /// Answers that failed.
    pub fn failed(&self) -> usize {
        self.comparisons - self.passed
    }
}

fn kind(failure: &Failure) -> &'static str {
    match failure {
        Failure::PromptTokens { .. } => "prompt tokens",
        Failure::CompletionTokens { .. } => "completion tokens",
        Failure::Unreachable { .. } => "unreachable text",
        Failure::TooLong => "too long",
        Failure::Diverged { .. } => "diverged",
        Failure::SamplingClaim => "sampling claim",
    }
}

/// Re-executes every answer with the validator's engine and judges it.
pub async fn judge_all(
    engine: &Engine,
    vocab: &Arc<Vocabulary>,
    probes: &[Probe],
    answers: &[Answer],
    tolerance: Tolerance,
) -> Result<Report, EngineError> {
    let mut report = Report::default();
    for answer in answers {
        let Some(probe) = probes.get(answer.probe) else { continue };
        let sampling = Sampling { max_tokens: probe.max_tokens, temperature: Some(0.0), ..Default::default() };
        let budget = crate::reexecute::JUDGE_BUDGET;
        let verdict = replay(engine, vocab, &probe.messages, &sampling, &answer.claim(), tolerance, budget)
            .await?
            .ok_or_else(|| EngineError::Inference(format!("probe {} took longer than {budget:?}", answer.probe)))?;
        report.comparisons += 1;
        report.steps += verdict.steps;
        report.near_ties += verdict.near_ties;
        report.worst_margin = report.worst_margin.max(verdict.worst_margin);
        report.extra_paths += verdict.paths.saturating_sub(1);
        match &verdict.failure {
            None => report.passed += 1,
            Some(failure) => {
                tracing::debug!(probe = answer.probe, %failure, paths = verdict.paths, text = ?answer.text, "answer failed");
                *report.failures.entry(kind(failure)).or_default() += 1;
                if let Failure::Diverged { step, .. } = failure {
                    let m = step.margin();
                    report.closest_divergence = Some(report.closest_divergence.map_or(m, |c: f32| c.min(m)));
                }
            }
        }
    }
    Ok(report)
}
