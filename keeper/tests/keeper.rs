//! The keeper against anvil with the deployed contracts and time moved by hand: hourly operation, catch-up after
//! missed epochs, two keepers at once, a flaky RPC endpoint, and a restart with a transaction still unmined.

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::U256,
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::Filter,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use neuro_chain::{RelayConfig, Relayer};
use neuro_keeper::{keeper::Keeper, metrics::Metrics};
use neuro_protocol::bindings::Emissions;
use neuro_testkit::{Devnet, DevnetOptions, proxy::FaultyProxy};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn keeper_at(
    devnet: &Devnet,
    url: &str,
    key: usize,
    relay: RelayConfig,
) -> Result<Keeper, Box<dyn std::error::Error + Send + Sync>> {
    let signer: PrivateKeySigner = devnet.signer(key).ok_or("key")?;
    let from = signer.address();
    let provider = neuro_chain::connect_signing(url, neuro_chain::RpcConfig::default(), signer)?;
    let relayer = Relayer::new(provider.clone(), from, relay);
    Ok(Keeper::new(provider, devnet.manifest().clone(), relayer, Arc::new(Metrics::new()), false, U256::ZERO))
}

fn plain(devnet: &Devnet) -> Result<DynProvider, Box<dyn std::error::Error + Send + Sync>> {
    Ok(ProviderBuilder::new().connect_http(devnet.endpoint().parse()?).erased())
}

async fn warp(provider: &DynProvider, seconds: u64) -> TestResult {
    provider.raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (seconds,)).await?;
    provider.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await?;
    Ok(())
}

/// Number of `EpochFinalized` events per epoch 0..n.
async fn finalize_events(devnet: &Devnet, n: u64) -> Result<Vec<usize>, Box<dyn std::error::Error + Send + Sync>> {
    let provider = plain(devnet)?;
    let filter = Filter::new()
        .address(devnet.manifest().contracts.emissions)
        .event_signature(Emissions::EpochFinalized::SIGNATURE_HASH)
        .from_block(0);
    let logs = provider.get_logs(&filter).await?;
    let mut counts = vec![0; n as usize];
    for log in logs {
        let event = Emissions::EpochFinalized::decode_log(&log.inner)?;
        let epoch = event.epoch.to::<u64>();
        if epoch < n {
            counts[epoch as usize] += 1;
        }
    }
    Ok(counts)
}

/// Moves the chain to the moment `epochs` epochs are finalizable.
async fn make_due(devnet: &Devnet, epochs: u64) -> TestResult {
    let provider = plain(devnet)?;
    let m = devnet.manifest();
    let now = provider.get_block(alloy::eips::BlockId::latest()).await?.ok_or("block")?.header.timestamp;
    let target = m.genesis_time + epochs * m.epoch_length + 900;
    warp(&provider, target.saturating_sub(now)).await
}

#[tokio::test]
async fn hourly_operation_and_catch_up() -> TestResult {
    let devnet = Devnet::start(DevnetOptions::new(Devnet::repo_root()))?;
    let keeper = keeper_at(&devnet, &devnet.endpoint(), 3, RelayConfig::default())?;
    assert!(keeper.due().await?.epochs.is_empty(), "nothing due at genesis");

    make_due(&devnet, 1).await?;
    assert_eq!(keeper.due().await?.epochs, vec![0]);
    assert_eq!(keeper.run_once().await?.finalized, vec![0]);
    assert!(keeper.run_once().await?.finalized.is_empty(), "a second run does nothing");

    // Five more epochs pass while the keeper is down: it finalizes them all, in order.
    make_due(&devnet, 6).await?;
    let report = keeper.run_once().await?;
    assert_eq!(report.finalized, vec![1, 2, 3, 4, 5]);
    assert_eq!(finalize_events(&devnet, 6).await?, vec![1; 6]);

    // Fees waiting in the vault are flushed: burn and treasury shares exactly.
    let c = devnet.manifest().contracts;
    let deployer =
        ProviderBuilder::new().wallet(devnet.signer(0).ok_or("key 0")?).connect_http(devnet.endpoint().parse()?);
    let ten = U256::from(10u64) * neuro_protocol::schedule::NEURO;
    neuro_protocol::bindings::NeuroToken::new(c.token, &deployer)
        .transfer(c.fee_vault, ten)
        .send()
        .await?
        .get_receipt()
        .await?;
    let (burn, treasury) = (ten * U256::from(2) / U256::from(3), ten - ten * U256::from(2) / U256::from(3));
    neuro_protocol::bindings::FeeVault::new(c.fee_vault, &deployer)
        .accrue(burn, treasury)
        .send()
        .await?
        .get_receipt()
        .await?;
    assert_eq!(keeper.due().await?.flush, Some((burn, treasury)));
    assert_eq!(keeper.run_once().await?.flushed, Some((burn, treasury)));
    assert_eq!(keeper.due().await?.flush, None, "nothing left to flush");
    Ok(())
}

