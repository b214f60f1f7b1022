//! Chat requests as the engine takes them: messages (with the tool calls of earlier turns), the tools a model
//! may call, and constraints on what it writes (a JSON schema, a forced tool call).
//!
//! mistral.rs renders messages through the model's own chat template, so each message is handed over with the
//! keys chat templates read (`role`, `content`, `name`, `tool_calls`, `tool_call_id`); OpenAI's `developer` role
//! is the `system` role of every open model's template.

use either::Either;
use indexmap::IndexMap;
use mistralrs::{MessageContent, Tool, ToolChoice};
use serde_json::{Value, json};

/// One chat message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatMessage {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    pub role: String,
    /// Text content (empty for an assistant turn that only called tools).
    pub content: String,
    /// The participant's name, for templates that render it.
    pub name: Option<String>,
    /// Tools an assistant turn called.
    pub tool_calls: Vec<ToolCall>,
    /// The call a `tool` message answers.
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A plain text message.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self { role: role.into(), content: content.into(), ..Self::default() }
    }
}

/// A tool call, as a model made it and a client sends it back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToolCall {
    /// The call's id (`tool` messages answer it).
    pub id: String,
    /// The function called.
    pub name: String,
    /// Its arguments, a JSON text.
    pub arguments: String,
}

/// Whether and how the model calls tools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ToolMode {
    /// The model decides (tool calls in its answer are parsed out).
    #[default]
    Auto,
    /// The model does not call tools (they stay in the prompt).
    None,
    /// The model must call one of the tools: its output is constrained to a call.
    Required,
    /// The model must call this tool.
    Named(String),
}

/// What a chat request asks of the model beyond sampling.
#[derive(Debug, Clone, Default)]
pub struct ChatOptions {
    /// Tools the model may call.
    pub tools: Vec<Tool>,
    /// Whether it calls them.
    pub tool_mode: ToolMode,
    /// A JSON schema the answer must match (OpenAI's `response_format`).
    pub json_schema: Option<Value>,
}

/// Why chat options cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// A forced tool call needs tools.
    #[error("tool_choice requires tools")]
    NoTools,
    /// The named tool is not among the tools.
    #[error("tool_choice names '{0}', which is not among the tools")]
    UnknownTool(String),
    /// A forced tool call and a response format both constrain the answer.
    #[error("response_format cannot be combined with a forced tool call")]
    TwoConstraints,
}

impl ChatOptions {
    /// The tool choice mistral.rs parses answers with.
    pub(crate) fn tool_choice(&self) -> Option<ToolChoice> {
        match self.tool_mode {
            _ if self.tools.is_empty() => None,
            ToolMode::None => Some(ToolChoice::None),
            ToolMode::Auto | ToolMode::Required | ToolMode::Named(_) => Some(ToolChoice::Auto),
        }
    }

    /// The tools for the chat template, if any.
    pub(crate) fn template_tools(&self) -> Option<Vec<Tool>> {
        (!self.tools.is_empty()).then(|| self.tools.clone())
    }

