//! Judging a node's answer against the validator's own re-execution.
//!
//! The re-execution is teacher-forced through the node's text (`neuro_engine::forcing`), so every step compares
//! the same prefix. A step where the node's token is not the validator's own greedy choice is a *divergence*; it
//! is accepted only as a floating-point near-tie: the node's token is among the validator's `top_k` and at most
//! `margin` nats below its best. Everything else the node claims is checked exactly: the prompt and completion
//! token counts it billed, that the text can be produced by this model's vocabulary at all, that it fits the
//! request's `max_tokens`, and that the answer stops where the model would stop.
//!
//! Who could abuse this, and how (the calibration in `docs/verification.md` measures each row):
//! - a node serving another model or another quantization: its greedy tokens are not the validator's at
//!   some step, by more than a near-tie → `Diverged`;
//! - a node sampling at a temperature instead of greedily (cheaper to fake, or a different "product"):
//!   sampled tokens fall outside the near-tie band → `Diverged`;
//! - a node padding its answer (to bill more tokens) or truncating it (to save compute): the billed counts or
//!   the end of the text disagree → `CompletionTokens`, `TooLong` or a diverged end step;
//! - a validator trying to frame an honest node: the comparison is deterministic given the model file, so every
//!   other validator re-executing the same evidence reaches the same verdict and votes the framer down.

use neuro_engine::forcing::{ForcedRun, Step};

/// How far a node's token may sit from the validator's own choice and still count as floating-point noise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// The node's token must be among the validator's `top_k` most likely tokens.
    pub top_k: usize,
    /// ... and at most this many nats below the most likely one.
    pub margin: f32,
}

impl Default for Tolerance {
    /// The calibrated default (docs/verification.md): honest re-executions across 1, 2 and 4 threads agreed
    /// bit for bit (margin 0), so the band only has to absorb reduction-order noise between CPUs (~1e-3 nats);
    /// 0.005 leaves five times that while catching most single-step differences of an 8-bit quantization.
    fn default() -> Self {
        Self { top_k: 2, margin: 0.005 }
    }
}

/// What the node claimed for one response (from its signed receipt and the response body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The generated text.
    pub text: String,
    /// Prompt tokens billed.
    pub prompt_tokens: u64,
    /// Completion tokens billed.
    pub completion_tokens: u64,
}

/// Why an answer fails re-execution.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    /// The node billed a different prompt length than the model's tokenizer and chat template give.
    #[error("billed {claimed} prompt tokens, the model counts {actual}")]
    PromptTokens {
        /// Billed.
        claimed: u64,
        /// Re-executed.
        actual: u64,
    },
    /// The node billed a different completion length than its text takes.
    #[error("billed {claimed} completion tokens, re-execution took {actual}")]
    CompletionTokens {
        /// Billed.
        claimed: u64,
        /// Re-executed.
        actual: u64,
    },
    /// No token of this model's vocabulary continues the text at this byte offset.
    #[error("no token of the model continues the text at byte {at_byte}")]
    Unreachable {
        /// Byte offset into the node's text.
        at_byte: usize,
    },
    /// The text is longer than `max_tokens` allows.
    #[error("the text does not fit the request's max_tokens")]
    TooLong,
    /// The receipt's sampling hash is not the request's (the node signed parameters it was not asked for).
    #[error("the receipt's sampling parameters are not the request's")]
    SamplingClaim,
    /// At `step` the node's token is not a near-tie of the model's own choice.
    #[error(
        "step {index}: the node's token {} ranks {} with margin {:.4} nats (the model's choice: token {})",
        step.chosen, step.rank, step.margin(), step.top
    )]
    Diverged {
        /// Step index (0 = first completion token).
        index: usize,
        /// The step.
        step: Step,
    },
}

/// The verdict on one answer, with what the calibration reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Steps compared.
    pub steps: usize,
    /// Steps where the node's token was not the validator's own choice but within tolerance.
    pub near_ties: usize,
    /// The largest margin among accepted steps, in nats.
    pub worst_margin: f32,
    /// Forced runs the judgement took: 1, or more where it looked for the tokenization the node's run took
    /// (`reexecute::replay`).
    pub paths: usize,
    /// Why the answer fails, if it does.
    pub failure: Option<Failure>,
}

