//! `POST /v1/chat/completions`: `n` choices generated one after another (the engine runs one sequence at a time,
//! see `neuro_engine::Engine`), tool calls, constrained output and log-probabilities, as JSON or a stream.

use std::sync::Arc;

use axum::{body::Bytes, extract::State, http::HeaderMap, response::Response};
use neuro_protocol::receipt::{CalledTool, ChoiceOutput, output_text};

use super::{
    AppState, Running, admit, authenticate, detached, engine_error, fingerprint, fit_to_context, json_response,
    random_id, record, served_model, stream, unix_now, with_receipt,
};
use crate::{
    api::{
        ApiError, ChatJob,
        wire::{
            self, AssistantMessage, ChatChoice, ChatChunk, ChatCompletion, ChatLogprobs, ChunkChoice, Delta,
            ToolCallOut, Usage,
        },
    },
    engine::{ToolCall, mistralrs},
};

pub(super) async fn chat_completions(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    detached(&state, |running| inner(state.clone(), headers, body, running)).await
}

fn choice_output(content: &str, calls: &[ToolCall]) -> ChoiceOutput {
    ChoiceOutput {
        content: content.to_string(),
        tool_calls: calls.iter().map(|c| CalledTool { name: c.name.clone(), arguments: c.arguments.clone() }).collect(),
    }
}

fn logprobs(tokens: &[mistralrs::core::ResponseLogprob]) -> ChatLogprobs {
    ChatLogprobs { content: tokens.iter().map(Into::into).collect(), refusal: None }
}

async fn inner(state: Arc<AppState>, headers: HeaderMap, body: Bytes, running: Running) -> Result<Response, ApiError> {
    let served = served_model(&state, &ChatJob::model_of(&body)?)?;
    let mut job = ChatJob::parse(&body, served.engine.vocab_size())?;
    let auth = authenticate(&state, &headers).await?;
    let prompt_tokens = served
        .engine
        .count_chat_tokens(&job.messages, &job.options)
        .await
        .map_err(|e| ApiError::invalid(e.to_string(), "messages"))?;
    fit_to_context(&served, prompt_tokens, job.max_tokens_given, &mut job.checked.sampling)?;
    let choices = job.checked.n;
    let admitted = admit(&state, auth, &served, prompt_tokens * choices, &job.checked.sampling, choices).await?;
    if let Some(user) = &job.checked.user {
        tracing::debug!(user, "chat request");
    }
    if job.checked.stream {
        return streamed(state, admitted, body, job, prompt_tokens, running).await;
    }
    let id = format!("chatcmpl-{}", random_id());
    let (mut choices, mut outputs) = (Vec::new(), Vec::new());
    let (mut prompt, mut completion) = (0u64, 0u64);
    for index in 0..job.checked.n {
        let answer =
            served.engine.chat_with(&job.messages, &job.checked.sampling, &job.options).await.map_err(engine_error)?;
        let choice =
            answer.choices.into_iter().next().ok_or_else(|| ApiError::internal("the engine gave no choice"))?;
        prompt += answer.usage.prompt_tokens as u64;
        completion += answer.usage.completion_tokens as u64;
        let calls = wire::tool_calls(choice.message.tool_calls.as_ref(), job.parallel_tool_calls);
        // An answer that calls tools has no text (mistral.rs may keep the call's raw JSON there).
        let content = if calls.is_empty() { choice.message.content.unwrap_or_default() } else { String::new() };
        outputs.push(choice_output(&content, &calls));
        choices.push(ChatChoice {
            index,
            message: AssistantMessage {
                role: "assistant",
                content: calls.is_empty().then_some(content),
                refusal: None,
                tool_calls: calls.iter().map(|c| ToolCallOut::new(c, None)).collect(),
            },
            logprobs: job
                .checked
                .sampling
                .logprobs
                .map(|_| logprobs(choice.logprobs.as_ref().and_then(|l| l.content.as_deref()).unwrap_or_default())),
            finish_reason: wire::finish_reason(&choice.finish_reason, !calls.is_empty()),
        });
    }
    let usage = Usage::new(prompt, completion);
    let response = ChatCompletion {
        id: id.clone(),
        object: "chat.completion",
        created: unix_now(),
        model: served.name.clone(),
        system_fingerprint: fingerprint(&served),
        choices,
        usage,
    };
    let signed =
        record(&state, admitted, &body, &id, &output_text(&outputs), usage.prompt_tokens, usage.completion_tokens)
            .await?;
    Ok(json_response(with_receipt(&response, &signed)?))
}

