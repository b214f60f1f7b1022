//! `POST /v1/completions` (the legacy text completions API), read strictly.

use serde::Deserialize;

use super::{
    ApiError,
    fields::{Checked, SamplingFields, strict, typed},
};

/// Fields honoured besides the sampling fields (`fields::SAMPLING_FIELDS`).
const HONOURED: &[&str] = &["model", "prompt", "max_tokens", "best_of", "echo", "logprobs", "suffix"];

/// Fields refused, with the reason.
const REFUSED: &[(&str, &str)] = &[];

/// OpenAI's default `max_tokens` for completions.
pub const DEFAULT_COMPLETION_TOKENS: usize = 16;
/// Most `logprobs` alternatives (OpenAI's limit for completions).
pub const MAX_COMPLETION_LOGPROBS: usize = 5;
/// Most prompts in one request.
pub const MAX_PROMPTS: usize = 16;

#[derive(Debug, Deserialize)]
struct Body {
    model: String,
    prompt: Prompt,
    max_tokens: Option<usize>,
    best_of: Option<usize>,
    echo: Option<bool>,
    logprobs: Option<usize>,
    suffix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Prompt {
    One(String),
    Many(Vec<String>),
    /// Token ids, or anything else.
    Other(serde::de::IgnoredAny),
}

/// A completions request, checked.
#[derive(Debug, Clone)]
pub struct CompletionJob {
    /// Served model name.
    pub model: String,
    /// Prompts, each answered with `n` choices (choice `i * n + j` answers prompt `i`).
    pub prompts: Vec<String>,
    /// Repeat the prompt before each answer.
    pub echo: bool,
    /// Sampling, choices, streaming.
    pub checked: Checked,
}

impl CompletionJob {
    /// Reads and checks a request body for a model with `vocab_size` tokens.
    pub fn parse(body: &[u8], vocab_size: usize) -> Result<Self, ApiError> {
        let value = strict(body, HONOURED, REFUSED)?;
        let (body, sampling): (Body, SamplingFields) = (typed(&value)?, typed(&value)?);
        let prompts = match body.prompt {
            Prompt::One(p) => vec![p],
            Prompt::Many(p) => p,
            Prompt::Other(_) => {
                return Err(ApiError::unsupported("prompt", "prompts other than text (send a string or strings)"));
            }
        };
        if prompts.is_empty() || prompts.len() > MAX_PROMPTS {
            return Err(ApiError::invalid(format!("between 1 and {MAX_PROMPTS} prompts"), "prompt"));
        }
        if body.suffix.is_some_and(|s| !s.is_empty()) {
            return Err(ApiError::unsupported("suffix", "insertion needs a fill-in-the-middle model"));
        }
        let logprobs = match body.logprobs {
            Some(n) if n > MAX_COMPLETION_LOGPROBS => {
                return Err(ApiError::invalid(
                    format!("logprobs must be between 0 and {MAX_COMPLETION_LOGPROBS}"),
                    "logprobs",
                ));
            }
            other => other,
        };
        let checked = sampling.check(body.max_tokens.unwrap_or(DEFAULT_COMPLETION_TOKENS), logprobs, vocab_size)?;
        // best_of > n would generate candidates server-side and return the best: not implemented.
        if body.best_of.is_some_and(|best| best != checked.n) {
            return Err(ApiError::unsupported("best_of", "only best_of equal to n (every candidate returned)"));
        }
        if checked.n * prompts.len() > super::fields::MAX_CHOICES {
            return Err(ApiError::invalid(
                format!("n times the prompts must be at most {}", super::fields::MAX_CHOICES),
                "n",
            ));
        }
        Ok(Self { model: body.model, prompts, echo: body.echo.unwrap_or(false), checked })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: serde_json::Value) -> Result<CompletionJob, ApiError> {
        CompletionJob::parse(&serde_json::to_vec(&body).expect("json"), 300)
    }

    #[test]
    fn prompts_defaults_and_refusals() {
        let job = parse(serde_json::json!({"model": "m", "prompt": ["a", "b"], "echo": true, "logprobs": 2}))
            .expect("two prompts");
        assert_eq!((job.prompts.len(), job.echo, job.checked.sampling.max_tokens), (2, true, 16));
        assert_eq!(job.checked.sampling.logprobs, Some(2));
        let param = |body: serde_json::Value| parse(body).err().and_then(|e| e.param);
        assert_eq!(param(serde_json::json!({"model": "m", "prompt": [1, 2]})), Some("prompt".into()));
        assert_eq!(param(serde_json::json!({"model": "m", "prompt": "a", "suffix": "z"})), Some("suffix".into()));
        assert_eq!(param(serde_json::json!({"model": "m", "prompt": "a", "best_of": 3})), Some("best_of".into()));
        assert_eq!(param(serde_json::json!({"model": "m", "prompt": "a", "logprobs": 6})), Some("logprobs".into()));
        assert_eq!(param(serde_json::json!({"model": "m", "prompt": "a", "messages": []})), Some("messages".into()));
        assert_eq!(param(serde_json::json!({"model": "m", "prompt": vec!["a"; 3], "n": 3})), Some("n".into()));
    }
}
