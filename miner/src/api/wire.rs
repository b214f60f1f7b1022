//! The response bodies, in OpenAI's shapes: built from mistral.rs's answers, whose own shapes differ in places
//! typed clients check (a `finish_reason` of `"canceled"`, top log-probabilities keyed by token id, a stream
//! chunk's log-probabilities not wrapped in `content`, completions' log-probabilities in the chat format).

use serde::Serialize;

use crate::engine::{ToolCall, mistralrs};

/// `usage`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
}

impl Usage {
    /// Usage of `prompt` and `completion` tokens.
    pub fn new(prompt: u64, completion: u64) -> Self {
        Self { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
    }
}

/// OpenAI's finish reasons from mistral.rs's: `stop`, `length`, `tool_calls`; a sequence mistral.rs cancelled
/// (its client went away, or the engine shut down) was cut short, which typed clients know as `length`.
pub fn finish_reason(engine: &str, called_tools: bool) -> &'static str {
    match engine {
        _ if called_tools => "tool_calls",
        "length" | "canceled" => "length",
        _ => "stop",
    }
}

/// One token's log-probability (chat format).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenLogprob {
    /// The token's text.
    pub token: String,
    /// Its log-probability.
    pub logprob: f32,
    /// Its UTF-8 bytes.
    pub bytes: Vec<u8>,
    /// The most likely tokens at this position.
    pub top_logprobs: Vec<TopLogprob>,
}

/// One alternative at a position.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopLogprob {
    /// The token's text.
    pub token: String,
    /// Its log-probability.
    pub logprob: f32,
    /// Its UTF-8 bytes.
    pub bytes: Vec<u8>,
}

impl From<&mistralrs::core::ResponseLogprob> for TokenLogprob {
    fn from(lp: &mistralrs::core::ResponseLogprob) -> Self {
        let top = |t: &mistralrs::TopLogprob| {
            let token = t.bytes.clone().unwrap_or_default();
            TopLogprob { bytes: token.as_bytes().to_vec(), token, logprob: t.logprob }
        };
        Self {
            bytes: lp.bytes.clone().unwrap_or_else(|| lp.token.as_bytes().to_vec()),
            token: lp.token.clone(),
            logprob: lp.logprob,
            top_logprobs: lp.top_logprobs.iter().map(top).collect(),
        }
    }
}

/// A chat choice's `logprobs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatLogprobs {
    /// Per generated token.
    pub content: Vec<TokenLogprob>,
    /// Always null (the models served here do not refuse through a separate channel).
    pub refusal: Option<Vec<TokenLogprob>>,
}

/// A tool call in an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCallOut {
    /// Index among the answer's calls (stream deltas need it; OpenAI sends it there only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// Call id.
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The call.
    pub function: FunctionOut,
}

/// The function a call names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionOut {
    /// Name.
    pub name: String,
    /// Arguments, a JSON text.
    pub arguments: String,
}

impl ToolCallOut {
    /// A call, numbered for a stream delta when `index` is given.
    pub fn new(call: &ToolCall, index: Option<usize>) -> Self {
        Self {
            index,
            id: call.id.clone(),
            kind: "function",
            function: FunctionOut { name: call.name.clone(), arguments: call.arguments.clone() },
        }
    }
}

/// Tool calls of an engine answer, in the engine-independent form; `parallel` false keeps only the first.
pub fn tool_calls(calls: Option<&Vec<mistralrs::ToolCallResponse>>, parallel: bool) -> Vec<ToolCall> {
    let calls = calls.map(Vec::as_slice).unwrap_or_default();
    let keep = if parallel { calls.len() } else { calls.len().min(1) };
    calls[..keep]
        .iter()
        .map(|c| ToolCall { id: c.id.clone(), name: c.function.name.clone(), arguments: c.function.arguments.clone() })
        .collect()
}

/// The assistant's message in a chat choice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssistantMessage {
    /// Always `assistant`.
    pub role: &'static str,
    /// The text (null when the answer only calls tools).
    pub content: Option<String>,
    /// Always null.
    pub refusal: Option<String>,
    /// Tool calls.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallOut>,
}

