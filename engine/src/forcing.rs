//! Teacher-forced re-execution: run a request through the model while steering it through the exact text
//! someone else's run produced, recording at every step the model's own distribution and where the steered
//! token sits in it.
//!
//! Greedy decoding is not bit-identical across machines and thread counts, so a re-execution that diverges
//! once would otherwise drift into unrelated text and prove nothing. Forcing the other run's continuation keeps
//! both runs on one prefix, so every step compares like with like; judging the steps is the caller's business
//! (`neuro-validator`'s comparison).
//!
//! Text is compared the way mistral.rs makes it: the completion's bytes decoded lossily (one U+FFFD per invalid
//! sequence), leading whitespace trimmed. At each step the steered token is the most likely token (in the
//! model's own distribution) whose bytes continue the target text (a token that adds no visible text, such as
//! leading whitespace or a special token other than an end, continues any text). An honest greedy run produced its text token by token from the same distribution,
//! so that token is the run's own choice even where a tokenizer would have split the text differently. Once the
//! text is used up the most likely end-of-sequence token is steered; if no token continues the text the run is
//! ended and the step is marked unreachable.
//!
//! The most likely continuing token is not the only way through the text: where " the" and " th" both continue
//! it and the model ranks them almost equally, a run on other hardware may have taken either, and the two paths
//! bill different token counts. A run therefore also records the *alternatives* (other tokens among the model's
//! most likely that continue the text too), and [`Steering::forks`] replays the run taking one of them at a given
//! step, so the caller can look for the path the other run took.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, PoisonError},
};

use mistralrs::{CustomLogitsProcessor, DType, Tensor};

use crate::{ChatMessage, Engine, EngineError, Sampling, vocab::Vocabulary};

/// One step of a forced run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The model's own most likely token.
    pub top: u32,
    /// Its log-probability.
    pub top_logprob: f32,
    /// The token steered (the target text's).
    pub chosen: u32,
    /// Its log-probability in the model's distribution.
    pub chosen_logprob: f32,
    /// How many tokens the model ranks above it (0: it is the model's own choice).
    pub rank: usize,
    /// Whether this step ends the sequence (the target text was used up).
    pub end: bool,
}

impl Step {
    /// How far below the model's own choice the steered token is, in nats (0 when they agree).
    pub fn margin(&self) -> f32 {
        self.top_logprob - self.chosen_logprob
    }
}

/// Another token that continues the target text at a step, besides the one steered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Alternative {
    /// Step index (0 = first completion token).
    pub step: usize,
    /// The token.
    pub token: u32,
    /// Its log-probability.
    pub logprob: f32,
    /// How many tokens the model ranks above it.
    pub rank: usize,
}

/// How a forced run steers, beyond taking the most likely token that continues the text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Steering {
    /// At these steps, steer this token instead (when it continues the text; otherwise the default applies).
    pub forks: BTreeMap<usize, u32>,
    /// Record the other tokens among the model's `alternatives` most likely that continue the text (0: none).
    pub alternatives: usize,
}

/// What a forced run found.
#[derive(Debug, Clone)]
pub struct ForcedRun {
    /// Every generated step, in order.
    pub steps: Vec<Step>,
    /// Other continuing tokens among the model's most likely ([`Steering::alternatives`]), by step.
    pub alternatives: Vec<Alternative>,
    /// Byte offset into the target text at which no token could continue it, if that happened.
    pub unreachable_at: Option<usize>,
    /// The text the forced run produced (the target text when the run could follow it to the end).
    pub text: String,
    /// Prompt tokens as the engine counted them.
    pub prompt_tokens: usize,
    /// Completion tokens as the engine counted them.
    pub completion_tokens: usize,
}

#[derive(Debug, Default)]
struct State {
    steps: Vec<Step>,
    alternatives: Vec<Alternative>,
    unreachable_at: Option<usize>,
}

/// The logits processor that steers generation through `target`.
struct TeacherForcing {
    vocab: Arc<Vocabulary>,
    /// Prompt tokens (counted up front: the context of the first step can be shorter after a prefix-cache hit).
    prompt_len: usize,
    target: String,
    steering: Steering,
    state: Mutex<State>,
}

impl std::fmt::Debug for TeacherForcing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeacherForcing").field("target_len", &self.target.len()).finish_non_exhaustive()
    }
}

