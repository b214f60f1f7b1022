//! A loaded model: mistral.rs, fully offline, from local files.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use mistralrs::{
    ChatCompletionResponse, CompletionResponse, Constraint, CustomLogitsProcessor, GgufModelBuilder, Model,
    NormalRequest, Request, RequestMessage, Response, SamplingParams, TextModelBuilder, TokenSource,
    core::TokenizationRequest,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::{
    chat::{ChatMessage, ChatOptions, template_messages},
    cpu::ActivationDType,
};

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
    /// The request's tools and constraints contradict each other.
    #[error(transparent)]
    Options(#[from] crate::chat::OptionsError),
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
    /// OpenAI's frequency penalty, [-2, 2].
    pub frequency_penalty: Option<f32>,
    /// OpenAI's presence penalty, [-2, 2].
    pub presence_penalty: Option<f32>,
    /// Bias added to these tokens' logits, [-100, 100].
    pub logit_bias: std::collections::HashMap<u32, f32>,
    /// Return each generated token's log-probability with this many alternatives (None: no log-probabilities).
    pub logprobs: Option<usize>,
}

impl Sampling {
    pub(crate) fn params(&self) -> SamplingParams {
        let mut params = SamplingParams::deterministic();
        // OpenAI's temperature 0 is greedy decoding. mistral.rs would divide by it, and treats a missing
        // temperature as 1.0, so greedy is spelled top-k 1 (which `deterministic()` sets) without a temperature.
        // top_p 0 keeps only the most likely token: greedy too.
        let greedy = self.temperature.is_some_and(|t| t <= 0.0) || self.top_p == Some(0.0);
        if !greedy {
            params.top_k = None;
            params.temperature = self.temperature;
        }
        params.top_p = self.top_p.filter(|p| *p > 0.0);
        params.max_len = Some(self.max_tokens);
        params.frequency_penalty = self.frequency_penalty;
        params.presence_penalty = self.presence_penalty;
        // `logit_bias` is applied by a logits processor (`LogitBias`): mistral.rs 0.8.1 has a `logits_bias`
        // field that nothing reads.
        params.top_n_logprobs = self.logprobs.unwrap_or(0);
        if !self.stop.is_empty() {
            params.stop_toks = Some(mistralrs::StopTokens::Seqs(self.stop.clone()));
        }
        params
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
    vocab: Arc<crate::vocab::Vocabulary>,
    /// One permit: held for the whole of a sequence (a stream's until its last chunk or its receiver drops).
    sequencer: Arc<Semaphore>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("source", &self.source).finish_non_exhaustive()
    }
}

impl Engine {
    /// Loads `source` on the CPU (or the GPU of a `cuda`/`metal` build) without any network access, with F32
    /// activations on the CPU (`crate::cpu`).
    pub async fn load(source: ModelSource) -> Result<Self, EngineError> {
        Self::load_with(source, None).await
    }

    /// Loads `source`, a safetensors model quantized in place to `isq` when given (GGUF files are quantized
    /// already and ignore it).
    pub async fn load_with(source: ModelSource, isq: Option<mistralrs::IsqType>) -> Result<Self, EngineError> {
        Self::load_in(source, isq, ActivationDType::default()).await
    }

