//! A loaded model: mistral.rs, fully offline, from local files.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use mistralrs::{
    ChatCompletionResponse, CompletionResponse, Constraint, CustomLogitsProcessor, GgufModelBuilder, Model,
    NormalRequest, Request, RequestBuilder, RequestMessage, Response, SamplingParams, TextMessageRole, TextMessages,
    TextModelBuilder, TokenSource,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

/// Where a model's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A GGUF file (tokenizer and chat template come from its metadata).
    Gguf(PathBuf),
    /// A safetensors directory with `config.json`, `tokenizer.json` and `*.safetensors` (a chat template in
    /// `tokenizer_config.json` is needed for chat requests).
    Safetensors(PathBuf),
}

/// Why a model cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The path is neither a GGUF file nor a safetensors directory.
    #[error("{}: not a GGUF file or a directory with config.json, tokenizer.json and *.safetensors", .0.display())]
    UnrecognisedModel(PathBuf),
    /// mistral.rs could not load the model.
    #[error("cannot load model {}: {message}", path.display())]
    Load {
        /// Model path.
        path: PathBuf,
        /// mistral.rs's error.
        message: String,
    },
    /// The engine rejected or failed a request.
    #[error("inference failed: {0}")]
    Inference(String),
}

impl ModelSource {
    /// Recognises a model path: a `.gguf` file, or a directory holding `config.json`, `tokenizer.json` and at
    /// least one `.safetensors` file.
    pub fn detect(path: &Path) -> Result<Self, EngineError> {
        if path.is_file() && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) {
            return Ok(Self::Gguf(path.to_path_buf()));
        }
        if path.is_dir() {
            let has = |name: &str| path.join(name).is_file();
            let has_weights = std::fs::read_dir(path)
                .map(|entries| entries.flatten().any(|e| e.path().extension().is_some_and(|x| x == "safetensors")))
                .unwrap_or(false);
            if has("config.json") && has("tokenizer.json") && has_weights {
                return Ok(Self::Safetensors(path.to_path_buf()));
            }
        }
        Err(EngineError::UnrecognisedModel(path.to_path_buf()))
    }

    /// The model's path.
    pub fn path(&self) -> &Path {
        match self {
            Self::Gguf(p) | Self::Safetensors(p) => p,
        }
    }
}

/// OpenAI-style sampling options of one request.
#[derive(Debug, Clone, Default)]
pub struct Sampling {
    /// Maximum completion tokens.
    pub max_tokens: usize,
    /// Temperature (None: the model's default).
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Stop strings.
    pub stop: Vec<String>,
}

impl Sampling {
    pub(crate) fn params(&self) -> SamplingParams {
        let mut params = SamplingParams::deterministic();
        // OpenAI's temperature 0 is greedy decoding. mistral.rs would divide by it, and treats a missing
        // temperature as 1.0, so greedy is spelled top-k 1 (which `deterministic()` sets) without a temperature.
        let greedy = self.temperature.is_some_and(|t| t <= 0.0);
        if !greedy {
            params.top_k = None;
            params.temperature = self.temperature;
        }
        params.top_p = self.top_p;
        params.max_len = Some(self.max_tokens);
        if !self.stop.is_empty() {
            params.stop_toks = Some(mistralrs::StopTokens::Seqs(self.stop.clone()));
        }
        params
    }
}

/// One chat message.
#[derive(Debug, Clone)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// Text content.
    pub content: String,
}

fn role(name: &str) -> TextMessageRole {
    match name {
        "system" => TextMessageRole::System,
        "assistant" => TextMessageRole::Assistant,
        "tool" => TextMessageRole::Tool,
        "user" => TextMessageRole::User,
        other => TextMessageRole::Custom(other.to_string()),
    }
}

/// How long a stream's reader may leave a chunk untaken before the stream is ended (the node's HTTP layer
/// drains the engine itself and drops slow clients after 3 s; this only bounds other callers).
const STREAM_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A loaded model. Cheap to share behind an `Arc`; requests queue and run one sequence at a time.
///
/// Why not batch: mistral.rs 0.8.1 on the CPU does not give a sequence the same tokens when it runs batched
/// with others. Measured on the tiny model (`validator/tests/calibration.rs`, the concurrent rows before this
/// change): 36 of 160 greedy answers produced two at a time diverged from the same requests run alone by more
/// than any floating-point tolerance (up to 0.05 nats and beyond), and four or more at a time panicked the
/// engine thread (`kv_cache` shape mismatch), failing every later request. A validator re-executes one sequence
/// alone, so a batching node would be disputed and slashed while honest, and any user could stall a node with
/// four concurrent requests. Until batched decoding is deterministic, determinism comes first.
pub struct Engine {
    model: Model,
    source: ModelSource,
    context_length: Option<usize>,
    /// One permit: held for the whole of a sequence (a stream's until its last chunk or its receiver drops).
    sequencer: Arc<Semaphore>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("source", &self.source).finish_non_exhaustive()
    }
}

