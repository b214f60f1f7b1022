//! Validators on a local chain: an honest node passes every probe and a validator framing it loses its bond; a
//! node serving another model than it registered is disputed, voted down by a second validator re-executing the
//! published evidence, slashed to the wei, and loses its epoch reward.

use std::{path::Path, sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use neuro_chain::{RelayConfig, Relayer, RpcConfig};
use neuro_engine::{Engine, ModelSource, model_id, vocab::Vocabulary};
use neuro_protocol::{
    bindings::{Disputes, Emissions, NeuroToken, Payments, StakingVault},
    delegation::DelegatedEvidence,
    voucher::SignedAllowance,
};
use neuro_testkit::{
    network::{self, LocalNetwork, neuro, warp},
    tiny_model::{self, TinyModelSpec},
};
use neuro_validator::{
    compare::{Failure, Tolerance},
    corpus::{BodyShape, Probe},
    court::Court,
    daemon::{DaemonError, DelegatedVerdict, ProbeAccount, ProbeResult, RefusedEvidence, Settings, Validator},
    reexecute::Reexecutor,
};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const STATUS_UPHELD: u8 = 2;
const STATUS_REJECTED: u8 = 3;

/// A validator with devnet key `index`, funded, staked with 1,000 NEURO, re-executing with `model`.
async fn validator(
    net: &LocalNetwork,
    index: usize,
    model: &Path,
) -> Result<Validator, Box<dyn std::error::Error + Send + Sync>> {
    let m = net.devnet.manifest().clone();
    let deployer = net.devnet.signer(0).ok_or("key 0")?;
    let signer = net.devnet.signer(index).ok_or("key")?;
    let as_deployer = ProviderBuilder::new().wallet(deployer).connect_http(net.devnet.endpoint().parse()?);
    NeuroToken::new(m.contracts.token, &as_deployer)
        .transfer(signer.address(), neuro(2_000))
        .send()
        .await?
        .get_receipt()
        .await?;
    let provider = neuro_chain::connect_signing(&net.devnet.endpoint(), RpcConfig::default(), signer.clone())?;
    let court = Court::new(Relayer::new(provider, signer.address(), RelayConfig::default()), &m);
    court.stake(neuro(1_000)).await?;
    let source = ModelSource::detect(model)?;
    let id = model_id::compute(&source, false)?;
    let vocab = Arc::new(Vocabulary::load(&source)?);
    let engine = Arc::new(Engine::load(source).await?);
    let settings = Settings {
        probe_interval: Duration::from_secs(1),
        probe_deadline: Duration::from_secs(60),
        allowance_cap: neuro(10),
        allowance_days: 1,
        max_allowances: 1,
        stream_share: 0.0,
        state_path: net.dir.join(format!("validator-{index}.json")),
    };
    let reexecutor = Reexecutor::new(engine, vocab, id.into(), Tolerance::default());
    Ok(Validator::new(reexecutor, court, m, signer, settings)?)
}

/// A validator as [`validator`] whose probes are paid by a separate probe account (devnet key `probe_index`,
/// funded with 100 NEURO by the deployer, not by the validator).
async fn validator_with_probe_account(
    net: &LocalNetwork,
    index: usize,
    probe_index: usize,
    model: &Path,
) -> Result<Validator, Box<dyn std::error::Error + Send + Sync>> {
    let probe = net.devnet.signer(probe_index).ok_or("probe key")?;
    let deployer = net.devnet.signer(0).ok_or("key 0")?;
    let as_deployer = ProviderBuilder::new().wallet(deployer).connect_http(net.devnet.endpoint().parse()?);
    NeuroToken::new(net.devnet.manifest().contracts.token, &as_deployer)
        .transfer(probe.address(), neuro(100))
        .send()
        .await?
        .get_receipt()
        .await?;
    let provider = neuro_chain::connect_signing(&net.devnet.endpoint(), RpcConfig::default(), probe.clone())?;
    let relayer = Relayer::new(provider, probe.address(), RelayConfig::default());
    Ok(validator(net, index, model).await?.with_probe_account(ProbeAccount { signer: probe, relayer }))
}

fn probe(content: &str, max_tokens: usize) -> Probe {
    let messages = vec![neuro_engine::ChatMessage::new("user", content)];
    Probe { messages, max_tokens, shape: BodyShape::default() }
}

fn operator(net: &LocalNetwork) -> Result<Address, &'static str> {
    Ok(net.devnet.signer(2).ok_or("key 2")?.address())
}

