//! What the API serves is the chain's truth at one block: proposal states are the Governor's, quorum included (a
//! proposal with more votes for than against but short of quorum is Defeated, one that reaches quorum Succeeded,
//! and `verify` reconciles every proposal's state with `Governor.state()`); and a response during which a
//! reorganisation was rolled back is refused rather than served with rows of two forks.

mod common;

use alloy::{
    primitives::{B256, Bytes, U256, keccak256},
    providers::Provider,
    sol_types::SolCall,
};
use common::*;
use neuro_indexer::verify::verify;
use neuro_protocol::bindings::{NeuroGovernor, NeuroTimelock, NeuroToken, StakingVault};

#[tokio::test]
async fn proposal_states_follow_the_governor_quorum_included() -> TestResult {
    let dir = tempfile::tempdir()?;
    let devnet = devnet()?;
    let provider = wallet(&devnet)?;
    let c = devnet.manifest().contracts;
    let (deployer, user) = (addr(&devnet, 0), addr(&devnet, 1));
    let token = NeuroToken::new(c.token, &provider);
    let staking = StakingVault::new(c.staking, &provider);
    let governor = NeuroGovernor::new(c.governor, &provider);

    // The deployer stakes enough for quorum on its own; the user far less. A first stake delegates to oneself.
    let quorum_floor = governor.minimumQuorum().call().await?;
    token.transfer(user, neuro(20_000)).from(deployer).send().await?.get_receipt().await?;
    for (who, amount) in [(deployer, quorum_floor * U256::from(2)), (user, neuro(20_000))] {
        token.approve(c.staking, U256::MAX).from(who).send().await?.get_receipt().await?;
        staking.stake(amount).from(who).send().await?.get_receipt().await?;
    }
    warp(&provider, 2).await?;

    // Two proposals with harmless actions (never executed here).
    let action = NeuroToken::balanceOfCall { account: user }.abi_encode();
    let mut ids = Vec::new();
    for description in ["A: short of quorum", "B: reaches quorum"] {
        let (targets, values, calldatas) = (vec![c.token], vec![U256::ZERO], vec![Bytes::from(action.clone())]);
        governor
            .propose(targets.clone(), values.clone(), calldatas.clone(), description.into())
            .from(deployer)
            .send()
            .await?
            .get_receipt()
            .await?;
        let hash: B256 = keccak256(description.as_bytes());
        ids.push(governor.hashProposal(targets, values, calldatas, hash).call().await?);
    }
    let delay = governor.votingDelay().call().await?.saturating_to::<u64>();
    warp(&provider, delay + 1).await?;
    governor.castVote(ids[0], 1).from(user).send().await?.get_receipt().await?;
    governor.castVote(ids[1], 1).from(deployer).send().await?.get_receipt().await?;

    let (mut indexer, store, metrics) = indexer(&devnet, &database("sqlite", dir.path()).await?, config()).await?;
    indexer.sync().await?;
    let base = serve(&devnet, store.clone(), metrics).await?;
    let (_, active) = get(&format!("{base}/v1/proposals/{}", ids[0])).await?;
    assert_eq!(active["data"]["state"], "Active");
    assert_eq!(active["data"]["quorum"], quorum_floor.to_string(), "the quorum at the snapshot");

    let period = governor.votingPeriod().call().await?.saturating_to::<u64>();
    warp(&provider, period + 1).await?;
    indexer.sync().await?;
    let head = provider.get_block_number().await?;
    let mut served = Vec::new();
    for id in &ids {
        let (status, body) = get(&format!("{base}/v1/proposals/{id}")).await?;
        assert_eq!(status, 200, "{body}");
        let on_chain = governor.state(*id).call().await?;
        served.push((body["data"]["state"].as_str().unwrap_or("").to_owned(), on_chain));
    }
    // OpenZeppelin's ProposalState: 3 Defeated, 4 Succeeded.
    assert_eq!(served, vec![("Defeated".to_owned(), 3), ("Succeeded".to_owned(), 4)]);

    let report = verify(&store, &provider, devnet.manifest(), head).await?;
    assert!(report.differences.is_empty(), "{:?}", report.differences);

    // B is queued, then run directly on the timelock (anyone may execute a ready operation). The Governor emits
    // nothing, GovernorTimelockControl reports Executed, and so must the indexer, not "Queued" forever.
    let (targets, values, calldatas) = (vec![c.token], vec![U256::ZERO], vec![Bytes::from(action.clone())]);
    let description_hash = keccak256("B: reaches quorum".as_bytes());
    governor
        .queue_0(targets.clone(), values.clone(), calldatas.clone(), description_hash)
        .from(deployer)
        .send()
        .await?
        .get_receipt()
        .await?;
    let timelock = NeuroTimelock::new(c.timelock, &provider);
    warp(&provider, timelock.getMinDelay().call().await?.saturating_to::<u64>() + 1).await?;
    let mut salt = description_hash;
    for (byte, governor_byte) in salt.iter_mut().zip(c.governor.as_slice()) {
        *byte ^= governor_byte;
    }
    timelock.executeBatch(targets, values, calldatas, B256::ZERO, salt).from(user).send().await?.get_receipt().await?;
    indexer.sync().await?;
    assert_eq!(governor.state(ids[1]).call().await?, 7, "the Governor says Executed");
    let (_, executed) = get(&format!("{base}/v1/proposals/{}", ids[1])).await?;
    assert_eq!(executed["data"]["state"], "Executed");
    let report = verify(&store, &provider, devnet.manifest(), provider.get_block_number().await?).await?;
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    Ok(())
}

