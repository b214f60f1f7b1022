//! The OpenAI surface through real HTTP against a paid node serving the tiny model: every row of
//! `docs/miner.md`'s table is honoured (checked by its effect) or refused with a 400 naming the field, and a
//! typed client (`async-openai`, a strict deserializer) reads every response shape.

use std::path::PathBuf;

use async_openai::{
    Client,
    config::OpenAIConfig,
    types::{
        chat::{
            ChatCompletionRequestUserMessageArgs, ChatCompletionStreamOptions, CreateChatCompletionRequestArgs,
            CreateChatCompletionResponse, CreateChatCompletionStreamResponse, FinishReason,
        },
        completions::{CreateCompletionRequestArgs, CreateCompletionResponse},
    },
};
use futures::StreamExt;
use neuro_protocol::receipt::{ChoiceOutput, Expected, SamplingClaim, SignedReceipt, output_text};
use neuro_testkit::{
    Devnet,
    network::{self as devnet, LocalNetwork, neuro},
    tiny_model::{self, TinyModelSpec},
};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

async fn start_network() -> Result<LocalNetwork, Box<dyn std::error::Error + Send + Sync>> {
    let dir = std::env::temp_dir().join(format!("neuro-openai-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let model = dir.join("tiny");
    tiny_model::write(&model, TinyModelSpec::default())?;
    let keys =
        std::env::var_os("NEURO_KEYS_DIR").map(PathBuf::from).unwrap_or_else(|| Devnet::repo_root().join("keys"));
    devnet::start(model, keys, dir).await
}

/// A node and a funded key, with helpers for raw requests.
struct Node {
    n: LocalNetwork,
    key: String,
    http: reqwest::Client,
}

impl Node {
    async fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), reqwest::Error> {
        let response = self.http.post(format!("{}{path}", self.n.url)).bearer_auth(&self.key).json(body).send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await?))
    }

    async fn chat(&self, body: Value) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let (status, answer) = self.post("/v1/chat/completions", &body).await?;
        if status != 200 {
            return Err(format!("{status}: {answer}").into());
        }
        Ok(answer)
    }

    /// The 400's `param` for `body`.
    async fn refused(&self, path: &str, body: Value) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        let (status, answer) = self.post(path, &body).await?;
        if status != 400 {
            return Err(format!("expected a 400 for {body}, got {status}: {answer}").into());
        }
        Ok(answer["error"]["param"].as_str().unwrap_or_default().to_string())
    }

    /// The events of a stream, `[DONE]` excluded (asserted last).
    async fn stream(&self, path: &str, body: &Value) -> Result<Vec<Value>, Box<dyn std::error::Error + Send + Sync>> {
        let text = self
            .http
            .post(format!("{}{path}", self.n.url))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await?
            .text()
            .await?;
        let events: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
        assert_eq!(events.last(), Some(&"[DONE]"), "{text}");
        Ok(events[..events.len() - 1].iter().map(|e| serde_json::from_str(e)).collect::<Result<_, _>>()?)
    }

    fn typed(&self) -> Client<OpenAIConfig> {
        Client::with_config(OpenAIConfig::new().with_api_base(format!("{}/v1", self.n.url)).with_api_key(&self.key))
    }
}

fn user(content: &str) -> Value {
    json!([{"role": "user", "content": content}])
}