/// The `ProbeReported` events on chain.
/// The chain's current epoch.
async fn current_epoch(net: &LocalNetwork) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    let emissions = Emissions::new(net.devnet.manifest().contracts.emissions, &net.plain);
    Ok(u64::try_from(emissions.currentEpoch().call().await?)?)
}

async fn reports(net: &LocalNetwork) -> Result<Vec<Disputes::ProbeReported>, Box<dyn std::error::Error + Send + Sync>> {
    let filter = Filter::new()
        .address(net.devnet.manifest().contracts.disputes)
        .event_signature(Disputes::ProbeReported::SIGNATURE_HASH)
        .from_block(0);
    let logs = net.plain.get_logs(&filter).await?;
    Ok(logs
        .iter()
        .map(|log| Disputes::ProbeReported::decode_log(&log.inner).map(|e| e.data))
        .collect::<Result<_, _>>()?)
}

async fn balance(net: &LocalNetwork, who: Address) -> Result<U256, Box<dyn std::error::Error + Send + Sync>> {
    Ok(NeuroToken::new(net.devnet.manifest().contracts.token, &net.plain).balanceOf(who).call().await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_node_passes_every_probe_and_framing_it_costs_the_bond() -> TestResult {
    let dir = tempfile::tempdir()?;
    let model = dir.path().join("model");
    tiny_model::write(&model, TinyModelSpec::default())?;
    let net = network::start(model.clone(), dir.path().join("keys"), dir.path().join("scratch")).await?;
    // The framer pays its probes from a probe account: it also reveals their fees, for the framer's reward.
    let framer = validator_with_probe_account(&net, 3, 6, &model).await?;
    let checker = validator(&net, 4, &model).await?;
    warp(&net.plain, 2).await?;
    let node = framer.target(operator(&net)?, Some(net.url.clone())).await?;
    // Its budget is one live allowance: a second node gets no funds locked for it.
    let another = Address::repeat_byte(0x77);
    let refused = framer.target(another, Some(net.url.clone())).await;
    assert!(matches!(refused, Err(DaemonError::AllowanceBudget(1))), "{refused:?}");

    // Non-streaming probes: mistral.rs drops a stream's final chunk (and its usage) when the text ends inside
    // an incomplete UTF-8 sequence, which the tiny model's random bytes often do (docs/verification.md).
    let mut honest = None;
    let prompts = [("Why is the sky blue?", 16), ("Write a haiku.", 40), ("Hello!", 8), ("List three fruits.", 24)];
    for (i, (text, max_tokens)) in prompts.iter().enumerate() {
        // The body spellings probes vary between, each served by the node and replayed by the validator.
        let shape =
            BodyShape { float_temperature: i % 2 == 1, explicit_stream: i >= 2, completion_tokens_field: i % 3 == 0 };
        match framer.probe(&node, &Probe { shape, ..probe(text, *max_tokens) }, false).await? {
            ProbeResult::Passed(observation) => honest = Some(observation),
            other => panic!("probe {i} of an honest node: {other:?}"),
        }
    }
    assert_eq!(framer.court_duties().await?, Default::default(), "nothing to vote on");

    // The node redeems what the probes were charged, as its epoch work does (the probes are paid traffic).
    let payments = Payments::new(net.devnet.manifest().contracts.payments, &net.plain);
    let probe_key = SignedAllowance::from_api_key(&node.api_key)?;
    let digest = payments.allowanceDigest(probe_key.to_call_arg()).call().await?;
    let probe_epoch = current_epoch(&net).await?;
    let charged = net.store.charged_through(digest, probe_epoch).await?;
    assert!(charged > U256::ZERO, "the probes were charged");
    let node_payments = net.chain.payments();
    let redeem = node_payments.redeem(
        probe_key.to_call_arg(),
        probe_key.signature_bytes(),
        charged,
        U256::from(probe_epoch),
        net.model_id.into(),
    );
    net.chain.relayer.send_call::<Payments::PaymentsErrors, _, _>("redeem", redeem).await?;
    let probe_burned = U256::from(payments.settlementOf(digest).call().await?.burned);
    assert!(probe_burned > U256::ZERO);
    // While the allowance is live, nothing is revealed: the miner could still tell which traffic is a probe.
    assert_eq!(framer.reveal_duties().await?, U256::ZERO, "nothing revealed before the allowance expires");

    // The framer disputes an honest answer anyway: the checker re-executes the published evidence and rejects.
    let honest = honest.ok_or("an observation")?;
    let before = balance(&net, framer.court().me()).await?;
    // Another validator cannot dispute what the framer's probe account paid for: it holds no key of that payer.
    let refused = checker.dispute(&honest).await;
    assert!(matches!(refused, Err(DaemonError::NotOurPayer(p)) if p == framer.payer()), "{refused:?}");
    let id = framer.dispute(&honest).await?;
    let report = checker.court_duties().await?;
    assert_eq!(report.voted, vec![(id, false)]);
    warp(&net.plain, 86_400 + 1).await?;
    let report = checker.court_duties().await?;
    assert_eq!((report.resolved, report.claimed), (vec![id], vec![id]));

    // Its epoch over, the framer publishes what its probes found, once.
    let probed_in = honest.receipt.receipt.epoch;
    assert_eq!(framer.report_duties().await?, vec![probed_in]);
    assert_eq!(framer.report_duties().await?, Vec::<u64>::new(), "nothing left to report");
    let published = reports(&net).await?;
    let [r] = published.as_slice() else { panic!("one report: {published:?}") };
    assert_eq!((r.miner, r.validator, r.epoch), (operator(&net)?, framer.court().me(), U256::from(probed_in)));
    assert_eq!(
        (r.sent, r.passed, r.failed, r.invalid, r.timedOut),
        (U256::from(4), U256::from(4), U256::ZERO, U256::ZERO, U256::ZERO)
    );
    assert!(r.medianMilliTokensPerSecond > U256::ZERO, "throughput measured");
    assert_eq!(r.validatorStake, neuro(1_000));

    let dispute = framer.court().dispute(id).await?;
    assert_eq!(dispute.status, STATUS_REJECTED);
    framer.court_duties().await?;
    assert_eq!(
        before - balance(&net, framer.court().me()).await?,
        U256::from(dispute.bond),
        "the framer lost its bond"
    );
    let staking = StakingVault::new(net.devnet.manifest().contracts.staking, &net.plain);
    assert_eq!(staking.bondedStake(operator(&net)?).call().await?, neuro(10_000), "the honest node kept its stake");

    // Its one-day key has expired: the next probe target gets a new allowance, and the old one's unspent lock
    // goes back to the deposit instead of staying locked for good.
    let old = SignedAllowance::from_api_key(&node.api_key)?.to_call_arg();
    let renewed = framer.target(operator(&net)?, Some(net.url.clone())).await?;
    assert_ne!(renewed.api_key, node.api_key, "a new key");
    let locked = payments.lockOf(payments.allowanceDigest(old.clone()).call().await?).call().await?.amount;
    assert!(locked > 0, "something left to release");
    let deposit_before = payments.deposits(framer.payer()).call().await?;
    assert_eq!(framer.release_duties().await?, U256::from(locked));
    assert_eq!(payments.deposits(framer.payer()).call().await?, deposit_before + U256::from(locked));
    assert_eq!(framer.release_duties().await?, U256::ZERO, "released once");

    // The expired probe allowance is revealed: its burned fees enter the validators' pool of the epoch open now,
    // and once that epoch is finalized the framer claims min(its pool share, 10% of the burned probe fees).
    assert_eq!(framer.reveal_duties().await?, probe_burned, "the probe fees are revealed");
    assert_eq!(framer.reveal_duties().await?, U256::ZERO, "revealed once");
    assert!(payments.settlementOf(digest).call().await?.probeRevealed);
    let emissions = Emissions::new(net.devnet.manifest().contracts.emissions, &net.plain);
    let credited_to = current_epoch(&net).await?;
    assert_eq!(framer.claim_duties().await?, U256::ZERO, "its epoch is not finalized yet");
    let ready_at = emissions.finalizableAt(U256::from(credited_to)).call().await?;
    let now = net.plain.get_block_by_number(Default::default()).await?.ok_or("a block")?.header.timestamp;
    warp(&net.plain, u64::try_from(ready_at)?.saturating_sub(now) + 1).await?;
    let node_emissions = net.chain.emissions();
    let finalize = node_emissions.finalizeEpoch(U256::from(credited_to));
    net.chain.relayer.send_call::<Emissions::EmissionsErrors, _, _>("finalize", finalize).await?;
    let pool = emissions.validatorEpochInfo(U256::from(credited_to)).call().await?;
    let expected = U256::from(pool.pool).min(probe_burned * U256::from(pool.rewardPerBurnBps) / U256::from(10_000));
    assert!(expected > U256::ZERO && expected < probe_burned, "a reward below the burned fee");
    let before = balance(&net, framer.court().me()).await?;
    assert_eq!(framer.claim_duties().await?, expected);
    assert_eq!(balance(&net, framer.court().me()).await? - before, expected, "minted to the validator, to the wei");
    assert_eq!(framer.claim_duties().await?, U256::ZERO, "claimed once");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_serving_another_model_is_disputed_voted_and_slashed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (model, other) = (dir.path().join("model"), dir.path().join("other"));
    tiny_model::write(&model, TinyModelSpec::default())?;
    tiny_model::write(&other, TinyModelSpec { seed: 0xBAD, ..TinyModelSpec::default() })?;
    let net = network::start_serving(model.clone(), other, dir.path().join("keys"), dir.path().join("scratch")).await?;
    // The finder pays its probes from a probe account the node cannot tie to it, and disputes with its delegation.
    let finder = validator_with_probe_account(&net, 3, 6, &model).await?;
    let second = validator(&net, 4, &model).await?;
    warp(&net.plain, 2).await?;
    let accused = operator(&net)?;
    let m = net.devnet.manifest().clone();
    let staking = StakingVault::new(m.contracts.staking, &net.plain);
    let stake_before = staking.bondedStake(accused).call().await?;
    let finder_before = balance(&net, finder.court().me()).await?;

    let node = finder.target(accused, Some(net.url.clone())).await?;
    let (id, epoch) = match finder.probe(&node, &probe("Why is the sky blue?", 24), false).await? {
        ProbeResult::Disputed { dispute, failure, observation } => {
            assert!(matches!(failure, Failure::Diverged { .. }), "{failure}");
            assert_eq!(observation.receipt.receipt.user, finder.payer(), "the node saw the probe account pay");
            assert_ne!(finder.payer(), finder.court().me());
            (dispute, observation.receipt.receipt.epoch)
        }
        other => panic!("the substituted model was not caught: {other:?}"),
    };
    let emissions = Emissions::new(m.contracts.emissions, &net.plain);
    assert!(emissions.rewardHolds(U256::from(epoch), accused).call().await? > U256::ZERO, "reward held");

    // The second validator reads the evidence from the opening transaction, re-executes it and upholds.
    assert_eq!(second.court_duties().await?.voted, vec![(id, true)]);
    warp(&net.plain, 86_400 + 1).await?;
    assert_eq!(finder.court_duties().await?.resolved, vec![id]);
    assert_eq!(second.court_duties().await?.claimed, vec![id]);
    let court = Disputes::new(m.contracts.disputes, &net.plain);
    let dispute = court.getDispute(id).call().await?;
    assert_eq!(dispute.status, STATUS_UPHELD);

    // First fault: 10% of the bonded stake; the finder's 10% of it, and its bond back.
    let slashed = stake_before * court.firstFaultSlashBps().call().await? / U256::from(10_000);
    assert_eq!(stake_before - staking.bondedStake(accused).call().await?, slashed);
    let finder_share = slashed * court.finderBps().call().await? / U256::from(10_000);
    let finder_after = balance(&net, finder.court().me()).await?;
    assert_eq!(finder_after, finder_before + finder_share, "finder: share in, bond back (the probe account paid)");
    assert_eq!(dispute.challenger, finder.court().me(), "the staked validator is the challenger");
    assert_eq!(balance(&net, finder.payer()).await?, neuro(90), "the probe account locked the allowance");
    assert!(emissions.rewardForfeited(U256::from(epoch), accused).call().await?, "the epoch reward is forfeited");

    // The finder's report of that epoch counts the failure; the second validator sent no probe and reports none.
    assert_eq!(finder.report_duties().await?, vec![epoch]);
    assert_eq!(second.report_duties().await?, Vec::<u64>::new());
    let published = reports(&net).await?;
    let [r] = published.as_slice() else { panic!("one report: {published:?}") };
    assert_eq!((r.miner, r.sent, r.passed, r.failed), (accused, U256::from(1), U256::ZERO, U256::from(1)));

    // An organic user (devnet key 7, paying with a fresh API key of its own, opened here through a third
    // validator's probe-account plumbing) hands a bad answer to the second validator: `neuro delegate` checks
    // and signs, the validator re-executes and disputes it.
    let user = net.devnet.signer(7).ok_or("key 7")?;
    let opener = validator_with_probe_account(&net, 5, 7, &model).await?;
    let fresh = opener.target(accused, Some(net.url.clone())).await?;
    let epoch_now = current_epoch(&net).await?;
    let http = reqwest::Client::new();
    // The node keeps the chain's clock for a short TTL: after the warp, wait until it dates receipts in the
    // current epoch (as a client would get a receipt of the epoch it is in).
    let health = format!("{}/health", net.url.trim_end_matches('/'));
    for _ in 0..100 {
        let seen: serde_json::Value = http.get(&health).send().await?.json().await?;
        if seen["epoch"].as_u64() == Some(epoch_now) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = neuro_validator::probe::send(
        &http,
        &fresh,
        &probe("List three fruits.", 16),
        false,
        epoch_now,
        Duration::from_secs(60),
    )
    .await?;
    let response = serde_json::json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text}}],
        "neuro_receipt": answer.receipt,
    });
    let to_second = second.court().me();
    let evidence =
        neuro_client::delegate::delegate(&net.plain, &m, &user, answer.request.clone(), &response, to_second).await?;
    // Delegated to the second validator: the finder cannot use it, and tampered evidence is refused unbonded.
    let refused = finder.dispute_delegated(&evidence).await;
    assert!(matches!(refused, Err(DaemonError::Refused(RefusedEvidence::NotDelegatedToMe(v))) if v == to_second));
    let tampered = DelegatedEvidence { output: format!("{} ", evidence.output), ..evidence.clone() };
    let refused = second.dispute_delegated(&tampered).await;
    assert!(matches!(refused, Err(DaemonError::Refused(RefusedEvidence::Invalid(_)))), "{refused:?}");
    let second_before = balance(&net, to_second).await?;
    let id = match second.dispute_delegated(&evidence).await? {
        DelegatedVerdict::Disputed { failure, dispute } => {
            assert!(matches!(failure, Failure::Diverged { .. }), "{failure}");
            dispute
        }
        other => panic!("the substituted model's answer was not disputed: {other:?}"),
    };
    let dispute = court.getDispute(id).call().await?;
    assert_eq!((dispute.challenger, dispute.accused), (to_second, accused));
    assert_eq!(second_before - balance(&net, to_second).await?, court.disputeBond().call().await?, "its bond");
    Ok(())
}
