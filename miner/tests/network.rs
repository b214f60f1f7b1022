//! The miner against anvil with the deployed contracts and a tiny real model served by mistral.rs: stock
//! OpenAI-style HTTP requests paid by allowance API keys, refusals, receipts, and a whole epoch of work ending in
//! an exact reward claim.

use std::{path::PathBuf, sync::Arc};

use alloy::{
    primitives::{Address, U256},
    signers::local::PrivateKeySigner,
};
use neuro_miner::{actions, metrics::Metrics, store::Store, work::EpochWorker};
use neuro_protocol::{
    bindings::NodeRegistry,
    bindings::{Emissions, NeuroToken, UsageLedger},
    receipt::{Expected, SignedReceipt},
    voucher::SignedAllowance,
};
use neuro_testkit::{
    Devnet,
    network::{self as devnet, LocalNetwork, neuro},
    tiny_model::{self, TinyModelSpec},
};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

async fn start_network(tag: &str) -> Result<LocalNetwork, Box<dyn std::error::Error + Send + Sync>> {
    let dir = std::env::temp_dir().join(format!("neuro-miner-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let model = dir.join("tiny");
    tiny_model::write(&model, TinyModelSpec::default())?;
    let keys =
        std::env::var_os("NEURO_KEYS_DIR").map(PathBuf::from).unwrap_or_else(|| Devnet::repo_root().join("keys"));
    devnet::start(model, keys, dir).await
}

/// Moves the chain past the end of `epoch`.
async fn warp_past(n: &LocalNetwork, epoch: u64) -> TestResult {
    let emissions = Emissions::new(n.devnet.manifest().contracts.emissions, n.chain.provider.clone());
    let next_start = emissions.epochStart(U256::from(epoch + 1)).call().await?.to::<u64>();
    devnet::warp(&n.plain, next_start - n.chain.now().await? + 1).await?;
    Ok(())
}

/// RPC settings that give up fast on a faulty endpoint.
fn quick_rpc(read_retries: u32) -> neuro_chain::RpcConfig {
    neuro_chain::RpcConfig {
        connect_timeout: std::time::Duration::from_millis(500),
        request_timeout: std::time::Duration::from_secs(2),
        read_retries,
        retry_backoff_ms: 20,
    }
}

fn chat_body(stream: bool) -> Value {
    json!({"model": "tiny", "messages": [{"role": "user", "content": "Hello there"}], "max_tokens": 12, "stream": stream})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_meters_refuses_and_earns() -> TestResult {
    let n = start_network("full").await?;
    let http = reqwest::Client::new();
    let now = n.chain.now().await?;
    let miner = n.chain.operator;
    let key = n.api_key(miner, neuro(10), now + 30 * 86_400, &n.user).await?;

    // Models and health.
    let models: Value = http.get(format!("{}/v1/models", n.url)).send().await?.json().await?;
    assert_eq!(models["data"][0]["id"], "tiny");
    assert_eq!(models["data"][0]["neuro_model_id"], format!("0x{}", hex::encode(n.model_id)));
    assert_eq!(http.get(format!("{}/health", n.url)).send().await?.status(), 200);

    // A stock chat completion.
    let request = serde_json::to_vec(&chat_body(false))?;
    let response = http
        .post(format!("{}/v1/chat/completions", n.url))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(request.clone())
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await?;
    // It carries a receipt signed by the node's registered signer over exactly this request and answer.
    let domain = n.chain.receipts_domain();
    let registered = NodeRegistry::new(n.devnet.manifest().contracts.node_registry, n.chain.provider.clone())
        .getNode(miner)
        .call()
        .await?
        .receiptSigner;
    let signed: SignedReceipt = serde_json::from_value(body["neuro_receipt"].clone())?;
    let answer = body["choices"][0]["message"]["content"].as_str().ok_or("content")?;
    signed.verify(&domain, Expected { signer: registered, request: &request, output: answer })?;
    assert!(signed.verify(&domain, Expected { signer: registered, request: &request, output: "other" }).is_err());
    assert_eq!((signed.receipt.miner, signed.receipt.modelId.0), (miner, n.model_id));
    let usage = &body["usage"];
    let (prompt, completion) =
        (usage["prompt_tokens"].as_u64().ok_or("prompt")?, usage["completion_tokens"].as_u64().ok_or("completion")?);
    assert!(prompt > 0 && completion > 0 && completion <= 12, "{usage}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "tiny", "the served name, not the engine's path");
    assert!(body["choices"][0]["message"]["content"].is_string());

    // The receipt is stored with the fee at 2 NEURO per million tokens, rounded up.
    let epoch = n.chain.epoch_at(n.chain.now().await?);
    let receipts = n.store.unbatched_receipts(epoch).await?;
    assert_eq!(receipts.len(), 1);
    let r = receipts[0].receipt;
    assert_eq!((r.prompt_tokens, r.completion_tokens), (prompt, completion));
    assert_eq!(U256::from(r.fee), ((U256::from(prompt + completion) * neuro(2)).div_ceil(U256::from(1_000_000u64))));
    assert_eq!(r.model_id, n.model_id);
    // The batch leaf commits to the signed receipt, so its holder can recompute the leaf.
    let id = body["id"].as_str().ok_or("id")?;
    assert_eq!(r.request_hash, neuro_miner::server::leaf_hash(signed.receipt.digest(&domain), id));
    assert_eq!((signed.receipt.promptTokens, signed.receipt.completionTokens), (prompt, completion));
    assert_eq!(signed.receipt.fee, U256::from(r.fee));

    // Streaming: SSE chunks, then [DONE]; metered too.
    let text = http
        .post(format!("{}/v1/chat/completions", n.url))
        .bearer_auth(&key)
        .json(&chat_body(true))
        .send()
        .await?
        .text()
        .await?;
    let events: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    assert_eq!(events.last(), Some(&"[DONE]"), "{text}");
    assert!(events.len() >= 2);
    let first: Value = serde_json::from_str(events[0])?;
    assert_eq!(first["object"], "chat.completion.chunk");
    // The last chunk carries the receipt of the whole stream.
    let chunks: Vec<Value> =
        events[..events.len() - 1].iter().map(|e| serde_json::from_str(e)).collect::<Result<_, _>>()?;
    let streamed: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    let last = chunks.last().ok_or("no chunks")?;
    assert!(last["usage"].is_object(), "usage and receipt come together: {last}");
    let signed: SignedReceipt = serde_json::from_value(last["neuro_receipt"].clone())?;
    let request = serde_json::to_vec(&chat_body(true))?;
    signed.verify(&domain, Expected { signer: registered, request: &request, output: &streamed })?;
    // Raw completion.
    let response = http
        .post(format!("{}/v1/completions", n.url))
        .bearer_auth(&key)
        .json(&json!({"model": "tiny", "prompt": "Once upon a time", "max_tokens": 8}))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    assert_eq!(n.store.unbatched_receipts(epoch).await?.len(), 3);

    // Refusals, with OpenAI-style errors.
    let post = |key: Option<String>, body: Value| {
        let req = http.post(format!("{}/v1/chat/completions", n.url)).json(&body);
        match key {
            Some(k) => req.bearer_auth(k),
            None => req,
        }
    };
    let status_of = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(status_of(post(None, chat_body(false)).send().await?), 401);
    let forged = n.signed_key(miner, neuro(10), now + 30 * 86_400, &PrivateKeySigner::random()).await?;
    let r = post(Some(forged), chat_body(false)).send().await?;
    assert_eq!(r.status(), 401);
    let err: Value = r.json().await?;
    assert_eq!(err["error"]["code"], "invalid_api_key");
    let other_miner = n.api_key(Address::repeat_byte(7), neuro(10), now + 30 * 86_400, &n.user).await?;
    assert_eq!(status_of(post(Some(other_miner), chat_body(false)).send().await?), 401);
    let expiring = n.api_key(miner, neuro(10), now + 60, &n.user).await?;
    assert_eq!(status_of(post(Some(expiring), chat_body(false)).send().await?), 401);
    let tiny_cap = n.api_key(miner, U256::from(1_000u64), now + 30 * 86_400, &n.user).await?;
    let r = post(Some(tiny_cap), chat_body(false)).send().await?;
    assert_eq!(r.status(), 402);
    let err: Value = r.json().await?;
    assert_eq!(err["error"]["type"], "insufficient_quota");
    assert_eq!(
        status_of(
            post(Some(key.clone()), json!({"model": "nope", "messages": [{"role": "user", "content": "x"}]}))
                .send()
                .await?
        ),
        404
    );
    let r = http.post(format!("{}/v1/chat/completions", n.url)).bearer_auth(&key).body("{not json").send().await?;
    assert_eq!(r.status(), 400);
    assert_eq!(n.store.unbatched_receipts(epoch).await?.len(), 3, "refused requests leave no receipt");

    let metrics = http.get(&n.metrics_url).send().await?.text().await?;
    assert!(metrics.contains("neuro_miner_requests_served_total 3"), "{metrics}");
    let public = http.get(format!("{}/metrics", n.url)).send().await?;
    assert_eq!(public.status(), 404, "the operator's metrics are not on the public port");

    // After the epoch: redeem, prove, submit; then finalize and claim the fee-capped reward.
    let fees: u64 = n.store.unbatched_receipts(epoch).await?.iter().map(|r| r.receipt.fee).sum();
    let tokens: u64 = n
        .store
        .unbatched_receipts(epoch)
        .await?
        .iter()
        .map(|r| r.receipt.prompt_tokens + r.receipt.completion_tokens)
        .sum();
    let m = n.devnet.manifest();
    let emissions = Emissions::new(m.contracts.emissions, n.chain.provider.clone());
    warp_past(&n, epoch).await?;
    let worker = EpochWorker::new(
        n.chain.clone(),
        n.store.clone(),
        n.config.proving_keys.clone(),
        64,
        Arc::new(Metrics::default()),
    );
    let report = worker.run(epoch).await?;
    assert_eq!(report.redemptions, 1);
    assert_eq!(report.redeemed, U256::from(fees));
    assert_eq!((report.batches, report.tokens), (1, u128::from(tokens)));
    assert_eq!(worker.run(epoch).await?, Default::default(), "a second run does nothing");
    let ledger = UsageLedger::new(m.contracts.usage_ledger, n.chain.provider.clone());
    let used = ledger.feesUsed(miner, U256::from(epoch), n.model_id.into()).call().await?;
    assert_eq!(U256::from(used.gross), U256::from(fees));
    let work = emissions.minerWork(U256::from(epoch), miner).call().await?;
    assert_eq!(work.units, tokens as u128);
    // 20% of the fees were burned (the rest: 70% to the miner, 10% to the treasury).
    let burned = U256::from(fees)
        - U256::from(fees) * U256::from(7000) / U256::from(10_000)
        - U256::from(fees) / U256::from(10u64);
    assert_eq!(U256::from(work.burnedFees), burned);

    let ready = emissions.finalizableAt(U256::from(epoch)).call().await?.to::<u64>();
    devnet::warp(&n.plain, ready - n.chain.now().await? + 1).await?;
    emissions.finalizeEpoch(U256::from(epoch)).send().await?.get_receipt().await?;
    let token = NeuroToken::new(m.contracts.token, n.chain.provider.clone());
    let before = token.balanceOf(miner).call().await?;
    let (sent, claimed) = actions::claim(&n.chain, &n.store).await?.ok_or("something to claim")?;
    assert!(sent.gas_used > 0);
    let emission = neuro_protocol::schedule::emission_for_epoch(m.epoch_length, epoch);
    let (miner_pool, _) = neuro_protocol::schedule::split(emission, 7000);
    // The only miner's share is the whole pool, but its reward is capped at the epoch's rate (56% by default)
    // of the fees burned for it.
    let rate = emissions.rewardRatesOf(U256::from(epoch)).call().await?.minerBps.to::<u64>();
    assert_eq!(rate, 5600);
    let (reward, forgone) = neuro_protocol::schedule::capped_reward(miner_pool, burned, burned, rate);
    assert_eq!(reward, burned * U256::from(rate) / U256::from(10_000));
    assert!(forgone > U256::ZERO);
    assert_eq!(claimed, reward);
    assert_eq!(token.balanceOf(miner).call().await? - before, reward);
    assert!(actions::claim(&n.chain, &n.store).await?.is_none(), "nothing left to claim");
    let _ = std::fs::remove_dir_all(&n.dir);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_survive_a_restart() -> TestResult {
    let n = start_network("restart").await?;
    let http = reqwest::Client::new();
    let now = n.chain.now().await?;
    let key = n.api_key(n.chain.operator, neuro(10), now + 30 * 86_400, &n.user).await?;
    for _ in 0..2 {
        let r = http
            .post(format!("{}/v1/chat/completions", n.url))
            .bearer_auth(&key)
            .json(&chat_body(false))
            .send()
            .await?;
        assert_eq!(r.status(), 200);
    }
    let path = n.dir.join("receipts.sqlite");
    // It holds users' API keys: readable by the operator only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
    }
    drop(n.store);
    // A second handle (as a restarted process would open) sees both acknowledged receipts, once each.
    let reopened = Store::open(&path)?;
    let (total, pending, batches) = reopened.counts().await?;
    assert_eq!((total, pending, batches), (2, 2, 0));
    let _ = SignedAllowance::from_api_key(&key)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_during_a_stream_finishes_it_and_keeps_its_receipt() -> TestResult {
    let mut n = start_network("drain").await?;
    let http = reqwest::Client::new();
    let now = n.chain.now().await?;
    let key = n.api_key(n.chain.operator, neuro(10), now + 30 * 86_400, &n.user).await?;
    let body = json!({"model": "tiny", "messages": [{"role": "user", "content": "Tell a long story"}],
                      "max_tokens": 400, "stream": true, "temperature": 0.0});
    let mut stream =
        http.post(format!("{}/v1/chat/completions", n.url)).bearer_auth(&key).json(&body).send().await?.bytes_stream();
    use futures::StreamExt;
    let mut text = String::from_utf8_lossy(&stream.next().await.ok_or("a first chunk")??).into_owned();
    // SIGTERM arrives mid-stream: the stream still runs to [DONE] and its receipt is stored.
    n.shutdown.cancel();
    while let Some(chunk) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk?));
    }
    assert!(
        text.trim_end().ends_with("data: [DONE]"),
        "the stream was cut: {}",
        &text[text.len().saturating_sub(200)..]
    );
    tokio::time::timeout(std::time::Duration::from_secs(30), &mut n.node).await???;
    let epoch = n.chain.epoch_at(n.chain.now().await?);
    assert_eq!(n.store.unbatched_receipts(epoch).await?.len(), 1, "the drained request was metered");
    assert!(http.get(format!("{}/health", n.url)).send().await.is_err(), "no new connections after shutdown");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_failures_are_never_taken_as_answers() -> TestResult {
    use std::sync::atomic::Ordering;

    use alloy::sol_types::SolCall;
    use neuro_chain::RelayConfig;
    use neuro_miner::{chain::Chain, node::WindowCheck};
    use neuro_protocol::bindings::Payments;
    use neuro_testkit::proxy::{Fault, FaultyProxy};

    let n = start_network("faults").await?;
    let http = reqwest::Client::new();
    let now = n.chain.now().await?;
    let key = n.api_key(n.chain.operator, neuro(10), now + 30 * 86_400, &n.user).await?;
    let r =
        http.post(format!("{}/v1/chat/completions", n.url)).bearer_auth(&key).json(&chat_body(false)).send().await?;
    assert_eq!(r.status(), 200);
    let epoch = n.chain.epoch_at(n.chain.now().await?);
    // Stop the node's own epoch loop: this test drives the epoch work by hand.
    n.shutdown.cancel();

    // An endpoint that fails every simulation of `redeem`, and can fail everything.
    let selector = hex::encode(Payments::redeemCall::SELECTOR);
    let proxy = FaultyProxy::start(
        n.devnet.endpoint(),
        Arc::new(
            move |_, body: &str| {
                if body.contains("eth_call") && body.contains(&selector) { Fault::Drop } else { Fault::Forward }
            },
        ),
    )
    .await?;
    let rpc = quick_rpc(1);
    let operator = n.devnet.signer(2).ok_or("operator key")?;
    let faulty =
        Chain::connect_with(&proxy.url, n.devnet.manifest().clone(), operator, rpc, RelayConfig::default()).await?;

    warp_past(&n, epoch).await?;

    // Unknown is not closed: an outage while asking isOpen leaves the epoch to the next tick.
    proxy.outage.store(true, Ordering::Relaxed);
    assert_eq!(WindowCheck::of(&faulty, epoch).await, WindowCheck::Unknown);
    proxy.outage.store(false, Ordering::Relaxed);
    assert_eq!(WindowCheck::of(&faulty, epoch).await, WindowCheck::Open);

    // An unreachable simulation is not a revert: the epoch's work fails (to be retried) and nothing is marked
    // unpaid.
    let worker = |chain: Chain| {
        EpochWorker::new(chain, n.store.clone(), n.config.proving_keys.clone(), 64, Arc::new(Metrics::default()))
    };
    let err = worker(faulty).run(epoch).await.expect_err("the redeem simulation cannot be reached");
    assert!(matches!(&err, neuro_miner::work::WorkError::Chain(e) if e.is_transient()), "{err:?}");
    assert!(proxy.dropped() > 0);
    let report = worker(n.chain.clone()).run(epoch).await?;
    assert_eq!(report.unpaid_allowances, 0, "the allowance was never written off");
    assert_eq!((report.redemptions, report.batches), (1, 1));
    let _ = std::fs::remove_dir_all(&n.dir);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_during_proving_submits_the_batch_once() -> TestResult {
    use std::time::Duration;

    use neuro_miner::node::epoch_loop;
    use tokio_util::sync::CancellationToken;

    let mut n = start_network("prove-drain").await?;
    let http = reqwest::Client::new();
    let now = n.chain.now().await?;
    let key = n.api_key(n.chain.operator, neuro(10), now + 30 * 86_400, &n.user).await?;
    let r =
        http.post(format!("{}/v1/chat/completions", n.url)).bearer_auth(&key).json(&chat_body(false)).send().await?;
    assert_eq!(r.status(), 200);
    let epoch = n.chain.epoch_at(n.chain.now().await?);
    // The node's own loop ticks every 30 s: stop it and run a fast one, as a restarted node would.
    n.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), &mut n.node).await???;
    warp_past(&n, epoch).await?;

    let metrics = Arc::new(Metrics::default());
    let worker = Arc::new(EpochWorker::new(
        n.chain.clone(),
        n.store.clone(),
        n.config.proving_keys.clone(),
        64,
        metrics.clone(),
    ));
    let shutdown = CancellationToken::new();
    let node_loop =
        tokio::spawn(epoch_loop(worker.clone(), n.chain.clone(), Duration::from_millis(50), shutdown.clone()));
    tokio::time::timeout(Duration::from_secs(120), async {
        while metrics.proofs_in_progress.get() == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .map_err(|_| "proving never started")?;
    // SIGTERM while the proof is being computed: the loop finishes the proof, submits it and records it.
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(180), node_loop).await??;
    assert_eq!(metrics.proofs_in_progress.get(), 0);
    assert_eq!(metrics.batches_submitted.get(), 1, "the proof under way was submitted");
    assert!(n.store.unbatched_receipts(epoch).await?.is_empty(), "its receipts are recorded as batched");
    let ledger = UsageLedger::new(n.devnet.manifest().contracts.usage_ledger, n.chain.provider.clone());
    let (_, _, batches) = n.store.counts().await?;
    assert_eq!(batches, 1);
    // Started again, the node has nothing left to submit for the epoch: no double submission.
    let again = worker.run(epoch).await?;
    assert_eq!((again.batches, again.redemptions), (0, 0), "{again:?}");
    let used = ledger.feesUsed(n.chain.operator, U256::from(epoch), n.model_id.into()).call().await?;
    assert!(used.gross > 0, "the submitted batch is on chain");
    let _ = std::fs::remove_dir_all(&n.dir);
    Ok(())
}

/// A hostile user with nothing but HTTP and its own keys: hang-ups with large bodies, a high-s twin of its key,
/// and several allowances over one small budget. None of it gets inference the user does not pay for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_users_get_no_free_inference() -> TestResult {
    use std::time::Duration;

    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use neuro_protocol::voucher::SECP256K1N_HALF;

    let n = start_network("hostile").await?;
    let http = reqwest::Client::new();
    let now = n.chain.now().await?;
    let key = n.api_key(n.chain.operator, neuro(20), now + 30 * 86_400, &n.user).await?;
    let user = n.user.address();
    let charged = || async {
        let rows = n.store.charged_by_user(user).await?;
        Ok::<U256, neuro_miner::store::StoreError>(rows.iter().map(|c| c.charged).sum())
    };

    // 1. Twenty clients send a large prompt and hang up at once. The engine keeps serving, and whatever was
    //    generated is billed: no request runs free and no reservation outlives its request.
    let long_prompt = "tell me more about this ".repeat(40);
    let hang_ups = (0..20).map(|_| {
        let body = json!({"model": "tiny", "messages": [{"role": "user", "content": long_prompt}], "max_tokens": 64});
        let request = http
            .post(format!("{}/v1/chat/completions", n.url))
            .bearer_auth(&key)
            .json(&body)
            .timeout(Duration::from_millis(150));
        async move { request.send().await.map(|r| r.status()) }
    });
    let outcomes = futures::future::join_all(hang_ups).await;
    let answered = outcomes.iter().filter(|r| r.is_ok()).count();
    // Let the detached work finish: the node reports no paid request running.
    let idle = async {
        loop {
            let metrics = http.get(&n.metrics_url).send().await?.text().await?;
            if metrics.contains("neuro_miner_requests_in_flight 0\n") {
                return Ok::<_, reqwest::Error>(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(120), idle).await.map_err(|_| "hung-up requests never finished")??;
    let r =
        http.post(format!("{}/v1/chat/completions", n.url)).bearer_auth(&key).json(&chat_body(false)).send().await?;
    assert_eq!(r.status(), 200, "the engine still serves after {} hang-ups ({answered} answered)", 20 - answered);
    let (billed, ..) = n.store.counts().await?;
    // Hung-up requests that reached the engine ran to the end and were billed (before, the dropped handler
    // left them unbilled and their reservations held).
    assert!((2..=21).contains(&billed), "{billed} receipts for 20 hang-ups and one request");

    // 2. The high-s twin of a valid key recovers to the same user off chain; Payments would reject it, so the
    //    node refuses it before doing any work.
    let mut raw = URL_SAFE_NO_PAD.decode(key.strip_prefix("nk1_").ok_or("prefix")?)?;
    let order = SECP256K1N_HALF * U256::from(2) + U256::from(1);
    let s = U256::from_be_slice(&raw[192..224]);
    raw[192..224].copy_from_slice(&(order - s).to_be_bytes::<32>());
    raw[224] = if raw[224] == 27 { 28 } else { 27 };
    let twin = format!("nk1_{}", URL_SAFE_NO_PAD.encode(&raw));
    let r =
        http.post(format!("{}/v1/chat/completions", n.url)).bearer_auth(&twin).json(&chat_body(false)).send().await?;
    assert_eq!(r.status(), 401, "{}", r.text().await?);

    // 3. One deposit promised several times: the user opens one allowance with `budget` locked for this node and
    //    signs two more with the same cap that it does not (cannot) fund. Only the funded one is served, and only
    //    up to its lock.
    let budget = U256::from(200_000_000_000_000u64); // 0.0002 NEURO: a handful of small requests
    let owed = charged().await?;
    let keys = [
        n.api_key(n.chain.operator, budget, now + 31 * 86_400, &n.user).await?,
        n.signed_key(n.chain.operator, budget, now + 32 * 86_400, &n.user).await?,
        n.signed_key(n.chain.operator, budget, now + 33 * 86_400, &n.user).await?,
    ];
    for unfunded in &keys[1..] {
        let r = http
            .post(format!("{}/v1/chat/completions", n.url))
            .bearer_auth(unfunded)
            .json(&chat_body(false))
            .send()
            .await?;
        assert_eq!(r.status(), 402);
        let error: Value = r.json().await?;
        assert!(error["error"]["message"].as_str().unwrap_or_default().contains("not opened"), "{error}");
    }
    let mut served = 0;
    for key in &keys[..1] {
        for _ in 0..20 {
            let r = http
                .post(format!("{}/v1/chat/completions", n.url))
                .bearer_auth(key)
                .json(&chat_body(false))
                .send()
                .await?;
            match r.status().as_u16() {
                200 => served += 1,
                402 => break,
                other => return Err(format!("unexpected {other}: {}", r.text().await?).into()),
            }
        }
    }
    let spent = charged().await? - owed;
    assert!(spent <= budget, "served {served} requests worth {spent} against a budget of {budget}");
    // The lock was usable down to less than one request's worst case: nothing else held it.
    let worst = U256::from(2_000_000_000_000u64) * U256::from(64); // 2 NEURO per Mtok, < 64 tokens per request
    assert!(served >= 1 && spent + worst >= budget, "only {served} requests ({spent}) served of {budget}");

    // 4. A user who revokes its allowance after being served is not served under it any more (its usage so far
    //    stays redeemable on chain through the epoch's window; see the Payments tests).
    let as_user =
        alloy::providers::ProviderBuilder::new().wallet(n.user.clone()).connect_http(n.devnet.endpoint().parse()?);
    let allowance = SignedAllowance::from_api_key(&key)?.to_call_arg();
    neuro_protocol::bindings::Payments::new(n.devnet.manifest().contracts.payments, &as_user)
        .revokeAllowance(allowance)
        .send()
        .await?
        .get_receipt()
        .await?;
    // The node reuses an allowance's state for `chain_cache_ms`: the revocation is seen within that.
    let ttl = Duration::from_millis(n.config.limits.chain_cache_ms);
    tokio::time::sleep(ttl).await;
    let r =
        http.post(format!("{}/v1/chat/completions", n.url)).bearer_auth(&key).json(&chat_body(false)).send().await?;
    assert_eq!(r.status(), 401);
    assert!(r.text().await?.contains("revoked"));
    let _ = std::fs::remove_dir_all(&n.dir);
    Ok(())
}

/// Floods and oversize requests get clear, early refusals: a body over the limit (413), a prompt that cannot fit
/// the model's context with its `max_tokens` (400 `context_length_exceeded`, instead of a 500 from the engine),
/// and more concurrent requests from one user than the node allows (429), while that user's other requests run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_and_oversize_requests_get_clear_refusals() -> TestResult {
    let n = start_network("limits").await?;
    let http = reqwest::Client::new();
    let now = n.chain.now().await?;
    let key = n.api_key(n.chain.operator, neuro(10), now + 30 * 86_400, &n.user).await?;
    let url = format!("{}/v1/chat/completions", n.url);

    let huge = "x".repeat(2 << 20);
    let body = json!({"model": "tiny", "messages": [{"role": "user", "content": huge}]});
    let r = http.post(&url).bearer_auth(&key).json(&body).send().await?;
    assert_eq!(r.status(), 413);

    let long = "word ".repeat(3000);
    let body = json!({"model": "tiny", "messages": [{"role": "user", "content": long}], "max_tokens": 16});
    let r = http.post(&url).bearer_auth(&key).json(&body).send().await?;
    assert_eq!(r.status(), 400);
    let error: Value = r.json().await?;
    assert_eq!(error["error"]["code"], "context_length_exceeded", "{error}");

    let body = json!({"model": "tiny", "messages": [{"role": "user", "content": "Tell a long story"}],
                      "max_tokens": 400, "stream": true});
    let flood = (0..12).map(|_| {
        let request = http.post(&url).bearer_auth(&key).json(&body);
        async move {
            let r = request.send().await?;
            let status = r.status().as_u16();
            r.bytes().await?;
            Ok::<u16, reqwest::Error>(status)
        }
    });
    let statuses = futures::future::try_join_all(flood).await?;
    let served = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(served + limited, 12, "{statuses:?}");
    assert!((1..=8).contains(&served) && limited >= 4, "{statuses:?}");
    // The limit counts running requests, not a quota: once they finish the user is served again.
    let r = http.post(&url).bearer_auth(&key).json(&chat_body(false)).send().await?;
    assert_eq!(r.status(), 200);
    let _ = std::fs::remove_dir_all(&n.dir);
    Ok(())
}

/// One user's allowance that cannot be redeemed right now (its calls fail at the RPC endpoint) does not hold
/// back the rest of the epoch: the other user's fees are redeemed and its receipts proven and submitted; the
/// failing one is retried later and nothing is done twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_allowance_does_not_block_the_epoch() -> TestResult {
    use alloy::providers::ProviderBuilder;
    use neuro_chain::RelayConfig;
    use neuro_miner::chain::Chain;
    use neuro_protocol::{
        bindings::Payments,
        voucher::{Allowance, payments_domain},
    };
    use neuro_testkit::proxy::{Fault, FaultyProxy};

    let n = start_network("partial").await?;
    let m = n.devnet.manifest().clone();
    let http = reqwest::Client::new();
    let now = n.chain.now().await?;
    // A second user with its own deposit.
    let other = n.devnet.signer(3).ok_or("key 3")?;
    let url: alloy::transports::http::reqwest::Url = n.devnet.endpoint().parse()?;
    let as_deployer = ProviderBuilder::new().wallet(n.devnet.signer(0).ok_or("key 0")?).connect_http(url.clone());
    NeuroToken::new(m.contracts.token, &as_deployer)
        .transfer(other.address(), neuro(100))
        .send()
        .await?
        .get_receipt()
        .await?;
    let as_other = ProviderBuilder::new().wallet(other.clone()).connect_http(url);
    NeuroToken::new(m.contracts.token, &as_other)
        .approve(m.contracts.payments, neuro(50))
        .send()
        .await?
        .get_receipt()
        .await?;
    Payments::new(m.contracts.payments, &as_other).deposit(neuro(50)).send().await?.get_receipt().await?;
    let other_key = Allowance {
        user: other.address(),
        miner: n.chain.operator,
        cap: neuro(10),
        expiry: U256::from(now + 30 * 86_400),
        nonce: U256::from(1),
    }
    .sign(&other, &payments_domain(m.chain_id, m.contracts.payments))
    .await?;
    Payments::new(m.contracts.payments, &as_other)
        .openAllowance(other_key.to_call_arg())
        .send()
        .await?
        .get_receipt()
        .await?;
    let other_key = other_key.to_api_key();
    let key = n.api_key(n.chain.operator, neuro(10), now + 30 * 86_400, &n.user).await?;
    for key in [&key, &other_key] {
        let r =
            http.post(format!("{}/v1/chat/completions", n.url)).bearer_auth(key).json(&chat_body(false)).send().await?;
        assert_eq!(r.status(), 200);
    }
    let epoch = n.chain.epoch_at(n.chain.now().await?);
    n.shutdown.cancel();
    warp_past(&n, epoch).await?;

    // Every call that would redeem the first user's allowance is lost on the way.
    let first_user = hex::encode(n.user.address());
    let proxy = FaultyProxy::start(
        n.devnet.endpoint(),
        Arc::new(
            move |_, body: &str| {
                if body.to_ascii_lowercase().contains(&first_user) { Fault::Drop } else { Fault::Forward }
            },
        ),
    )
    .await?;
    let rpc = quick_rpc(1);
    let operator = n.devnet.signer(2).ok_or("operator key")?;
    let faulty = Chain::connect_with(&proxy.url, m.clone(), operator, rpc, RelayConfig::default()).await?;
    let worker = |chain: Chain| {
        EpochWorker::new(chain, n.store.clone(), n.config.proving_keys.clone(), 64, Arc::new(Metrics::default()))
    };
    let err = worker(faulty).run(epoch).await.expect_err("the first user's redemption cannot go through");
    assert!(matches!(&err, neuro_miner::work::WorkError::Chain(e) if e.is_transient()), "{err:?}");
    // The other user's work went on: its receipt is proven and submitted; the first user's waits.
    let waiting = n.store.unbatched_receipts(epoch).await?;
    assert_eq!(waiting.len(), 1, "only the failing allowance's receipt is left");
    assert_eq!(Address::from(waiting[0].receipt.user), n.user.address());
    let ledger = UsageLedger::new(m.contracts.usage_ledger, n.chain.provider.clone());
    let used = ledger.feesUsed(n.chain.operator, U256::from(epoch), n.model_id.into()).call().await?;
    assert!(used.gross > 0, "the other user's batch is on chain");

    // Retried with a working endpoint, the rest is done, once.
    let report = worker(n.chain.clone()).run(epoch).await?;
    assert_eq!((report.redemptions, report.batches, report.failures), (1, 1, 0), "{report:?}");
    assert!(n.store.unbatched_receipts(epoch).await?.is_empty());
    let _ = std::fs::remove_dir_all(&n.dir);
    Ok(())
}

/// A request admitted before an epoch ends and finished after that epoch's work ran leaves a receipt of the
/// finished epoch behind. The node sweeps the epoch again while its window is open: the receipt is redeemed,
/// proven and submitted instead of being lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_finished_after_the_epoch_work_is_still_proven() -> TestResult {
    use std::time::Duration;

    use neuro_miner::node::epoch_loop;
    use neuro_protocol::voucher::payments_domain;
    use neuro_prover::Receipt;
    use tokio_util::sync::CancellationToken;

    let mut n = start_network("straddle").await?;
    let m = n.devnet.manifest().clone();
    let http = reqwest::Client::new();
    let now = n.chain.now().await?;
    let key = n.api_key(n.chain.operator, neuro(10), now + 30 * 86_400, &n.user).await?;
    let r =
        http.post(format!("{}/v1/chat/completions", n.url)).bearer_auth(&key).json(&chat_body(false)).send().await?;
    assert_eq!(r.status(), 200);
    let epoch = n.chain.epoch_at(n.chain.now().await?);
    n.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), &mut n.node).await???;
    warp_past(&n, epoch).await?;

    let metrics = Arc::new(Metrics::default());
    let worker = Arc::new(EpochWorker::new(
        n.chain.clone(),
        n.store.clone(),
        n.config.proving_keys.clone(),
        64,
        metrics.clone(),
    ));
    let shutdown = CancellationToken::new();
    let node_loop =
        tokio::spawn(epoch_loop(worker.clone(), n.chain.clone(), Duration::from_millis(50), shutdown.clone()));
    let batches = |count: u64| {
        let metrics = metrics.clone();
        async move {
            while metrics.batches_submitted.get() < count {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), batches(1)).await.map_err(|_| "the epoch's work never ran")?;

    // The straddling request completes now: its receipt belongs to the finished epoch.
    let signed = SignedAllowance::from_api_key(&key)?;
    let digest = signed.allowance.digest(&payments_domain(m.chain_id, m.contracts.payments));
    let receipt = Receipt {
        request_hash: [7; 32],
        model_id: n.model_id,
        prompt_tokens: 9,
        completion_tokens: 12,
        fee: 42_000_000_000_000,
        user: n.user.address().into_array(),
    };
    n.store.insert_receipt(&signed, digest, receipt, epoch, n.chain.now().await?).await?;
    tokio::time::timeout(Duration::from_secs(120), batches(2))
        .await
        .map_err(|_| "the late receipt was never proven")?;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(60), node_loop).await??;
    assert!(n.store.unbatched_receipts(epoch).await?.is_empty());
    let _ = std::fs::remove_dir_all(&n.dir);
    Ok(())
}