/// Streams the choices one after another; the first generation starts before the response does, so that an
/// engine refusal is still an HTTP error.
async fn streamed(
    state: Arc<AppState>,
    admitted: super::Admitted,
    body: Bytes,
    job: ChatJob,
    prompt_tokens: usize,
    running: Running,
) -> Result<Response, ApiError> {
    let engine = admitted.served.engine.clone();
    let first = engine.chat_stream(&job.messages, &job.checked.sampling, &job.options).await.map_err(engine_error)?;
    let (mut writer, response) = stream::Writer::open(job.checked.obfuscate);
    tokio::spawn(async move {
        let _running = running;
        let id = format!("chatcmpl-{}", random_id());
        let chunk = |choices: Vec<ChunkChoice>, usage: Option<Usage>| ChatChunk {
            id: id.clone(),
            object: "chat.completion.chunk",
            created: unix_now(),
            model: admitted.served.name.clone(),
            system_fingerprint: fingerprint(&admitted.served),
            choices,
            usage,
        };
        let (mut outputs, mut prompt, mut completion) = (Vec::new(), 0u64, 0u64);
        let mut last = None;
        let mut failed = None;
        let mut next = Some(first);
        for index in 0..job.checked.n {
            let receiver = match next.take() {
                Some(receiver) => Ok(receiver),
                None => engine.chat_stream(&job.messages, &job.checked.sampling, &job.options).await,
            };
            let (mut receiver, steps) = match receiver {
                Ok(receiver) => receiver,
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
            };
            let (mut content, mut calls, mut first_chunk, mut finished) = (String::new(), Vec::new(), true, false);
            while let Some(response) = receiver.recv().await {
                let c = match response {
                    mistralrs::Response::Chunk(c) => c,
                    mistralrs::Response::ModelError(m, _) => {
                        failed = Some(m);
                        break;
                    }
                    mistralrs::Response::InternalError(e) | mistralrs::Response::ValidationError(e) => {
                        failed = Some(e.to_string());
                        break;
                    }
                    _ => continue,
                };
                let Some(choice) = c.choices.into_iter().next() else { continue };
                let parallel = job.parallel_tool_calls || calls.is_empty();
                let new_calls = wire::tool_calls(choice.delta.tool_calls.as_ref(), parallel);
                let delta_calls = new_calls
                    .iter()
                    .enumerate()
                    .map(|(k, call)| ToolCallOut::new(call, Some(calls.len() + k)))
                    .collect();
                calls.extend(new_calls);
                let text = choice.delta.content.filter(|t| !t.is_empty() && calls.is_empty());
                if let Some(text) = &text {
                    content.push_str(text);
                }
                let out = ChunkChoice {
                    index,
                    delta: Delta { role: first_chunk.then_some("assistant"), content: text, tool_calls: delta_calls },
                    // Refused with streams (`api::fields`).
                    logprobs: None,
                    finish_reason: choice.finish_reason.as_deref().map(|r| wire::finish_reason(r, !calls.is_empty())),
                };
                first_chunk = false;
                if let Some(usage) = &c.usage {
                    prompt += usage.prompt_tokens as u64;
                    completion += usage.completion_tokens as u64;
                    finished = true;
                }
                if finished && index + 1 == job.checked.n {
                    last = Some(out);
                    break;
                }
                writer.json(&chunk(vec![out], None)).await;
                if finished {
                    break;
                }
            }
            if failed.is_some() {
                // What the failed choice generated was streamed to the client: it is billed like the rest.
                prompt += prompt_tokens as u64;
                completion += steps.get() as u64;
                outputs.push(choice_output(&content, &calls));
                break;
            }
            if !finished {
                // mistral.rs ended the stream without its last chunk: the answer ended inside a UTF-8 character,
                // whose bytes it held back. The tokens were generated all the same, so the choice ends here,
                // billed by the steps counted, with the one U+FFFD a whole answer decodes those bytes to.
                let generated = steps.get() as u64;
                prompt += prompt_tokens as u64;
                completion += generated;
                let reason = if generated >= job.checked.sampling.max_tokens as u64 { "length" } else { "stop" };
                let tail = calls.is_empty().then(|| char::REPLACEMENT_CHARACTER.to_string());
                if let Some(tail) = &tail {
                    content.push_str(tail);
                }
                let out = ChunkChoice {
                    index,
                    delta: Delta { role: first_chunk.then_some("assistant"), content: tail, ..Delta::default() },
                    logprobs: None,
                    finish_reason: Some(if calls.is_empty() { reason } else { "tool_calls" }),
                };
                if index + 1 == job.checked.n {
                    last = Some(out);
                } else {
                    writer.json(&chunk(vec![out], None)).await;
                }
            }
            outputs.push(choice_output(&content, &calls));
        }
        let partial = || stream::Partial { usage: Usage::new(prompt, completion), output: output_text(&outputs) };
        let outcome = match (failed, last) {
            (Some(message), _) => Err(stream::Failed { message, partial: partial() }),
            (None, None) => {
                Err(stream::Failed { message: "the engine ended the stream early".into(), partial: partial() })
            }
            (None, Some(last)) => {
                let usage = Usage::new(prompt, completion);
                Ok(stream::Generated {
                    last: chunk(vec![last.clone()], None),
                    last_with_usage: chunk(vec![last], Some(usage)),
                    usage_chunk: chunk(vec![], Some(usage)),
                    include_usage: job.checked.include_usage,
                    usage,
                    output: output_text(&outputs),
                })
            }
        };
        stream::finish(&state, admitted, &body, &id, writer, outcome).await;
    });
    Ok(response)
}
