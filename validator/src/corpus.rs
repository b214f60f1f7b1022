//! Probe requests: prompts from the corpus with varied shapes and lengths, so a node cannot single them out.
//!
//! Who could abuse this: a node that answers probes honestly and organic traffic with a cheaper model. It
//! must recognise probes to do so; probes use the public API with the validator's own paid API key, prompts
//! from a corpus of ordinary requests, an optional system message or earlier turn, a length drawn per request
//! and jittered timing (`schedule`). What still sets them apart is documented in `docs/verification.md`:
//! temperature 0 (validators can only re-execute deterministic decoding) and the validator's address.

use neuro_engine::ChatMessage;
use rand::{Rng, seq::SliceRandom};

const CORPUS: &str = include_str!("../corpus.txt");

const SYSTEM_PROMPTS: &[&str] =
    &["You are a helpful assistant.", "You are a concise assistant. Answer briefly.", "You are a friendly tutor."];

/// One probe: the chat messages and the completion length asked for.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// `max_tokens` of the request.
    pub max_tokens: usize,
}

impl Probe {
    /// The request body a client would send (`model` names what the node serves), always greedy.
    pub fn body(&self, model: &str, stream: bool) -> serde_json::Value {
        let messages: Vec<_> =
            self.messages.iter().map(|m| serde_json::json!({"role": m.role, "content": m.content})).collect();
        let mut body = serde_json::json!({
            "model": model, "messages": messages, "max_tokens": self.max_tokens, "temperature": 0,
        });
        if stream {
            body["stream"] = true.into();
        }
        body
    }
}

/// The prompts of the corpus.
pub fn prompts() -> Vec<&'static str> {
    CORPUS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

/// Draws a probe: a prompt, sometimes a system message or an earlier exchange, and `max_tokens` in
/// `lengths`.
pub fn draw(rng: &mut impl Rng, lengths: std::ops::RangeInclusive<usize>) -> Probe {
    let prompts = prompts();
    let pick = |rng: &mut dyn rand::RngCore| prompts.choose(rng).copied().unwrap_or("Hello!").to_string();
    let mut messages = Vec::new();
    if rng.gen_bool(0.4) {
        let system = SYSTEM_PROMPTS.choose(rng).copied().unwrap_or(SYSTEM_PROMPTS[0]);
        messages.push(ChatMessage { role: "system".into(), content: system.into() });
    }
    if rng.gen_bool(0.2) {
        messages.push(ChatMessage { role: "user".into(), content: pick(rng) });
        messages.push(ChatMessage { role: "assistant".into(), content: "Sure, here it is.".into() });
    }
    messages.push(ChatMessage { role: "user".into(), content: pick(rng) });
    Probe { messages, max_tokens: rng.gen_range(lengths) }
}

/// The wait before the next probe: exponential with mean `mean` (a Poisson process has no rhythm to spot).
pub fn next_delay(rng: &mut impl Rng, mean: std::time::Duration) -> std::time::Duration {
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    mean.mul_f64(-u.ln()).min(mean * 10)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn probes_vary_in_text_shape_and_length() {
        assert!(prompts().len() >= 50);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let probes: Vec<Probe> = (0..200).map(|_| draw(&mut rng, 8..=64)).collect();
        let distinct_lengths: std::collections::HashSet<_> = probes.iter().map(|p| p.max_tokens).collect();
        let with_system = probes.iter().filter(|p| p.messages[0].role == "system").count();
        let multi_turn = probes.iter().filter(|p| p.messages.iter().any(|m| m.role == "assistant")).count();
        assert!(distinct_lengths.len() > 30, "{distinct_lengths:?}");
        assert!((40..=120).contains(&with_system), "{with_system}");
        assert!((15..=80).contains(&multi_turn), "{multi_turn}");
        let body = probes[0].body("tiny", false);
        assert_eq!(body["temperature"], 0);
        assert_eq!(body["model"], "tiny");
    }

    #[test]
    fn probe_delays_have_the_configured_mean() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mean = std::time::Duration::from_secs(10);
        let total: f64 = (0..5000).map(|_| next_delay(&mut rng, mean).as_secs_f64()).sum();
        let observed = total / 5000.0;
        assert!((9.0..11.0).contains(&observed), "{observed}");
    }
}
