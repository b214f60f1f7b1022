//! The emission schedule and the reward rule, computed natively with the same integer arithmetic as
//! `Emissions.sol`.
//!
//! The schedule is per unit of time: `INITIAL_EMISSION_PER_SECOND` during era 0 (4 years of 365 days), halved
//! every era. An epoch's emission is the schedule's amount over its span, so the same 200M NEURO are scheduled
//! over the first 4 years whatever the epoch length.
//!
//! Invariant: for every epoch length `L` and epoch `e`, [`emission_for_epoch`]`(L, e)` and
//! [`scheduled_supply_at`]`(L, e)` equal the contract's `emissionForEpoch(e)` and `scheduledSupplyAt(e)` to the
//! wei (checked against anvil in tests).

use alloy::primitives::U256;

/// Length of an era in seconds: 4 × 365 days (35,040 hours).
pub const ERA_SECONDS: u64 = 4 * 365 * 24 * 3600;
/// One NEURO in wei.
pub const NEURO: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);
/// Basis-point denominator.
pub const BPS: u64 = 10_000;
/// Upper bound of miner + model reward per burned fee (`Emissions.MAX_REWARD_PER_BURN_BPS`): the emission ever
/// minted stays at most 90% of the fees burned for the work it paid.
pub const MAX_REWARD_PER_BURN_BPS: u64 = 9_000;
/// From this era on the rate is zero (the contract's `LAST_EMITTING_ERA`).
const LAST_EMITTING_ERA: u64 = 61;

/// The mining allocation, 400,000,000 NEURO in wei.
pub fn mining_allocation() -> U256 {
    U256::from(400_000_000u64) * NEURO
}

/// Emission per second during era 0: `floor(200,000,000 NEURO / ERA_SECONDS)` in wei.
pub fn initial_emission_per_second() -> U256 {
    U256::from(200_000_000u64) * NEURO / U256::from(ERA_SECONDS)
}

/// NEURO scheduled over the first `elapsed` seconds after genesis.
pub fn scheduled_supply_at_time(elapsed: u64) -> U256 {
    let era = elapsed / ERA_SECONDS;
    let rate = initial_emission_per_second();
    let full_eras = era.min(LAST_EMITTING_ERA);
    let mut total = (0..full_eras).fold(U256::ZERO, |acc, k| acc + (rate >> (k as usize)) * U256::from(ERA_SECONDS));
    if era < LAST_EMITTING_ERA {
        total += (rate >> (era as usize)) * U256::from(elapsed % ERA_SECONDS);
    }
    total
}

/// The emission of `epoch` in wei, for epochs of `epoch_length` seconds.
pub fn emission_for_epoch(epoch_length: u64, epoch: u64) -> U256 {
    let start = epoch.saturating_mul(epoch_length);
    let end = epoch.saturating_add(1).saturating_mul(epoch_length);
    scheduled_supply_at_time(end) - scheduled_supply_at_time(start)
}

/// Total emission scheduled for epochs `0 .. epoch - 1`, i.e. before `epoch` starts.
pub fn scheduled_supply_at(epoch_length: u64, epoch: u64) -> U256 {
    scheduled_supply_at_time(epoch.saturating_mul(epoch_length))
}

/// Splits an epoch's emission into (miner pool, model pool) for a miner share in basis points.
pub fn split(emission: U256, miner_share_bps: u64) -> (U256, U256) {
    let miners = emission * U256::from(miner_share_bps) / U256::from(BPS);
    (miners, emission - miners)
}

/// A claimant's reward for an epoch: its share of `pool` in proportion to the fees burned for its work (of
/// `total_burned` in the epoch), capped at `rate_bps` of those burned fees. Returns `(reward, forgone)`, as
/// `Emissions` pays and books them.
pub fn capped_reward(pool: U256, burned_fees: U256, total_burned: U256, rate_bps: u64) -> (U256, U256) {
    if burned_fees.is_zero() || total_burned.is_zero() {
        return (U256::ZERO, U256::ZERO);
    }
    let share = pool * burned_fees / total_burned;
    let cap = burned_fees * U256::from(rate_bps) / U256::from(BPS);
    let reward = share.min(cap);
    (reward, share - reward)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3600;

    #[test]
    fn initial_rate_is_floor_of_half_allocation_over_an_era() {
        assert_eq!(initial_emission_per_second(), U256::from(1_585_489_599_188_229_325u128));
        assert_eq!(emission_for_epoch(HOUR, 0), U256::from(5_707_762_557_077_625_570_000u128));
    }

    #[test]
    fn halves_each_era_and_ends() {
        let epochs_per_era = ERA_SECONDS / HOUR;
        let hourly = emission_for_epoch(HOUR, 0);
        assert_eq!(emission_for_epoch(HOUR, epochs_per_era - 1), hourly);
        assert_eq!(emission_for_epoch(HOUR, epochs_per_era), (initial_emission_per_second() >> 1) * U256::from(HOUR));
        assert_eq!(emission_for_epoch(HOUR, 61 * epochs_per_era), U256::ZERO);
        assert_eq!(emission_for_epoch(HOUR, u64::MAX / HOUR), U256::ZERO);
    }

    #[test]
    fn independent_of_epoch_length() {
        // 60-second epochs emit a sixtieth of an hour's amount, and era 0 ends after the same 4 years.
        assert_eq!(emission_for_epoch(60, 0) * U256::from(60u64), emission_for_epoch(HOUR, 0));
        assert_eq!(scheduled_supply_at(60, ERA_SECONDS / 60), scheduled_supply_at(HOUR, ERA_SECONDS / HOUR));
    }

    #[test]
    fn closed_form_matches_summation_across_an_era_boundary() {
        for length in [60, HOUR, 86_399] {
            let start = ERA_SECONDS / length - 50;
            let sum = (start..start + 100).fold(U256::ZERO, |acc, e| acc + emission_for_epoch(length, e));
            assert_eq!(sum, scheduled_supply_at(length, start + 100) - scheduled_supply_at(length, start));
        }
    }

    #[test]
    fn whole_schedule_stays_within_mining_allocation() {
        let total = scheduled_supply_at_time(u64::MAX);
        assert!(total <= mining_allocation());
        assert!(total > mining_allocation() - U256::from(1_000u64) * NEURO);
    }

    #[test]
    fn split_conserves_the_emission() {
        let emission = emission_for_epoch(HOUR, 0);
        let (miners, models) = split(emission, 7_000);
        assert_eq!(miners + models, emission);
        assert_eq!(miners, emission * U256::from(7u64) / U256::from(10u64));
    }

    #[test]
    fn capped_reward_takes_the_smaller_and_books_the_rest_as_forgone() {
        let pool = U256::from(1_000u64);
        let n = |v: u64| U256::from(v);
        // A quarter of the epoch's burn: a quarter of the pool while the cap is above it...
        assert_eq!(capped_reward(pool, n(10_000), n(40_000), 6_300), (n(250), U256::ZERO));
        // ...and 63% of its burn once the pool share is larger.
        assert_eq!(capped_reward(pool, n(100), n(400), 6_300), (n(63), n(187)));
        assert_eq!(capped_reward(pool, U256::ZERO, n(400), 6_300), (U256::ZERO, U256::ZERO));
    }
}
