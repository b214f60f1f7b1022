//! What the chat and completions APIs share: reading a body strictly (every field is known, and each is
//! honoured or refused by name) and the sampling fields.

use std::collections::HashMap;

use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;

use super::ApiError;
use crate::engine::Sampling;

/// Largest `max_tokens` accepted (and the default's ceiling when the model's context is unknown or larger).
pub const MAX_TOKENS_LIMIT: usize = 8192;
/// Most choices (`n`) one request may ask for: each is generated in turn, so `n` multiplies the node's work.
pub const MAX_CHOICES: usize = 8;
/// Most stop sequences (OpenAI's limit).
pub const MAX_STOP_SEQUENCES: usize = 4;
/// Most `top_logprobs` (OpenAI's limit for chat).
pub const MAX_TOP_LOGPROBS: usize = 20;

/// The fields of [`SamplingFields`], which both endpoints honour.
const SAMPLING_FIELDS: &[&str] = &[
    "temperature",
    "top_p",
    "stop",
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "seed",
    "n",
    "user",
    "stream",
    "stream_options",
];

/// Reads `body` as a JSON object whose every key is a sampling field, `honoured` or `refused` (with the
/// reason): a refused key (unless `null`) or an unknown one is a 400 naming it.
pub(crate) fn strict(body: &[u8], honoured: &[&str], refused: &[(&str, &str)]) -> Result<Value, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::malformed(format!("invalid request body: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(ApiError::malformed("invalid request body: not a JSON object"));
    };
    for (key, field) in object {
        if let Some((_, why)) = refused.iter().find(|(name, _)| name == key) {
            if !field.is_null() {
                return Err(ApiError::unsupported(key.as_str(), why));
            }
        } else if !SAMPLING_FIELDS.contains(&key.as_str()) && !honoured.contains(&key.as_str()) {
            return Err(ApiError::unsupported(key.as_str(), "not a field of this OpenAI endpoint"));
        }
    }
    Ok(value)
}

/// Reads the fields of `T` out of a body [`strict`] accepted; a wrong type is a 400 naming its path.
pub(crate) fn typed<T: DeserializeOwned>(body: &Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(body.clone()).map_err(|e| {
        let path = e.path().to_string();
        ApiError::invalid(format!("invalid '{path}': {}", e.inner()), path)
    })
}

/// Stop sequences: one string or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// `stream_options`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamOptions {
    /// Send a last chunk with `usage` and no choices.
    #[serde(default)]
    pub include_usage: bool,
    /// Pad every chunk (an `obfuscation` field) so that its size does not give its text away on an encrypted
    /// connection; OpenAI's default is on.
    pub include_obfuscation: Option<bool>,
}

/// The sampling fields both endpoints take.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct SamplingFields {
    /// Temperature, [0, 2]; OpenAI's default is 1.
    pub temperature: Option<f64>,
    /// Nucleus sampling, [0, 1] (0 keeps only the most likely token).
    pub top_p: Option<f64>,
    /// Stop sequences.
    pub stop: Option<Stop>,
    /// [-2, 2].
    pub frequency_penalty: Option<f32>,
    /// [-2, 2].
    pub presence_penalty: Option<f32>,
    /// Token id (as a string) → bias in [-100, 100].
    pub logit_bias: Option<HashMap<String, f32>>,
    /// Reproducibility: honoured for greedy decoding, which is reproducible by itself.
    pub seed: Option<i64>,
    /// Choices to generate.
    pub n: Option<usize>,
    /// An end-user id (logged with the request, never used for the answer).
    pub user: Option<String>,
    /// Stream with server-sent events.
    pub stream: Option<bool>,
    /// Stream options.
    pub stream_options: Option<StreamOptions>,
}