impl Engine {
    /// Loads `source` on the CPU (or the GPU of a `cuda`/`metal` build) without any network access.
    pub async fn load(source: ModelSource) -> Result<Self, EngineError> {
        Self::load_with(source, None).await
    }

    /// Loads `source`, a safetensors model quantized in place to `isq` when given (GGUF files are quantized
    /// already and ignore it).
    pub async fn load_with(source: ModelSource, isq: Option<mistralrs::IsqType>) -> Result<Self, EngineError> {
        let load_error =
            |e: anyhow::Error| EngineError::Load { path: source.path().to_path_buf(), message: format!("{e:#}") };
        let model = match &source {
            ModelSource::Gguf(file) => {
                let dir = file.parent().unwrap_or(Path::new(".")).to_string_lossy().into_owned();
                let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let builder = GgufModelBuilder::new(dir, vec![name]).with_token_source(TokenSource::None);
                let builder =
                    if cfg!(any(feature = "cuda", feature = "metal")) { builder } else { builder.with_force_cpu() };
                builder.build().await.map_err(load_error)?
            }
            ModelSource::Safetensors(dir) => {
                let mut builder = TextModelBuilder::new(dir.to_string_lossy()).with_token_source(TokenSource::None);
                if let Some(isq) = isq {
                    builder = builder.with_isq(isq);
                }
                let builder =
                    if cfg!(any(feature = "cuda", feature = "metal")) { builder } else { builder.with_force_cpu() };
                builder.build().await.map_err(load_error)?
            }
        };
        // The engine's own limit on prompt + generated tokens; unknown for some model kinds.
        let context_length = model.config().ok().and_then(|c| c.max_seq_len);
        Ok(Self { model, source, context_length, sequencer: Arc::new(Semaphore::new(1)) })
    }

    /// Most tokens (prompt and completion together) one sequence may hold, when the engine knows it.
    pub fn context_length(&self) -> Option<usize> {
        self.context_length
    }

    /// Where the model was loaded from.
    pub fn source(&self) -> &ModelSource {
        &self.source
    }

    fn chat_request(messages: &[ChatMessage], sampling: &Sampling) -> RequestBuilder {
        let mut builder = RequestBuilder::new();
        for m in messages {
            builder = builder.add_message(role(&m.role), &m.content);
        }
        builder.set_sampling(sampling.params())
    }

    /// Number of prompt tokens `messages` take after the chat template, as the model's tokenizer counts them.
    pub async fn count_chat_tokens(&self, messages: &[ChatMessage]) -> Result<usize, EngineError> {
        let mut text = TextMessages::new();
        for m in messages {
            text = text.add_message(role(&m.role), &m.content);
        }
        self.model
            .tokenize(either::Either::Left(text), None, true, true, None)
            .await
            .map(|t| t.len())
            .map_err(|e| EngineError::Inference(e.to_string()))
    }

    /// Number of tokens of a raw prompt.
    pub async fn count_text_tokens(&self, prompt: &str) -> Result<usize, EngineError> {
        self.model
            .tokenize(either::Either::Right(prompt.to_string()), None, true, false, None)
            .await
            .map(|t| t.len())
            .map_err(|e| EngineError::Inference(e.to_string()))
    }

    /// A non-streaming chat completion; `usage` counts tokens exactly as the model's tokenizer does.
    pub async fn chat(
        &self,
        messages: &[ChatMessage],
        sampling: &Sampling,
    ) -> Result<ChatCompletionResponse, EngineError> {
        let messages = {
            use mistralrs::RequestLike;
            Self::chat_request(messages, sampling).take_messages()
        };
        match self.run_alone(messages, sampling, None).await? {
            Some(Response::Done(done)) => Ok(done),
            other => Err(failure(other)),
        }
    }

