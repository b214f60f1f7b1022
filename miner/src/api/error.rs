//! The OpenAI error body every refusal carries: `{"error": {"message", "type", "param", "code"}}`.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

/// An OpenAI-style error response: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Human-readable message.
    pub message: String,
    /// OpenAI error type.
    pub kind: &'static str,
    /// Offending parameter (a path such as `messages[1].content`).
    pub param: Option<String>,
    /// Machine-readable code.
    pub code: &'static str,
}

impl ApiError {
    /// 400 for a bad parameter.
    pub fn invalid(message: impl Into<String>, param: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param: Some(param.into()),
            code: "invalid_value",
        }
    }

    /// 400 for a field of the OpenAI API this node does not honour: named, with the reason.
    pub fn unsupported(param: impl Into<String>, why: impl std::fmt::Display) -> Self {
        let param = param.into();
        Self {
            status: StatusCode::BAD_REQUEST,
            message: format!("'{param}' is not supported by this node: {why}"),
            kind: "invalid_request_error",
            param: Some(param),
            code: "unsupported_parameter",
        }
    }

    /// 400 for a prompt that, with `max_tokens`, does not fit the model's context.
    pub fn context_length_exceeded(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param: Some("messages".into()),
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
            param: Some("model".into()),
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
