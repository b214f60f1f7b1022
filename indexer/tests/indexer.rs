//! The indexer against anvil with the deployed contracts and real activity, on SQLite and on PostgreSQL: values
//! served equal the chain's, reorganisations are rolled back and re-ingested, a killed backfill resumes into
//! identical tables, and the API refuses bad input precisely.

mod common;

use alloy::{
    primitives::U256,
    providers::{Provider, ProviderBuilder},
};
use common::*;
use neuro_indexer::{ingest::IngestConfig, verify::verify};
use neuro_protocol::bindings::{Emissions, FeeVault, NeuroToken, Payments, StakingVault};

async fn api_matches_chain(backend: &str) -> TestResult {
    let dir = tempfile::tempdir()?;
    let devnet = devnet()?;
    let provider = wallet(&devnet)?;
    let epoch = activity(&devnet, &provider).await?;
    let c = devnet.manifest().contracts;
    let miner = addr(&devnet, 2);

    let (mut indexer, store, metrics) = indexer(&devnet, &database(backend, dir.path()).await?, config()).await?;
    let head = indexer.sync().await?;
    assert_eq!(head, provider.get_block_number().await?, "synced to the head");
    let base = serve(&devnet, store.clone(), metrics).await?;

    // Every log of our contracts is stored once, at its position.
    let (status, events) = get(&format!("{base}/v1/events?limit=500")).await?;
    assert_eq!(status, 200);
    let stored: Vec<(String, u64, String)> = events["data"]
        .as_array()
        .ok_or("data")?
        .iter()
        .map(|e| {
            (
                e["blockHash"].as_str().unwrap_or("").to_owned(),
                e["logIndex"].as_u64().unwrap_or(u64::MAX),
                e["transactionHash"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(stored, chain_logs(&devnet, &provider).await?);
    assert_eq!(events["block"]["number"].as_u64(), Some(head), "responses state their block");

    // Supply equals the token's and the emissions contract's own figures.
    let (_, supply) = get(&format!("{base}/v1/supply")).await?;
    let s = &supply["data"];
    let token = NeuroToken::new(c.token, &provider);
    let emissions = Emissions::new(c.emissions, &provider);
    assert_eq!(s["totalSupply"], token.totalSupply().call().await?.to_string());
    assert_eq!(s["mintedByEmissions"], emissions.totalEmitted().call().await?.to_string());
    assert_eq!(s["forgone"], emissions.totalForgone().call().await?.to_string());
    assert_eq!(s["burnedByFees"], FeeVault::new(c.fee_vault, &provider).totalBurned().call().await?.to_string());
    assert_eq!(s["treasury"], token.balanceOf(c.timelock).call().await?.to_string());
    assert_eq!(s["emissionsReconcile"], true);
    assert_eq!(s["epochsFinalized"].as_u64(), Some(epoch + 2));
    assert_ne!(s["burnedBySlashes"], "0");

    // The dispute court's validators: the stake each bonded (keys 3 and 4 staked 1,000 and 2,000 NEURO).
    let (status, validators) = get(&format!("{base}/v1/validators")).await?;
    assert_eq!(status, 200, "{validators}");
    let bonded: Vec<(String, String)> = validators["data"]
        .as_array()
        .ok_or("validators")?
        .iter()
        .map(|v| (v["address"].as_str().unwrap_or("").to_owned(), v["bondedStake"].as_str().unwrap_or("").to_owned()))
        .collect();
    let mut expected = vec![
        (format!("{:#x}", addr(&devnet, 3)), neuro(1_000).to_string()),
        (format!("{:#x}", addr(&devnet, 4)), neuro(2_000).to_string()),
    ];
    expected.sort();
    assert_eq!(bonded, expected);

    // The epoch with work: pools, per-miner reward to the wei, the claim's transaction.
    let (status, detail) = get(&format!("{base}/v1/epochs/{epoch}")).await?;
    assert_eq!(status, 200, "{detail}");
    let d = &detail["data"];
    let info = emissions.epochInfo(U256::from(epoch)).call().await?;
    assert_eq!(d["finalization"]["minerPool"], info.minerPool.to_string());
    assert_eq!(d["creditedWork"], "400");
    let miner_row =
        d["miners"].as_array().ok_or("miners")?.iter().find(|m| m["id"] == format!("{miner:#x}")).ok_or("miner row")?;
    assert_eq!((d["minerCount"].as_u64(), d["modelCount"].as_u64()), (Some(2), Some(1)), "the miner and the user");
    assert_eq!(d["burnedFees"], neuro(10).to_string());
    // The miners a page at a time: every one exactly once, in address order, each page bounded.
    let (_, first) = get(&format!("{base}/v1/epochs/{epoch}?limit=1")).await?;
    let mut ids = vec![first["data"]["miners"][0]["id"].as_str().ok_or("first miner")?.to_owned()];
    let mut cursor = first["data"]["minersNext"].as_str().map(str::to_owned);
    while let Some(after) = cursor {
        let (status, page) = get(&format!("{base}/v1/epochs/{epoch}/miners?limit=1&cursor={after}")).await?;
        assert_eq!(status, 200, "{page}");
        ids.extend(page["data"].as_array().ok_or("page")?.iter().filter_map(|m| m["id"].as_str().map(str::to_owned)));
        cursor = page["next"].as_str().map(str::to_owned);
    }
    let mut expected_ids = vec![format!("{miner:#x}"), format!("{:#x}", addr(&devnet, 1))];
    expected_ids.sort();
    assert_eq!(ids, expected_ids);
    let (_, models) = get(&format!("{base}/v1/epochs/{epoch}/models")).await?;
    assert_eq!(models["data"][0]["units"], "400");
    assert!(models["data"][0]["claimed"]["transactionHash"].is_string(), "the model's claim: {models}");
    // Shares follow burned fees: the miner burned all 10 NEURO of the epoch, so its share is the whole pool,
    // capped at the epoch's rate (56% by default) of those 10 NEURO.
    let share = U256::from(info.minerPool);
    assert_eq!(info.minerRewardPerBurnBps, 5600);
    let expected = neuro(10) * U256::from(info.minerRewardPerBurnBps) / U256::from(10_000u64);
    assert!(share > expected, "the cap binds");
    assert_eq!(miner_row["reward"], expected.to_string());
    assert_eq!(miner_row["forgone"], (share - expected).to_string());
    assert_eq!(miner_row["burnedFees"], neuro(10).to_string());
    let (_, claims) = get(&format!("{base}/v1/events?contract=Emissions&name=MinerRewardClaimed")).await?;
    assert_eq!(claims["data"][0]["args"]["amount"], expected.to_string(), "the claim paid what the API computed");
    assert_eq!(miner_row["claimed"]["transactionHash"], claims["data"][0]["transactionHash"]);

    // The miner: stake as the vault reports it, node, work, slash.
    let (status, m) = get(&format!("{base}/v1/miners/{miner}")).await?;
    assert_eq!(status, 200, "{m}");
    let staking = StakingVault::new(c.staking, &provider);
    assert_eq!(m["data"]["bondedStake"], staking.bondedStake(miner).call().await?.to_string());
    assert_eq!(m["data"]["unbondingStake"], U256::from(staking.unbonding(miner).call().await?.amount).to_string());
    assert_eq!(m["data"]["node"]["registered"], true);
    assert_eq!(m["data"]["epochs"][0]["work"], "300");
    assert_eq!(m["data"]["slashes"].as_array().map(Vec::len), Some(1));
    let (_, miners) = get(&format!("{base}/v1/miners")).await?;
    assert_eq!(miners["data"][0]["address"], format!("{miner:#x}"));

    // Reputation: per validator first, then stake-weighted medians. Honesty 1 (both saw only passes among
    // judged probes); timeliness 0.5 (the validator with 2/3 of the stake saw one of two probes time out);
    // the slash after the reports is counted and shown.
    let (status, rep) = get(&format!("{base}/v1/miners/{miner}/reputation")).await?;
    assert_eq!(status, 200, "{rep}");
    let r = &rep["data"];
    assert_eq!(
        (r["honesty"].as_f64(), r["timeliness"].as_f64(), r["uptime"].as_f64()),
        (Some(1.0), Some(0.5), Some(1.0))
    );
    assert_eq!(r["score"].as_f64(), Some(0.5));
    assert_eq!(r["probes"]["sent"], 6);
    assert_eq!(r["medianTtftMs"], 400, "the heavier validator's median");
    assert_eq!(r["slashes"], 1);
    assert_eq!(r["reportingStake"], neuro(3_000).to_string());
    // The window: the 24 epochs ending at the last finished one at the head.
    let last_finished = current_epoch(&devnet, &provider).await? - 1;
    assert!(last_finished >= epoch, "the reported epoch is over");
    assert_eq!(
        (r["fromEpoch"].as_u64(), r["toEpoch"].as_u64()),
        (Some(last_finished.saturating_sub(23)), Some(last_finished))
    );
    let reports = &r["history"][0]["reports"];
    assert_eq!(reports.as_array().map(Vec::len), Some(2));
    let (_, logged) = get(&format!("{base}/v1/events?contract=Disputes&name=ProbeReported")).await?;
    assert_eq!(reports[0]["tx"]["transactionHash"], logged["data"][0]["transactionHash"], "traceable to its tx");
    let (_, ranking) = get(&format!("{base}/v1/reputation")).await?;
    assert_eq!(ranking["data"][0]["address"], format!("{miner:#x}"));
    assert_eq!(ranking["data"][0]["score"].as_f64(), Some(0.5));

    let (_, model) = get(&format!("{base}/v1/models/{MODEL}")).await?;
    assert_eq!(model["data"]["status"], "Approved");
    assert_ne!(model["data"]["rewardsClaimed"], "0");
    let (_, fees) = get(&format!("{base}/v1/fees")).await?;
    let flushed = fees["data"].as_array().ok_or("fees")?.iter().find_map(|f| f.get("flushed")).ok_or("no flush")?;
    assert_eq!(
        (flushed["burned"].as_str(), flushed["toTreasury"].as_str()),
        (Some("34400000000000000000"), Some("17200000000000000000")),
        "the accrued 20 + 10 NEURO and the redemptions' (50 + 20 + 2 NEURO) 20% burn and 10% treasury shares"
    );

    // Allowance locks: C still locks the 3 its cap left, B was redeemed 20 of 40, revoked and released 20.
    let (status, locks) = get(&format!("{base}/v1/allowances?miner={miner}")).await?;
    assert_eq!(status, 200, "{locks}");
    let rows = locks["data"].as_array().ok_or("allowances")?;
    assert_eq!(rows.len(), 3);
    let (d_row, c_row, b_row) = (&rows[0], &rows[1], &rows[2]);
    assert_eq!((d_row["released"].as_str(), d_row["locked"].as_str()), (Some("1000000000000000000"), Some("0")));
    let (_, d_detail) = get(&format!("{base}/v1/allowances/{}", d_row["digest"].as_str().ok_or("digest")?)).await?;
    assert!(
        d_detail["data"]["revoked"]["transactionHash"].is_string() && d_detail["data"]["revokedEpoch"].is_string(),
        "a revocation after two releases still shows: {d_detail}"
    );
    assert_eq!(
        (c_row["openedAmount"].as_str(), c_row["locked"].as_str()),
        (Some("3000000000000000000"), Some("3000000000000000000"))
    );
    assert!(c_row.get("revokedEpoch").is_none());
    assert_eq!(b_row["openedAmount"], neuro(40).to_string());
    assert_eq!((b_row["locked"].as_str(), b_row["redeemed"].as_str()), (Some("0"), Some("20000000000000000000")));
    assert_eq!(
        (b_row["released"].as_str(), b_row["revokedEpoch"].as_str()),
        (Some("20000000000000000000"), Some(epoch.to_string().as_str()))
    );
    let lock =
        Payments::new(c.payments, &provider).lockOf(b_row["digest"].as_str().ok_or("digest")?.parse()?).call().await?;
    assert!(lock.opened && lock.revoked && lock.amount == 0, "the chain agrees");
    let (status, detail) = get(&format!("{base}/v1/allowances/{}", b_row["digest"].as_str().ok_or("digest")?)).await?;
    assert_eq!(status, 200, "{detail}");
    assert!(
        detail["data"]["revoked"]["transactionHash"].is_string()
            && detail["data"]["release"]["transactionHash"].is_string()
    );
    let (_, supply) = get(&format!("{base}/v1/supply")).await?;
    assert_eq!(
        (supply["data"]["depositsFree"].as_str(), supply["data"]["depositsLocked"].as_str()),
        (Some("25000000000000000000"), Some("3000000000000000000"))
    );
    let (_, other) = get(&format!("{base}/v1/allowances?miner={}", addr(&devnet, 5))).await?;
    assert_eq!(other["data"].as_array().map(Vec::len), Some(0), "another miner has none");
    assert_eq!(get(&format!("{base}/v1/allowances/0x{}", "ab".repeat(32))).await?.0, 404);

    // A past block: the supply before any emission.
    let first = stored_block_before_emission(&base).await?;
    let (status, past) = get(&format!("{base}/v1/supply?block={first}")).await?;
    assert_eq!(status, 200);
    assert_eq!(past["data"]["mintedByEmissions"], "0");
    assert_eq!(past["block"]["number"].as_u64(), Some(first));

    // Reconciliation with the chain's views, now and at a past block.
    let report = verify(&store, &provider, devnet.manifest(), head).await?;
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    assert!(report.checked > 15, "verify compared {} figures", report.checked);
    assert!(verify(&store, &provider, devnet.manifest(), first).await?.differences.is_empty());

    // Errors: 400 naming the parameter, 404 for unknown ids.
    for (path, parameter) in [
        ("/v1/events?limit=0", "limit"),
        ("/v1/events?limit=abc", "limit"),
        ("/v1/events?contract=Nope", "contract"),
        ("/v1/events?fromBlock=9&toBlock=2", "fromBlock"),
        ("/v1/events?cursor=zz", "cursor"),
        ("/v1/events?colour=red", "colour"),
        ("/v1/miners/0x1234", "address"),
        ("/v1/epochs/minus-one", "epoch"),
        ("/v1/epochs/1?limit=101", "limit"),
        ("/v1/epochs/1/miners?cursor=0x12", "cursor"),
        ("/v1/epochs/1/models?cursor=zz", "cursor"),
        ("/v1/models/0x12", "id"),
        ("/v1/proposals/abc", "id"),
        ("/v1/reputation?epochs=0", "epochs"),
        ("/v1/reputation?epochs=100000", "epochs"),
        ("/v1/allowances?miner=0x12", "miner"),
        ("/v1/allowances/0x12", "digest"),
    ] {
        let (status, body) = get(&format!("{base}{path}")).await?;
        assert_eq!((status, body["parameter"].as_str()), (400, Some(parameter)), "{path}: {body}");
    }
    let (status, body) = get(&format!("{base}/v1/supply?block={}", head + 1000)).await?;
    assert_eq!((status, body["parameter"].as_str()), (400, Some("block")));
    for path in ["/v1/epochs/99999", &format!("/v1/miners/{}", addr(&devnet, 5)), "/v1/proposals/1", "/v1/nothing"] {
        assert_eq!(get(&format!("{base}{path}")).await?.0, 404, "{path}");
    }

    // Pagination walks every event exactly once.
    let mut cursor = String::new();
    let mut walked = 0;
    loop {
        let (_, page) = get(&format!("{base}/v1/events?limit=7{cursor}")).await?;
        walked += page["data"].as_array().map_or(0, Vec::len);
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(walked, stored.len());

    let (status, doc) = get(&format!("{base}/openapi.json")).await?;
    assert_eq!(status, 200);
    assert!(doc["paths"]["/v1/miners/{address}"].is_object(), "OpenAPI documents the miner endpoint");
    assert_eq!(get(&format!("{base}/health")).await?.0, 200);
    let metrics = reqwest::get(format!("{base}/metrics")).await?.text().await?;
    assert!(metrics.contains("neuro_indexer_head_lag_blocks"));
    Ok(())
}

async fn stored_block_before_emission(base: &str) -> Result<u64, BoxError> {
    let (_, minted) = get(&format!("{base}/v1/events?contract=NeuroToken&name=EmissionMinted")).await?;
    Ok(minted["data"][0]["blockNumber"].as_u64().ok_or("no emission")? - 1)
}

#[tokio::test]
async fn sqlite_api_matches_chain() -> TestResult {
    api_matches_chain("sqlite").await
}

#[tokio::test]
async fn postgres_api_matches_chain() -> TestResult {
    api_matches_chain("postgres").await
}

async fn reorg_is_rolled_back(backend: &str) -> TestResult {
    let dir = tempfile::tempdir()?;
    let devnet = devnet()?;
    let provider = wallet(&devnet)?;
    let c = devnet.manifest().contracts;
    let (deployer, user) = (addr(&devnet, 0), addr(&devnet, 1));
    let token = NeuroToken::new(c.token, &provider);
    token.transfer(user, neuro(5)).from(deployer).send().await?.get_receipt().await?;

    let (mut indexer, store, metrics) = indexer(&devnet, &database(backend, dir.path()).await?, config()).await?;
    indexer.sync().await?;
    let snapshot: String = provider.raw_request("evm_snapshot".into(), ()).await?;
    // Fork A: a transfer to the fee vault and a stake, indexed.
    token.transfer(c.fee_vault, neuro(7)).from(deployer).send().await?.get_receipt().await?;
    token.approve(c.staking, U256::MAX).from(deployer).send().await?.get_receipt().await?;
    StakingVault::new(c.staking, &provider).stake(neuro(3)).from(deployer).send().await?.get_receipt().await?;
    indexer.sync().await?;
    let base = serve(&devnet, store.clone(), metrics.clone()).await?;
    let (_, before) = get(&format!("{base}/v1/supply")).await?;
    assert_eq!(before["data"]["staked"], neuro(3).to_string());

    // Fork B replaces those blocks with other transactions and grows longer.
    let _: bool = provider.raw_request("evm_revert".into(), (snapshot,)).await?;
    // A new provider: nonces and pending transactions of fork A must not carry over.
    let provider = wallet(&devnet)?;
    let token = NeuroToken::new(c.token, &provider);
    token.transfer(user, neuro(11)).from(deployer).send().await?.get_receipt().await?;
    mine(&provider, 4).await?;
    indexer.sync().await?;
    assert_eq!(metrics.reorgs.get(), 1, "one reorganisation detected");

    let (_, after) = get(&format!("{base}/v1/supply")).await?;
    assert_eq!(after["data"]["staked"], "0", "the orphaned stake is gone");
    let (_, events) = get(&format!("{base}/v1/events?limit=500")).await?;
    let stored: Vec<(String, u64)> = events["data"]
        .as_array()
        .ok_or("data")?
        .iter()
        .map(|e| (e["blockHash"].as_str().unwrap_or("").to_owned(), e["logIndex"].as_u64().unwrap_or(0)))
        .collect();
    let on_chain: Vec<(String, u64)> =
        chain_logs(&devnet, &provider).await?.into_iter().map(|(h, i, _)| (h, i)).collect();
    assert_eq!(stored, on_chain, "stored events are exactly the new fork's");
    let report = verify(&store, &provider, devnet.manifest(), provider.get_block_number().await?).await?;
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    Ok(())
}

#[tokio::test]
async fn sqlite_reorg_is_rolled_back() -> TestResult {
    reorg_is_rolled_back("sqlite").await
}

#[tokio::test]
async fn postgres_reorg_is_rolled_back() -> TestResult {
    reorg_is_rolled_back("postgres").await
}

/// Stored events equal the chain's logs, and `verify` finds no difference.
async fn equals_chain(
    devnet: &neuro_testkit::Devnet,
    provider: &alloy::providers::DynProvider,
    store: &neuro_indexer::store::Store,
) -> TestResult {
    let head = provider.get_block_number().await?;
    let filter = neuro_indexer::store::EventFilter::default();
    let stored: Vec<(String, u64)> =
        store.events(&filter, head, None).await?.events.iter().map(|e| (e.block_hash.clone(), e.log_index)).collect();
    let on_chain: Vec<(String, u64)> =
        chain_logs(devnet, provider).await?.into_iter().map(|(h, i, _)| (h, i)).collect();
    assert_eq!(stored, on_chain, "stored events are exactly the canonical chain's");
    let report = verify(store, provider, devnet.manifest(), head).await?;
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    Ok(())
}

/// A reorganisation far below the kept headers and the node's finalized block, which happened while the indexer
/// was stopped and the chain grew far past it (so it resumes with a backfill), is found and repaired; and so is
/// a chain that got shorter than the indexed head.
async fn deep_and_shortening_reorgs_are_repaired(backend: &str) -> TestResult {
    let dir = tempfile::tempdir()?;
    let devnet = devnet()?;
    let provider = wallet(&devnet)?;
    activity(&devnet, &provider).await?;
    let c = devnet.manifest().contracts;
    let (deployer, user) = (addr(&devnet, 0), addr(&devnet, 1));
    let url = database(backend, dir.path()).await?;
    let depth = IngestConfig { reorg_depth: 2, ..config() };

    let snapshot: String = provider.raw_request("evm_snapshot".into(), ()).await?;
    // Fork A: a stake, 150 blocks, a transfer; indexed (anvil finalizes all but the newest 64 blocks).
    let token = NeuroToken::new(c.token, &provider);
    token.approve(c.staking, U256::MAX).from(deployer).send().await?.get_receipt().await?;
    StakingVault::new(c.staking, &provider).stake(neuro(3)).from(deployer).send().await?.get_receipt().await?;
    mine(&provider, 150).await?;
    token.transfer(user, neuro(2)).from(deployer).send().await?.get_receipt().await?;
    {
        let (mut indexer, _, _) = indexer(&devnet, &url, depth.clone()).await?;
        indexer.sync().await?;
    }

    // While the indexer is stopped, fork B replaces all of that and grows 450 blocks past it.
    let _: bool = provider.raw_request("evm_revert".into(), (snapshot,)).await?;
    let provider = wallet(&devnet)?;
    let token = NeuroToken::new(c.token, &provider);
    token.transfer(user, neuro(11)).from(deployer).send().await?.get_receipt().await?;
    mine(&provider, 450).await?;
    let (mut restarted, store, metrics) = indexer(&devnet, &url, depth.clone()).await?;
    restarted.sync().await?;
    assert_eq!(metrics.reorgs.get(), 1, "the orphaned tip was found before backfilling on top of it");
    assert!(metrics.reorged_blocks.get() > 150, "rolled back below the kept headers");
    equals_chain(&devnet, &provider, &store).await?;

    // Fork C (indexed) is replaced by a fork D that is shorter at first. A node behind the indexed head looks
    // the same as a shorter chain, and a lagging backend must not roll the tables back: the indexer waits, and
    // finds the fork once D is longer than the indexed head.
    let snapshot: String = provider.raw_request("evm_snapshot".into(), ()).await?;
    token.transfer(user, neuro(5)).from(deployer).send().await?.get_receipt().await?;
    mine(&provider, 5).await?;
    restarted.sync().await?;
    let _: bool = provider.raw_request("evm_revert".into(), (snapshot,)).await?;
    let provider = wallet(&devnet)?;
    NeuroToken::new(c.token, &provider).transfer(user, neuro(6)).from(deployer).send().await?.get_receipt().await?;
    assert_eq!(restarted.step().await?, neuro_indexer::ingest::Step::CaughtUp, "waits while the node is behind");
    assert_eq!(metrics.reorgs.get(), 1, "no rollback while the node is behind");
    mine(&provider, 10).await?;
    restarted.sync().await?;
    assert_eq!(metrics.reorgs.get(), 2, "fork D found once it is past the indexed head");
    equals_chain(&devnet, &provider, &store).await?;
    Ok(())
}

#[tokio::test]
async fn sqlite_deep_and_shortening_reorgs_are_repaired() -> TestResult {
    deep_and_shortening_reorgs_are_repaired("sqlite").await
}

#[tokio::test]
async fn postgres_deep_and_shortening_reorgs_are_repaired() -> TestResult {
    deep_and_shortening_reorgs_are_repaired("postgres").await
}

/// Under a linguistic collation a key-prefix range matched nothing, so `verify` compared zero stakers and
/// reported no difference. Keys compare byte-wise now: the same figures are found and checked as under C.
#[tokio::test]
async fn postgres_linguistic_collation_keeps_key_ranges_exact() -> TestResult {
    let dir = tempfile::tempdir()?;
    let devnet = devnet()?;
    let provider = wallet(&devnet)?;
    activity(&devnet, &provider).await?;
    let mut found = Vec::new();
    for url in [database("postgres", dir.path()).await?, linguistic_postgres_database().await?] {
        let (mut indexer, store, _) = indexer(&devnet, &url, config()).await?;
        let head = indexer.sync().await?;
        let stakers = store.totals_with_prefix_at(neuro_indexer::reduce::keys::STAKE_BONDED, head).await?;
        assert!(!stakers.is_empty(), "the bonded stakes are found by their key prefix");
        let report = verify(&store, &provider, devnet.manifest(), head).await?;
        assert!(report.differences.is_empty(), "{:?}", report.differences);
        found.push((stakers, report.checked));
    }
    assert_eq!(found[0], found[1], "en-US finds and checks exactly what C does");
    Ok(())
}

async fn killed_backfill_resumes_identically(backend: &str) -> TestResult {
    let dir = tempfile::tempdir()?;
    let devnet = devnet()?;
    let provider = wallet(&devnet)?;
    activity(&devnet, &provider).await?;
    // Many blocks, a third of them after the activity, so the kills land mid-backfill.
    provider.raw_request::<_, serde_json::Value>("anvil_mine".into(), (3000u64,)).await?;
    activity_again(&devnet, &provider).await?;
    let manifest_path = dir.path().join("manifest.json");
    std::fs::write(&manifest_path, serde_json::to_string(devnet.manifest())?)?;

    // The real binary, killed with SIGKILL at several moments during a slow backfill, then run to the end.
    let url = database(backend, dir.path()).await?;
    let binary = env!("CARGO_BIN_EXE_neuro-indexer");
    let head = provider.get_block_number().await?;
    for wait_ms in [400u64, 500, 600, 700] {
        let mut child = std::process::Command::new(binary)
            .args(["--rpc-url", &devnet.endpoint(), "--manifest"])
            .arg(&manifest_path)
            .args(["--database-url", &url, "run", "--listen", "127.0.0.1:0", "--max-block-range", "1"])
            .args(["--concurrency", "1", "--reorg-depth", "2", "--poll-ms", "50"])
            .env("RUST_LOG", "warn")
            .spawn()?;
        tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
        child.kill()?;
        child.wait()?;
    }
    let (mut resumed, resumed_store, _) = indexer(&devnet, &url, IngestConfig { reorg_depth: 2, ..config() }).await?;
    assert!(resumed_store.cursor().await?.is_some_and(|c| c.number < head), "the kills happened during backfill");
    resumed.sync().await?;

    let (mut fresh, fresh_store, _) = indexer(
        &devnet,
        &database(backend, dir.path()).await?,
        IngestConfig { reorg_depth: 2, max_block_range: 1000, ..config() },
    )
    .await?;
    fresh.sync().await?;
    let (resumed_rows, fresh_rows) = (resumed_store.dump().await?, fresh_store.dump().await?);
    assert!(fresh_rows.len() > 50, "a meaningful amount of data: {} rows", fresh_rows.len());
    assert_eq!(resumed_rows, fresh_rows, "killed-and-resumed tables equal an uninterrupted run's");
    Ok(())
}

/// More events after a long gap: stakes and a transfer.
async fn activity_again(devnet: &neuro_testkit::Devnet, provider: &alloy::providers::DynProvider) -> TestResult {
    let c = devnet.manifest().contracts;
    let miner = addr(devnet, 2);
    for _ in 0..5 {
        StakingVault::new(c.staking, provider).stake(neuro(1)).from(miner).send().await?.get_receipt().await?;
    }
    provider.raw_request::<_, serde_json::Value>("anvil_mine".into(), (1500u64,)).await?;
    NeuroToken::new(c.token, provider)
        .transfer(addr(devnet, 3), neuro(1))
        .from(miner)
        .send()
        .await?
        .get_receipt()
        .await?;
    Ok(())
}

#[tokio::test]
async fn sqlite_killed_backfill_resumes_identically() -> TestResult {
    killed_backfill_resumes_identically("sqlite").await
}

#[tokio::test]
async fn postgres_killed_backfill_resumes_identically() -> TestResult {
    killed_backfill_resumes_identically("postgres").await
}

/// The indexer refuses a database that indexes another deployment, and a manifest for another chain.
#[tokio::test]
async fn refuses_another_deployment() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (a, b) = (devnet()?, devnet()?);
    let url = database("sqlite", dir.path()).await?;
    indexer(&a, &url, config()).await?;
    let Err(e) = indexer(&b, &url, config()).await else { return Err("a second deployment was accepted".into()) };
    assert!(e.to_string().contains("indexes chainId"), "{e}");
    let other = ProviderBuilder::new().connect_http(b.endpoint().parse()?);
    assert!(a.manifest().verify(&other).await.is_err(), "a manifest of another chain is refused");
    Ok(())
}
