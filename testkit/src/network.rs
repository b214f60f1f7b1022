//! A whole local network for tests and `neuro-bench miner`: anvil with the protocol deployed, a model approved by the
//! (impersonated) timelock, this node staked, registered and serving on loopback, and a funded user.

use std::{path::PathBuf, time::Duration};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use neuro_miner::{
    actions,
    chain::Chain,
    config::{Config, ModelConfig},
    engine::ModelSource,
    model_id, node,
    store::Store,
};
use neuro_protocol::{
    bindings::{ModelRegistry, NeuroToken, Payments},
    schedule::NEURO,
    voucher::{Allowance, payments_domain},
};

use tokio_util::sync::CancellationToken;

use crate::devnet::{Devnet, DevnetOptions};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `amount` whole NEURO in wei.
pub fn neuro(amount: u64) -> U256 {
    U256::from(amount) * NEURO
}

/// A running local network with one serving node.
#[derive(Debug)]
pub struct LocalNetwork {
    /// The chain (keep alive: dropping it stops anvil).
    pub devnet: Devnet,
    /// A provider without a wallet (for anvil RPCs and impersonation).
    pub plain: DynProvider,
    /// The node's chain handle (signs as the operator).
    pub chain: Chain,
    /// A user with 100 NEURO deposited.
    pub user: PrivateKeySigner,
    /// Base URL of the node's API.
    pub url: String,
    /// The node's `/metrics` URL (on its own listener).
    pub metrics_url: String,
    /// The node's receipt store.
    pub store: Store,
    /// The node's configuration.
    pub config: Config,
    /// The served model's id.
    pub model_id: [u8; 32],
    /// Scratch directory.
    pub dir: PathBuf,
    /// Cancelling it stops the node as SIGTERM does (drain, then exit).
    pub shutdown: CancellationToken,
    /// The node's task: ends once the node has drained after `shutdown`.
    pub node: tokio::task::JoinHandle<Result<(), node::NodeError>>,
}

/// Calls `to` with `data` from the timelock, impersonated, as an executed governance proposal would.
pub async fn as_timelock(provider: &DynProvider, timelock: Address, to: Address, data: Bytes) -> Result<(), BoxError> {
    provider.raw_request::<_, ()>("anvil_impersonateAccount".into(), (timelock,)).await?;
    provider.raw_request::<_, ()>("anvil_setBalance".into(), (timelock, U256::from(10u128.pow(20)))).await?;
    let tx = TransactionRequest::default().with_from(timelock).with_to(to).with_input(data);
    let receipt = provider.send_transaction(tx).await?.get_receipt().await?;
    if !receipt.status() {
        return Err("timelock call reverted".into());
    }
    Ok(())
}

/// Moves anvil's clock forward by `seconds` and mines a block.
pub async fn warp(provider: &DynProvider, seconds: u64) -> Result<(), BoxError> {
    provider.raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (seconds,)).await?;
    provider.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await?;
    Ok(())
}

/// Starts the network serving `model_path` as `tiny`, with proving keys in `keys_dir` (created if missing).
pub async fn start(model_path: PathBuf, keys_dir: PathBuf, scratch: PathBuf) -> Result<LocalNetwork, BoxError> {
    start_with(model_path, keys_dir, scratch, Default::default()).await
}

/// [`start`] with the node's serving `limits` (a load benchmark lets one user run as many requests as it sends).
pub async fn start_with(
    model_path: PathBuf,
    keys_dir: PathBuf,
    scratch: PathBuf,
    limits: neuro_miner::config::Limits,
) -> Result<LocalNetwork, BoxError> {
    start_node(model_path.clone(), model_path, keys_dir, scratch, limits).await
}

/// A network whose node registers the model at `model_path` but serves the one at `served_path`: the cheat a
/// validator must catch (a cheaper or different model behind an approved model's id).
pub async fn start_serving(
    model_path: PathBuf,
    served_path: PathBuf,
    keys_dir: PathBuf,
    scratch: PathBuf,
) -> Result<LocalNetwork, BoxError> {
    start_node(model_path, served_path, keys_dir, scratch, Default::default()).await
}

