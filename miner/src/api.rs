//! OpenAI wire types the server accepts and the errors it returns.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;

use crate::engine::{ChatMessage, Sampling};

/// Completion tokens when a request sets no `max_tokens`.
pub const DEFAULT_MAX_TOKENS: usize = 256;
/// Largest `max_tokens` accepted.
pub const MAX_TOKENS_LIMIT: usize = 8192;

/// Message content: a string, or an array of parts of which the text parts are used.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Content parts.
    Parts(Vec<ContentPart>),
}

/// One content part.
#[derive(Debug, Deserialize)]
pub struct ContentPart {
    /// Part type (`text` is supported).
    #[serde(rename = "type")]
    pub kind: String,
    /// Text of a `text` part.
    #[serde(default)]
    pub text: Option<String>,
}

/// One message of a chat request.
#[derive(Debug, Deserialize)]
pub struct Message {
    /// Role.
    pub role: String,
    /// Content.
    pub content: Content,
}

/// Stop sequences: one string or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// `POST /v1/chat/completions` body (fields the engine does not support are ignored, as OpenAI-compatible
/// servers commonly do).
#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    /// Served model name.
    pub model: String,
    /// Conversation.
    pub messages: Vec<Message>,
    /// Completion token limit.
    pub max_tokens: Option<usize>,
    /// Newer name of the same limit.
    pub max_completion_tokens: Option<usize>,
    /// Temperature.
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Stop sequences.
    pub stop: Option<Stop>,
    /// Stream with server-sent events.
    #[serde(default)]
    pub stream: bool,
}

/// `POST /v1/completions` body.
#[derive(Debug, Deserialize)]
pub struct CompletionRequest {
    /// Served model name.
    pub model: String,
    /// Prompt text.
    pub prompt: String,
    /// Completion token limit.
    pub max_tokens: Option<usize>,
    /// Temperature.
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Stop sequences.
    pub stop: Option<Stop>,
}

fn sampling(
    max: Option<usize>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    stop: Option<Stop>,
) -> Result<Sampling, ApiError> {
    let max_tokens = max.unwrap_or(DEFAULT_MAX_TOKENS);
    if max_tokens == 0 || max_tokens > MAX_TOKENS_LIMIT {
        return Err(ApiError::invalid(format!("max_tokens must be between 1 and {MAX_TOKENS_LIMIT}"), "max_tokens"));
    }
    if temperature.is_some_and(|t| !(0.0..=2.0).contains(&t)) {
        return Err(ApiError::invalid("temperature must be between 0 and 2", "temperature"));
    }
    if top_p.is_some_and(|p| p <= 0.0 || p > 1.0) {
        return Err(ApiError::invalid("top_p must be in (0, 1]", "top_p"));
    }
    let stop = match stop {
        None => vec![],
        Some(Stop::One(s)) => vec![s],
        Some(Stop::Many(v)) => v,
    };
    Ok(Sampling { max_tokens, temperature, top_p, stop })
}

impl ChatRequest {
    /// The messages as engine input.
    pub fn messages(&self) -> Result<Vec<ChatMessage>, ApiError> {
        if self.messages.is_empty() {
            return Err(ApiError::invalid("messages must not be empty", "messages"));
        }
        self.messages
            .iter()
            .map(|m| {
                let content = match &m.content {
                    Content::Text(t) => t.clone(),
                    Content::Parts(parts) => {
                        if let Some(p) = parts.iter().find(|p| p.kind != "text") {
                            return Err(ApiError::invalid(
                                format!("content part type '{}' is not supported", p.kind),
                                "messages",
                            ));
                        }
                        parts.iter().filter_map(|p| p.text.clone()).collect::<Vec<_>>().join("")
                    }
                };
                Ok(ChatMessage { role: m.role.clone(), content })
            })
            .collect()
    }

    /// Sampling options.
    pub fn sampling(&mut self) -> Result<Sampling, ApiError> {
        sampling(self.max_completion_tokens.or(self.max_tokens), self.temperature, self.top_p, self.stop.take())
    }
}

impl CompletionRequest {
    /// Sampling options.
    pub fn sampling(&mut self) -> Result<Sampling, ApiError> {
        sampling(self.max_tokens, self.temperature, self.top_p, self.stop.take())
    }
}

/// An OpenAI-style error response: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Human-readable message.
    pub message: String,
    /// OpenAI error type.
    pub kind: &'static str,
    /// Offending parameter.
    pub param: Option<&'static str>,
    /// Machine-readable code.
    pub code: &'static str,
}

impl ApiError {
    /// 400 for a bad parameter.
    pub fn invalid(message: impl Into<String>, param: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param: Some(param),
            code: "invalid_value",
        }
    }

    /// 400 for a prompt that, with `max_tokens`, does not fit the model's context.
    pub fn context_length_exceeded(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param: Some("messages"),
            code: "context_length_exceeded",
        }
    }

    /// 429 when a user already has as many requests running here as the node allows.
    pub fn too_many_requests(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: message.into(),
            kind: "rate_limit_error",
            param: None,
            code: "rate_limit_exceeded",
        }
    }

    /// 400 for an unparsable body.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param: None,
            code: "invalid_json",
        }
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
            kind: "invalid_request_error",
            param: None,
            code: "invalid_api_key",
        }
    }

    /// 402.
    pub fn payment_required(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::PAYMENT_REQUIRED,
            message: message.into(),
            kind: "insufficient_quota",
            param: None,
            code: "insufficient_quota",
        }
    }

    /// 404 for an unknown model.
    pub fn model_not_found(model: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: format!("the model '{model}' is not served here"),
            kind: "invalid_request_error",
            param: Some("model"),
            code: "model_not_found",
        }
    }

    /// 503 when a dependency (chain, engine) is unavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
            kind: "server_error",
            param: None,
            code: "service_unavailable",
        }
    }

    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            kind: "server_error",
            param: None,
            code: "internal_error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            json!({"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}});
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_string_and_part_contents() -> Result<(), Box<dyn std::error::Error>> {
        let req: ChatRequest = serde_json::from_str(
            r#"{"model":"m","messages":[{"role":"system","content":"be brief"},
                {"role":"user","content":[{"type":"text","text":"hi "},{"type":"text","text":"there"}]}]}"#,
        )?;
        let messages = req.messages().map_err(|e| e.message)?;
        assert_eq!(messages[1].content, "hi there");
        Ok(())
    }

    #[test]
    fn validates_sampling() -> Result<(), serde_json::Error> {
        let mut req: ChatRequest = serde_json::from_str(r#"{"model":"m","messages":[],"max_tokens":0}"#)?;
        assert_eq!(req.sampling().err().map(|e| e.param), Some(Some("max_tokens")));
        assert!(req.messages().is_err());
        let mut req: ChatRequest = serde_json::from_str(r#"{"model":"m","messages":[],"temperature":3}"#)?;
        assert_eq!(req.sampling().err().map(|e| e.status), Some(StatusCode::BAD_REQUEST));
        let mut req: ChatRequest =
            serde_json::from_str(r#"{"model":"m","messages":[],"stop":"x","max_completion_tokens":5}"#)?;
        let s = req.sampling().map_err(|e| serde_json::Error::io(std::io::Error::other(e.message)))?;
        assert_eq!((s.max_tokens, s.stop), (5, vec!["x".to_string()]));
        Ok(())
    }
}