/// The node dies after sending a batch and before recording it (here: the endpoint goes dark right after the
/// `submitUsage` transaction is forwarded, so the node never sees its receipt). Meanwhile a late receipt of the
/// same epoch and model arrives. The next run must not batch the sent receipts again in a new mix (which the
/// ledger would refuse forever, as fees already used): it finds the staged batch on chain, records it, and proves
/// only the late receipt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_sending_a_batch_and_recording_it_recovers() -> TestResult {
    use std::{
        sync::atomic::{AtomicU32, Ordering},
        time::Duration,
    };

    use neuro_chain::RelayConfig;
    use neuro_miner::chain::Chain;
    use neuro_protocol::voucher::payments_domain;
    use neuro_prover::Receipt;
    use neuro_testkit::proxy::{Fault, FaultyProxy};

    let mut n = start_network("staged").await?;
    let m = n.devnet.manifest().clone();
    let http = reqwest::Client::new();
    let now = n.chain.now().await?;
    let key = n.api_key(n.chain.operator, neuro(10), now + 30 * 86_400, &n.user).await?;
    let r =
        http.post(format!("{}/v1/chat/completions", n.url)).bearer_auth(&key).json(&chat_body(false)).send().await?;
    assert_eq!(r.status(), 200);
    let epoch = n.chain.epoch_at(n.chain.now().await?);
    n.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), &mut n.node).await???;
    warp_past(&n, epoch).await?;

    // The second transaction (redeem, then submitUsage) is forwarded; nothing after it gets through.
    let sent = Arc::new(AtomicU32::new(0));
    let counter = sent.clone();
    let proxy = FaultyProxy::start(
        n.devnet.endpoint(),
        Arc::new(move |_, body: &str| {
            if counter.load(Ordering::SeqCst) >= 2 {
                return Fault::Drop;
            }
            if body.contains("eth_sendRawTransaction") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            Fault::Forward
        }),
    )
    .await?;
    let rpc = quick_rpc(1);
    let relay = RelayConfig {
        confirm_timeout: Duration::from_secs(2),
        max_bumps: 0,
        rpc_attempts: 2,
        base_backoff: Duration::from_millis(50),
        ..RelayConfig::default()
    };
    let operator = n.devnet.signer(2).ok_or("operator key")?;
    let dying = Chain::connect_with(&proxy.url, m.clone(), operator, rpc, relay).await?;
    let worker = |chain: Chain| {
        EpochWorker::new(chain, n.store.clone(), n.config.proving_keys.clone(), 64, Arc::new(Metrics::default()))
    };
    worker(dying).run(epoch).await.expect_err("the node never learns that its batch landed");
    assert_eq!(sent.load(Ordering::SeqCst), 2, "redeem and submitUsage were both sent");
    let staged = n.store.unbatched_receipts(epoch).await?;
    assert_eq!(staged.len(), 1, "the sent receipt is not recorded as batched");
    let root = staged[0].staged_root.ok_or("the batch was staged before it was sent")?;
    let ledger = UsageLedger::new(m.contracts.usage_ledger, n.chain.provider.clone());
    assert!(ledger.rootUsed(root.into()).call().await?, "the staged batch is on chain");

    // A late receipt of the same epoch and model.
    let signed = SignedAllowance::from_api_key(&key)?;
    let digest = signed.allowance.digest(&payments_domain(m.chain_id, m.contracts.payments));
    let late = Receipt {
        request_hash: [9; 32],
        model_id: n.model_id,
        prompt_tokens: 9,
        completion_tokens: 12,
        fee: 42_000_000_000_000,
        user: n.user.address().into_array(),
    };
    n.store.insert_receipt(&signed, digest, late, epoch, n.chain.now().await?).await?;

    // After the "restart": the staged batch is recorded as it landed, the late receipt is redeemed and proven
    // alone, and the ledger has used exactly the fees charged, once.
    let report = worker(n.chain.clone()).run(epoch).await?;
    assert_eq!((report.redemptions, report.batches, report.failures), (1, 1, 0), "{report:?}");
    assert!(n.store.unbatched_receipts(epoch).await?.is_empty());
    assert!(n.store.is_submitted(root).await?);
    let (charged, _) = n.store.charges(digest).await?;
    let used = ledger.feesUsed(n.chain.operator, U256::from(epoch), n.model_id.into()).call().await?;
    assert_eq!(U256::from(used.gross), charged, "every charged fee used once");
    let _ = std::fs::remove_dir_all(&n.dir);
    Ok(())
}