/// A response during which a reorganisation was rolled back is refused (503, retry), never served mixed.
#[tokio::test]
async fn a_response_spanning_a_rollback_is_refused() -> TestResult {
    use axum::{Router, middleware, routing::get as route};
    use neuro_indexer::{
        api::{AppState, one_fork},
        metrics::Metrics,
        store::{Batch, Cursor, Store},
    };

    let dir = tempfile::tempdir()?;
    let devnet = devnet()?;
    let store = Store::open(&database("sqlite", dir.path()).await?, 2).await?;
    let tip = Cursor { number: 10, hash: B256::repeat_byte(1), timestamp: 100 };
    store.commit(&Batch::default(), tip).await?;
    let state = AppState {
        store: store.clone(),
        manifest: std::sync::Arc::new(devnet.manifest().clone()),
        metrics: std::sync::Arc::new(Metrics::new()),
    };
    // One handler answers while nothing happens; the other is overtaken by a rollback half-way.
    let rolled = store.clone();
    let app = Router::new()
        .route("/v1/steady", route(|| async { "steady" }))
        .route(
            "/v1/overtaken",
            route(move || {
                let store = rolled.clone();
                async move {
                    let ancestor = Cursor { number: 5, hash: B256::repeat_byte(2), timestamp: 50 };
                    store.rollback_to(ancestor).await.map(|()| "mixed").map_err(|e| e.to_string())
                }
            }),
        )
        .layer(middleware::from_fn_with_state(state.clone(), one_fork))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let steady = reqwest::get(format!("{base}/v1/steady")).await?;
    assert_eq!(steady.status(), 200);
    let overtaken = reqwest::get(format!("{base}/v1/overtaken")).await?;
    assert_eq!(overtaken.status(), 503, "the half-built answer is not served");
    assert_eq!(overtaken.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    assert_eq!(reqwest::get(format!("{base}/v1/steady")).await?.status(), 200, "later requests are served");
    Ok(())
}

/// Totals built by an older version of the reductions are not served: the database is emptied and re-indexed.
#[tokio::test]
async fn a_database_built_by_older_reductions_is_reindexed() -> TestResult {
    use neuro_indexer::store::{Batch, Cursor, Store};

    let dir = tempfile::tempdir()?;
    let store = Store::open(&database("sqlite", dir.path()).await?, 2).await?;
    let tip = Cursor { number: 10, hash: B256::repeat_byte(1), timestamp: 100 };
    assert!(!store.ensure_reduction_version(2).await?, "an empty database has nothing to rebuild");
    store.commit(&Batch::default(), tip).await?;
    assert!(!store.ensure_reduction_version(2).await?, "rows of the current version stay");
    assert_eq!(store.cursor().await?, Some(tip));
    assert!(store.ensure_reduction_version(3).await?, "rows of an older version are dropped");
    assert_eq!(store.cursor().await?, None, "ingestion starts over from the deployment's start block");
    assert_eq!(store.reduction_version().await?, Some(3));
    // A downgraded binary does not overwrite rows of a newer version.
    store.commit(&Batch::default(), tip).await?;
    let refused = store.ensure_reduction_version(2).await;
    assert!(matches!(refused, Err(neuro_indexer::store::StoreError::NewerReductions { stored: 3, binary: 2 })));
    assert_eq!(store.cursor().await?, Some(tip), "and leaves them alone");
    Ok(())
}

/// The web app's files are served with a policy that keeps pages to their own scripts (a proposal's description
/// cannot become code), never from outside the directory, and never in place of the API's answers.
#[tokio::test]
async fn the_web_app_is_served_safely_next_to_the_api() -> TestResult {
    use neuro_indexer::{api::AppState, metrics::Metrics, store::Store};

    let dir = tempfile::tempdir()?;
    let web = dir.path().join("dist");
    std::fs::create_dir_all(web.join("assets"))?;
    std::fs::write(web.join("index.html"), "<!doctype html><main id=\"app\"></main>")?;
    std::fs::write(web.join("assets/index-abc123.js"), "console.log(1)")?;
    std::fs::write(dir.path().join("secret.txt"), "outside the web directory")?;
    let devnet = devnet()?;
    let store = Store::open(&database("sqlite", dir.path()).await?, 2).await?;
    let state = AppState {
        store,
        manifest: std::sync::Arc::new(devnet.manifest().clone()),
        metrics: std::sync::Arc::new(Metrics::new()),
    };
    let app = neuro_indexer::api::router(state, Some(&web));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let page = reqwest::get(format!("{base}/")).await?;
    assert_eq!(page.status(), 200);
    let header = |r: &reqwest::Response, name: &str| {
        r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    let policy = header(&page, "content-security-policy");
    for directive in ["script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"] {
        assert!(policy.contains(directive), "policy {policy:?} lacks {directive}");
    }
    assert!(!policy.contains("unsafe-inline"), "inline scripts or styles allowed: {policy}");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header(&page, "cache-control"), "no-cache", "the page itself may change with each build");
    assert!(page.text().await?.contains("id=\"app\""));
    let asset = reqwest::get(format!("{base}/assets/index-abc123.js")).await?;
    assert_eq!(asset.status(), 200);
    assert!(header(&asset, "cache-control").contains("immutable"), "hashed assets are cached for good");
    let missing = reqwest::get(format!("{base}/assets/index-next.js")).await?;
    assert_eq!(missing.status(), 404);
    assert_eq!(header(&missing, "cache-control"), "no-store", "a missing asset must not be cached");

    // Outside the directory: refused, whatever the spelling. Sent as raw bytes: an HTTP client would resolve the
    // dot segments before sending them.
    for path in
        ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/assets/../../secret.txt", "//assets"]
    {
        let response = raw_get(&base, path).await?;
        assert!(!response.contains("outside the web directory"), "{path} served a file outside: {response}");
        let status = response.split(' ').nth(1).unwrap_or_default();
        assert!(status.starts_with('4'), "{path}: {status} (a redirect to //assets/ would leave for another host)");
    }
    // The API keeps its own answers: JSON errors for unknown endpoints, and the deployment for the app.
    let (status, body) = get(&format!("{base}/v1/no-such-endpoint")).await?;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().is_some_and(|e| e.contains("no such endpoint")));
    let (status, body) = get(&format!("{base}/no-such-file.js")).await?;
    assert_eq!(status, 404);
    assert!(body["error"].is_string(), "a missing file is a JSON 404, not the page");
    let (status, deployment) = get(&format!("{base}/v1/deployment")).await?;
    assert_eq!(status, 200);
    assert_eq!(deployment["chainId"].as_u64(), Some(devnet.manifest().chain_id));
    assert_eq!(
        deployment["contracts"]["NeuroGovernor"].as_str().map(str::to_lowercase),
        Some(devnet.manifest().contracts.governor.to_string().to_lowercase())
    );
    Ok(())
}

/// GET with the path sent exactly as given; the whole response as text.
async fn raw_get(base: &str, path: &str) -> Result<String, BoxError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://")).await?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}