    /// [`Self::load_with`] with the activation dtype of a CPU model (GPU builds keep mistral.rs's choice).
    pub async fn load_in(
        source: ModelSource,
        isq: Option<mistralrs::IsqType>,
        dtype: ActivationDType,
    ) -> Result<Self, EngineError> {
        let load_error =
            |e: anyhow::Error| EngineError::Load { path: source.path().to_path_buf(), message: format!("{e:#}") };
        let gpu = cfg!(any(feature = "cuda", feature = "metal"));
        let model = match &source {
            ModelSource::Gguf(file) if !gpu => gguf_on_cpu(file, dtype).await.map_err(load_error)?,
            ModelSource::Gguf(file) => {
                let dir = file.parent().unwrap_or(Path::new(".")).to_string_lossy().into_owned();
                let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                GgufModelBuilder::new(dir, vec![name])
                    .with_token_source(TokenSource::None)
                    .build()
                    .await
                    .map_err(load_error)?
            }
            ModelSource::Safetensors(dir) => {
                let mut builder = TextModelBuilder::new(dir.to_string_lossy()).with_token_source(TokenSource::None);
                if let Some(isq) = isq {
                    builder = builder.with_isq(isq);
                }
                let builder = if gpu { builder } else { builder.with_force_cpu().with_dtype(dtype.model_dtype()) };
                builder.build().await.map_err(load_error)?
            }
        };
        // The engine's own limit on prompt + generated tokens; unknown for some model kinds.
        let context_length = model.config().ok().and_then(|c| c.max_seq_len);
        let vocab = crate::vocab::Vocabulary::load(&source)
            .map_err(|e| EngineError::Load { path: source.path().to_path_buf(), message: e.to_string() })?;
        Ok(Self { model, source, context_length, vocab: Arc::new(vocab), sequencer: Arc::new(Semaphore::new(1)) })
    }

    /// Tokens in the model's vocabulary (the width of its logits), read from its tokenizer.
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// Most tokens (prompt and completion together) one sequence may hold, when the engine knows it.
    pub fn context_length(&self) -> Option<usize> {
        self.context_length
    }

    /// Where the model was loaded from.
    pub fn source(&self) -> &ModelSource {
        &self.source
    }

    fn chat_messages(messages: &[ChatMessage]) -> RequestMessage {
        RequestMessage::Chat { messages: template_messages(messages), enable_thinking: None, reasoning_effort: None }
    }

    /// Number of prompt tokens `messages` take after the chat template (with `tools` rendered into it), as the
    /// model's tokenizer counts them.
    pub async fn count_chat_tokens(
        &self,
        messages: &[ChatMessage],
        options: &ChatOptions,
    ) -> Result<usize, EngineError> {
        let (tx, mut rx) = mpsc::channel(1);
        let request = Request::Tokenize(TokenizationRequest {
            text: either::Either::Left(template_messages(messages)),
            tools: options.template_tools(),
            add_generation_prompt: true,
            add_special_tokens: true,
            enable_thinking: None,
            reasoning_effort: None,
            response: tx,
        });
        self.sender()?.send(request).await.map_err(|e| EngineError::Inference(e.to_string()))?;
        match rx.recv().await {
            Some(Ok(tokens)) => Ok(tokens.len()),
            Some(Err(e)) => Err(EngineError::Inference(format!("{e:#}"))),
            None => Err(EngineError::Inference("the engine did not tokenize the prompt".into())),
        }
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
        self.chat_with(messages, sampling, &ChatOptions::default()).await
    }

    /// [`Self::chat`] with tools and output constraints.
    pub async fn chat_with(
        &self,
        messages: &[ChatMessage],
        sampling: &Sampling,
        options: &ChatOptions,
    ) -> Result<ChatCompletionResponse, EngineError> {
        let tops = TopLogprobs::for_sampling(sampling);
        let generation = Generation::new(sampling, options, false, tops.clone().map(TopLogprobs::processor))?;
        match self.run_alone(Self::chat_messages(messages), generation).await? {
            Some(Response::Done(mut done)) => {
                if let (Some(tops), Some(choice)) = (tops, done.choices.first_mut()) {
                    tops.patch(choice.logprobs.as_mut(), &self.vocab);
                }
                Ok(done)
            }
            other => Err(failure(other)),
        }
    }