/// The paid path's chain reads are cached: with a warm cache, admitting requests costs no RPC at all (they are
/// admitted through an RPC outage), a never-opened key costs one read per TTL, and with a zero TTL every request
/// reads again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_paid_path_reads_the_chain_once_per_ttl() -> TestResult {
    use std::{
        sync::atomic::{AtomicU64, Ordering},
        time::Duration,
    };

    use neuro_chain::RelayConfig;
    use neuro_miner::{chain::Chain, gate::PaymentGate};
    use neuro_testkit::proxy::{Fault, FaultyProxy};

    let n = start_network("cache").await?;
    n.shutdown.cancel();
    let now = n.chain.now().await?;
    let key = n.api_key(n.chain.operator, neuro(10), now + 30 * 86_400, &n.user).await?;
    let unopened = n.signed_key(n.chain.operator, neuro(10), now + 30 * 86_400, &n.user).await?;
    let forwarded = Arc::new(AtomicU64::new(0));
    let counter = forwarded.clone();
    let proxy = FaultyProxy::start(
        n.devnet.endpoint(),
        Arc::new(move |_, _: &str| {
            counter.fetch_add(1, Ordering::SeqCst);
            Fault::Forward
        }),
    )
    .await?;
    let rpc = quick_rpc(0);
    let operator = n.devnet.signer(2).ok_or("operator key")?;
    let chain =
        Chain::connect_with(&proxy.url, n.devnet.manifest().clone(), operator, rpc, RelayConfig::default()).await?;
    let fee = U256::from(1_000_000_000u64);
    let admit = |gate: Arc<PaymentGate>, key: String| async move {
        let now = gate.now().await?;
        let checked = gate.check_key(&key, now)?;
        gate.check_funded(&checked).await?;
        gate.reserve(checked, fee).await.map(drop)
    };

    let cached = PaymentGate::new(chain.clone(), n.store.clone(), 8, Duration::from_secs(60));
    admit(cached.clone(), key.clone()).await?;
    let warm = forwarded.load(Ordering::SeqCst);
    for _ in 0..20 {
        admit(cached.clone(), key.clone()).await?;
    }
    assert_eq!(forwarded.load(Ordering::SeqCst), warm, "a warm cache admits requests without any RPC");
    proxy.outage.store(true, Ordering::SeqCst);
    admit(cached.clone(), key.clone()).await.map_err(|e| format!("admitted through an outage: {e}"))?;
    proxy.outage.store(false, Ordering::SeqCst);

    let before = forwarded.load(Ordering::SeqCst);
    for _ in 0..5 {
        let refused = admit(cached.clone(), unopened.clone()).await.expect_err("not opened");
        assert!(matches!(refused, neuro_miner::gate::GateError::NotOpened), "{refused:?}");
    }
    let reads = forwarded.load(Ordering::SeqCst) - before;
    assert!((1..=3).contains(&reads), "five refusals of one unopened key cost {reads} requests");

    let uncached = PaymentGate::new(chain, n.store.clone(), 8, Duration::ZERO);
    let before = forwarded.load(Ordering::SeqCst);
    for _ in 0..5 {
        admit(uncached.clone(), key.clone()).await?;
    }
    assert!(forwarded.load(Ordering::SeqCst) - before >= 10, "a zero TTL reads on every request");
    let _ = std::fs::remove_dir_all(&n.dir);
    Ok(())
}