async fn start_node(
    model_path: PathBuf,
    served_path: PathBuf,
    keys_dir: PathBuf,
    scratch: PathBuf,
    limits: neuro_miner::config::Limits,
) -> Result<LocalNetwork, BoxError> {
    let devnet = Devnet::start(DevnetOptions::new(Devnet::repo_root()))?;
    let m = devnet.manifest().clone();
    let c = m.contracts;
    let (deployer, user, operator) =
        (devnet.signer(0).ok_or("key 0")?, devnet.signer(1).ok_or("key 1")?, devnet.signer(2).ok_or("key 2")?);
    let url: alloy::transports::http::reqwest::Url = devnet.endpoint().parse()?;
    let plain = ProviderBuilder::new().connect_http(url.clone()).erased();
    let as_deployer = ProviderBuilder::new().wallet(deployer).connect_http(url.clone());
    let token = NeuroToken::new(c.token, &as_deployer);
    token.transfer(operator.address(), neuro(20_000)).send().await?.get_receipt().await?;
    token.transfer(user.address(), neuro(1_000)).send().await?.get_receipt().await?;

    let model_id = model_id::compute(&ModelSource::detect(&model_path)?, false)?;
    let chain = Chain::connect(&devnet.endpoint(), m.clone(), operator.clone()).await?;
    ModelRegistry::new(c.model_registry, chain.provider.clone())
        .propose(model_id.into(), operator.address(), "tiny".into(), "".into(), neuro(1))
        .send()
        .await?
        .get_receipt()
        .await?;
    let approve = ModelRegistry::approveCall { modelId: model_id.into() }.abi_encode();
    as_timelock(&plain, c.timelock, c.model_registry, approve.into()).await?;
    actions::stake(&chain, neuro(10_000)).await?;
    let endpoint = actions::PublicEndpoint::parse("http://127.0.0.1:1", true)?;
    actions::register(&chain, &endpoint, &[model_id.into()]).await?;

    let as_user = ProviderBuilder::new().wallet(user.clone()).connect_http(url);
    NeuroToken::new(c.token, &as_user).approve(c.payments, neuro(100)).send().await?.get_receipt().await?;
    Payments::new(c.payments, &as_user).deposit(neuro(100)).send().await?.get_receipt().await?;

    let paths = neuro_prover::keys::KeyPaths::new(&keys_dir, 64);
    if !paths.proving.exists() {
        let (pk, _) = neuro_prover::keys::setup(64, neuro_prover::keys::DEVNET_SEED)?;
        paths.save(&pk)?;
    }
    std::fs::create_dir_all(&scratch)?;
    let config = Config {
        rpc_url: devnet.endpoint(),
        chain_id: m.chain_id,
        manifest: scratch.join("manifest-unused.json"),
        keystore: scratch.join("keystore-unused.json"),
        listen: "127.0.0.1:0".into(),
        metrics_listen: Some("127.0.0.1:0".into()),
        public_endpoint: "http://127.0.0.1:1".into(),
        batch_size: 64,
        proving_keys: keys_dir,
        models: vec![ModelConfig {
            name: "tiny".into(),
            path: served_path,
            id: model_id.into(),
            price_per_mtok: neuro(2),
        }],
        limits,
        engine: Default::default(),
    };
    let store = Store::open(&scratch.join("receipts.sqlite"))?;
    let listeners = node::bind(&config).await?;
    let base = format!("http://{}", listeners.api.local_addr()?);
    let metrics_url = match &listeners.metrics {
        Some(listener) => format!("http://{}/metrics", listener.local_addr()?),
        None => format!("{base}/metrics"),
    };
    let (serve_config, serve_chain, serve_store) = (config.clone(), chain.clone(), store.clone());
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let node = tokio::spawn(async move {
        let result = node::serve(&serve_config, serve_chain, serve_store, listeners, stop).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, "node stopped");
        }
        result
    });
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(LocalNetwork {
        devnet,
        plain,
        chain,
        user,
        url: base,
        metrics_url,
        store,
        config,
        model_id,
        dir: scratch,
        shutdown,
        node,
    })
}

/// Nonces of the keys this process signs.
static KEY_NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl LocalNetwork {
    /// An API key of the network's user for `miner`, signed by `signer` (the user, or a forger in tests), and
    /// opened on chain by the user: its cap is locked out of the user's deposit (100 NEURO at the start).
    pub async fn api_key(
        &self,
        miner: Address,
        cap: U256,
        expiry: u64,
        signer: &PrivateKeySigner,
    ) -> Result<String, BoxError> {
        let key = self.signed_key(miner, cap, expiry, signer).await?;
        let allowance = neuro_protocol::voucher::SignedAllowance::from_api_key(&key)?.to_call_arg();
        let as_user = ProviderBuilder::new().wallet(self.user.clone()).connect_http(self.devnet.endpoint().parse()?);
        Payments::new(self.devnet.manifest().contracts.payments, &as_user)
            .openAllowance(allowance)
            .send()
            .await?
            .get_receipt()
            .await?;
        Ok(key)
    }

    /// An API key like [`Self::api_key`], signed but not opened on chain: no funds are locked for it.
    pub async fn signed_key(
        &self,
        miner: Address,
        cap: U256,
        expiry: u64,
        signer: &PrivateKeySigner,
    ) -> Result<String, BoxError> {
        let m = self.devnet.manifest();
        let domain = payments_domain(m.chain_id, m.contracts.payments);
        let allowance = Allowance {
            user: self.user.address(),
            miner,
            cap,
            expiry: U256::from(expiry),
            // Unique per key, so two keys with the same terms are two allowances on chain.
            nonce: U256::from(KEY_NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
        };
        Ok(allowance.sign(signer, &domain).await?.to_api_key())
    }
}