impl Verdict {
    /// Whether the answer passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Judges a forced re-execution of the node's answer.
pub fn judge(run: &ForcedRun, claim: &Claim, tolerance: Tolerance) -> Verdict {
    let mut near_ties = 0;
    let mut worst_margin = 0f32;
    let mut failure = None;
    for (index, step) in run.steps.iter().enumerate() {
        if step.rank == 0 {
            continue;
        }
        if step.rank < tolerance.top_k && step.margin() <= tolerance.margin {
            near_ties += 1;
            worst_margin = worst_margin.max(step.margin());
        } else if failure.is_none() {
            failure = Some(Failure::Diverged { index, step: *step });
        }
    }
    let exact = if let Some(at_byte) = run.unreachable_at {
        Some(Failure::Unreachable { at_byte })
    } else if run.text != claim.text {
        Some(Failure::TooLong)
    } else if run.prompt_tokens as u64 != claim.prompt_tokens {
        Some(Failure::PromptTokens { claimed: claim.prompt_tokens, actual: run.prompt_tokens as u64 })
    } else if run.completion_tokens as u64 != claim.completion_tokens {
        Some(Failure::CompletionTokens { claimed: claim.completion_tokens, actual: run.completion_tokens as u64 })
    } else {
        None
    };
    // A wrong count or an impossible text is conclusive on its own; a divergence is reported first when both
    // happen because it says where the runs parted.
    Verdict { steps: run.steps.len(), near_ties, worst_margin, paths: 1, failure: failure.or(exact) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(rank: usize, margin: f32) -> Step {
        Step { top: 1, top_logprob: -0.1, chosen: 2, chosen_logprob: -0.1 - margin, rank, end: false }
    }

    fn run(steps: Vec<Step>) -> ForcedRun {
        ForcedRun {
            steps,
            alternatives: vec![],
            unreachable_at: None,
            text: "hi".into(),
            prompt_tokens: 5,
            completion_tokens: 2,
        }
    }

    fn claim() -> Claim {
        Claim { text: "hi".into(), prompt_tokens: 5, completion_tokens: 2 }
    }

    #[test]
    fn a_near_tie_passes_and_a_clear_divergence_fails() {
        let tolerance = Tolerance { top_k: 2, margin: 0.05 };
        assert!(Tolerance::default().margin < tolerance.margin);
        let honest = judge(&run(vec![step(0, 0.0), step(1, 0.01)]), &claim(), tolerance);
        assert!(honest.passed());
        assert_eq!(honest.near_ties, 1);
        let far = judge(&run(vec![step(0, 0.0), step(1, 0.5)]), &claim(), tolerance);
        assert!(matches!(far.failure, Some(Failure::Diverged { index: 1, .. })));
        let low_rank = judge(&run(vec![step(3, 0.01)]), &claim(), tolerance);
        assert!(matches!(low_rank.failure, Some(Failure::Diverged { index: 0, .. })));
    }

    #[test]
    fn billing_and_text_are_checked_exactly() {
        let tolerance = Tolerance::default();
        let padded = Claim { completion_tokens: 3, ..claim() };
        assert_eq!(
            judge(&run(vec![]), &padded, tolerance).failure,
            Some(Failure::CompletionTokens { claimed: 3, actual: 2 })
        );
        let prompt = Claim { prompt_tokens: 9, ..claim() };
        assert!(matches!(judge(&run(vec![]), &prompt, tolerance).failure, Some(Failure::PromptTokens { .. })));
        let longer = Claim { text: "hi there".into(), ..claim() };
        assert_eq!(judge(&run(vec![]), &longer, tolerance).failure, Some(Failure::TooLong));
        let mut impossible = run(vec![]);
        impossible.unreachable_at = Some(1);
        assert_eq!(judge(&impossible, &claim(), tolerance).failure, Some(Failure::Unreachable { at_byte: 1 }));
    }
}
