//! `POST /v1/chat/completions`: the request, read strictly (see `docs/miner.md`, "The OpenAI surface").

use serde::Deserialize;
use serde_json::Value;

use super::{
    ApiError,
    fields::{Checked, MAX_TOP_LOGPROBS, SamplingFields, strict, typed},
};
use crate::engine::{ChatMessage, ChatOptions, ToolCall, ToolMode, mistralrs};

/// Fields honoured besides the sampling fields (`fields::SAMPLING_FIELDS`).
const HONOURED: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "safety_identifier",
    "prompt_cache_key",
    "logprobs",
    "top_logprobs",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "store",
    "service_tier",
    "modalities",
];

/// Fields refused, with the reason.
const REFUSED: &[(&str, &str)] = &[
    ("audio", "the models served here produce text only"),
    ("functions", "deprecated by OpenAI; send 'tools'"),
    ("function_call", "deprecated by OpenAI; send 'tool_choice'"),
    ("prediction", "predicted outputs are not implemented"),
    ("reasoning_effort", "the models served here have no reasoning modes"),
    ("verbosity", "the models served here have no verbosity setting"),
    ("web_search_options", "a node does not search the web"),
    ("metadata", "stored completions are not kept here ('store' must be false)"),
];

/// The body as sent.
#[derive(Debug, Deserialize)]
struct Body {
    model: String,
    messages: Vec<Message>,
    max_tokens: Option<usize>,
    max_completion_tokens: Option<usize>,
    logprobs: Option<bool>,
    top_logprobs: Option<usize>,
    tools: Option<Vec<ToolDefinition>>,
    tool_choice: Option<ToolChoice>,
    parallel_tool_calls: Option<bool>,
    response_format: Option<ResponseFormat>,
    store: Option<bool>,
    service_tier: Option<String>,
    modalities: Option<Vec<String>>,
    safety_identifier: Option<String>,
    prompt_cache_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Message {
    role: String,
    #[serde(default)]
    content: Option<Content>,
    name: Option<String>,
    tool_calls: Option<Vec<ToolCallMessage>>,
    tool_call_id: Option<String>,
    refusal: Option<String>,
    audio: Option<Value>,
    function_call: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Deserialize)]
