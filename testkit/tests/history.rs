//! A miner's long history is served a page at a time: every epoch exactly once, newest first, with its own
//! figures, whatever the length of the history (the endpoint reads only the page's epochs).

use std::sync::Arc;

use alloy::primitives::{Address, keccak256};
use neuro_indexer::{api, metrics::Metrics, store::Store};
use neuro_protocol::Manifest;
use neuro_testkit::history::write_history;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn manifest() -> Result<Manifest, serde_json::Error> {
    let names = [
        "Disputes",
        "Emissions",
        "FeeVault",
        "InvestorVesting",
        "ModelRegistry",
        "NeuroGovernor",
        "NeuroTimelock",
        "NeuroToken",
        "NodeRegistry",
        "Payments",
        "StakingVault",
        "TeamVesting",
        "UsageLedger",
        "UsageVerifier1024",
        "UsageVerifier64",
    ];
    let contracts: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| (name.to_string(), format!("{:#x}", Address::with_last_byte(i as u8 + 1)).into()))
        .collect();
    serde_json::from_value(serde_json::json!({
        "schemaVersion": 1, "chainId": 31337, "deployer": format!("{:#x}", Address::ZERO), "startBlock": 0,
        "genesisTime": 1_800_000_000u64, "epochLength": 3600, "contracts": contracts, "usageVerifyingKeys": {}
    }))
}

#[tokio::test]
async fn a_long_history_is_paged_exactly() -> TestResult {
    let dir = tempfile::tempdir()?;
    let manifest = manifest()?;
    let store = Store::open(&format!("sqlite://{}", dir.path().join("h.db").display()), 2).await?;
    let miner = Address::with_last_byte(0xaa);
    let epochs = 1234;
    assert_eq!(write_history(&store, &manifest, miner, keccak256(b"model"), epochs).await?, epochs);
    assert!(
        write_history(&store, &manifest, miner, keccak256(b"model"), 1).await.is_err(),
        "only into an empty database"
    );

    let metrics = Arc::new(Metrics::new());
    let state = api::AppState { store, manifest: Arc::new(manifest), metrics };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, api::router(state, None)).await });

    let too_many = reqwest::get(format!("{base}/v1/miners/{miner:#x}?limit=101")).await?;
    assert_eq!(too_many.status(), 400, "a page of a miner's history is at most 100 epochs");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}/v1/miners/{miner:#x}?limit=100&cursor={c}"),
            None => format!("{base}/v1/miners/{miner:#x}?limit=100"),
        };
        let body: serde_json::Value = reqwest::get(url).await?.error_for_status()?.json().await?;
        pages += 1;
        for e in body["data"]["epochs"].as_array().ok_or("no epochs")? {
            let epoch = e["epoch"].as_u64().ok_or("epoch")?;
            // The history's work is 300 + epoch % 200 units, in one submission, claimed.
            assert_eq!(e["work"].as_str(), Some((300 + epoch % 200).to_string().as_str()), "epoch {epoch}");
            assert_eq!(e["submissions"].as_array().map(Vec::len), Some(1), "epoch {epoch}");
            assert!(e["claim"].is_object(), "epoch {epoch} claim");
            seen.push(epoch);
        }
        match body["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 20, "paging does not end");
    }
    assert_eq!(pages, 13);
    let expected: Vec<u64> = (0..epochs).rev().collect();
    assert_eq!(seen, expected, "every epoch once, newest first");
    Ok(())
}