    /// The JSON schema the output is constrained to: the response format's, or, for a forced tool call, the
    /// shape mistral.rs parses as a call (`{"name": …, "arguments": {…}}`) for the allowed tools.
    pub fn constraint(&self) -> Result<Option<Value>, OptionsError> {
        let call = |tool: &Tool| {
            let parameters = tool
                .function
                .parameters
                .as_ref()
                .map(|p| Value::Object(p.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
                .unwrap_or_else(|| json!({"type": "object"}));
            json!({
                "type": "object",
                "properties": {"name": {"const": tool.function.name}, "arguments": parameters},
                "required": ["name", "arguments"],
                "additionalProperties": false,
            })
        };
        let forced = match &self.tool_mode {
            ToolMode::Auto | ToolMode::None => None,
            ToolMode::Required if self.tools.is_empty() => return Err(OptionsError::NoTools),
            ToolMode::Required => Some(json!({"anyOf": self.tools.iter().map(call).collect::<Vec<_>>()})),
            ToolMode::Named(name) => {
                let tool = self
                    .tools
                    .iter()
                    .find(|t| &t.function.name == name)
                    .ok_or_else(|| OptionsError::UnknownTool(name.clone()))?;
                Some(call(tool))
            }
        };
        let schema = match (forced, &self.json_schema) {
            (Some(_), Some(_)) => return Err(OptionsError::TwoConstraints),
            (Some(forced), None) => Some(forced),
            (None, schema) => schema.clone(),
        };
        Ok(schema.map(compact))
    }
}

/// Asks llguidance (mistral.rs's grammar engine) for compact JSON, unless the schema says otherwise: with
/// flexible whitespace a model may pad between tokens until `max_tokens` runs out, which a weak or noisy model
/// does, and the answer never closes.
fn compact(mut schema: Value) -> Value {
    if let Some(object) = schema.as_object_mut() {
        object.entry("x-guidance").or_insert_with(|| json!({"whitespace_flexible": false}));
    }
    schema
}

/// The messages as mistral.rs's chat template input.
pub(crate) fn template_messages(messages: &[ChatMessage]) -> Vec<IndexMap<String, MessageContent>> {
    messages
        .iter()
        .map(|m| {
            let role = if m.role == "developer" { "system" } else { m.role.as_str() };
            let mut map = IndexMap::from([
                ("role".to_string(), Either::Left(role.to_string())),
                ("content".to_string(), Either::Left(m.content.clone())),
            ]);
            if let Some(name) = &m.name {
                map.insert("name".to_string(), Either::Left(name.clone()));
            }
            if let Some(id) = &m.tool_call_id {
                map.insert("tool_call_id".to_string(), Either::Left(id.clone()));
            }
            if !m.tool_calls.is_empty() {
                let calls = m
                    .tool_calls
                    .iter()
                    .map(|call| {
                        // Templates render arguments with `tojson`: an object, not a JSON text inside a string.
                        let arguments =
                            serde_json::from_str(&call.arguments).unwrap_or(Value::String(call.arguments.clone()));
                        IndexMap::from([
                            ("id".to_string(), Value::String(call.id.clone())),
                            ("type".to_string(), Value::String("function".into())),
                            ("function".to_string(), json!({"name": call.name, "arguments": arguments})),
                        ])
                    })
                    .collect();
                map.insert("tool_calls".to_string(), Either::Right(calls));
            }
            map
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mistralrs::{Function, ToolType};

    fn tool(name: &str) -> Tool {
        let parameters = serde_json::from_value(json!({"type": "object", "properties": {"city": {"type": "string"}}}))
            .expect("parameters");
        Tool { tp: ToolType::Function, function: Function { description: None, name: name.into(), parameters } }
    }

    #[test]
    fn forced_calls_constrain_to_the_allowed_tools_and_conflicts_are_refused() {
        let mut options = ChatOptions { tools: vec![tool("weather"), tool("time")], ..Default::default() };
        assert_eq!(options.constraint(), Ok(None));
        options.tool_mode = ToolMode::Required;
        let schema = options.constraint().expect("schema").expect("constrained");
        assert_eq!(schema["anyOf"].as_array().map(Vec::len), Some(2));
        assert_eq!(schema["x-guidance"]["whitespace_flexible"], false);
        options.tool_mode = ToolMode::Named("time".into());
        let schema = options.constraint().expect("schema").expect("constrained");
        assert_eq!(schema["properties"]["name"]["const"], "time");
        assert_eq!(schema["properties"]["arguments"]["properties"]["city"]["type"], "string");
        options.tool_mode = ToolMode::Named("other".into());
        assert_eq!(options.constraint(), Err(OptionsError::UnknownTool("other".into())));
        options.tool_mode = ToolMode::Required;
        options.json_schema = Some(json!({"type": "object"}));
        assert_eq!(options.constraint(), Err(OptionsError::TwoConstraints));
        let none = ChatOptions { tool_mode: ToolMode::Required, ..Default::default() };
        assert_eq!(none.constraint(), Err(OptionsError::NoTools));
    }

    #[test]
    fn template_messages_carry_tool_turns_and_map_the_developer_role() {
        let call = ToolCall { id: "call-1".into(), name: "weather".into(), arguments: r#"{"city":"Oslo"}"#.into() };
        let messages = template_messages(&[
            ChatMessage::new("developer", "be brief"),
            ChatMessage { role: "assistant".into(), tool_calls: vec![call], ..Default::default() },
            ChatMessage { tool_call_id: Some("call-1".into()), ..ChatMessage::new("tool", "sunny") },
        ]);
        assert_eq!(messages[0]["role"], Either::Left("system".to_string()));
        let Either::Right(calls) = &messages[1]["tool_calls"] else { panic!("tool calls") };
        assert_eq!(calls[0]["function"]["arguments"]["city"], "Oslo");
        assert_eq!(messages[2]["tool_call_id"], Either::Left("call-1".to_string()));
    }
}
