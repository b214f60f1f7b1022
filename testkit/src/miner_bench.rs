//! `neuro-bench miner`: prefill and decode throughput of a model through the engine and through the node's HTTP
//! API (same streaming request, same machine), time to first token, and proof time per batch size.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use futures::StreamExt;
use neuro_prover::{Batch, Receipt, keys::KeyPaths};

use neuro_miner::{
    engine::{ChatMessage, Engine, ModelSource, Sampling},
    work::prove_isolated,
};

use crate::network;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One streamed generation, measured by the caller.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Time to the first streamed token.
    pub ttft: Duration,
    /// Time from the first to the last token.
    pub decode: Duration,
}

impl Run {
    /// Prefill throughput (prompt tokens over the time to the first token).
    pub fn prefill_tps(&self) -> f64 {
        self.prompt_tokens as f64 / self.ttft.as_secs_f64()
    }

    /// Decode throughput (tokens after the first over the time after the first).
    pub fn decode_tps(&self) -> f64 {
        self.completion_tokens.saturating_sub(1) as f64 / self.decode.as_secs_f64().max(1e-9)
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn prompt() -> Vec<ChatMessage> {
    let text = "Summarise the history of decentralised computing networks, from volunteer grids to blockchains, \
                in a few careful paragraphs for a technical audience.";
    vec![ChatMessage::new("user", text)]
}

async fn engine_run(engine: &Engine, tokens: usize) -> Result<Run, BoxError> {
    let sampling = Sampling { max_tokens: tokens, temperature: Some(0.0), ..Sampling::default() };
    let started = Instant::now();
    let (mut rx, _) = engine.chat_stream(&prompt(), &sampling, &Default::default()).await?;
    let (mut first, mut last, mut usage) = (None, started, None);
    while let Some(response) = rx.recv().await {
        if let mistralrs::Response::Chunk(chunk) = response {
            let now = Instant::now();
            first.get_or_insert(now);
            last = now;
            if let Some(u) = chunk.usage {
                usage = Some((u.prompt_tokens as u64, u.completion_tokens as u64));
            }
            if chunk.choices.iter().any(|c| c.finish_reason.is_some()) && usage.is_some() {
                break;
            }
        }
    }
    let (prompt_tokens, completion_tokens) = usage.ok_or("no usage from the engine")?;
    let first = first.ok_or("no token")?;
    Ok(Run { prompt_tokens, completion_tokens, ttft: first - started, decode: last - first })
}

async fn http_run(client: &reqwest::Client, url: &str, key: &str, tokens: usize) -> Result<Run, BoxError> {
    let body = serde_json::json!({"model": "tiny", "stream": true, "max_tokens": tokens, "temperature": 0.0,
        "messages": [{"role": "user", "content": prompt()[0].content}]});
    let started = Instant::now();
    let response = client.post(format!("{url}/v1/chat/completions")).bearer_auth(key).json(&body).send().await?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()).into());
    }
    let mut stream = response.bytes_stream();
    let (mut first, mut last, mut usage, mut buffer) = (None, started, None, String::new());
    while let Some(bytes) = stream.next().await {
        buffer.push_str(&String::from_utf8_lossy(&bytes?));
        while let Some(pos) = buffer.find('\n') {
            let line: String = buffer.drain(..=pos).collect();
            let Some(data) = line.trim_end().strip_prefix("data: ") else { continue };
            if data == "[DONE]" {
                continue;
            }
            let now = Instant::now();
            first.get_or_insert(now);
            last = now;
            let chunk: serde_json::Value = serde_json::from_str(data)?;
            if let (Some(p), Some(c)) =
                (chunk["usage"]["prompt_tokens"].as_u64(), chunk["usage"]["completion_tokens"].as_u64())
            {
                usage = Some((p, c));
            }
        }
    }
    let (prompt_tokens, completion_tokens) = usage.ok_or("no usage in the stream")?;
    let first = first.ok_or("no token")?;
    Ok(Run { prompt_tokens, completion_tokens, ttft: first - started, decode: last - first })
}

fn row(label: &str, runs: &[Run]) {
    println!(
        "| {label} | {:.0} | {:.1} | {:.1} ms | {} |",
        median(runs.iter().map(Run::prefill_tps).collect()),
        median(runs.iter().map(Run::decode_tps).collect()),
        median(runs.iter().map(|r| r.ttft.as_secs_f64() * 1e3).collect()),
        runs.first().map(|r| r.completion_tokens).unwrap_or(0)
    );
}

/// How `neuro-bench miner` runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Activations of the in-process engine.
    pub dtype: neuro_miner::engine::cpu::ActivationDType,
    /// Time the in-process engine only.
    pub engine_only: bool,
}

