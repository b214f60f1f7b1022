//! Probe requests: prompts from the corpus with varied shapes and lengths, so a node cannot single them out.
//!
//! Who could abuse this: a node that answers probes honestly and organic traffic with a cheaper model. It
//! must recognise probes to do so; probes use the public API with the validator's own paid API key, prompts
//! from a corpus of ordinary requests, an optional system message or earlier turn, a length drawn per request
//! and jittered timing (`schedule`), a body written the ways clients write it ([`BodyShape`]), paid by a probe
//! account. What still sets them apart is documented in `docs/verification.md`: temperature 0 (validators can
//! only re-execute deterministic decoding) and the public corpus.

use neuro_engine::ChatMessage;
use rand::{Rng, seq::SliceRandom};

const CORPUS: &str = include_str!("../corpus.txt");

const SYSTEM_PROMPTS: &[&str] =
    &["You are a helpful assistant.", "You are a concise assistant. Answer briefly.", "You are a friendly tutor."];

/// How a probe's JSON body is written. Clients differ (an integer or a float temperature, `stream` spelled out
/// or left to its default, the older `max_tokens` or the newer `max_completion_tokens`), so probes do too: a
/// node matching one fixed spelling would single them out. Every shape is one `parse_request` replays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BodyShape {
    /// `"temperature": 0.0` rather than `0`.
    pub float_temperature: bool,
    /// `"stream": false` spelled out on a non-streamed request.
    pub explicit_stream: bool,
    /// `max_completion_tokens` rather than `max_tokens`.
    pub completion_tokens_field: bool,
}

/// One probe: the chat messages, the completion length asked for and how the body is written.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// The completion token limit of the request.
    pub max_tokens: usize,
    /// How the body is written.
    pub shape: BodyShape,
}

impl Probe {
    /// The request body a client would send (`model` names what the node serves), always greedy.
    pub fn body(&self, model: &str, stream: bool) -> serde_json::Value {
        let messages: Vec<_> =
            self.messages.iter().map(|m| serde_json::json!({"role": m.role, "content": m.content})).collect();
        let temperature = if self.shape.float_temperature { serde_json::json!(0.0) } else { serde_json::json!(0) };
        let limit = if self.shape.completion_tokens_field { "max_completion_tokens" } else { "max_tokens" };
        let mut body = serde_json::json!({"model": model, "messages": messages, "temperature": temperature});
        body[limit] = self.max_tokens.into();
        if stream || self.shape.explicit_stream {
            body["stream"] = stream.into();
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
        messages.push(ChatMessage::new("system", system));
    }
    if rng.gen_bool(0.2) {
        messages.push(ChatMessage::new("user", pick(rng)));
        messages.push(ChatMessage::new("assistant", "Sure, here it is."));
    }
    messages.push(ChatMessage::new("user", pick(rng)));
    let shape = BodyShape {
        float_temperature: rng.gen_bool(0.5),
        explicit_stream: rng.gen_bool(0.5),
        completion_tokens_field: rng.gen_bool(0.5),
    };
    Probe { messages, max_tokens: rng.gen_range(lengths), shape }
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
        assert_eq!(body["temperature"].as_f64(), Some(0.0));
        assert_eq!(body["model"], "tiny");
    }

    /// Every body shape occurs, and the validator replays each one as the same greedy request.
    #[test]
    fn body_shapes_vary_and_all_replay_alike() -> Result<(), Box<dyn std::error::Error>> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let probe = draw(&mut rng, 8..=64);
            seen.insert((
                probe.shape.float_temperature,
                probe.shape.explicit_stream,
                probe.shape.completion_tokens_field,
            ));
            let bytes = serde_json::to_vec(&probe.body("tiny", false))?;
            let (messages, max_tokens) = crate::reexecute::parse_request(&bytes).map_err(|e| e.to_string())?;
            let pairs = |m: &[ChatMessage]| m.iter().map(|m| (m.role.clone(), m.content.clone())).collect::<Vec<_>>();
            assert_eq!((pairs(&messages), max_tokens), (pairs(&probe.messages), probe.max_tokens));
            let text = String::from_utf8(bytes)?;
            assert_eq!(text.contains("0.0"), probe.shape.float_temperature, "{text}");
            assert_eq!(text.contains("\"stream\":false"), probe.shape.explicit_stream, "{text}");
            let streamed = probe.body("tiny", true);
            assert_eq!(streamed["stream"], true);
        }
        assert_eq!(seen.len(), 8, "every combination of the three spellings: {seen:?}");
        Ok(())
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
