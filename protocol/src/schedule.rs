//! The emission schedule, computed natively with the same integer arithmetic as `Emissions.sol`.
//!
//! Invariant: for every epoch `e`, [`emission_for_epoch`]`(e)` and [`scheduled_supply_at`]`(e)` equal the
//! contract's `emissionForEpoch(e)` and `scheduledSupplyAt(e)` to the wei (checked against anvil in tests).

use alloy::primitives::U256;

/// Epochs per era; the per-epoch emission halves at each era boundary.
pub const EPOCHS_PER_ERA: u64 = 35_040;
/// One NEURO in wei.
pub const NEURO: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);
/// Past this era the emission is zero (the contract's `LAST_EMITTING_ERA`).
const LAST_EMITTING_ERA: u64 = 80;

/// The mining allocation, 400,000,000 NEURO in wei.
pub fn mining_allocation() -> U256 {
    U256::from(400_000_000u64) * NEURO
}

/// Emission of every epoch of era 0: `floor(200,000,000 NEURO / 35,040)` in wei.
pub fn initial_epoch_emission() -> U256 {
    U256::from(200_000_000u64) * NEURO / U256::from(EPOCHS_PER_ERA)
}

/// The emission of `epoch` in wei.
pub fn emission_for_epoch(epoch: u64) -> U256 {
    let era = epoch / EPOCHS_PER_ERA;
    if era > LAST_EMITTING_ERA { U256::ZERO } else { initial_epoch_emission() >> (era as usize) }
}

/// Total emission scheduled for epochs `0 .. epoch - 1`, i.e. before `epoch` starts.
pub fn scheduled_supply_at(epoch: u64) -> U256 {
    let era = epoch / EPOCHS_PER_ERA;
    let full_eras = era.min(LAST_EMITTING_ERA + 1);
    let per_era = U256::from(EPOCHS_PER_ERA);
    let mut total =
        (0..full_eras).fold(U256::ZERO, |acc, k| acc + per_era * (initial_epoch_emission() >> (k as usize)));
    total += U256::from(epoch % EPOCHS_PER_ERA) * emission_for_epoch(epoch);
    total
}

/// Splits an epoch's emission into (miner pool, model pool) for a miner share in basis points.
pub fn split(emission: U256, miner_share_bps: u64) -> (U256, U256) {
    let miners = emission * U256::from(miner_share_bps) / U256::from(10_000u64);
    (miners, emission - miners)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_emission_is_floor_of_half_allocation_over_an_era() {
        assert_eq!(initial_epoch_emission(), U256::from(5_707_762_557_077_625_570_776u128));
    }

    #[test]
    fn halves_each_era_and_ends() {
        let initial = initial_epoch_emission();
        assert_eq!(emission_for_epoch(EPOCHS_PER_ERA - 1), initial);
        assert_eq!(emission_for_epoch(EPOCHS_PER_ERA), initial / U256::from(2));
        assert_eq!(emission_for_epoch(3 * EPOCHS_PER_ERA + 7), initial / U256::from(8));
        assert_eq!(emission_for_epoch(73 * EPOCHS_PER_ERA), U256::ZERO);
        assert_eq!(emission_for_epoch(u64::MAX), U256::ZERO);
    }

    #[test]
    fn closed_form_matches_summation_across_an_era_boundary() {
        let start = EPOCHS_PER_ERA - 50;
        let sum = (start..start + 100).fold(U256::ZERO, |acc, e| acc + emission_for_epoch(e));
        assert_eq!(sum, scheduled_supply_at(start + 100) - scheduled_supply_at(start));
    }

    #[test]
    fn whole_schedule_stays_within_mining_allocation() {
        let total = scheduled_supply_at(u64::MAX);
        assert!(total <= mining_allocation());
        assert!(total > mining_allocation() - U256::from(1_000u64) * NEURO);
    }

    #[test]
    fn split_conserves_the_emission() {
        let emission = initial_epoch_emission();
        let (miners, models) = split(emission, 7_000);
        assert_eq!(miners + models, emission);
        assert_eq!(miners, emission * U256::from(7u64) / U256::from(10u64));
    }
}
