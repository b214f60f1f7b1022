//! `neuro`: the user's CLI for the Neuro network.

use std::{
    io::{BufRead, Write},
    path::PathBuf,
    time::{SystemTime, UNIX_EPOCH},
};

use alloy::{
    eips::BlockId,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use futures::StreamExt;
use neuro_chain::{RelayConfig, Relayer, RpcConfig};
use neuro_client::{
    delegate, receipt, reputation,
    sse::{LineReader, SseEvent, delta_text},
};
use neuro_protocol::{
    Manifest,
    bindings::{NeuroToken, NodeRegistry, Payments},
    parse_neuro_amount,
    voucher::{Allowance, SignedAllowance, payments_domain},
};

#[derive(Parser)]
#[command(name = "neuro", version, about = "Pay for inference on the Neuro network")]
struct Cli {
    /// JSON-RPC endpoint.
    #[arg(long, global = true, env = "NEURO_RPC_URL", default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Deployment manifest.
    #[arg(long, global = true, env = "NEURO_MANIFEST", default_value = "deployments/31337.json")]
    manifest: PathBuf,
    /// Encrypted keystore of your account (password from NEURO_KEYSTORE_PASSWORD or a prompt); without it the
    /// key is read from NEURO_PRIVATE_KEY.
    #[arg(long, global = true, env = "NEURO_KEYSTORE")]
    keystore: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Deposits NEURO into Payments (approving it first).
    ///
    /// Example: neuro deposit 100
    Deposit {
        /// Amount in NEURO (whole or decimal).
        #[arg(value_parser = parse_neuro_amount)]
        amount: U256,
    },
    /// Withdraws a deposit: `request` starts the delay, `complete` pays out after it.
    #[command(subcommand)]
    Withdraw(WithdrawCommand),
    /// Signs an allowance for one miner, opens it on chain (locking its cap out of your deposit for that miner
    /// alone, which is what miners require before serving) and prints it as an API key for any OpenAI client.
    ///
    /// Example: neuro allowance --miner 0xabc… --cap 10 --days 7
    Allowance {
        /// The miner's operator address.
        #[arg(long)]
        miner: Address,
        /// Most the miner may charge, in NEURO.
        #[arg(long, value_parser = parse_neuro_amount)]
        cap: U256,
        /// Days until the allowance expires.
        #[arg(long, default_value_t = 7)]
        days: u64,
    },
    /// Revokes the allowance in NEURO_API_KEY: its miner stops serving it and can redeem only what it served
    /// until the end of this epoch's submission window; then `neuro release` returns the rest to your deposit.
    Revoke,
    /// Returns what is left in the lock of the allowance in NEURO_API_KEY to your deposit (after its expiry,
    /// or once its revocation has settled).
    Release,
    /// Lists active nodes serving a model; with an indexer, ranked by reputation (validators' probe reports:
    /// honesty, timeliness, uptime, latency; slashed nodes last; nodes without reports after rated ones).
    ///
    /// Example: neuro miners --model 0x1234… --indexer http://127.0.0.1:8600
    Miners {
        /// Model id (32 bytes hex).
        #[arg(long)]
        model: B256,
        /// Indexer API base URL, to rank nodes by reputation.
        #[arg(long, env = "NEURO_INDEXER_URL")]
        indexer: Option<String>,
        /// Epochs the reputation covers.
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=720))]
        epochs: u64,
    },
    /// Chats with a node interactively (reads NEURO_API_KEY).
    ///
    /// Example: NEURO_API_KEY=nk1_… neuro chat --miner http://127.0.0.1:8080 --model tiny
    Chat {
        /// The node's base URL.
        #[arg(long)]
        miner: String,
        /// Served model name.
        #[arg(long)]
        model: String,
        /// Completion token limit per answer.
        #[arg(long, default_value_t = 256)]
        max_tokens: usize,
    },
    /// Hands an answer you paid for to a validator: checks the node's signed receipt against the request you
    /// sent and the answer you got, signs a delegation of its dispute to the validator, and writes the evidence
    /// file to send it (it runs `neuro-validator dispute --evidence FILE`).
    ///
    /// Example: neuro delegate --request body.json --response answer.json --validator 0x… --out evidence.json
    Delegate {
        /// The exact request body you sent (a file).
        #[arg(long)]
        request: PathBuf,
        /// The node's JSON response (a file). Streamed answers cannot be re-executed yet.
        #[arg(long)]
        response: PathBuf,
        /// The validator allowed to dispute it.
        #[arg(long)]
        validator: Address,
        /// Where to write the evidence.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum WithdrawCommand {
    /// Requests a withdrawal of an amount in NEURO.
    Request {
        /// Amount in NEURO (whole or decimal).
        #[arg(value_parser = parse_neuro_amount)]
        amount: U256,
    },
    /// Completes the pending withdrawal after the delay.
    Complete,
}

