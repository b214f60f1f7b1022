//! Shared by the indexer's integration tests: a devnet with real protocol activity, indexers on SQLite or
//! PostgreSQL, and the API served on loopback.
#![allow(dead_code, clippy::unwrap_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, B256, Bytes, U256, keccak256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use neuro_indexer::{
    api::{self, AppState},
    catalog::Catalog,
    ingest::{Indexer, IngestConfig},
    metrics::Metrics,
    rpc::Chain,
    store::Store,
};
use neuro_protocol::{
    bindings::{Disputes, Emissions, FeeVault, ModelRegistry, NeuroToken, NodeRegistry, Payments, StakingVault},
    schedule::NEURO,
    voucher::{Allowance, payments_domain},
};
use neuro_testkit::{Devnet, DevnetOptions};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type TestResult = Result<(), BoxError>;

pub(crate) const EPOCH: u64 = 60;

/// A devnet with one-minute epochs.
pub(crate) fn devnet() -> Result<Devnet, BoxError> {
    let mut options = DevnetOptions::new(Devnet::repo_root());
    options.epoch_length = EPOCH;
    options.submission_window = 20;
    Ok(Devnet::start(options)?)
}

/// A provider signing for anvil keys 0 (deployer), 1 (user), 2 (miner), 3 and 4 (validators).
pub(crate) fn wallet(devnet: &Devnet) -> Result<DynProvider, BoxError> {
    let mut wallet = EthereumWallet::from(devnet.signer(0).ok_or("key 0")?);
    for i in [1, 2, 3, 4] {
        wallet.register_signer(devnet.signer(i).ok_or("key")?);
    }
    Ok(ProviderBuilder::new().wallet(wallet).connect_http(devnet.endpoint().parse()?).erased())
}

pub(crate) fn addr(devnet: &Devnet, i: usize) -> Address {
    devnet.signer(i).map(|s| s.address()).unwrap_or_default()
}

pub(crate) fn neuro(n: u64) -> U256 {
    U256::from(n) * NEURO
}

pub(crate) async fn warp(provider: &DynProvider, seconds: u64) -> TestResult {
    provider.raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (seconds,)).await?;
    provider.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await?;
    Ok(())
}

pub(crate) async fn mine(provider: &DynProvider, blocks: u64) -> TestResult {
    for _ in 0..blocks {
        provider.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await?;
    }
    Ok(())
}

async fn send(provider: &DynProvider, from: Address, to: Address, data: Vec<u8>) -> TestResult {
    let tx = TransactionRequest::default().with_from(from).with_to(to).with_input(Bytes::from(data));
    let receipt = provider.send_transaction(tx).await?.get_receipt().await?;
    if !receipt.status() {
        return Err(format!("transaction to {to} reverted").into());
    }
    Ok(())
}

/// Calls `to` from the impersonated timelock, as an executed proposal would.
pub(crate) async fn as_timelock(devnet: &Devnet, wallet: &DynProvider, to: Address, data: Vec<u8>) -> TestResult {
    impersonate(devnet, wallet, devnet.manifest().contracts.timelock, to, data).await
}

/// Sends `data` to `to` as `from`, impersonated on anvil.
pub(crate) async fn impersonate(
    devnet: &Devnet,
    _wallet: &DynProvider,
    from: Address,
    to: Address,
    data: Vec<u8>,
) -> TestResult {
    // Unsigned eth_sendTransaction: anvil signs for the impersonated account.
    let provider = &ProviderBuilder::new().connect_http(devnet.endpoint().parse()?).erased();
    provider.raw_request::<_, ()>("anvil_impersonateAccount".into(), (from,)).await?;
    provider.raw_request::<_, ()>("anvil_setBalance".into(), (from, U256::from(10u128.pow(20)))).await?;
    send(provider, from, to, data).await
}

/// Epoch now, per the contract.
pub(crate) async fn current_epoch(devnet: &Devnet, provider: &DynProvider) -> Result<u64, BoxError> {
    Ok(Emissions::new(devnet.manifest().contracts.emissions, provider).currentEpoch().call().await?.to())
}