    /// A streaming chat completion: chunks arrive on the returned channel; the last carries `usage`, except
    /// that mistral.rs 0.8.1 sends no last chunk when the answer ends inside a UTF-8 character, so the count of
    /// generated tokens comes with the channel (final once it has closed).
    ///
    /// The engine stays this sequence's until it ends or the reader goes (a reader that keeps the channel but
    /// takes no chunk for 30 s is treated as gone, which stops the generation).
    pub async fn chat_stream(
        &self,
        messages: &[ChatMessage],
        sampling: &Sampling,
        options: &ChatOptions,
    ) -> Result<(mpsc::Receiver<Response>, Arc<StepCount>), EngineError> {
        let steps = Arc::new(StepCount::default());
        let counter: Arc<dyn CustomLogitsProcessor> = steps.clone();
        let generation = Generation::new(sampling, options, true, Some(vec![counter]))?;
        Ok((self.stream(Self::chat_messages(messages), generation).await?, steps))
    }

    /// A streaming raw completion of `prompt` (chunks as [`Self::chat_stream`]'s), and the count of tokens it
    /// generated, final once the stream has ended: mistral.rs's completion chunks carry no usage, so a logits
    /// processor counts the sampling steps.
    pub async fn complete_stream(
        &self,
        prompt: &str,
        sampling: &Sampling,
        echo: bool,
    ) -> Result<(mpsc::Receiver<Response>, Arc<StepCount>), EngineError> {
        let steps = Arc::new(StepCount::default());
        let counter: Arc<dyn CustomLogitsProcessor> = steps.clone();
        let generation = Generation::new(sampling, &ChatOptions::default(), true, Some(vec![counter]))?;
        let messages = RequestMessage::Completion { text: prompt.to_string(), echo_prompt: echo, best_of: None };
        Ok((self.stream(messages, generation).await?, steps))
    }