#[tokio::test]
async fn two_keepers_never_double_act() -> TestResult {
    let devnet = Devnet::start(DevnetOptions::new(Devnet::repo_root()))?;
    let a = keeper_at(&devnet, &devnet.endpoint(), 3, RelayConfig::default())?;
    let b = keeper_at(&devnet, &devnet.endpoint(), 4, RelayConfig::default())?;
    make_due(&devnet, 8).await?;
    let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
    let (ra, rb) = (ra?, rb?);
    let mut all: Vec<u64> = ra.finalized.iter().chain(&rb.finalized).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..8).collect::<Vec<_>>(), "each epoch finalized by exactly one keeper: {ra:?} {rb:?}");
    assert_eq!(finalize_events(&devnet, 8).await?, vec![1; 8]);
    Ok(())
}

/// An HTTP proxy to `upstream` that fails every third request (connection closed without an answer).
#[tokio::test]
async fn flaky_rpc_still_finalizes_every_epoch_once() -> TestResult {
    let devnet = Devnet::start(DevnetOptions::new(Devnet::repo_root()))?;
    let proxy = FaultyProxy::every_third_dropped(devnet.endpoint()).await?;
    let relay = RelayConfig {
        base_backoff: Duration::from_millis(20),
        confirm_timeout: Duration::from_secs(5),
        ..RelayConfig::default()
    };
    let keeper = keeper_at(&devnet, &proxy.url, 3, relay)?;
    make_due(&devnet, 4).await?;
    // A cycle may still fail (e.g. a dropped receipt poll); the next one finishes the job, as the daemon would.
    for _ in 0..5 {
        match keeper.run_once().await {
            Ok(_) if keeper.due().await.map(|d| d.epochs.is_empty()).unwrap_or(false) => break,
            Ok(report) => eprintln!("cycle: {report:?}"),
            Err(e) => eprintln!("cycle failed: {e}"),
        }
    }
    assert!(proxy.dropped() > 0, "the proxy did drop requests");
    assert_eq!(finalize_events(&devnet, 4).await?, vec![1; 4]);
    Ok(())
}

#[tokio::test]
async fn restart_with_a_pending_transaction_ends_consistent() -> TestResult {
    let devnet = Devnet::start(DevnetOptions::new(Devnet::repo_root()))?;
    let provider = plain(&devnet)?;
    make_due(&devnet, 1).await?;
    provider.raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (false,)).await?;

    // The first keeper sends finalizeEpoch(0) and "dies" before it is mined (it gives up waiting).
    let quick = RelayConfig { confirm_timeout: Duration::from_millis(500), max_bumps: 0, ..RelayConfig::default() };
    let first = keeper_at(&devnet, &devnet.endpoint(), 3, quick)?;
    assert!(first.run_once().await.is_err(), "not mined: the first keeper cannot confirm");

    // Restarted with the same key, while blocks resume: the epoch ends finalized exactly once.
    let miner = {
        let provider = provider.clone();
        tokio::spawn(async move {
            for _ in 0..20 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let _ = provider.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await;
            }
        })
    };
    let second = keeper_at(
        &devnet,
        &devnet.endpoint(),
        3,
        RelayConfig { confirm_timeout: Duration::from_secs(10), ..RelayConfig::default() },
    )?;
    let report = second.run_once().await?;
    assert!(report.finalized.len() + report.already_finalized.len() <= 1, "{report:?}");
    let emissions = Emissions::new(devnet.manifest().contracts.emissions, provider.clone());
    for _ in 0..50 {
        if emissions.isFinalized(U256::ZERO).call().await? {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    miner.abort();
    provider.raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (true,)).await?;
    assert_eq!(finalize_events(&devnet, 1).await?, vec![1]);
    assert!(second.due().await?.epochs.is_empty());
    Ok(())
}