/// Warps to the moment `epoch` can be finalized.
pub(crate) async fn until_finalizable(devnet: &Devnet, provider: &DynProvider, epoch: u64) -> TestResult {
    let at: u64 = Emissions::new(devnet.manifest().contracts.emissions, provider)
        .finalizableAt(U256::from(epoch))
        .call()
        .await?
        .to();
    let now = provider.get_block(alloy::eips::BlockId::latest()).await?.ok_or("no block")?.header.timestamp;
    warp(provider, at.saturating_sub(now) + 1).await
}

pub(crate) const MODEL: B256 = B256::repeat_byte(0x42);

/// Real activity touching every figure the API serves: transfers, stake and unbonding, a model approved and a
/// node registered, work credited, fees accrued and flushed, an epoch finalized with work and one without, a
/// miner's and a model's claim, and a slash. Returns the epoch with work.
pub(crate) async fn activity(devnet: &Devnet, provider: &DynProvider) -> Result<u64, BoxError> {
    let c = devnet.manifest().contracts;
    let (deployer, user, miner) = (addr(devnet, 0), addr(devnet, 1), addr(devnet, 2));
    let token = NeuroToken::new(c.token, provider);
    token.transfer(miner, neuro(20_000)).from(deployer).send().await?.get_receipt().await?;
    token.transfer(user, neuro(1_000)).from(deployer).send().await?.get_receipt().await?;
    token.approve(c.staking, U256::MAX).from(miner).send().await?.get_receipt().await?;
    let staking = StakingVault::new(c.staking, provider);
    staking.stake(neuro(15_000)).from(miner).send().await?.get_receipt().await?;
    staking.unstake(neuro(1_000)).from(miner).send().await?.get_receipt().await?;

    let registry = ModelRegistry::new(c.model_registry, provider);
    registry
        .propose(MODEL, deployer, "tiny".into(), "ipfs://tiny".into(), U256::from(1000u64))
        .from(deployer)
        .send()
        .await?
        .get_receipt()
        .await?;
    as_timelock(devnet, provider, c.model_registry, ModelRegistry::approveCall { modelId: MODEL }.abi_encode()).await?;
    NodeRegistry::new(c.node_registry, provider)
        .register("http://127.0.0.1:1/".into(), miner, vec![MODEL])
        .from(miner)
        .send()
        .await?
        .get_receipt()
        .await?;

    let grant = |role: B256| StakingVault::grantRoleCall { role, account: deployer }.abi_encode();
    as_timelock(devnet, provider, c.staking, grant(keccak256("SLASHER_ROLE"))).await?;

    let court = Disputes::new(c.disputes, provider);
    for (i, stake) in [(3, 1_000), (4, 2_000)] {
        let validator = addr(devnet, i);
        token.transfer(validator, neuro(stake)).from(deployer).send().await?.get_receipt().await?;
        token.approve(c.disputes, U256::MAX).from(validator).send().await?.get_receipt().await?;
        court.stake(neuro(stake)).from(validator).send().await?.get_receipt().await?;
    }

    let emissions = Emissions::new(c.emissions, provider);
    let epoch = current_epoch(devnet, provider).await?;
    // A real payment: the user deposits and signs an allowance, the miner redeems 50 NEURO for MODEL (10 burned).
    token.approve(c.payments, U256::MAX).from(user).send().await?.get_receipt().await?;
    let payments = Payments::new(c.payments, provider);
    payments.deposit(neuro(100)).from(user).send().await?.get_receipt().await?;
    let allowance = Allowance { user, miner, cap: neuro(50), expiry: U256::from(u64::MAX), nonce: U256::from(7u64) };
    let signer = devnet.signer(1).ok_or("key 1")?;
    let signed = allowance.sign(&signer, &payments_domain(devnet.chain_id(), c.payments)).await?;
    payments
        .redeem(signed.to_call_arg(), signed.signature_bytes(), neuro(50), U256::from(epoch), MODEL)
        .from(miner)
        .send()
        .await?
        .get_receipt()
        .await?;
    // Allowance locks: B (cap 40) opened, 20 redeemed out of its lock, revoked (released after the epoch's window
    // below); C redeemed 2 out of the free deposit before being opened, so opening it locks the 3 its cap leaves.
    let domain = payments_domain(devnet.chain_id(), c.payments);
    let (b, c_allowance) = (
        Allowance { user, miner, cap: neuro(40), expiry: U256::from(u64::MAX), nonce: U256::from(8u64) },
        Allowance { user, miner, cap: neuro(5), expiry: U256::from(u64::MAX), nonce: U256::from(9u64) },
    );
    let (b, c_allowance) = (b.sign(&signer, &domain).await?, c_allowance.sign(&signer, &domain).await?);
    payments.openAllowance(b.to_call_arg()).from(user).send().await?.get_receipt().await?;
    for (signed, cumulative) in [(&b, neuro(20)), (&c_allowance, neuro(2))] {
        payments
            .redeem(signed.to_call_arg(), signed.signature_bytes(), cumulative, U256::from(epoch), MODEL)
            .from(miner)
            .send()
            .await?
            .get_receipt()
            .await?;
    }
    payments.revokeAllowance(b.to_call_arg()).from(user).send().await?.get_receipt().await?;
    payments.openAllowance(c_allowance.to_call_arg()).from(user).send().await?.get_receipt().await?;
    // Work credited as the usage ledger (the only recorder, impersonated) would: the miner's backed by the 10
    // NEURO burned, the user's by nothing.
    let record = |who: Address, units: u128, burned: U256| {
        Emissions::recordWorkCall { epoch: U256::from(epoch), miner: who, modelId: MODEL, units, burnedFees: burned }
            .abi_encode()
    };
    impersonate(devnet, provider, c.usage_ledger, c.emissions, record(miner, 300, neuro(10))).await?;
    impersonate(devnet, provider, c.usage_ledger, c.emissions, record(user, 100, U256::ZERO)).await?;
    token.transfer(c.fee_vault, neuro(30)).from(deployer).send().await?.get_receipt().await?;
    FeeVault::new(c.fee_vault, provider)
        .accrue(neuro(20), neuro(10))
        .from(deployer)
        .send()
        .await?
        .get_receipt()
        .await?;

    // D expires in seconds; the user releases it twice once expired (the second release moves nothing), then
    // revokes it: the revocation must still show behind the repeated releases.
    let now =
        provider.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest).await?.ok_or("no block")?.header.timestamp;
    let d = Allowance { user, miner, cap: neuro(1), expiry: U256::from(now + 5), nonce: U256::from(10u64) };
    let d = d.sign(&signer, &domain).await?;
    payments.openAllowance(d.to_call_arg()).from(user).send().await?.get_receipt().await?;
    until_finalizable(devnet, provider, epoch + 1).await?;
    for _ in 0..2 {
        payments.releaseAllowance(d.to_call_arg()).from(user).send().await?.get_receipt().await?;
    }
    payments.revokeAllowance(d.to_call_arg()).from(user).send().await?.get_receipt().await?;
    emissions.finalizeEpoch(U256::from(epoch)).from(user).send().await?.get_receipt().await?;
    emissions.finalizeEpoch(U256::from(epoch + 1)).from(user).send().await?.get_receipt().await?;
    FeeVault::new(c.fee_vault, provider).flush().from(user).send().await?.get_receipt().await?;
    payments.releaseAllowance(b.to_call_arg()).from(user).send().await?.get_receipt().await?;
    emissions.claim(vec![U256::from(epoch)]).from(miner).send().await?.get_receipt().await?;
    emissions.claimModel(MODEL, vec![U256::from(epoch)]).from(deployer).send().await?.get_receipt().await?;
    // Two validators report on the miner's finished epoch (staked during it): one saw 4 of 4 probes pass, the
    // other (twice the stake) 1 pass and 1 timeout.
    for (i, _stake, report) in [(3, 1_000, (4u32, 4u32, 0u32)), (4, 2_000, (2, 1, 1))] {
        let validator = addr(devnet, i);
        let (sent, passed, timed_out) = report;
        let entry = Disputes::ProbeReport {
            miner,
            sent,
            passed,
            failed: 0,
            invalid: 0,
            timedOut: timed_out,
            medianTtftMs: 100 * i as u32,
            medianMilliTokensPerSecond: 20_000,
        };
        court.reportProbes(epoch, vec![entry]).from(validator).send().await?.get_receipt().await?;
    }
    staking.slash(miner, neuro(500), keccak256("test")).from(deployer).send().await?.get_receipt().await?;
    Ok(epoch)
}