/// A node whose proving key is not the one the on-chain verifier checks would serve a whole epoch and then have
/// every batch rejected: it refuses to start instead, and so does one configured for a batch size the ledger has
/// no verifier for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_the_wrong_proving_key_refuses_to_start() -> TestResult {
    use neuro_miner::work::WorkError;
    use neuro_prover::keys::{self, KeyPaths};

    let n = start_network("wrongkey").await?;
    n.shutdown.cancel();
    let worker = |dir: PathBuf, batch_size: usize| {
        EpochWorker::new(n.chain.clone(), n.store.clone(), dir, batch_size, Arc::new(Metrics::default()))
    };
    worker(n.config.proving_keys.clone(), 64).check_proving_key().await?;

    let other = n.dir.join("other-keys");
    std::fs::create_dir_all(&other)?;
    let (pk, _) = keys::setup(64, "not the network's ceremony")?;
    KeyPaths::new(&other, 64).save(&pk)?;
    let err = worker(other, 64).check_proving_key().await.expect_err("a foreign key is refused");
    assert!(matches!(err, WorkError::KeyMismatch { batch_size: 64, .. }), "{err:?}");

    let (pk, _) = keys::setup(8, keys::DEVNET_SEED)?;
    let small = n.dir.join("small-keys");
    std::fs::create_dir_all(&small)?;
    KeyPaths::new(&small, 8).save(&pk)?;
    let err = worker(small, 8).check_proving_key().await.expect_err("no verifier for 8");
    assert!(matches!(err, WorkError::NoVerifier(8)), "{err:?}");
    let _ = std::fs::remove_dir_all(&n.dir);
    Ok(())
}