/// A chat choice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatChoice {
    /// Index.
    pub index: usize,
    /// The answer.
    pub message: AssistantMessage,
    /// Log-probabilities, when asked for.
    pub logprobs: Option<ChatLogprobs>,
    /// Why generation ended.
    pub finish_reason: &'static str,
}

/// `chat.completion`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatCompletion {
    /// Response id.
    pub id: String,
    /// Always `chat.completion`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// The served model name.
    pub model: String,
    /// The node's build and model (answers with the same fingerprint and a greedy request are identical).
    pub system_fingerprint: String,
    /// Choices.
    pub choices: Vec<ChatChoice>,
    /// Token counts.
    pub usage: Usage,
}

/// A stream delta.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Delta {
    /// `assistant` on a choice's first chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    /// Text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Tool calls.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallOut>,
}

/// A chunk's choice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkChoice {
    /// Index.
    pub index: usize,
    /// What this chunk adds.
    pub delta: Delta,
    /// Log-probabilities of the chunk's tokens.
    pub logprobs: Option<ChatLogprobs>,
    /// Set on a choice's last chunk.
    pub finish_reason: Option<&'static str>,
}

/// `chat.completion.chunk`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatChunk {
    /// Response id (the same on every chunk).
    pub id: String,
    /// Always `chat.completion.chunk`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// The served model name.
    pub model: String,
    /// As in [`ChatCompletion`].
    pub system_fingerprint: String,
    /// Choices (none on the usage chunk).
    pub choices: Vec<ChunkChoice>,
    /// Set on the last chunk only.
    pub usage: Option<Usage>,
}

/// A completions choice's `logprobs` (the legacy format).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CompletionLogprobs {
    /// Generated tokens.
    pub tokens: Vec<String>,
    /// Their log-probabilities.
    pub token_logprobs: Vec<f32>,
    /// The most likely tokens at each position, token → log-probability.
    pub top_logprobs: Vec<std::collections::BTreeMap<String, f32>>,
    /// Each token's offset in the choice's text.
    pub text_offset: Vec<usize>,
}

impl CompletionLogprobs {
    /// Appends `tokens` whose text starts at byte `offset` of the choice's text.
    pub fn extend(&mut self, tokens: &[mistralrs::core::ResponseLogprob], mut offset: usize) {
        for lp in tokens {
            self.tokens.push(lp.token.clone());
            self.token_logprobs.push(lp.logprob);
            self.top_logprobs
                .push(lp.top_logprobs.iter().map(|t| (t.bytes.clone().unwrap_or_default(), t.logprob)).collect());
            self.text_offset.push(offset);
            offset += lp.token.len();
        }
    }
}

/// A completions choice (also a stream chunk's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompletionChoice {
    /// Text.
    pub text: String,
    /// Index.
    pub index: usize,
    /// Log-probabilities, when asked for.
    pub logprobs: Option<CompletionLogprobs>,
    /// Why generation ended (null on a stream's earlier chunks).
    pub finish_reason: Option<&'static str>,
}

/// `text_completion` (a whole answer, or one stream chunk).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Completion {
    /// Response id.
    pub id: String,
    /// Always `text_completion`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// The served model name.
    pub model: String,
    /// As in [`ChatCompletion`].
    pub system_fingerprint: String,
    /// Choices.
    pub choices: Vec<CompletionChoice>,
    /// Token counts (a stream's last chunk only).
    pub usage: Option<Usage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons_are_openais() {
        assert_eq!(finish_reason("stop", false), "stop");
        assert_eq!(finish_reason("eos", false), "stop");
        assert_eq!(finish_reason("length", false), "length");
        assert_eq!(finish_reason("canceled", false), "length");
        assert_eq!(finish_reason("stop", true), "tool_calls");
    }

    #[test]
    fn a_tool_only_answer_has_null_content_and_no_index() {
        let call = ToolCall { id: "call-1".into(), name: "f".into(), arguments: "{}".into() };
        let message = AssistantMessage {
            role: "assistant",
            content: None,
            refusal: None,
            tool_calls: vec![ToolCallOut::new(&call, None)],
        };
        let json = serde_json::to_value(&message).expect("json");
        assert!(json["content"].is_null());
        assert_eq!(json["tool_calls"][0]["type"], "function");
        assert!(json["tool_calls"][0].get("index").is_none());
    }
}
