//! The chain kit against hostile endpoints and a real chain: a half-open RPC fails in bounded time instead of
//! hanging, dropped reads are retried, a dropped transaction is re-sent with higher fees under the same nonce,
//! and a revert is decoded without anything being sent.

use std::{sync::Arc, time::Duration};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    providers::{DynProvider, Provider},
    rpc::types::TransactionRequest,
};
use neuro_chain::{ChainError, RelayConfig, Relayer, RpcConfig};
use neuro_protocol::bindings::Payments;
use neuro_testkit::{
    Devnet, DevnetOptions,
    proxy::{Fault, FaultyProxy, silent_server},
};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn quick() -> RpcConfig {
    RpcConfig {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(500),
        read_retries: 2,
        retry_backoff_ms: 20,
    }
}

#[tokio::test]
async fn a_silent_endpoint_fails_in_bounded_time_instead_of_hanging() -> TestResult {
    let url = silent_server().await?;
    let provider = neuro_chain::connect(&url, quick())?;
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(10), provider.get_block_number()).await;
    let error = outcome.map_err(|_| "the request hung past 10 s")?.expect_err("nothing answers");
    // Three attempts of 0.5 s each, with short pauses: well under the 10 s guard.
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(ChainError::from(error).is_transient(), "a timeout is not an answer");
    Ok(())
}

#[tokio::test]
async fn reads_survive_an_endpoint_dropping_every_third_request() -> TestResult {
    let devnet = Devnet::start(DevnetOptions::new(Devnet::repo_root()))?;
    let proxy = FaultyProxy::every_third_dropped(devnet.endpoint()).await?;
    let provider = neuro_chain::connect(&proxy.url, RpcConfig { read_retries: 4, ..quick() })?;
    for _ in 0..30 {
        assert_eq!(provider.get_chain_id().await?, devnet.chain_id());
    }
    assert!(proxy.dropped() >= 10, "the proxy dropped {} requests", proxy.dropped());
    Ok(())
}

#[tokio::test]
async fn transaction_submissions_are_never_retried_by_the_transport() -> TestResult {
    let devnet = Devnet::start(DevnetOptions::new(Devnet::repo_root()))?;
    // Drop every submission: the relayer sees each failure itself (and owns resubmission), the transport does
    // not silently resend it.
    let proxy = FaultyProxy::start(
        devnet.endpoint(),
        Arc::new(|_, body: &str| if body.contains("eth_sendRawTransaction") { Fault::Drop } else { Fault::Forward }),
    )
    .await?;
    let signer = devnet.signer(3).ok_or("key")?;
    let from = signer.address();
    let provider = neuro_chain::connect_signing(&proxy.url, RpcConfig { read_retries: 4, ..quick() }, signer)?;
    let config = RelayConfig {
        confirm_timeout: Duration::from_millis(300),
        poll_interval: Duration::from_millis(50),
        max_bumps: 2,
        ..RelayConfig::default()
    };
    let relayer = Relayer::new(provider, from, config);
    let tx = TransactionRequest::default().with_to(Address::repeat_byte(9)).with_value(U256::from(1));
    let err = relayer.send(tx).await.expect_err("every submission is dropped");
    assert!(err.is_transient(), "{err}");
    // One submission per attempt (the first and two bumps): none was replayed by the retry layer.
    assert_eq!(proxy.dropped(), 3);
    Ok(())
}

async fn pending_count(provider: &DynProvider, from: Address) -> Result<u64, ChainError> {
    Ok(provider.get_transaction_count(from).pending().await?)
}