/// Runs the benchmark and prints Markdown tables.
pub async fn run(
    model: PathBuf,
    tokens: usize,
    runs: usize,
    batches: Vec<usize>,
    keys_dir: PathBuf,
    options: Options,
) -> Result<(), BoxError> {
    let runs = runs.max(1);
    neuro_miner::engine::cpu::configure_threads(None);
    let engine = Engine::load_in(ModelSource::detect(&model)?, None, options.dtype).await?;
    engine_run(&engine, 8).await?; // warm-up
    let mut direct = Vec::new();
    for _ in 0..runs {
        direct.push(engine_run(&engine, tokens).await?);
    }
    drop(engine);
    if options.engine_only {
        println!("model: {} ({tokens} tokens requested, median of {runs}, {:?})\n", model.display(), options.dtype);
        println!("| path | prefill tok/s | decode tok/s | time to first token | completion tokens |");
        println!("| --- | --- | --- | --- | --- |");
        row("mistral.rs engine (in process)", &direct);
        return Ok(());
    }

    let scratch = std::env::temp_dir().join(format!("neuro-bench-{}", std::process::id()));
    let net = network::start(model.clone(), keys_dir.clone(), scratch.clone()).await?;
    let now = net.chain.now().await?;
    let key = net.api_key(net.chain.operator, network::neuro(50), now + 30 * 86_400, &net.user).await?;
    let client = reqwest::Client::new();
    http_run(&client, &net.url, &key, 8).await?; // warm-up
    let mut served = Vec::new();
    for _ in 0..runs {
        served.push(http_run(&client, &net.url, &key, tokens).await?);
    }
    println!("model: {} ({tokens} tokens requested, median of {runs})\n", model.display());
    println!("| path | prefill tok/s | decode tok/s | time to first token | completion tokens |");
    println!("| --- | --- | --- | --- | --- |");
    row("mistral.rs engine (in process)", &direct);
    row("neuro-miner serve (HTTP + payment check + receipt)", &served);
    let ratio =
        median(served.iter().map(Run::decode_tps).collect()) / median(direct.iter().map(Run::decode_tps).collect());
    println!("\ndecode throughput through the node: {:.1}% of the engine's\n", ratio * 100.0);

    println!("| batch N | proof time (median of {runs}) |");
    println!("| --- | --- |");
    for n in batches {
        let paths = KeyPaths::new(&keys_dir, n);
        if !paths.proving.exists() {
            println!("| {n} | no key in {} (run neuro-prover setup --batch {n}) |", keys_dir.display());
            continue;
        }
        let pk = paths.load_proving()?;
        let receipts: Vec<Receipt> = (0..n)
            .map(|i| Receipt {
                request_hash: [i as u8; 32],
                model_id: net.model_id,
                prompt_tokens: 50,
                completion_tokens: 100,
                fee: 300_000_000_000_000,
                user: [1; 20],
            })
            .collect();
        let batch = Batch::new(n, net.model_id, &receipts)?;
        let mut times = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            prove_isolated(&pk, &batch, [2; 20], 0)?;
            times.push(started.elapsed().as_secs_f64());
        }
        println!("| {n} | {:.2} s |", median(times));
    }
    let _ = std::fs::remove_dir_all(scratch);
    Ok(())
}

/// `neuro-bench miner-load`: `clients` concurrent streaming clients of one user for `seconds` against a node on a
/// local anvil. Prints time to first token (p50/p99), aggregate decode throughput, errors by kind, and whether
/// every served request left exactly one receipt (billed).
pub async fn load(
    model: PathBuf,
    keys_dir: PathBuf,
    clients: usize,
    seconds: u64,
    tokens: usize,
) -> Result<(), BoxError> {
    use std::{collections::BTreeMap, sync::Arc};

    let clients = clients.max(1);
    let limits = neuro_miner::config::Limits {
        max_concurrent_requests: clients,
        max_requests_per_user: clients,
        ..Default::default()
    };
    let scratch = std::env::temp_dir().join(format!("neuro-bench-load-{}", std::process::id()));
    let net = network::start_with(model.clone(), keys_dir, scratch.clone(), limits).await?;
    let now = net.chain.now().await?;
    let key = net.api_key(net.chain.operator, network::neuro(90), now + 30 * 86_400, &net.user).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    http_run(&client, &net.url, &key, 8).await?; // warm-up
    let (receipts_before, ..) = net.store.counts().await?;

    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, url, key) = (client.clone(), net.url.clone(), Arc::new(key.clone()));
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                while Instant::now() < deadline {
                    outcomes.push(http_run(&client, &url, &key, tokens).await.map_err(|e| e.to_string()));
                }
                outcomes
            })
        })
        .collect();
    let mut runs = Vec::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for task in tasks {
        for outcome in task.await? {
            match outcome {
                Ok(run) => runs.push(run),
                Err(e) => *errors.entry(e).or_default() += 1,
            }
        }
    }
    let elapsed = started.elapsed();
    let (receipts_after, ..) = net.store.counts().await?;

    let mut ttft = hdrhistogram::Histogram::<u64>::new(3)?;
    for run in &runs {
        ttft.record(run.ttft.as_millis() as u64)?;
    }
    let completion: u64 = runs.iter().map(|r| r.completion_tokens).sum();
    println!(
        "model: {} — {clients} streaming clients of one user for {seconds} s, max_tokens {tokens}\n",
        model.display()
    );
    println!(
        "| clients | requests served | errors | TTFT p50 | TTFT p99 | completion tok/s (all clients) | receipts stored |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    println!(
        "| {clients} | {} | {} | {} ms | {} ms | {:.1} | {} |",
        runs.len(),
        errors.values().sum::<usize>(),
        ttft.value_at_quantile(0.5),
        ttft.value_at_quantile(0.99),
        completion as f64 / elapsed.as_secs_f64(),
        receipts_after - receipts_before
    );
    for (error, count) in &errors {
        println!("\nerror ×{count}: {error}");
    }
    let billed = receipts_after - receipts_before == runs.len() as u64;
    println!("\nevery served request billed exactly once: {}", if billed { "yes" } else { "NO" });
    net.shutdown.cancel();
    let _ = std::fs::remove_dir_all(scratch);
    if !billed || !errors.is_empty() {
        return Err("the load run had errors or unbilled requests".into());
    }
    Ok(())
}