static NEXT_DB: AtomicU64 = AtomicU64::new(0);

/// The database URLs a test runs on: a fresh SQLite file, or a fresh database on the PostgreSQL server named
/// by NEURO_TEST_POSTGRES_URL (started by scripts/test.sh).
pub(crate) async fn database(backend: &str, dir: &std::path::Path) -> Result<String, BoxError> {
    let n = NEXT_DB.fetch_add(1, Ordering::Relaxed);
    match backend {
        "sqlite" => Ok(format!("sqlite://{}", dir.join(format!("indexer-{n}.db")).display())),
        _ => {
            let server = std::env::var("NEURO_TEST_POSTGRES_URL").map_err(|_| {
                "NEURO_TEST_POSTGRES_URL is not set: run scripts/test.sh, which starts PostgreSQL, or point it at a \
                 server where this user may create databases"
            })?;
            let name = format!("neuro_test_{}_{n}", std::process::id());
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&server).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&pool).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&pool).await?;
            let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base);
            Ok(format!("{base}/{name}"))
        }
    }
}

/// A PostgreSQL database whose default collation is linguistic (ICU's en-US: what managed PostgreSQL services
/// default to, via `en_US.UTF-8`), where `'a.' < 'a.\x7f'`-style ranges do not compare byte-wise. ICU is used so
/// the test needs no OS locale (Debian's minimal images have only C and C.UTF-8).
pub(crate) async fn linguistic_postgres_database() -> Result<String, BoxError> {
    let n = NEXT_DB.fetch_add(1, Ordering::Relaxed);
    let server = std::env::var("NEURO_TEST_POSTGRES_URL").map_err(|_| "NEURO_TEST_POSTGRES_URL is not set")?;
    let name = format!("neuro_test_en_us_{}_{n}", std::process::id());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&pool).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
    )))
    .execute(&pool)
    .await?;
    let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