struct ContentPart {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
    refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolCallMessage {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    function: CalledFunction,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalledFunction {
    name: String,
    arguments: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolDefinition {
    #[serde(rename = "type")]
    kind: String,
    function: FunctionDefinition,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionDefinition {
    name: String,
    description: Option<String>,
    parameters: Option<serde_json::Map<String, Value>>,
    strict: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ToolChoice {
    Mode(String),
    Named(NamedToolChoice),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedToolChoice {
    #[serde(rename = "type")]
    kind: String,
    function: NamedFunction,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedFunction {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchemaFormat },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSchemaFormat {
    name: String,
    #[allow(dead_code)]
    description: Option<String>,
    schema: Option<Value>,
    strict: Option<bool>,
}

/// A chat request, checked: what the engine runs and how the answer is shaped.
#[derive(Debug, Clone)]
pub struct ChatJob {
    /// Served model name.
    pub model: String,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Tools and constraints.
    pub options: ChatOptions,
    /// Sampling, choices, streaming.
    pub checked: Checked,
    /// Whether the client set a completion limit (otherwise the node fits it to the context).
    pub max_tokens_given: bool,
    /// Whether the answer may hold more than one tool call.
    pub parallel_tool_calls: bool,
}

impl ChatJob {
    /// Reads and checks a request body for a model with `vocab_size` tokens.
    pub fn parse(body: &[u8], vocab_size: usize) -> Result<Self, ApiError> {
        let value = strict(body, HONOURED, REFUSED)?;
        Self::check(typed(&value)?, typed(&value)?, vocab_size)
    }

    /// The served model a body names, read before anything else so a request for an unknown model is a 404.
    pub fn model_of(body: &[u8]) -> Result<String, ApiError> {
        #[derive(Deserialize)]
        struct Named {
            model: String,
        }
        serde_json::from_slice::<Named>(body)
            .map(|n| n.model)
            .map_err(|e| ApiError::malformed(format!("invalid request body: {e}")))
    }

    fn check(body: Body, sampling: SamplingFields, vocab_size: usize) -> Result<Self, ApiError> {
        if body.store == Some(true) {
            return Err(ApiError::unsupported("store", "completions are not stored on a node"));
        }
        if let Some(tier) = body.service_tier.as_deref().filter(|t| !matches!(*t, "auto" | "default")) {
            return Err(ApiError::unsupported("service_tier", format!("'{tier}': a node has one tier")));
        }
        if body.modalities.as_ref().is_some_and(|m| m.iter().any(|m| m != "text")) {
            return Err(ApiError::unsupported("modalities", "the models served here produce text only"));
        }
        let logprobs = match (body.logprobs.unwrap_or(false), body.top_logprobs) {
            (_, Some(top)) if top > MAX_TOP_LOGPROBS => {
                return Err(ApiError::invalid(
                    format!("top_logprobs must be between 0 and {MAX_TOP_LOGPROBS}"),
                    "top_logprobs",
                ));
            }
            (false, Some(_)) => return Err(ApiError::invalid("top_logprobs needs logprobs: true", "top_logprobs")),
            (true, top) => Some(top.unwrap_or(0)),
            (false, None) => None,
        };
        let max_tokens = match (body.max_completion_tokens, body.max_tokens) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "send max_completion_tokens or max_tokens (its older name), not both",
                    "max_tokens",
                ));
            }
            (limit, older) => limit.or(older),
        };
        let max_tokens_given = max_tokens.is_some();
        let mut checked = sampling.check(max_tokens.unwrap_or(super::MAX_TOKENS_LIMIT), logprobs, vocab_size)?;
        if checked.user.is_none() {
            checked.user = body.safety_identifier;
        }
        let _ = body.prompt_cache_key; // prompts' prefixes are cached by the engine whatever the key
        let messages = messages(body.messages)?;
        let options = options(body.tools, body.tool_choice, body.response_format)?;
        Ok(Self {
            model: body.model,
            messages,
            options,
            checked,
            max_tokens_given,
            parallel_tool_calls: body.parallel_tool_calls.unwrap_or(true),
        })
    }
}

fn messages(messages: Vec<Message>) -> Result<Vec<ChatMessage>, ApiError> {
    if messages.is_empty() {
        return Err(ApiError::invalid("messages must not be empty", "messages"));
    }
    messages
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let at = |field: &str| format!("messages[{i}].{field}");
            if !matches!(m.role.as_str(), "system" | "developer" | "user" | "assistant" | "tool") {
                return Err(ApiError::invalid(
                    format!("role '{}' is not one of system, developer, user, assistant, tool", m.role),
                    at("role"),
                ));
            }
            if m.audio.is_some() {
                return Err(ApiError::unsupported(at("audio"), "the models served here take text only"));
            }
            if m.function_call.is_some() {
                return Err(ApiError::unsupported(at("function_call"), "deprecated by OpenAI; send 'tool_calls'"));
            }
            let assistant = m.role == "assistant";
            let content = match m.content {
                Some(Content::Text(text)) => text,
                Some(Content::Parts(parts)) => {
                    let mut text = String::new();
                    for (j, part) in parts.into_iter().enumerate() {
                        match (part.kind.as_str(), part.text, part.refusal) {
                            ("text", Some(t), None) => text.push_str(&t),
                            ("refusal", None, Some(r)) if assistant => text.push_str(&r),
                            (kind, _, _) => {
                                return Err(ApiError::unsupported(
                                    format!("messages[{i}].content[{j}]"),
                                    format!("content parts of type '{kind}' (the models served here read text)"),
                                ));
                            }
                        }
                    }
                    text
                }
                None if assistant => String::new(),
                None => return Err(ApiError::invalid("content is required", at("content"))),
            };
            let content = match m.refusal {
                Some(refusal) if assistant && content.is_empty() => refusal,
                Some(_) if !assistant => return Err(ApiError::invalid("only assistant turns refuse", at("refusal"))),
                _ => content,
            };
            let tool_calls = match m.tool_calls {
                Some(_) if !assistant => {
                    return Err(ApiError::invalid("only assistant turns call tools", at("tool_calls")));
                }
                Some(calls) => calls
                    .into_iter()
                    .map(|c| match c.kind.as_str() {
                        "function" => Ok(ToolCall { id: c.id, name: c.function.name, arguments: c.function.arguments }),
                        other => Err(ApiError::invalid(format!("tool call type '{other}'"), at("tool_calls"))),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                None => vec![],
            };
            let tool_call_id = match (m.role.as_str(), m.tool_call_id) {
                ("tool", None) => return Err(ApiError::invalid("a tool message answers a call", at("tool_call_id"))),
                ("tool", id) => id,
                (_, Some(_)) => return Err(ApiError::invalid("only tool messages answer calls", at("tool_call_id"))),
                (_, None) => None,
            };
            Ok(ChatMessage { role: m.role, content, name: m.name, tool_calls, tool_call_id })
        })
        .collect()
}

fn options(
    tools: Option<Vec<ToolDefinition>>,
    choice: Option<ToolChoice>,
    format: Option<ResponseFormat>,
) -> Result<ChatOptions, ApiError> {
    let tools = tools
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let name_ok = |n: &str| {
                (1..=64).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            };
            if t.kind != "function" {
                return Err(ApiError::invalid(format!("tool type '{}'", t.kind), format!("tools[{i}].type")));
            }
            if !name_ok(&t.function.name) {
                return Err(ApiError::invalid(
                    "a function name is 1 to 64 letters, digits, '_' or '-'",
                    format!("tools[{i}].function.name"),
                ));
            }
            let _ = t.function.strict; // see `docs/miner.md`: enforced by grammar when the call is forced
            Ok(mistralrs::Tool {
                tp: mistralrs::ToolType::Function,
                function: mistralrs::Function {
                    description: t.function.description,
                    name: t.function.name,
                    parameters: t.function.parameters.map(|p| p.into_iter().collect()),
                },
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let tool_mode = match choice {
        None => ToolMode::Auto,
        Some(ToolChoice::Mode(mode)) => match mode.as_str() {
            "auto" => ToolMode::Auto,
            "none" => ToolMode::None,
            "required" => ToolMode::Required,
            other => {
                return Err(ApiError::invalid(
                    format!("'{other}' is not none, auto, required or a named function"),
                    "tool_choice",
                ));
            }
        },
        Some(ToolChoice::Named(named)) if named.kind == "function" => ToolMode::Named(named.function.name),
        Some(ToolChoice::Named(named)) => {
            return Err(ApiError::invalid(format!("tool choice type '{}'", named.kind), "tool_choice"));
        }
    };
    let json_schema = match format {
        None | Some(ResponseFormat::Text) => None,
        Some(ResponseFormat::JsonObject) => Some(serde_json::json!({"type": "object"})),
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let _ = (json_schema.name, json_schema.strict); // the grammar enforces the schema either way
            Some(json_schema.schema.unwrap_or_else(|| serde_json::json!({})))
        }
    };
    let options = ChatOptions { tools, tool_mode, json_schema };
    options.constraint().map_err(|e| {
        let param =
            if matches!(e, crate::engine::OptionsError::TwoConstraints) { "response_format" } else { "tool_choice" };
        ApiError::invalid(e.to_string(), param)
    })?;
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<ChatJob, ApiError> {
        ChatJob::parse(&serde_json::to_vec(&body).expect("json"), 300)
    }

    fn param(body: Value) -> Option<String> {
        parse(body).err().and_then(|e| e.param)
    }

    #[test]
    fn an_agents_second_turn_is_read_whole() {
        let job = parse(serde_json::json!({
            "model": "m",
            "messages": [
                {"role": "developer", "content": "use tools"},
                {"role": "user", "content": [{"type": "text", "text": "weather in "}, {"type": "text", "text": "Oslo?"}]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call-1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
                {"role": "tool", "tool_call_id": "call-1", "content": "sunny"}
            ],
            "tools": [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}, "strict": true}}],
            "tool_choice": "auto", "parallel_tool_calls": false
        }))
        .expect("an agent's second turn");
        assert_eq!(job.messages[1].content, "weather in Oslo?");
        assert_eq!(job.messages[2].tool_calls[0].name, "weather");
        assert_eq!(job.messages[3].tool_call_id.as_deref(), Some("call-1"));
        assert_eq!((job.options.tools.len(), job.parallel_tool_calls, job.max_tokens_given), (1, false, false));
    }

    #[test]
    fn what_is_not_honoured_is_refused_by_name() {
        let base = || serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        let with = |key: &str, value: Value| {
            let mut body = base();
            body[key] = value;
            param(body)
        };
        assert_eq!(param(base()), None);
        assert_eq!(with("audio", serde_json::json!({"voice": "alloy"})), Some("audio".into()));
        assert_eq!(with("functions", serde_json::json!([])), Some("functions".into()));
        assert_eq!(with("reasoning_effort", "low".into()), Some("reasoning_effort".into()));
        assert_eq!(with("frobnicate", 1.into()), Some("frobnicate".into()));
        assert_eq!(with("store", true.into()), Some("store".into()));
        assert_eq!(with("store", false.into()), None);
        assert_eq!(with("service_tier", "flex".into()), Some("service_tier".into()));
        assert_eq!(with("modalities", serde_json::json!(["text", "audio"])), Some("modalities".into()));
        assert_eq!(with("top_logprobs", 3.into()), Some("top_logprobs".into()), "needs logprobs");
        assert_eq!(with("tool_choice", "required".into()), Some("tool_choice".into()), "needs tools");
        assert_eq!(
            with("response_format", serde_json::json!({"type": "grammar"})),
            Some("response_format.type".into())
        );
        let image =
            serde_json::json!([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]);
        assert_eq!(with("messages", image), Some("messages[0].content[0]".into()));
        let function = serde_json::json!([{"role": "function", "content": "x"}]);
        assert_eq!(with("messages", function), Some("messages[0].role".into()));
        let orphan = serde_json::json!([{"role": "tool", "content": "x"}]);
        assert_eq!(with("messages", orphan), Some("messages[0].tool_call_id".into()));
        let mut both = base();
        both["max_tokens"] = 5.into();
        both["max_completion_tokens"] = 5.into();
        assert_eq!(param(both), Some("max_tokens".into()));
    }

    #[test]
    fn response_formats_and_forced_calls_become_constraints() {
        let body = |extra: Value| {
            let mut body = serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
            body.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
            parse(body)
        };
        let json = body(serde_json::json!({"response_format": {"type": "json_object"}})).expect("json mode");
        let constraint = json.options.constraint().ok().flatten();
        assert_eq!(constraint.as_ref().map(|c| &c["type"]), Some(&serde_json::json!("object")));
        let schema = serde_json::json!({"type": "object", "properties": {"a": {"type": "integer"}}});
        let typed = body(serde_json::json!({"response_format": {"type": "json_schema",
            "json_schema": {"name": "x", "schema": schema, "strict": true}}}))
        .expect("json schema");
        assert_eq!(typed.options.json_schema, Some(schema));
        let tools = serde_json::json!([{"type": "function", "function": {"name": "f"}}]);
        let named = body(serde_json::json!({"tools": tools,
            "tool_choice": {"type": "function", "function": {"name": "f"}}}))
        .expect("named");
        assert_eq!(named.options.tool_mode, ToolMode::Named("f".into()));
        let clash = body(serde_json::json!({"tools": tools, "tool_choice": "required",
            "response_format": {"type": "json_object"}}));
        assert_eq!(clash.err().and_then(|e| e.param), Some("response_format".into()));
    }
}
