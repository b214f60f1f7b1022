//! The inference market through the Rust types: an allowance signed in Rust is redeemed on chain, fees split and
//! flushed exactly, and the Rust digest equals the contract's.

use alloy::{
    primitives::{FixedBytes, U256},
    providers::ProviderBuilder,
};
use neuro_protocol::{
    bindings::{Emissions, FeeVault, ModelRegistry, NeuroToken, NodeRegistry, Payments, StakingVault},
    schedule::NEURO,
    voucher::{Allowance, payments_domain},
};
use neuro_testkit::{Devnet, DevnetOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn neuro(amount: u64) -> U256 {
    U256::from(amount) * NEURO
}

#[tokio::test]
async fn rust_signed_allowance_is_redeemed_and_flushed() -> TestResult {
    let devnet = Devnet::start(DevnetOptions::new(Devnet::repo_root()))?;
    let m = devnet.manifest().clone();
    let c = m.contracts;
    let user = devnet.signer(1).ok_or("key 1")?;
    let miner = devnet.signer(2).ok_or("key 2")?;
    let (user_addr, miner_addr) = (user.address(), miner.address());
    let url: alloy::transports::http::reqwest::Url = devnet.endpoint().parse()?;
    let as_deployer = ProviderBuilder::new().wallet(devnet.signer(0).ok_or("key 0")?).connect_http(url.clone());
    let as_user = ProviderBuilder::new().wallet(user.clone()).connect_http(url.clone());
    let as_miner = ProviderBuilder::new().wallet(miner).connect_http(url);

    // Fund the user and the miner from the liquidity allocation (held by the deployer on devnets).
    let token = NeuroToken::new(c.token, &as_deployer);
    token.transfer(user_addr, neuro(1_000)).send().await?.get_receipt().await?;
    token.transfer(miner_addr, neuro(10_000)).send().await?.get_receipt().await?;

    // A model can be proposed by anyone but only the timelock approves it: registration must fail until then.
    let model_id = FixedBytes::<32>::repeat_byte(0xab);
    ModelRegistry::new(c.model_registry, &as_miner)
        .propose(model_id, miner_addr, "tiny".into(), "".into(), neuro(1))
        .send()
        .await?
        .get_receipt()
        .await?;
    NeuroToken::new(c.token, &as_miner).approve(c.staking, neuro(10_000)).send().await?.get_receipt().await?;
    StakingVault::new(c.staking, &as_miner).stake(neuro(10_000)).send().await?.get_receipt().await?;
    let err = NodeRegistry::new(c.node_registry, &as_miner)
        .register("http://127.0.0.1:8080".into(), miner_addr, vec![model_id])
        .call()
        .await
        .expect_err("model not approved");
    assert!(err.as_decoded_error::<NodeRegistry::ModelNotApproved>().is_some(), "{err}");

    // Deposit, sign an allowance in Rust, and check the digest against the contract.
    let user_token = NeuroToken::new(c.token, &as_user);
    user_token.approve(c.payments, neuro(1_000)).send().await?.get_receipt().await?;
    let payments_as_user = Payments::new(c.payments, &as_user);
    payments_as_user.deposit(neuro(1_000)).send().await?.get_receipt().await?;

    let domain = payments_domain(m.chain_id, c.payments);
    let allowance = Allowance {
        user: user_addr,
        miner: miner_addr,
        cap: neuro(300),
        expiry: U256::from(m.genesis_time + 86_400),
        nonce: U256::from(1),
    };
    let signed = allowance.sign(&user, &domain).await?;
    signed.verify(&domain)?;
    let payments = Payments::new(c.payments, &as_miner);
    assert_eq!(payments.allowanceDigest(signed.to_call_arg()).call().await?, signed.allowance.digest(&domain));

    let epoch = Emissions::new(c.emissions, &as_miner).currentEpoch().call().await?;
    for cumulative in [neuro(100), neuro(250)] {
        let receipt = payments
            .redeem(signed.to_call_arg(), signed.signature_bytes(), cumulative, epoch, model_id)
            .send()
            .await?
            .get_receipt()
            .await?;
        assert!(receipt.status());
    }
    let replay =
        payments.redeem(signed.to_call_arg(), signed.signature_bytes(), neuro(250), epoch, model_id).call().await;
    let err = replay.expect_err("replay refused");
    assert!(err.as_decoded_error::<Payments::NothingToRedeem>().is_some(), "{err}");

    assert_eq!(payments.deposits(user_addr).call().await?, neuro(750));
    let booked = payments.feesRedeemed(miner_addr, epoch, model_id).call().await?;
    assert_eq!((booked.gross, booked.burned), (neuro(250), neuro(50)), "fees and their burned part, per model");
    assert_eq!(token.balanceOf(miner_addr).call().await?, neuro(175), "70% of 250, stake already spent");

    let vault = FeeVault::new(c.fee_vault, &as_user);
    let supply_before = token.totalSupply().call().await?;
    let treasury_before = token.balanceOf(c.timelock).call().await?;
    let receipt = vault.flush().send().await?.get_receipt().await?;
    let flushed = receipt.decoded_log::<FeeVault::FeesFlushed>().ok_or("FeesFlushed event")?;
    assert_eq!(flushed.burned, neuro(50));
    assert_eq!(flushed.toTreasury, neuro(25));
    assert_eq!(token.totalSupply().call().await?, supply_before - neuro(50));
    assert_eq!(token.balanceOf(c.timelock).call().await?, treasury_before + neuro(25));
    Ok(())
}