#[tokio::test]
async fn a_dropped_transaction_is_resent_with_higher_fees_under_the_same_nonce() -> TestResult {
    let devnet = Devnet::start(DevnetOptions::new(Devnet::repo_root()))?;
    let plain = neuro_chain::connect(&devnet.endpoint(), RpcConfig::default())?;
    let signer = devnet.signer(4).ok_or("key")?;
    let from = signer.address();
    let provider = neuro_chain::connect_signing(&devnet.endpoint(), RpcConfig::default(), signer)?;
    let nonce = pending_count(&plain, from).await?;
    let first_fee = plain.estimate_eip1559_fees().await?.max_fee_per_gas;
    plain.raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (false,)).await?;

    let config = RelayConfig {
        confirm_timeout: Duration::from_millis(1500),
        poll_interval: Duration::from_millis(50),
        ..RelayConfig::default()
    };
    let relayer = Arc::new(Relayer::new(provider, from, config));
    let tx = TransactionRequest::default().with_to(Address::repeat_byte(9)).with_value(U256::from(7));
    let sending = tokio::spawn({
        let relayer = relayer.clone();
        async move { relayer.send(tx).await }
    });
    // The first copy reaches the mempool; the node drops it (eviction, a restart, a reorg).
    for _ in 0..100 {
        if pending_count(&plain, from).await? > nonce {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(pending_count(&plain, from).await?, nonce + 1, "the first copy is pending");
    plain.raw_request::<_, serde_json::Value>("anvil_dropAllTransactions".into(), ()).await?;
    assert_eq!(pending_count(&plain, from).await?, nonce, "dropped");
    // Blocks resume; only a re-sent copy can be mined.
    let miner = tokio::spawn({
        let plain = plain.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let _ = plain.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await;
            }
        }
    });
    let receipt = tokio::time::timeout(Duration::from_secs(30), sending).await???;
    miner.abort();
    plain.raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (true,)).await?;
    assert!(receipt.status());
    let mined = plain.get_transaction_by_hash(receipt.transaction_hash).await?.ok_or("mined tx")?;
    use alloy::consensus::Transaction as _;
    assert_eq!(mined.inner.nonce(), nonce, "same nonce: a replacement, never a second transfer");
    assert!(mined.inner.max_fee_per_gas() > first_fee, "re-sent with a higher fee");
    assert_eq!(plain.get_balance(Address::repeat_byte(9)).await?, U256::from(7), "paid exactly once");
    Ok(())
}

#[tokio::test]
async fn a_revert_is_decoded_and_nothing_is_sent() -> TestResult {
    let devnet = Devnet::start(DevnetOptions::new(Devnet::repo_root()))?;
    let signer = devnet.signer(5).ok_or("key")?;
    let from = signer.address();
    let provider = neuro_chain::connect_signing(&devnet.endpoint(), RpcConfig::default(), signer)?;
    let relayer = Relayer::new(provider.clone(), from, RelayConfig::default());
    let payments = Payments::new(devnet.manifest().contracts.payments, provider.clone());
    let before = provider.get_transaction_count(from).await?;
    let err = relayer
        .send_call::<Payments::PaymentsErrors, _, _>("completeWithdrawal", payments.completeWithdrawal())
        .await
        .expect_err("no withdrawal was requested");
    match &err {
        ChainError::Reverted { action, revert } => {
            assert_eq!(*action, "completeWithdrawal");
            assert!(revert.reason.contains("NoWithdrawalRequested"), "{revert}");
        }
        other => return Err(format!("expected a decoded revert, got {other:?}").into()),
    }
    assert!(!err.is_transient());
    assert_eq!(provider.get_transaction_count(from).await?, before, "nothing was sent");
    Ok(())
}

/// A transaction the relayer gave up on (stuck) and that is still pending is replaced by the next send, under its
/// nonce: the caller retried its action, so the two must never both land.
#[tokio::test]
async fn the_next_send_replaces_a_transaction_given_up_on() -> TestResult {
    let devnet = Devnet::start(DevnetOptions::new(Devnet::repo_root()))?;
    let plain = neuro_chain::connect(&devnet.endpoint(), RpcConfig::default())?;
    let signer = devnet.signer(6).ok_or("key")?;
    let from = signer.address();
    let provider = neuro_chain::connect_signing(&devnet.endpoint(), RpcConfig::default(), signer)?;
    let nonce = pending_count(&plain, from).await?;
    let config = RelayConfig {
        confirm_timeout: Duration::from_millis(300),
        poll_interval: Duration::from_millis(50),
        max_bumps: 1,
        ..RelayConfig::default()
    };
    let relayer = Relayer::new(provider, from, config);
    let to = Address::repeat_byte(0x51);
    let transfer = |wei: u64| TransactionRequest::default().with_to(to).with_value(U256::from(wei));

    plain.raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (false,)).await?;
    let first = relayer.send(transfer(1)).await.expect_err("no blocks: stuck");
    assert!(matches!(first, neuro_chain::relayer::RelayError::Stuck(1)), "{first}");
    let second = relayer.send(transfer(2)).await.expect_err("still no blocks");
    assert!(matches!(second, neuro_chain::relayer::RelayError::Stuck(1)), "{second}");
    assert_eq!(pending_count(&plain, from).await?, nonce + 1, "the retry replaced the stuck one, not stacked on it");
    plain.raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (true,)).await?;
    plain.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await?;
    let receipt = relayer.send(transfer(4)).await?;
    assert!(receipt.status());
    assert_eq!(plain.get_transaction_count(from).await?, nonce + 2, "one of the first two, then the third");
    assert_eq!(plain.get_balance(to).await?, U256::from(2 + 4), "the replaced transfer never landed");
    Ok(())
}
