//! `POST /v1/completions`: one or several prompts, `n` choices each, echo and legacy log-probabilities, as JSON
//! or a stream.

use std::sync::Arc;

use axum::{body::Bytes, extract::State, http::HeaderMap, response::Response};
use neuro_protocol::receipt::{ChoiceOutput, output_text};

use super::{
    AppState, Running, admit, authenticate, detached, engine_error, fingerprint, fit_to_context, json_response,
    random_id, record, served_model, stream, unix_now, with_receipt,
};
use crate::{
    api::{
        ApiError, ChatJob, CompletionJob,
        wire::{self, Completion, CompletionChoice, CompletionLogprobs, Usage},
    },
    engine::mistralrs,
};

pub(super) async fn completions(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    detached(&state, |running| inner(state.clone(), headers, body, running)).await
}

async fn inner(state: Arc<AppState>, headers: HeaderMap, body: Bytes, running: Running) -> Result<Response, ApiError> {
    let served = served_model(&state, &ChatJob::model_of(&body)?)?;
    let mut job = CompletionJob::parse(&body, served.engine.vocab_size())?;
    let auth = authenticate(&state, &headers).await?;
    let mut prompt_tokens = Vec::with_capacity(job.prompts.len());
    for prompt in &job.prompts {
        let tokens =
            served.engine.count_text_tokens(prompt).await.map_err(|e| ApiError::invalid(e.to_string(), "prompt"))?;
        // The limit must fit after the longest prompt (OpenAI's default of 16 is a limit the client set).
        fit_to_context(&served, tokens, true, &mut job.checked.sampling)?;
        prompt_tokens.push(tokens);
    }
    let total_prompt: usize = prompt_tokens.iter().sum();
    let choices = job.prompts.len() * job.checked.n;
    // Each of a prompt's `n` choices runs the prompt again and is billed for it.
    let total_prompt = total_prompt * job.checked.n;
    let admitted = admit(&state, auth, &served, total_prompt, &job.checked.sampling, choices).await?;
    if job.checked.stream {
        return Ok(streamed(state, admitted, body, job, total_prompt, running));
    }
    let id = format!("cmpl-{}", random_id());
    let (mut out, mut outputs, mut completion) = (Vec::new(), Vec::new(), 0u64);
    for (index, prompt) in job.prompts.iter().flat_map(|p| std::iter::repeat_n(p, job.checked.n)).enumerate() {
        let answer = served.engine.complete(prompt, &job.checked.sampling, job.echo).await.map_err(engine_error)?;
        let choice =
            answer.choices.into_iter().next().ok_or_else(|| ApiError::internal("the engine gave no choice"))?;
        completion += answer.usage.completion_tokens as u64;
        let logprobs = job.checked.sampling.logprobs.map(|_| {
            let mut logprobs = CompletionLogprobs::default();
            let echoed = if job.echo { prompt.len() } else { 0 };
            logprobs.extend(choice.logprobs.as_ref().and_then(|l| l.content.as_deref()).unwrap_or_default(), echoed);
            logprobs
        });
        outputs.push(ChoiceOutput { content: choice.text.clone(), tool_calls: vec![] });
        out.push(CompletionChoice {
            text: choice.text,
            index,
            logprobs,
            finish_reason: Some(wire::finish_reason(&choice.finish_reason, false)),
        });
    }
    let usage = Usage::new(total_prompt as u64, completion);
    let response = Completion {
        id: id.clone(),
        object: "text_completion",
        created: unix_now(),
        model: served.name.clone(),
        system_fingerprint: fingerprint(&served),
        choices: out,
        usage: Some(usage),
    };
    let signed =
        record(&state, admitted, &body, &id, &output_text(&outputs), usage.prompt_tokens, usage.completion_tokens)
            .await?;
    Ok(json_response(with_receipt(&response, &signed)?))
}

fn streamed(
    state: Arc<AppState>,
    admitted: super::Admitted,
    body: Bytes,
    job: CompletionJob,
    prompt_tokens: usize,
    running: Running,
) -> Response {
    let (mut writer, response) = stream::Writer::open(job.checked.obfuscate);
    tokio::spawn(async move {
        let _running = running;
        let engine = admitted.served.engine.clone();
        let id = format!("cmpl-{}", random_id());
        let chunk = |choices: Vec<CompletionChoice>, usage: Option<Usage>| Completion {
            id: id.clone(),
            object: "text_completion",
            created: unix_now(),
            model: admitted.served.name.clone(),
            system_fingerprint: fingerprint(&admitted.served),
            choices,
            usage,
        };
        let total = job.prompts.len() * job.checked.n;
        let (mut outputs, mut completion, mut last, mut failed) = (Vec::new(), 0u64, None, None);
        for (index, prompt) in job.prompts.iter().flat_map(|p| std::iter::repeat_n(p, job.checked.n)).enumerate() {
            let (mut receiver, steps) = match engine.complete_stream(prompt, &job.checked.sampling, job.echo).await {
                Ok(started) => started,
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
            };
            let (mut text, mut finished) = (String::new(), false);
            while let Some(response) = receiver.recv().await {
                let c = match response {
                    mistralrs::Response::CompletionChunk(c) => c,
                    mistralrs::Response::CompletionModelError(m, _) => {
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
                text.push_str(&choice.text);
                finished = choice.finish_reason.is_some();
                let out = CompletionChoice {
                    text: choice.text,
                    index,
                    // Refused with streams (`api::fields`).
                    logprobs: None,
                    finish_reason: choice.finish_reason.as_deref().map(|r| wire::finish_reason(r, false)),
                };
                if finished && index + 1 == total {
                    last = Some(out);
                    break;
                }
                writer.json(&chunk(vec![out], None)).await;
                if finished {
                    break;
                }
            }
            // Every sampling step has run once the last chunk is out or the channel has closed.
            let generated = steps.get();
            completion += generated as u64;
            if failed.is_some() {
                // What the failed choice generated was streamed to the client: it is billed like the rest.
                outputs.push(ChoiceOutput { content: text, tool_calls: vec![] });
                break;
            }
            if !finished {
                // mistral.rs ended the stream without its last chunk: the answer ended inside a UTF-8 character,
                // whose bytes it held back. A whole answer decodes them as one U+FFFD; so does the stream.
                let reason = if generated >= job.checked.sampling.max_tokens { "length" } else { "stop" };
                text.push(char::REPLACEMENT_CHARACTER);
                let out = CompletionChoice {
                    text: char::REPLACEMENT_CHARACTER.to_string(),
                    index,
                    logprobs: None,
                    finish_reason: Some(reason),
                };
                if index + 1 == total {
                    last = Some(out);
                } else {
                    writer.json(&chunk(vec![out], None)).await;
                }
            }
            outputs.push(ChoiceOutput { content: text, tool_calls: vec![] });
        }
        // Prompts are billed as admitted: each choice that started ran its prompt.
        let partial =
            || stream::Partial { usage: Usage::new(prompt_tokens as u64, completion), output: output_text(&outputs) };
        let outcome = match (failed, last) {
            (Some(message), _) => Err(stream::Failed { message, partial: partial() }),
            (None, None) => {
                Err(stream::Failed { message: "the engine ended the stream early".into(), partial: partial() })
            }
            (None, Some(last)) => {
                let usage = Usage::new(prompt_tokens as u64, completion);
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
    response
}
