//! Kill -9 the `neuro-miner serve` process after it acknowledged requests, restart it: every acknowledged
//! receipt is there exactly once, and the node serves again.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use alloy::signers::local::PrivateKeySigner;
use neuro_miner::{config::Config, store::Store};
use neuro_testkit::{
    Devnet,
    network::{self as devnet, neuro},
    tiny_model::{self, TinyModelSpec},
};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn spawn(config: &std::path::Path) -> std::io::Result<Child> {
    Command::new(env!("CARGO_BIN_EXE_neuro-miner"))
        .args(["serve", "--config"])
        .arg(config)
        .env("NEURO_KEYSTORE_PASSWORD", "test password")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

async fn wait_healthy(url: &str) -> bool {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if client.get(format!("{url}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_receipts_survive_kill_and_restart() -> TestResult {
    let dir = std::env::temp_dir().join(format!("neuro-miner-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let model = dir.join("tiny");
    tiny_model::write(&model, TinyModelSpec::default())?;
    let keys =
        std::env::var_os("NEURO_KEYS_DIR").map(PathBuf::from).unwrap_or_else(|| Devnet::repo_root().join("keys"));
    let net = devnet::start(model, keys, dir.join("in-process")).await?;

    // The same operator key, in an encrypted keystore, for the out-of-process node.
    let data_dir = dir.join("node");
    let operator = net.devnet.signer(2).ok_or("key 2")?;
    std::fs::create_dir_all(&data_dir)?;
    PrivateKeySigner::encrypt_keystore(
        &data_dir,
        &mut rand::thread_rng(),
        operator.to_bytes(),
        "test password",
        Some("operator.json"),
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let config = Config {
        manifest: Devnet::repo_root().join("deployments").join(format!("{}.json", net.devnet.chain_id())),
        keystore: data_dir.join("operator.json"),
        listen: format!("127.0.0.1:{port}"),
        ..net.config.clone()
    };
    let config_path = data_dir.join("config.toml");
    config.save(&config_path)?;
    let url = format!("http://127.0.0.1:{port}");
    let now = net.chain.now().await?;
    let key = net.api_key(net.chain.operator, neuro(10), now + 30 * 86_400, &net.user).await?;
    let http = reqwest::Client::new();
    let ask = || {
        http.post(format!("{url}/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&json!({"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 6}))
            .send()
    };

    let mut node = spawn(&config_path)?;
    assert!(wait_healthy(&url).await, "node did not start");
    for _ in 0..3 {
        assert_eq!(ask().await?.status(), 200);
    }
    node.kill()?; // SIGKILL: no shutdown hook runs
    node.wait()?;

    let store = Store::open(&data_dir.join("receipts.sqlite"))?;
    assert_eq!(store.counts().await?.0, 3, "every acknowledged request has its receipt");

    let mut node = spawn(&config_path)?;
    assert!(wait_healthy(&url).await, "node did not restart");
    let after = ask().await?;
    let status = after.status();
    assert_eq!(status, 200, "{}", after.text().await?);
    assert_eq!(store.counts().await?.0, 4, "no receipt lost or duplicated across the restart");
    node.kill()?;
    node.wait()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