/// Slow clients cannot hold connections: one that connects and sends nothing, one that sends its headers a byte
/// at a time and stops, and one that announces a body and never sends it are all cut off after
/// `client_timeout_ms`, while a normal client is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() -> TestResult {
    use std::time::{Duration, Instant};

    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpStream,
    };

    let n = start_network("slow").await?;
    let addr = n.url.trim_start_matches("http://").to_owned();
    let timeout = Duration::from_millis(n.config.limits.client_timeout_ms);
    let now = n.chain.now().await?;
    let key = n.api_key(n.chain.operator, neuro(10), now + 30 * 86_400, &n.user).await?;
    let started = Instant::now();
    let silent = TcpStream::connect(&addr).await?;
    let mut partial = TcpStream::connect(&addr).await?;
    partial.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthor").await?;
    let mut bodiless = TcpStream::connect(&addr).await?;
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"model\""
    );
    bodiless.write_all(head.as_bytes()).await?;

    let mut idle = TcpStream::connect(&addr).await?;
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await?;

    let http = reqwest::Client::new();
    let r =
        http.post(format!("{}/v1/chat/completions", n.url)).bearer_auth(&key).json(&chat_body(false)).send().await?;
    assert_eq!(r.status(), 200, "a normal client is served while slow ones hold connections");

    // A keep-alive connection left idle after its request is answered, then closed.
    let mut answer = Vec::new();
    let read = tokio::time::timeout(timeout * 2 + Duration::from_secs(5), idle.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the idle keep-alive connection was still open after {:?}", started.elapsed());
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"), "its request was answered first");

    // Each slow connection is closed (EOF, or a 408/400 answer then EOF) within the timeout plus slack.
    for (name, mut stream) in [("silent", silent), ("partial headers", partial), ("missing body", bodiless)] {
        let mut answer = Vec::new();
        let read = tokio::time::timeout(timeout * 2 + Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "the {name} connection was still open after {:?}", started.elapsed());
        let text = String::from_utf8_lossy(&answer);
        assert!(!text.contains(" 200 "), "the {name} connection was served: {text}");
    }
    assert!(started.elapsed() >= timeout.saturating_sub(Duration::from_secs(1)), "cut off before the timeout");
    let _ = std::fs::remove_dir_all(&n.dir);
    Ok(())
}