fn signer(keystore: Option<&PathBuf>) -> Result<PrivateKeySigner> {
    Ok(neuro_chain::keys::load_signer(keystore.map(PathBuf::as_path), "NEURO_PRIVATE_KEY")?)
}

/// The user's connection: a signing provider behind the relayer, and the deployment it was checked against.
struct Session {
    relayer: Relayer,
    manifest: Manifest,
    signer: PrivateKeySigner,
}

impl Session {
    async fn open(cli: &Cli) -> Result<Self> {
        let manifest = Manifest::load(&cli.manifest)?;
        let signer = signer(cli.keystore.as_ref())?;
        let provider = neuro_chain::connect_signing(&cli.rpc_url, RpcConfig::default(), signer.clone())?;
        manifest.verify(&provider).await?;
        let relayer = Relayer::new(provider, signer.address(), RelayConfig::default());
        Ok(Self { relayer, manifest, signer })
    }

    fn provider(&self) -> &DynProvider {
        self.relayer.provider()
    }
}

fn print_sent(what: &str, receipt: &alloy::rpc::types::TransactionReceipt) {
    println!("{what:<10} tx {}  gas {}", receipt.transaction_hash, receipt.gas_used);
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Deposit { amount } => {
            let session = Session::open(&cli).await?;
            let (c, me) = (&session.manifest.contracts, session.signer.address());
            let token = NeuroToken::new(c.token, session.provider());
            let balance = token.balanceOf(me).call().await?;
            if balance < *amount {
                bail!("insufficient balance: {balance} NEURO-wei, depositing {amount}");
            }
            let relayer = &session.relayer;
            print_sent(
                "approve",
                &relayer
                    .send_call::<NeuroToken::NeuroTokenErrors, _, _>("approve", token.approve(c.payments, *amount))
                    .await?,
            );
            let payments = Payments::new(c.payments, session.provider());
            print_sent(
                "deposit",
                &relayer.send_call::<Payments::PaymentsErrors, _, _>("deposit", payments.deposit(*amount)).await?,
            );
            let total = payments.deposits(me).call().await?;
            println!("deposit    {total} NEURO-wei");
        }
        Command::Withdraw(WithdrawCommand::Request { amount }) => {
            let session = Session::open(&cli).await?;
            let payments = Payments::new(session.manifest.contracts.payments, session.provider());
            let call = payments.requestWithdrawal(*amount);
            print_sent("request", &session.relayer.send_call::<Payments::PaymentsErrors, _, _>("request", call).await?);
            println!("available after {} seconds", payments.withdrawalDelay().call().await?);
        }
        Command::Withdraw(WithdrawCommand::Complete) => {
            let session = Session::open(&cli).await?;
            let payments = Payments::new(session.manifest.contracts.payments, session.provider());
            let call = payments.completeWithdrawal();
            print_sent(
                "withdraw",
                &session.relayer.send_call::<Payments::PaymentsErrors, _, _>("withdraw", call).await?,
            );
        }
        Command::Allowance { miner, cap, days } => {
            let session = Session::open(&cli).await?;
            let (m, signer) = (&session.manifest, &session.signer);
            let payments = Payments::new(m.contracts.payments, session.provider());
            let deposit = payments.deposits(signer.address()).call().await?;
            if deposit < *cap {
                bail!("your free deposit is {deposit} NEURO-wei, less than the cap: `neuro deposit` first");
            }
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
            let allowance = Allowance {
                user: signer.address(),
                miner: *miner,
                cap: *cap,
                expiry: U256::from(now + days * 86_400),
                nonce: U256::from(now),
            };
            let signed = allowance.sign(signer, &payments_domain(m.chain_id, m.contracts.payments)).await?;
            let sent = session
                .relayer
                .send_call::<Payments::PaymentsErrors, _, _>(
                    "open allowance",
                    payments.openAllowance(signed.to_call_arg()),
                )
                .await?;
            eprintln!("opened: {cap} NEURO-wei locked for miner {miner} (tx {})", sent.transaction_hash);
            println!("{}", signed.to_api_key());
            eprintln!(
                "use it as the API key (Authorization: Bearer …) for miner {miner}; it can spend at most {cap} NEURO-wei"
            );
        }
        Command::Revoke | Command::Release => {
            let key = std::env::var("NEURO_API_KEY").context("set NEURO_API_KEY to the allowance's API key")?;
            let allowance = SignedAllowance::from_api_key(&key)?.to_call_arg();
            let session = Session::open(&cli).await?;
            let payments = Payments::new(session.manifest.contracts.payments, session.provider());
            let (action, sent) = if matches!(cli.command, Command::Revoke) {
                let call = payments.revokeAllowance(allowance);
                ("revoke", session.relayer.send_call::<Payments::PaymentsErrors, _, _>("revoke", call).await?)
            } else {
                let call = payments.releaseAllowance(allowance);
                ("release", session.relayer.send_call::<Payments::PaymentsErrors, _, _>("release", call).await?)
            };
            print_sent(action, &sent);
        }
        Command::Miners { model, indexer, epochs } => {
            let manifest = Manifest::load(&cli.manifest)?;
            let provider = neuro_chain::connect(&cli.rpc_url, RpcConfig::default())?;
            manifest.verify(&provider).await?;
            let nodes = NodeRegistry::new(manifest.contracts.node_registry, &provider);
            let mut offset = U256::ZERO;
            let mut active = Vec::new();
            loop {
                let page = nodes.activeNodesForModel(*model, offset, U256::from(100)).call().await?;
                active.extend(page.operators);
                if page.next.is_zero() {
                    break;
                }
                offset = page.next;
            }
            if active.is_empty() {
                println!("no active node serves {model}");
                return Ok(());
            }
            // Without the indexer's ranking the nodes are still listed (unranked), never hidden behind its error.
            let ranking = match indexer {
                Some(url) => reputation::ranking(url, *epochs).await.unwrap_or_else(|error| {
                    eprintln!("warning: no reputation ({error}); nodes listed unranked");
                    Vec::new()
                }),
                None => Vec::new(),
            };
            if indexer.is_some() {
                println!(
                    "{:<42}  {:>5}  {:>7}  {:>6}  {:>6}  {:>8}  {:>6}  {:>7}  endpoint",
                    "operator", "score", "honesty", "timely", "uptime", "ttft ms", "tok/s", "slashes"
                );
            }
            let pct = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{:.0}%", v * 100.0));
            for ranked in reputation::rank(&active, ranking) {
                let endpoint = nodes.getNode(ranked.operator).call().await?.endpoint;
                match (&ranked.reputation, indexer.is_some()) {
                    (Some(r), _) => println!(
                        "{:<42}  {:>5}  {:>7}  {:>6}  {:>6}  {:>8}  {:>6}  {:>7}  {endpoint}",
                        ranked.operator.to_string(),
                        r.score.map_or_else(|| "-".to_owned(), |s| format!("{s:.2}")),
                        pct(r.honesty),
                        pct(r.timeliness),
                        pct(r.uptime),
                        r.median_ttft_ms.map_or_else(|| "-".to_owned(), |v| v.to_string()),
                        r.median_tokens_per_second.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}")),
                        r.slashes,
                    ),
                    (None, true) => println!(
                        "{:<42}  {:>5}  {:>7}  {:>6}  {:>6}  {:>8}  {:>6}  {:>7}  {endpoint}",
                        ranked.operator.to_string(),
                        "new",
                        "-",
                        "-",
                        "-",
                        "-",
                        "-",
                        "-"
                    ),
                    (None, false) => println!("{}  {endpoint}", ranked.operator),
                }
            }
        }
        Command::Delegate { request, response, validator, out } => {
            let session = Session::open(&cli).await?;
            let body = std::fs::read(request).with_context(|| format!("reading {}", request.display()))?;
            let text = std::fs::read(response).with_context(|| format!("reading {}", response.display()))?;
            let response: serde_json::Value =
                serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", response.display()))?;
            let evidence =
                delegate::delegate(session.provider(), &session.manifest, &session.signer, body, &response, *validator)
                    .await?;
            std::fs::write(out, serde_json::to_vec_pretty(&evidence)?)
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "receipt ok (node {}, epoch {}); delegated to validator {validator}: send it {}",
                evidence.receipt.receipt.miner,
                evidence.receipt.receipt.epoch,
                out.display()
            );
        }
        Command::Chat { miner, model, max_tokens } => {
            let key = std::env::var("NEURO_API_KEY").context("set NEURO_API_KEY (from `neuro allowance`)")?;
            let allowance = SignedAllowance::from_api_key(&key)?.allowance;
            // Every answer's receipt is checked against the signer the node registered on chain.
            let manifest = Manifest::load(&cli.manifest)?;
            let provider = neuro_chain::connect(&cli.rpc_url, RpcConfig::default())?;
            manifest.verify(&provider).await?;
            let (domain, node_signer) = receipt::node_signer(&provider, &manifest, allowance.miner).await?;
            let http = reqwest::Client::new();
            let mut messages: Vec<serde_json::Value> = Vec::new();
            let stdin = std::io::stdin();
            print!("> ");
            std::io::stdout().flush()?;
            for line in stdin.lock().lines() {
                let line = line?;
                if line.trim().is_empty() {
                    print!("> ");
                    std::io::stdout().flush()?;
                    continue;
                }
                messages.push(serde_json::json!({"role": "user", "content": line}));
                let body = serde_json::to_vec(
                    &serde_json::json!({"model": model, "messages": messages, "max_tokens": max_tokens, "stream": true}),
                )?;
                let response = http
                    .post(format!("{}/v1/chat/completions", miner.trim_end_matches('/')))
                    .bearer_auth(&key)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
                    .send()
                    .await?;
                if !response.status().is_success() {
                    let status = response.status();
                    let body: serde_json::Value = response.json().await.unwrap_or_default();
                    bail!("{status}: {}", body["error"]["message"].as_str().unwrap_or("request failed"));
                }
                let mut answer = String::new();
                let mut signed = None;
                let mut reader = LineReader::default();
                let mut bytes = response.bytes_stream();
                while let Some(chunk) = bytes.next().await {
                    for event in reader.push(&chunk?) {
                        match event? {
                            SseEvent::Data(chunk) => {
                                if let Some(text) = delta_text(&chunk) {
                                    print!("{text}");
                                    answer.push_str(text);
                                    std::io::stdout().flush()?;
                                }
                                if chunk.get(receipt::RECEIPT_FIELD).is_some() {
                                    signed = Some(receipt::receipt_in(&chunk)?);
                                }
                            }
                            SseEvent::Done => {}
                        }
                    }
                }
                println!();
                let signed = signed.ok_or(receipt::CheckError::Missing)?;
                let now = provider.get_block(BlockId::latest()).await?.map(|b| b.header.timestamp).unwrap_or_default();
                let epoch_now = manifest.epoch_at(now).unwrap_or(0);
                receipt::check(&signed, &domain, &allowance, node_signer, &body, &answer, epoch_now)
                    .context("the node's answer does not match its signed receipt")?;
                eprintln!(
                    "  receipt ok: {} prompt + {} completion tokens, fee {} wei, epoch {}",
                    signed.receipt.promptTokens,
                    signed.receipt.completionTokens,
                    signed.receipt.fee,
                    signed.receipt.epoch
                );
                messages.push(serde_json::json!({"role": "assistant", "content": answer}));
                print!("> ");
                std::io::stdout().flush()?;
            }
        }
    }
    Ok(())
}