impl TeacherForcing {
    fn choose(&self, logprobs: &[f32], generated: &[u32], state: &mut State) -> Step {
        let mut produced: Vec<u8> = Vec::new();
        for id in generated {
            produced.extend_from_slice(self.vocab.bytes(*id));
        }
        // The first of equal maxima, as the engine's top-1 sampling picks it (a tie broken the other way could
        // steer a token that adds no text where the node wrote one).
        let mut top = 0u32;
        for (id, lp) in logprobs.iter().enumerate() {
            if *lp > logprobs[top as usize] {
                top = id as u32;
            }
        }
        // Rank: how many tokens the model puts strictly above `id` (one pass, no sort).
        let rank_of = |id: u32| {
            let lp = logprobs.get(id as usize).copied().unwrap_or(f32::NEG_INFINITY);
            logprobs.iter().filter(|v| **v > lp).count()
        };
        let step = |chosen: u32, end: bool| Step {
            top,
            top_logprob: logprobs[top as usize],
            chosen,
            chosen_logprob: logprobs.get(chosen as usize).copied().unwrap_or(f32::NEG_INFINITY),
            rank: rank_of(chosen),
            end,
        };
        let most_likely_eos = || {
            self.vocab.enders().max_by(|a, b| {
                let lp = |id: u32| logprobs.get(id as usize).copied().unwrap_or(f32::NEG_INFINITY);
                lp(*a).total_cmp(&lp(*b))
            })
        };
        let (so_far, pending) = lossy_text(&produced);
        let so_far = so_far.trim_start();
        if (so_far == self.target && !pending) || state.unreachable_at.is_some() {
            return step(most_likely_eos().unwrap_or(top), true);
        }
        // What the text so far settles: everything before a trailing incomplete character decodes the same
        // whatever comes next, so each candidate only decodes that tail and its own bytes (cheap even when a
        // hostile dispute makes the search scan the whole vocabulary over a long answer).
        let stable = produced.len() - pending_len(&produced);
        // (Bytes before `stable` that look incomplete on their own were found invalid in context: one U+FFFD,
        // which is what the standard lossy decoding gives them.)
        let settled = String::from_utf8_lossy(&produced[..stable]);
        let settled = settled.trim_start();
        // While nothing but whitespace is settled, the engine's trim reaches into the candidate's text too.
        let (rest_after_settled, trim_candidate) = match settled {
            "" => (Some(self.target.as_str()), true),
            settled => (self.target.strip_prefix(settled), false),
        };
        let mut candidate = produced[stable..].to_vec();
        let open = candidate.len();
        let mut continues = |id: &u32| {
            // Any token but an end continues the text: a special token adds no text (the engine drops it), as
            // a token that only adds leading whitespace does.
            let piece = self.vocab.bytes(*id);
            let Some(rest_after_settled) = rest_after_settled else { return false };
            if self.vocab.is_eos(*id) {
                return false;
            }
            candidate.truncate(open);
            candidate.extend_from_slice(piece);
            let (text, pending) = lossy_text(&candidate);
            let text = if trim_candidate { text.trim_start() } else { text.as_str() };
            let Some(rest) = rest_after_settled.strip_prefix(text) else { return false };
            // An incomplete character continues the text only if the text goes on with a character those bytes
            // begin, or with U+FFFD (they may turn out invalid).
            !pending || rest.starts_with('\u{FFFD}') || {
                let tail = &candidate[candidate.len() - pending_len(&candidate)..];
                rest.chars().next().is_some_and(|c| c.encode_utf8(&mut [0; 4]).as_bytes().starts_with(tail))
            }
        };
        let index = state.steps.len();
        // The model's own choice continues the text at almost every step of an honest answer; only a divergence
        // pays for sorting the vocabulary.
        let found = if let Some(fork) = self.steering.forks.get(&index).filter(|fork| continues(fork)) {
            Some(*fork)
        } else if continues(&top) {
            Some(top)
        } else {
            let mut order: Vec<u32> = (0..logprobs.len() as u32).collect();
            // Stable: equal logprobs keep id order, as the engine's top-1 sampling does.
            order.sort_by(|a, b| logprobs[*b as usize].total_cmp(&logprobs[*a as usize]));
            order.into_iter().find(|token| continues(token))
        };
        if let Some(chosen) = found {
            for token in most_likely(logprobs, self.steering.alternatives) {
                if token != chosen && continues(&token) {
                    let logprob = logprobs[token as usize];
                    state.alternatives.push(Alternative { step: index, token, logprob, rank: rank_of(token) });
                }
            }
        }
        match found {
            Some(chosen) => step(chosen, false),
            None => {
                state.unreachable_at = Some(so_far.len());
                step(most_likely_eos().unwrap_or(top), true)
            }
        }
    }
}

/// The `count` most likely token ids, most likely first (equal logprobs in id order); one pass, no sort.
pub(crate) fn most_likely(logprobs: &[f32], count: usize) -> Vec<u32> {
    let mut best: Vec<u32> = Vec::with_capacity(count + 1);
    if count == 0 {
        return best;
    }
    for (id, lp) in logprobs.iter().enumerate() {
        if best.len() == count && *lp <= logprobs[best[count - 1] as usize] {
            continue;
        }
        let at = best.partition_point(|b| logprobs[*b as usize] >= *lp);
        best.insert(at, id as u32);
        best.truncate(count);
    }
    best
}

/// Length of the incomplete character at the end of `bytes` (0 if none).
fn pending_len(bytes: &[u8]) -> usize {
    match bytes.utf8_chunks().last() {
        Some(chunk) if std::str::from_utf8(chunk.invalid()).err().is_some_and(|e| e.error_len().is_none()) => {
            chunk.invalid().len()
        }
        _ => 0,
    }
}

