//! Deploys the protocol to anvil with the real deploy script and reads it back through the alloy bindings.

use alloy::{
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
};
use neuro_protocol::{
    ManifestError,
    bindings::{Emissions, NeuroToken, StakingVault},
    schedule,
};
use neuro_testkit::{Devnet, DevnetOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn neuro(amount: u64) -> U256 {
    U256::from(amount) * schedule::NEURO
}

fn start() -> Devnet {
    Devnet::start(DevnetOptions::new(Devnet::repo_root())).expect("devnet starts (run scripts/setup.sh first)")
}

#[tokio::test]
async fn schedule_and_genesis_balances_match_the_chain() -> TestResult {
    let devnet = start();
    let m = devnet.manifest().clone();
    let provider = ProviderBuilder::new().connect_http(devnet.endpoint().parse()?);
    m.verify(&provider).await?;

    let emissions = Emissions::new(m.contracts.emissions, &provider);
    let length = m.epoch_length;
    let era = schedule::ERA_SECONDS / length;
    for epoch in [0u64, 1, era - 1, era, era + 1, 2 * era + 17, 60 * era, 61 * era, u64::MAX / length - 1] {
        let e = U256::from(epoch);
        assert_eq!(
            emissions.emissionForEpoch(e).call().await?,
            schedule::emission_for_epoch(length, epoch),
            "epoch {epoch}"
        );
        assert_eq!(
            emissions.scheduledSupplyAt(e).call().await?,
            schedule::scheduled_supply_at(length, epoch),
            "{epoch}"
        );
    }
    assert_eq!(emissions.epochLength().call().await?, U256::from(m.epoch_length));
    assert_eq!(emissions.genesisTime().call().await?, U256::from(m.genesis_time));
    assert_eq!(emissions.minerShareBps().call().await?, U256::from(7000));

    let token = NeuroToken::new(m.contracts.token, &provider);
    assert_eq!(token.totalSupply().call().await?, neuro(600_000_000));
    assert_eq!(token.balanceOf(m.contracts.timelock).call().await?, neuro(200_000_000));
    assert_eq!(token.balanceOf(m.contracts.team_vesting).call().await?, neuro(200_000_000));
    assert_eq!(token.balanceOf(m.contracts.investor_vesting).call().await?, neuro(150_000_000));
    assert_eq!(token.balanceOf(m.deployer).call().await?, neuro(50_000_000), "liquidity defaults to the deployer");
    assert_eq!(token.emissionsMinter().call().await?, m.contracts.emissions);
    Ok(())
}

#[tokio::test]
async fn stake_through_the_bindings_and_decode_custom_errors() -> TestResult {
    let devnet = start();
    let m = devnet.manifest().clone();
    let deployer = devnet.signer(0).ok_or("anvil key 0")?;
    let staker = devnet.signer(1).ok_or("anvil key 1")?;
    let staker_address = staker.address();
    let url = devnet.endpoint().parse()?;
    let as_deployer = ProviderBuilder::new().wallet(deployer).connect_http(devnet.endpoint().parse()?);
    let as_staker = ProviderBuilder::new().wallet(staker).connect_http(url);

    NeuroToken::new(m.contracts.token, &as_deployer)
        .transfer(staker_address, neuro(20_000))
        .send()
        .await?
        .get_receipt()
        .await?;
    let token = NeuroToken::new(m.contracts.token, &as_staker);
    let vault = StakingVault::new(m.contracts.staking, &as_staker);
    token.approve(m.contracts.staking, neuro(12_000)).send().await?.get_receipt().await?;
    let receipt = vault.stake(neuro(12_000)).send().await?.get_receipt().await?;
    assert!(receipt.status());
    let staked = receipt.decoded_log::<StakingVault::Staked>().ok_or("Staked event")?;
    assert_eq!(staked.account, staker_address);
    assert_eq!(staked.amount, neuro(12_000));

    assert_eq!(vault.getVotes(staker_address).call().await?, neuro(12_000), "self-delegated on first stake");
    assert!(vault.meetsNodeStake(staker_address).call().await?);
    assert_eq!(
        vault.clock().call().await?.to::<u64>(),
        as_staker.get_block(alloy::eips::BlockId::latest()).await?.ok_or("block")?.header.timestamp
    );

    // Reverts come back as typed custom errors.
    let err = vault.unstake(neuro(13_000)).call().await.expect_err("more than bonded");
    let decoded = err.as_decoded_error::<StakingVault::InsufficientBondedStake>().ok_or("typed error")?;
    assert_eq!(decoded.bonded, neuro(12_000));

    let emissions = Emissions::new(m.contracts.emissions, &as_staker);
    let err = emissions.finalizeEpoch(U256::ZERO).call().await.expect_err("epoch 0 still open");
    assert!(err.as_decoded_error::<Emissions::EpochNotClosed>().is_some(), "{err}");
    Ok(())
}

#[tokio::test]
async fn manifest_of_another_chain_is_refused() -> TestResult {
    let devnet = start();
    let provider = ProviderBuilder::new().connect_http(devnet.endpoint().parse()?);

    let mut wrong_chain = devnet.manifest().clone();
    wrong_chain.chain_id += 1;
    let err = wrong_chain.verify(&provider).await.expect_err("chain id differs");
    assert!(matches!(err, ManifestError::WrongChain { rpc, .. } if rpc == devnet.chain_id()), "{err}");

    let mut no_code = devnet.manifest().clone();
    no_code.contracts.staking = Address::repeat_byte(0x42);
    let err = no_code.verify(&provider).await.expect_err("no contract there");
    assert!(matches!(err, ManifestError::MissingCode { name: "StakingVault", .. }), "{err}");
    Ok(())
}

#[tokio::test]
async fn manifest_records_the_usage_verifying_keys() -> TestResult {
    let devnet = start();
    let m = devnet.manifest().clone();
    let provider = ProviderBuilder::new().connect_http(devnet.endpoint().parse()?);
    for (size, address) in [("64", m.contracts.usage_verifier_64), ("1024", m.contracts.usage_verifier_1024)] {
        let verifier = neuro_protocol::bindings::UsageVerifier::new(address, &provider);
        assert_eq!(verifier.BATCH_SIZE().call().await?, U256::from(size.parse::<u64>()?));
        assert_eq!(Some(&verifier.VERIFYING_KEY_HASH().call().await?), m.usage_verifying_keys.get(size), "{size}");
        let ledger = neuro_protocol::bindings::UsageLedger::new(m.contracts.usage_ledger, &provider);
        assert_eq!(ledger.verifiers(U256::from(size.parse::<u64>()?)).call().await?, address);
    }
    Ok(())
}

#[tokio::test]
async fn a_receipt_signed_in_rust_is_the_one_the_dispute_court_verifies() -> TestResult {
    use alloy::{signers::local::PrivateKeySigner, sol_types::SolStruct};
    use neuro_protocol::{
        bindings::Disputes,
        receipt::{InferenceReceipt, SamplingClaim, output_hash, receipts_domain, request_hash},
    };
    let devnet = start();
    let m = devnet.manifest().clone();
    let provider = ProviderBuilder::new().connect_http(devnet.endpoint().parse()?);
    let node = PrivateKeySigner::random();
    let receipt = InferenceReceipt {
        miner: node.address(),
        user: Address::repeat_byte(7),
        modelId: alloy::primitives::B256::repeat_byte(9),
        requestHash: request_hash(b"{\"model\":\"tiny\"}"),
        outputHash: output_hash("an answer"),
        samplingHash: SamplingClaim { max_tokens: 16, ..Default::default() }.hash(),
        promptTokens: 11,
        completionTokens: 5,
        fee: U256::from(123_456u64),
        epoch: 2,
    };
    let domain = receipts_domain(m.chain_id, m.contracts.node_registry);
    let court = Disputes::new(m.contracts.disputes, &provider);
    let on_chain = court
        .receiptDigest(Disputes::InferenceReceipt {
            miner: receipt.miner,
            user: receipt.user,
            modelId: receipt.modelId,
            requestHash: receipt.requestHash,
            outputHash: receipt.outputHash,
            samplingHash: receipt.samplingHash,
            promptTokens: receipt.promptTokens,
            completionTokens: receipt.completionTokens,
            fee: receipt.fee,
            epoch: receipt.epoch,
        })
        .call()
        .await?;
    assert_eq!(on_chain, receipt.digest(&domain));
    assert_eq!(
        court.RECEIPT_TYPEHASH().call().await?,
        alloy::primitives::keccak256(InferenceReceipt::eip712_encode_type().as_bytes())
    );
    Ok(())
}