pub(crate) fn config() -> IngestConfig {
    IngestConfig {
        reorg_depth: 8,
        max_block_range: 5,
        concurrency: 2,
        poll_interval: Duration::from_millis(50),
        progress: false,
    }
}

pub(crate) async fn indexer(
    devnet: &Devnet,
    url: &str,
    config: IngestConfig,
) -> Result<(Indexer, Store, Arc<Metrics>), BoxError> {
    let store = Store::open(url, 4).await?;
    store.bind_deployment(devnet.chain_id(), devnet.manifest().contracts.token).await?;
    let provider = ProviderBuilder::new().connect_http(devnet.endpoint().parse()?).erased();
    let catalog = Catalog::new(devnet.manifest())?;
    let chain = Chain::new(provider, catalog.addresses().to_vec(), 3, Duration::from_millis(50));
    let metrics = Arc::new(Metrics::new());
    let indexer = Indexer::new(chain, store.clone(), catalog, devnet.manifest().clone(), config, metrics.clone());
    Ok((indexer, store, metrics))
}

/// Serves the API on an ephemeral loopback port; returns its base URL.
pub(crate) async fn serve(devnet: &Devnet, store: Store, metrics: Arc<Metrics>) -> Result<String, BoxError> {
    let state = AppState { store, manifest: Arc::new(devnet.manifest().clone()), metrics };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, api::router(state, None)).await });
    Ok(base)
}

pub(crate) async fn get(url: &str) -> Result<(u16, serde_json::Value), BoxError> {
    let response = reqwest::get(url).await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))))
}

/// All our contracts' logs on chain, as (block hash, log index, tx hash).
pub(crate) async fn chain_logs(
    devnet: &Devnet,
    provider: &DynProvider,
) -> Result<Vec<(String, u64, String)>, BoxError> {
    let catalog = Catalog::new(devnet.manifest())?;
    let filter = alloy::rpc::types::Filter::new().address(catalog.addresses().to_vec()).from_block(0);
    Ok(provider
        .get_logs(&filter)
        .await?
        .into_iter()
        .map(|l| {
            (
                format!("{:#x}", l.block_hash.unwrap_or_default()),
                l.log_index.unwrap_or_default(),
                format!("{:#x}", l.transaction_hash.unwrap_or_default()),
            )
        })
        .collect())
}