fn text_of(answer: &Value, choice: usize) -> String {
    answer["choices"][choice]["message"]["content"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_is_honoured_or_refused_by_name() -> TestResult {
    let n = start_network().await?;
    let now = n.chain.now().await?;
    let key = n.api_key(n.chain.operator, neuro(50), now + 30 * 86_400, &n.user).await?;
    let node = Node { n, key, http: reqwest::Client::new() };

    // /v1/models: `created` (async-openai requires it).
    let models = node.typed().models().list().await?;
    assert_eq!(models.data[0].id, "tiny");
    assert!(models.data[0].created > 1_600_000_000);

    // A typed client: n = 2 with log-probabilities; the receipt commits to both choices.
    let request = CreateChatCompletionRequestArgs::default()
        .model("tiny")
        .messages([ChatCompletionRequestUserMessageArgs::default().content("Hello").build()?.into()])
        .max_completion_tokens(6u32)
        .temperature(0.0)
        .n(2u8)
        .logprobs(true)
        .top_logprobs(2u8)
        .build()?;
    let typed: CreateChatCompletionResponse = node.typed().chat().create(request).await?;
    assert_eq!(typed.choices.len(), 2);
    let usage = typed.usage.ok_or("usage")?;
    let mut generated = 0;
    for (i, choice) in typed.choices.iter().enumerate() {
        assert_eq!(choice.index as usize, i);
        let logprobs = choice.logprobs.as_ref().and_then(|l| l.content.as_ref()).ok_or("logprobs")?;
        generated += logprobs.len();
        // Greedy: the chosen token is the most likely, and its alternatives are the model's own.
        for token in logprobs {
            assert_eq!(token.top_logprobs.len(), 2);
            assert!((token.top_logprobs[0].logprob - token.logprob).abs() < 1e-3, "{token:?}");
            assert!(
                token.top_logprobs[1].logprob <= token.top_logprobs[0].logprob
                    && token.top_logprobs[1].logprob.is_finite()
            );
        }
    }
    assert_eq!(generated as u32, usage.completion_tokens, "a log-probability per generated token");
    assert_eq!(typed.choices[0].message.content, typed.choices[1].message.content, "greedy choices agree");
    let body = json!({"model": "tiny", "messages": user("Hello"), "max_tokens": 6, "temperature": 0, "n": 2});
    let raw = node.chat(body.clone()).await?;
    let signed: SignedReceipt = serde_json::from_value(raw["neuro_receipt"].clone())?;
    let choices: Vec<ChoiceOutput> =
        (0..2).map(|i| ChoiceOutput { content: text_of(&raw, i), tool_calls: vec![] }).collect();
    let domain = node.n.chain.receipts_domain();
    // reqwest sent `body` serialized as `to_vec` does.
    let request_bytes = serde_json::to_vec(&body)?;
    let registered = signed.signer(&domain)?;
    signed.verify(&domain, Expected { signer: registered, request: &request_bytes, output: &output_text(&choices) })?;
    assert!(
        signed
            .verify(&domain, Expected { signer: registered, request: &request_bytes, output: &text_of(&raw, 0) })
            .is_err(),
        "one choice alone is not what was signed"
    );
    assert_eq!(signed.receipt.completionTokens, raw["usage"]["completion_tokens"].as_u64().ok_or("usage")?);
    // Each choice runs the prompt again, and each is billed for it.
    let single =
        node.chat(json!({"model": "tiny", "messages": user("Hello"), "max_tokens": 6, "temperature": 0})).await?;
    let prompt_once = single["usage"]["prompt_tokens"].as_u64().ok_or("usage")?;
    assert_eq!(signed.receipt.promptTokens, 2 * prompt_once);

    // A typed stream with include_usage: a last chunk with usage and no choices; every chunk padded.
    let request = CreateChatCompletionRequestArgs::default()
        .model("tiny")
        .messages([ChatCompletionRequestUserMessageArgs::default().content("Hello").build()?.into()])
        .max_completion_tokens(6u32)
        .stream(true)
        .stream_options(ChatCompletionStreamOptions { include_usage: Some(true), include_obfuscation: None })
        .build()?;
    let mut stream = node.typed().chat().create_stream(request).await?;
    let mut chunks: Vec<CreateChatCompletionStreamResponse> = Vec::new();
    while let Some(chunk) = stream.next().await {
        chunks.push(chunk?);
    }
    let last = chunks.last().ok_or("chunks")?;
    assert!(last.choices.is_empty() && last.usage.is_some(), "{last:?}");
    assert!(chunks[..chunks.len() - 1].iter().all(|c| c.usage.is_none()));
    let finish = chunks.iter().filter_map(|c| c.choices.first().and_then(|c| c.finish_reason)).collect::<Vec<_>>();
    assert!(matches!(finish.as_slice(), [FinishReason::Length | FinishReason::Stop]), "{finish:?}");
    let raw_stream = node
        .stream(
            "/v1/chat/completions",
            &json!({"model": "tiny", "messages": user("Hi"), "max_tokens": 4, "stream": true}),
        )
        .await?;
    assert!(raw_stream.iter().all(|c| c["obfuscation"].is_string()), "padded by default");
    let plain = node
        .stream(
            "/v1/chat/completions",
            &json!({"model": "tiny", "messages": user("Hi"), "max_tokens": 4, "stream": true,
                    "stream_options": {"include_obfuscation": false}}),
        )
        .await?;
    assert!(plain.iter().all(|c| c.get("obfuscation").is_none()));
    assert!(plain.last().ok_or("chunks")?["usage"].is_object(), "without include_usage, the last chunk has it");

    // An agent's two turns: a forced tool call (the grammar makes even a random model call it), then the
    // assistant's call and the tool's result sent back.
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "description": "The weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "enum": ["Oslo", "Lima"]}},
                       "required": ["city"], "additionalProperties": false}}}]);
    let first = node
        .chat(json!({"model": "tiny", "messages": user("Weather in Oslo?"), "tools": tools, "tool_choice": "required",
                     "max_tokens": 64, "temperature": 0}))
        .await?;
    let message = &first["choices"][0]["message"];
    assert_eq!(first["choices"][0]["finish_reason"], "tool_calls", "{first}");
    assert!(message["content"].is_null());
    let call = &message["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    let arguments: Value = serde_json::from_str(call["function"]["arguments"].as_str().ok_or("arguments")?)?;
    assert!(matches!(arguments["city"].as_str(), Some("Oslo" | "Lima")), "{arguments}");
    let second = node
        .chat(json!({"model": "tiny", "tools": tools, "max_tokens": 8, "messages": [
            {"role": "developer", "content": "Answer briefly."},
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": null, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": "sunny"}]}))
        .await?;
    assert!(second["choices"][0]["message"]["content"].is_string(), "{second}");

    // JSON mode: a schema the answer must match.
    let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
                        "additionalProperties": false});
    let json_answer = node
        .chat(json!({"model": "tiny", "messages": user("Reply in JSON"), "max_tokens": 32,
                     "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}}))
        .await?;
    let parsed: Value = serde_json::from_str(&text_of(&json_answer, 0))?;
    assert!(parsed["ok"].is_boolean(), "{parsed}");

    // logit_bias changes the answer: +100 on one token makes greedy decoding write only it.
    let greedy = json!({"model": "tiny", "messages": user("Bias"), "max_tokens": 8, "temperature": 0});
    let mut biased = greedy.clone();
    biased["logit_bias"] = json!({"65": 100}); // the tiny model's token ids are byte values: "A"
    let a = text_of(&node.chat(biased).await?, 0);
    assert!(!a.is_empty() && a.chars().all(|c| c == 'A'), "{a:?}");
    // top_p 0 is greedy; penalties change a greedy answer.
    let greedy_text = text_of(&node.chat(greedy.clone()).await?, 0);
    let mut top_p_zero = greedy.clone();
    top_p_zero["top_p"] = 0.into();
    top_p_zero["temperature"] = 1.into();
    assert_eq!(text_of(&node.chat(top_p_zero).await?, 0), greedy_text);
    let mut penalised = greedy.clone();
    penalised["presence_penalty"] = 2.into();
    penalised["frequency_penalty"] = 2.into();
    penalised["max_tokens"] = 24.into();
    let mut long_greedy = greedy.clone();
    long_greedy["max_tokens"] = 24.into();
    assert_ne!(text_of(&node.chat(penalised).await?, 0), text_of(&node.chat(long_greedy).await?, 0));
    let mut seeded = greedy.clone();
    seeded["seed"] = 7.into();
    assert_eq!(text_of(&node.chat(seeded).await?, 0), greedy_text, "a seed with greedy decoding is honoured");

    // OpenAI's defaults: temperature 1 and a limit of what the context leaves (signed in the receipt).
    let defaults = json!({"model": "tiny", "messages": user("Defaults"), "stop": ["\n"]});
    let answer = node.chat(defaults.clone()).await?;
    let signed: SignedReceipt = serde_json::from_value(answer["neuro_receipt"].clone())?;
    let prompt = answer["usage"]["prompt_tokens"].as_u64().ok_or("usage")?;
    let claim = SamplingClaim {
        max_tokens: 2048 - prompt,
        temperature: Some(1.0),
        stop: vec!["\n".into()],
        ..Default::default()
    };
    assert_eq!(signed.receipt.samplingHash, claim.hash());

    // Completions: several prompts, echo, legacy log-probabilities; a typed client reads them.
    let (status, completion) = node
        .post(
            "/v1/completions",
            &json!({"model": "tiny", "prompt": ["Once", "Twice"], "echo": true, "logprobs": 2,
                                          "max_tokens": 5, "temperature": 0}),
        )
        .await?;
    assert_eq!(status, 200, "{completion}");
    assert_eq!(completion["choices"].as_array().map(Vec::len), Some(2));
    assert!(completion["choices"][1]["text"].as_str().is_some_and(|t| t.starts_with("Twice")));
    let lp = &completion["choices"][0]["logprobs"];
    assert_eq!(lp["tokens"].as_array().map(Vec::len), lp["token_logprobs"].as_array().map(Vec::len));
    assert!(lp["top_logprobs"][0].as_object().is_some_and(|m| m.len() == 2), "{lp}");
    let typed: CreateCompletionResponse = node
        .typed()
        .completions()
        .create(CreateCompletionRequestArgs::default().model("tiny").prompt("Once").max_tokens(5u32).build()?)
        .await?;
    assert_eq!(typed.choices.len(), 1);
    // A streamed completion bills what the same request bills unstreamed (the engine's chunks carry no usage;
    // the node counts sampling steps).
    let body = json!({"model": "tiny", "prompt": "Once upon", "max_tokens": 7, "temperature": 0});
    let (_, whole) = node.post("/v1/completions", &body).await?;
    let mut streamed_body = body.clone();
    streamed_body["stream"] = true.into();
    let chunks = node.stream("/v1/completions", &streamed_body).await?;
    let text: String = chunks.iter().filter_map(|c| c["choices"][0]["text"].as_str()).collect();
    assert_eq!(text, whole["choices"][0]["text"].as_str().unwrap_or_default());
    assert_eq!(chunks.last().ok_or("chunks")?["usage"], whole["usage"]);

    // Context overflow: a 400 `context_length_exceeded`, streamed or not, before anything is charged.
    let long = "x".repeat(2100);
    for stream in [false, true] {
        let (status, error) = node
            .post("/v1/chat/completions", &json!({"model": "tiny", "messages": user(&long), "stream": stream}))
            .await?;
        assert_eq!((status, error["error"]["code"].as_str()), (400, Some("context_length_exceeded")), "{error}");
    }

    // Refusals name the field.
    let base = || json!({"model": "tiny", "messages": user("x"), "max_tokens": 2});
    let with = |key: &str, value: Value| {
        let mut body = base();
        body[key] = value;
        body
    };
    for (body, param) in [
        (with("audio", json!({"voice": "alloy", "format": "wav"})), "audio"),
        (with("modalities", json!(["text", "audio"])), "modalities"),
        (with("functions", json!([{"name": "f"}])), "functions"),
        (with("reasoning_effort", "high".into()), "reasoning_effort"),
        (with("prediction", json!({"type": "content", "content": "x"})), "prediction"),
        (with("web_search_options", json!({})), "web_search_options"),
        (with("seed", 3.into()), "seed"),
        (with("logit_bias", json!({"999999": 5})), "logit_bias"),
        (with("n", 9.into()), "n"),
        (with("top_logprobs", 2.into()), "top_logprobs"),
        (with("store", true.into()), "store"),
        (json!({"model": "tiny", "messages": user("x"), "stream": true, "logprobs": true}), "logprobs"),
        (with("unheard_of", 1.into()), "unheard_of"),
        (with("temperature", "warm".into()), "temperature"),
        (
            with("messages", json!([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])),
            "messages[0].content[0]",
        ),
    ] {
        assert_eq!(node.refused("/v1/chat/completions", body).await?, param);
    }
    let completion_base = json!({"model": "tiny", "prompt": "x", "max_tokens": 2});
    for (key, value, param) in [
        ("suffix", json!("end"), "suffix"),
        ("best_of", json!(3), "best_of"),
        ("prompt", json!([1, 2, 3]), "prompt"),
        ("logprobs", json!(9), "logprobs"),
    ] {
        let mut body = completion_base.clone();
        body[key] = value;
        assert_eq!(node.refused("/v1/completions", body).await?, param);
    }

    // Nothing refused was charged: receipts exist only for answered requests.
    let epoch = node.n.chain.epoch_at(node.n.chain.now().await?);
    let receipts = node.n.store.unbatched_receipts(epoch).await?;
    assert!(receipts.iter().all(|r| r.receipt.completion_tokens > 0));
    Ok(())
}