    async fn stream(
        &self,
        messages: RequestMessage,
        generation: Generation,
    ) -> Result<mpsc::Receiver<Response>, EngineError> {
        let (request, mut inner) = self.normal_request(messages, generation);
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

    /// A raw (non-chat) completion of `prompt`, which the answer repeats first when `echo`.
    pub async fn complete(
        &self,
        prompt: &str,
        sampling: &Sampling,
        echo: bool,
    ) -> Result<CompletionResponse, EngineError> {
        let messages = RequestMessage::Completion { text: prompt.to_string(), echo_prompt: echo, best_of: None };
        let tops = TopLogprobs::for_sampling(sampling);
        let generation =
            Generation::new(sampling, &ChatOptions::default(), false, tops.clone().map(TopLogprobs::processor))?;
        match self.run_alone(messages, generation).await? {
            Some(Response::CompletionDone(mut done)) => {
                if let (Some(tops), Some(choice)) = (tops, done.choices.first_mut()) {
                    tops.patch(choice.logprobs.as_mut(), &self.vocab);
                }
                Ok(done)
            }
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
        let generation = Generation::new(sampling, &ChatOptions::default(), false, Some(vec![processor]))?;
        match self.run_alone(Self::chat_messages(messages), generation).await? {
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
        generation: Generation,
    ) -> Result<Option<Response>, EngineError> {
        let (request, mut rx) = self.normal_request(messages, generation);
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

    fn normal_request(&self, messages: RequestMessage, generation: Generation) -> (Request, mpsc::Receiver<Response>) {
        let (tx, rx) = mpsc::channel(64);
        let Generation { sampling, return_logprobs, is_streaming, constraint, tools, tool_choice, logits_processors } =
            generation;
        let request = Request::Normal(Box::new(NormalRequest {
            messages,
            return_logprobs,
            sampling_params: sampling,
            response: tx,
            is_streaming,
            id: 0,
            constraint,
            suffix: None,
            tools,
            tool_choice,
            logits_processors,
            return_raw_logits: false,
            web_search_options: None,
            model_id: None,
            truncate_sequence: false,
        }));
        (request, rx)
    }
}

/// The most likely tokens of each step, from the model's own distribution. mistral.rs 0.8.1 reports
/// alternatives after its top-k filter, so under greedy decoding (top-k 1) every alternative is -inf, and it
/// reports log-probabilities in base 10 where OpenAI's are natural: its reports are patched.
#[derive(Debug, Clone)]
struct TopLogprobs {
    count: usize,
    steps: Arc<std::sync::Mutex<std::collections::BTreeMap<usize, StepTop>>>,
}

/// One step's most likely tokens, with their natural log-probabilities.
type StepTop = Vec<(u32, f32)>;

impl TopLogprobs {
    fn for_sampling(sampling: &Sampling) -> Option<Self> {
        sampling.logprobs.map(|count| Self { count, steps: Default::default() })
    }

    fn processor(self) -> Vec<Arc<dyn CustomLogitsProcessor>> {
        vec![Arc::new(self)]
    }

    /// Replaces each reported token's alternatives with the recorded ones.
    fn patch(&self, logprobs: Option<&mut mistralrs::Logprobs>, vocab: &crate::vocab::Vocabulary) {
        let steps = self.steps.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(tokens) = logprobs.and_then(|l| l.content.as_mut()) else { return };
        for token in tokens.iter_mut() {
            token.logprob *= std::f32::consts::LN_10;
        }
        for (token, step) in tokens.iter_mut().zip(steps.values()) {
            token.top_logprobs = step
                .iter()
                .map(|(id, logprob)| mistralrs::TopLogprob {
                    token: *id,
                    logprob: *logprob,
                    bytes: Some(String::from_utf8_lossy(vocab.bytes(*id)).into_owned()),
                })
                .collect();
        }
    }
}

impl CustomLogitsProcessor for TopLogprobs {
    fn apply(&self, logits: &mistralrs::Tensor, context: &[u32]) -> mistralrs::Result<mistralrs::Tensor> {
        let values: Vec<f32> = logits.to_dtype(mistralrs::DType::F32)?.flatten_all()?.to_vec1()?;
        let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let log_sum = values.iter().map(|v| (v - max).exp()).sum::<f32>().ln() + max;
        let best = crate::forcing::most_likely(&values, self.count);
        let step = best.into_iter().map(|id| (id, values[id as usize] - log_sum)).collect();
        // One entry per position: a step sampled again (a grammar refused the first pick) replaces its entry.
        self.steps.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(context.len(), step);
        Ok(logits.clone())
    }
}

/// Counts a sequence's generated tokens without touching the logits: the positions it sampled at. A position
/// is counted once: with a grammar, mistral.rs samples a step again when its first pick breaks the grammar, and
/// the logits processors see that step twice.
#[derive(Debug, Default)]
pub struct StepCount(std::sync::Mutex<std::collections::BTreeSet<usize>>);

impl StepCount {
    /// Tokens generated so far.
    pub fn get(&self) -> usize {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

impl CustomLogitsProcessor for StepCount {
    fn apply(&self, logits: &mistralrs::Tensor, context: &[u32]) -> mistralrs::Result<mistralrs::Tensor> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(context.len());
        Ok(logits.clone())
    }
}

/// Loads a GGUF file on the CPU in `dtype`: what mistral.rs's `GgufModelBuilder::build` does, except for the
/// dtype, which the builder hard-codes to `Auto` (BF16 on a CPU).
async fn gguf_on_cpu(file: &Path, dtype: ActivationDType) -> anyhow::Result<Model> {
    use mistralrs::core::{
        AutoDeviceMapParams, DefaultSchedulerMethod, DeviceMapSetting, GGUFLoaderBuilder, GGUFSpecificConfig,
        MistralRsBuilder, SchedulerConfig,
    };
    let dir = file.parent().unwrap_or(Path::new(".")).to_string_lossy().into_owned();
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let loader =
        GGUFLoaderBuilder::new(None, None, dir, vec![name], GGUFSpecificConfig { topology: None }, false, None).build();
    let pipeline = loader.load_model_from_hf(
        None,
        TokenSource::None,
        &dtype.model_dtype(),
        &mistralrs::Device::Cpu,
        true,
        DeviceMapSetting::Auto(AutoDeviceMapParams::default_text()),
        None,
        None,
    )?;
    // The builder's defaults: 32 sequences scheduled (the engine runs one at a time), 16 cached prefixes.
    let scheduler = SchedulerConfig::DefaultScheduler { method: DefaultSchedulerMethod::Fixed(32.try_into()?) };
    let runner = MistralRsBuilder::new(pipeline, scheduler, false, None).with_prefix_cache_n(16).build().await;
    Ok(Model::new(runner))
}

/// OpenAI's `logit_bias`: a fixed amount added to some tokens' logits before sampling (ids outside the
/// vocabulary are left out; the API refuses them before they get here).
struct LogitBias(std::collections::HashMap<u32, f32>);

impl CustomLogitsProcessor for LogitBias {
    fn apply(&self, logits: &mistralrs::Tensor, _context: &[u32]) -> mistralrs::Result<mistralrs::Tensor> {
        let mut values: Vec<f32> = logits.to_dtype(mistralrs::DType::F32)?.flatten_all()?.to_vec1()?;
        for (id, bias) in &self.0 {
            if let Some(value) = values.get_mut(*id as usize) {
                *value += bias;
            }
        }
        mistralrs::Tensor::from_vec(values, logits.shape(), logits.device())?.to_dtype(logits.dtype())
    }
}

/// Everything one engine request asks besides its messages.
struct Generation {
    sampling: SamplingParams,
    return_logprobs: bool,
    is_streaming: bool,
    constraint: Constraint,
    tools: Option<Vec<mistralrs::Tool>>,
    tool_choice: Option<mistralrs::ToolChoice>,
    logits_processors: Option<Vec<Arc<dyn CustomLogitsProcessor>>>,
}

impl Generation {
    fn new(
        sampling: &Sampling,
        options: &ChatOptions,
        is_streaming: bool,
        logits_processors: Option<Vec<Arc<dyn CustomLogitsProcessor>>>,
    ) -> Result<Self, EngineError> {
        let constraint = match options.constraint().map_err(EngineError::Options)? {
            Some(schema) => Constraint::JsonSchema(schema),
            None => Constraint::None,
        };
        let mut logits_processors = logits_processors;
        if !sampling.logit_bias.is_empty() {
            let bias: Arc<dyn CustomLogitsProcessor> = Arc::new(LogitBias(sampling.logit_bias.clone()));
            // The bias goes first, so a steering processor (teacher forcing) still has the last word.
            logits_processors = Some([vec![bias], logits_processors.unwrap_or_default()].concat());
        }
        Ok(Self {
            sampling: sampling.params(),
            return_logprobs: sampling.logprobs.is_some(),
            is_streaming,
            constraint,
            tools: options.template_tools(),
            tool_choice: options.tool_choice(),
            logits_processors,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_sampled_again_counts_once() -> mistralrs::Result<()> {
        // With a grammar, mistral.rs samples a step again when its first pick breaks it: same context twice.
        let counter = StepCount::default();
        let logits = mistralrs::Tensor::zeros(4, mistralrs::DType::F32, &mistralrs::Device::Cpu)?;
        counter.apply(&logits, &[1, 2, 3])?;
        counter.apply(&logits, &[1, 2, 3])?;
        counter.apply(&logits, &[1, 2, 3, 4])?;
        assert_eq!(counter.get(), 2);
        let bias = LogitBias([(1u32, 5.0f32), (99, 1.0)].into_iter().collect());
        let biased: Vec<f32> = bias.apply(&logits, &[])?.to_vec1()?;
        assert_eq!(biased, vec![0.0, 5.0, 0.0, 0.0], "ids beyond the logits are left out");
        Ok(())
    }
}