    /// A streaming chat completion: chunks arrive on the returned channel; the last carries `usage`.
    ///
    /// The engine stays this sequence's until it ends or the reader goes (a reader that keeps the channel but
    /// takes no chunk for 30 s is treated as gone, which stops the generation).
    pub async fn chat_stream(
        &self,
        messages: &[ChatMessage],
        sampling: &Sampling,
    ) -> Result<mpsc::Receiver<Response>, EngineError> {
        let messages = {
            use mistralrs::RequestLike;
            Self::chat_request(messages, sampling).take_messages()
        };
        let (request, mut inner) = self.normal_request(messages, sampling, true, None);
        let turn = self.turn().await?;
        let sender = self.sender()?;
        let (tx, rx) = mpsc::channel(64);
        // Everything after the turn is taken happens in this task, so that no cancellation of the caller can
        // free the engine while mistral.rs still runs the sequence.
        tokio::spawn(async move {
            let _turn = turn;
            if let Err(error) = sender.send(request).await {
                let _ = tx.send(Response::InternalError(Box::new(error))).await;
                return;
            }
            while let Some(response) = inner.recv().await {
                match tokio::time::timeout(STREAM_READ_TIMEOUT, tx.send(response)).await {
                    Ok(Ok(())) => {}
                    _ => {
                        // The reader is gone: closing makes mistral.rs's next chunk fail to send, which ends the
                        // sequence; the turn is kept until it has (its sender dropped), so no next request runs
                        // beside it (a step whose text is withheld, such as a split UTF-8 character, sends
                        // nothing and would otherwise keep it alive unseen).
                        inner.close();
                        while inner.sender_strong_count() > 0 {
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                        break;
                    }
                }
            }
        });
        Ok(rx)
    }

    /// A raw (non-chat) completion of `prompt`.
    pub async fn complete(&self, prompt: &str, sampling: &Sampling) -> Result<CompletionResponse, EngineError> {
        let messages = RequestMessage::Completion { text: prompt.to_string(), echo_prompt: false, best_of: None };
        match self.run_alone(messages, sampling, None).await? {
            Some(Response::CompletionDone(done)) => Ok(done),
            other => Err(failure(other)),
        }
    }

    /// A non-streaming chat completion whose every next-token choice goes through `processor` (which sees the
    /// logits and the context, and returns the logits greedy decoding picks from).
    pub async fn chat_processed(
        &self,
        messages: &[ChatMessage],
        sampling: &Sampling,
        processor: Arc<dyn CustomLogitsProcessor>,
    ) -> Result<ChatCompletionResponse, EngineError> {
        let messages = {
            use mistralrs::RequestLike;
            Self::chat_request(messages, sampling).take_messages()
        };
        match self.run_alone(messages, sampling, Some(vec![processor])).await? {
            Some(Response::Done(done)) => Ok(done),
            other => Err(failure(other)),
        }
    }

    /// Waits for the engine to be free; the permit keeps it until dropped.
    async fn turn(&self) -> Result<OwnedSemaphorePermit, EngineError> {
        self.sequencer.clone().acquire_owned().await.map_err(|e| EngineError::Inference(e.to_string()))
    }

    fn sender(&self) -> Result<mpsc::Sender<Request>, EngineError> {
        self.model.inner().get_sender(None).map_err(|e| EngineError::Inference(e.to_string()))
    }

    /// Runs one non-streaming sequence alone and returns its response. The permit and the response channel
    /// live in a task that drains the channel until mistral.rs drops it (the sequence has ended), so a caller
    /// that gives up (a timeout, a client gone) cannot let a second sequence in beside a running one.
    async fn run_alone(
        &self,
        messages: RequestMessage,
        sampling: &Sampling,
        logits_processors: Option<Vec<Arc<dyn CustomLogitsProcessor>>>,
    ) -> Result<Option<Response>, EngineError> {
        let (request, mut rx) = self.normal_request(messages, sampling, false, logits_processors);
        let turn = self.turn().await?;
        let sender = self.sender()?;
        let (answer_tx, answer_rx) = oneshot::channel();
        tokio::spawn(async move {
            let _turn = turn;
            if sender.send(request).await.is_err() {
                return;
            }
            let _ = answer_tx.send(rx.recv().await);
            while rx.recv().await.is_some() {}
        });
        answer_rx.await.map_err(|_| EngineError::Inference("the engine did not take the request".into()))
    }

    fn normal_request(
        &self,
        messages: RequestMessage,
        sampling: &Sampling,
        is_streaming: bool,
        logits_processors: Option<Vec<Arc<dyn CustomLogitsProcessor>>>,
    ) -> (Request, mpsc::Receiver<Response>) {
        let (tx, rx) = mpsc::channel(64);
        let request = Request::Normal(Box::new(NormalRequest {
            messages,
            sampling_params: sampling.params(),
            response: tx,
            return_logprobs: false,
            is_streaming,
            id: 0,
            constraint: Constraint::None,
            suffix: None,
            tools: None,
            tool_choice: None,
            logits_processors,
            return_raw_logits: false,
            web_search_options: None,
            model_id: None,
            truncate_sequence: false,
        }));
        (request, rx)
    }
}

/// The error in a non-streaming request's only response (anything but the answer it waited for).
fn failure(response: Option<Response>) -> EngineError {
    match response {
        Some(Response::ModelError(message, _)) | Some(Response::CompletionModelError(message, _)) => {
            EngineError::Inference(message)
        }
        Some(Response::ValidationError(e)) | Some(Response::InternalError(e)) => EngineError::Inference(e.to_string()),
        Some(_) => EngineError::Inference("unexpected response kind".into()),
        None => EngineError::Inference("engine closed the request".into()),
    }
}