/// The sampling fields, checked.
#[derive(Debug, Clone)]
pub struct Checked {
    /// What the engine runs each choice with.
    pub sampling: Sampling,
    /// Choices.
    pub n: usize,
    /// Streamed.
    pub stream: bool,
    /// A last chunk with usage (streams).
    pub include_usage: bool,
    /// Pad stream chunks (`stream_options.include_obfuscation`, on unless set false).
    pub obfuscate: bool,
    /// The end-user id.
    pub user: Option<String>,
}

impl SamplingFields {
    /// Checks every field's range; `max_tokens` is the request's limit (checked here), `logprobs` the number
    /// of alternatives asked for (already checked), `vocab_size` the model's (for `logit_bias`).
    pub(crate) fn check(
        self,
        max_tokens: usize,
        logprobs: Option<usize>,
        vocab_size: usize,
    ) -> Result<Checked, ApiError> {
        if max_tokens == 0 || max_tokens > MAX_TOKENS_LIMIT {
            return Err(ApiError::invalid(
                format!("max_tokens must be between 1 and {MAX_TOKENS_LIMIT}"),
                "max_tokens",
            ));
        }
        let temperature = self.temperature.unwrap_or(1.0);
        if !(0.0..=2.0).contains(&temperature) {
            return Err(ApiError::invalid("temperature must be between 0 and 2", "temperature"));
        }
        if self.top_p.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
            return Err(ApiError::invalid("top_p must be between 0 and 1", "top_p"));
        }
        for (name, penalty) in
            [("frequency_penalty", self.frequency_penalty), ("presence_penalty", self.presence_penalty)]
        {
            if penalty.is_some_and(|p| !(-2.0..=2.0).contains(&p)) {
                return Err(ApiError::invalid(format!("{name} must be between -2 and 2"), name));
            }
        }
        let stop = match self.stop {
            None => vec![],
            Some(Stop::One(s)) => vec![s],
            Some(Stop::Many(v)) => v,
        };
        if stop.len() > MAX_STOP_SEQUENCES || stop.iter().any(String::is_empty) {
            return Err(ApiError::invalid(
                format!("stop takes at most {MAX_STOP_SEQUENCES} non-empty sequences"),
                "stop",
            ));
        }
        let mut logit_bias = HashMap::new();
        for (token, bias) in self.logit_bias.unwrap_or_default() {
            let id = token.parse::<u32>().ok().filter(|id| (*id as usize) < vocab_size).ok_or_else(|| {
                ApiError::invalid(format!("'{token}' is not a token id of this model (0..{vocab_size})"), "logit_bias")
            })?;
            if !(-100.0..=100.0).contains(&bias) {
                return Err(ApiError::invalid("a logit bias must be between -100 and 100", "logit_bias"));
            }
            logit_bias.insert(id, bias);
        }
        let greedy = temperature == 0.0 || self.top_p == Some(0.0);
        if self.seed.is_some() && !greedy {
            return Err(ApiError::unsupported(
                "seed",
                "sampling here cannot be seeded; temperature 0 gives reproducible answers",
            ));
        }
        let n = self.n.unwrap_or(1);
        if n == 0 || n > MAX_CHOICES {
            return Err(ApiError::invalid(format!("n must be between 1 and {MAX_CHOICES}"), "n"));
        }
        let stream = self.stream.unwrap_or(false);
        if stream && logprobs.is_some() {
            // mistral.rs streams one token's log-probabilities per chunk and skips the steps whose text it holds
            // back (a split UTF-8 character), so they cannot be matched to tokens reliably.
            return Err(ApiError::unsupported(
                "logprobs",
                "log-probabilities come with whole answers; set stream false",
            ));
        }
        if self.stream_options.is_some() && !stream {
            return Err(ApiError::invalid("stream_options needs stream: true", "stream_options"));
        }
        Ok(Checked {
            sampling: Sampling {
                max_tokens,
                temperature: Some(temperature),
                top_p: self.top_p,
                stop,
                frequency_penalty: self.frequency_penalty,
                presence_penalty: self.presence_penalty,
                logit_bias,
                logprobs,
            },
            n,
            stream,
            include_usage: self.stream_options.as_ref().is_some_and(|o| o.include_usage),
            obfuscate: stream && self.stream_options.and_then(|o| o.include_obfuscation) != Some(false),
            user: self.user,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Probe {
        sampling: SamplingFields,
        max_tokens: Option<usize>,
    }

    #[derive(Debug, Deserialize)]
    struct Limit {
        max_tokens: Option<usize>,
    }

    fn parse(body: &str) -> Result<Probe, ApiError> {
        let value = strict(body.as_bytes(), &["max_tokens"], &[("audio", "text only")])?;
        Ok(Probe { sampling: typed(&value)?, max_tokens: typed::<Limit>(&value)?.max_tokens })
    }

    fn check(body: &str) -> Result<Checked, ApiError> {
        let probe = parse(body)?;
        probe.sampling.check(probe.max_tokens.unwrap_or(16), None, 100)
    }

    fn param(result: Result<impl std::fmt::Debug, ApiError>) -> Option<String> {
        result.err().and_then(|e| e.param)
    }

    #[test]
    fn unknown_refused_and_mistyped_fields_are_named() {
        assert_eq!(param(parse(r#"{"bogus":1}"#)), Some("bogus".into()));
        assert_eq!(param(parse(r#"{"audio":{"voice":"x"}}"#)), Some("audio".into()));
        assert!(parse(r#"{"audio":null}"#).is_ok(), "null is absent");
        assert_eq!(param(parse(r#"{"temperature":"hot"}"#)), Some("temperature".into()));
        assert_eq!(param(parse(r#"{"stream_options":{"include_usage":true,"x":1}}"#)), Some("stream_options.x".into()));
        assert!(parse("[1]").is_err() && parse("{").is_err());
    }

    #[test]
    fn ranges_and_defaults_follow_openai() {
        let defaults = check("{}").expect("defaults");
        assert_eq!((defaults.sampling.temperature, defaults.n, defaults.stream), (Some(1.0), 1, false));
        assert!(check(r#"{"top_p":0}"#).is_ok(), "top_p 0 is allowed");
        assert_eq!(param(check(r#"{"top_p":1.5}"#)), Some("top_p".into()));
        assert_eq!(param(check(r#"{"temperature":2.5}"#)), Some("temperature".into()));
        assert_eq!(param(check(r#"{"presence_penalty":3}"#)), Some("presence_penalty".into()));
        assert_eq!(param(check(r#"{"stop":["a","b","c","d","e"]}"#)), Some("stop".into()));
        assert_eq!(param(check(r#"{"n":9}"#)), Some("n".into()));
        assert_eq!(param(check(r#"{"max_tokens":0}"#)), Some("max_tokens".into()));
        assert_eq!(param(check(r#"{"logit_bias":{"100":1}}"#)), Some("logit_bias".into()), "beyond the vocabulary");
        assert_eq!(param(check(r#"{"logit_bias":{"5":101}}"#)), Some("logit_bias".into()));
        assert_eq!(check(r#"{"logit_bias":{"5":-100}}"#).expect("bias").sampling.logit_bias[&5], -100.0);
        assert_eq!(param(check(r#"{"seed":7}"#)), Some("seed".into()), "sampling cannot be seeded");
        assert!(check(r#"{"seed":7,"temperature":0}"#).is_ok());
        assert_eq!(param(check(r#"{"stream_options":{"include_usage":true}}"#)), Some("stream_options".into()));
        let streamed = check(r#"{"stream":true,"stream_options":{"include_usage":true}}"#).expect("stream");
        let probe = parse(r#"{"stream":true}"#).expect("body");
        assert_eq!(param(probe.sampling.check(16, Some(2), 100)), Some("logprobs".into()));
        assert!(streamed.stream && streamed.include_usage);
    }
}