/// The text `bytes` decode to the way the engine decodes a whole answer (each invalid UTF-8 sequence becomes
/// one U+FFFD), except that an incomplete character at the end is left out and reported as pending: the next
/// token may complete it.
fn lossy_text(bytes: &[u8]) -> (String, bool) {
    let mut text = String::with_capacity(bytes.len());
    let mut pending = false;
    let mut chunks = bytes.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        text.push_str(chunk.valid());
        let invalid = chunk.invalid();
        if invalid.is_empty() {
            continue;
        }
        // Only the last chunk can be an incomplete character rather than an invalid one.
        let incomplete = std::str::from_utf8(invalid).err().is_some_and(|e| e.error_len().is_none());
        if chunks.peek().is_none() && incomplete {
            pending = true;
        } else {
            text.push('\u{FFFD}');
        }
    }
    (text, pending)
}

impl CustomLogitsProcessor for TeacherForcing {
    fn apply(&self, logits: &Tensor, context: &[u32]) -> mistralrs::Result<Tensor> {
        let values: Vec<f32> = logits.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
        let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let log_sum = values.iter().map(|v| (v - max).exp()).sum::<f32>().ln() + max;
        let logprobs: Vec<f32> = values.iter().map(|v| v - log_sum).collect();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let generated = context.get(self.prompt_len..).unwrap_or(&[]);
        let step = self.choose(&logprobs, generated, &mut state);
        state.steps.push(step);
        let mut steered = vec![f32::NEG_INFINITY; values.len()];
        if let Some(slot) = steered.get_mut(step.chosen as usize) {
            *slot = 0.0;
        }
        Tensor::from_vec(steered, logits.shape(), logits.device())?.to_dtype(logits.dtype())
    }
}

impl Engine {
    /// Runs a chat request greedily while steering it through `target` (another run's output text) as
    /// `steering` says; see the module docs. `sampling.max_tokens` bounds the run as it bounded the original.
    pub async fn chat_forced(
        &self,
        messages: &[ChatMessage],
        sampling: &Sampling,
        vocab: Arc<Vocabulary>,
        target: &str,
        steering: &Steering,
    ) -> Result<ForcedRun, EngineError> {
        let prompt_len = self.count_chat_tokens(messages, &crate::ChatOptions::default()).await?;
        let forcing = Arc::new(TeacherForcing {
            vocab,
            prompt_len,
            target: target.to_string(),
            steering: steering.clone(),
            state: Mutex::new(State::default()),
        });
        let greedy = Sampling { temperature: Some(0.0), top_p: None, ..sampling.clone() };
        let response = self.chat_processed(messages, &greedy, forcing.clone()).await?;
        let text = response.choices.first().and_then(|c| c.message.content.clone()).unwrap_or_default();
        let state = std::mem::take(&mut *forcing.state.lock().unwrap_or_else(PoisonError::into_inner));
        Ok(ForcedRun {
            steps: state.steps,
            alternatives: state.alternatives,
            unreachable_at: state.unreachable_at,
            text,
            prompt_tokens: response.usage.prompt_tokens,
            completion_tokens: response.usage.completion_tokens,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{lossy_text, most_likely, pending_len};

    #[test]
    fn most_likely_keeps_the_best_in_order_and_ties_in_id_order() {
        let logprobs = [-3.0, -0.5, -2.0, -0.5, -9.0, -0.1];
        assert_eq!(most_likely(&logprobs, 0), Vec::<u32>::new());
        assert_eq!(most_likely(&logprobs, 1), vec![5]);
        assert_eq!(most_likely(&logprobs, 3), vec![5, 1, 3]);
        assert_eq!(most_likely(&logprobs, 10), vec![5, 1, 3, 2, 0, 4]);
    }

    #[test]
    fn decoding_the_settled_prefix_and_the_open_tail_apart_is_decoding_the_whole() {
        // Bytes biased towards UTF-8 lead and continuation bytes, where the split could go wrong.
        let alphabet = [b'a', b' ', 0x80, 0xA7, 0xBF, 0xC3, 0xDF, 0xE2, 0xE4, 0xF0, 0x9F, 0xFF];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            let len = (state % 9) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            let stable = bytes.len() - pending_len(&bytes);
            let apart = String::from_utf8_lossy(&bytes[..stable]).into_owned() + &lossy_text(&bytes[stable..]).0;
            assert_eq!(apart, lossy_text(&bytes).0, "{bytes:x?}");
        }
    }

    #[test]
    fn lossy_text_matches_the_engines_decoding_and_holds_back_an_incomplete_character() {
        let bytes = [b'a', 0xFF, b'b', 0xE2, 0x82];
        assert_eq!(String::from_utf8_lossy(&bytes[..3]), lossy_text(&bytes[..3]).0);
        assert_eq!(lossy_text(&bytes), ("a\u{FFFD}b".to_string(), true));
        assert_eq!(lossy_text(&[b'a', 0xE2, 0x82, 0xAC]), ("a€".to_string(), false));
        assert_eq!(lossy_text(&[0xE2, 0x82, b'x']), ("\u{FFFD}x".to_string(), false));
    }
}
