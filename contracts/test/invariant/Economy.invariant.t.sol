// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Emissions} from "../../src/Emissions.sol";
import {IUsageVerifier} from "../../src/interfaces/IUsageVerifier.sol";
import {NeuroFixture} from "../utils/NeuroFixture.sol";
import {AcceptingVerifier, EconomyHandler} from "./EconomyHandler.sol";

/// The economy under random users, miners, model owners and governance, through the real money paths.
/// forge-config: default.invariant.fail-on-revert = true
/// forge-config: ci.invariant.fail-on-revert = true
contract EconomyInvariantTest is NeuroFixture {
    EconomyHandler internal handler;

    function setUp() public virtual override {
        configure();
        super.setUp();
        bytes32[] memory ids = new bytes32[](2);
        ids[0] = MODEL_A;
        ids[1] = MODEL_B;
        address[] memory owners = new address[](2);
        owners[0] = developerA;
        owners[1] = developerB;
        handler = new EconomyHandler(d, liquidity, ids, owners);
        IUsageVerifier accepting = IUsageVerifier(address(new AcceptingVerifier()));
        vm.prank(address(d.timelock));
        d.ledger.setVerifier(2, accepting);
        // The liquidity allocation funds the actors.
        vm.prank(liquidity);
        d.token.approve(address(handler), type(uint256).max);
        handler.registerMiners();
        targetContract(address(handler));
    }

    /// @dev Hook for suites with another epoch length.
    function configure() internal virtual {}

    function invariant_totalSupplyWithinCap() public view {
        assertLe(d.token.totalSupply(), d.token.CAP());
        assertLe(d.token.minedSupply(), d.token.MINING_ALLOCATION());
    }

    /// Emitted ≤ schedule, for this deployment's epoch length; rewards are minted to claimants only.
    function invariant_mintedNeverAboveSchedule() public view {
        assertEq(d.token.minedSupply(), d.emissions.totalEmitted());
        assertEq(d.emissions.totalEmitted(), d.emissions.totalClaimed());
        assertLe(d.emissions.totalEmitted(), d.emissions.scheduledSupplyAt(d.emissions.currentEpoch()));
        assertLe(d.emissions.totalEmitted() + d.emissions.totalForgone(), handler.ghostFinalizedEmission());
        assertEq(d.token.balanceOf(address(d.emissions)), 0);
    }

    /// No epoch pays more than its pools.
    function invariant_noEpochPaysMoreThanItsPool() public view {
        for (uint256 i; i < handler.finalizedCount(); ++i) {
            Emissions.EpochState memory s = d.emissions.epochInfo(handler.finalizedEpochs(i));
            assertLe(s.minerPaid, s.minerPool);
            assertLe(s.modelPaid, s.modelPool);
            Emissions.ValidatorEpoch memory v = d.emissions.validatorEpochInfo(handler.finalizedEpochs(i));
            assertLe(v.paid, v.pool);
        }
    }

    /// No reward without fees, and never more than 90% of the fees burned: the whole network's emission is
    /// bounded by the burn, whatever governance did to the split, the rates, the floors or the window.
    function invariant_emissionBoundedByBurnedFees() public view {
        uint256 burnedByFees = d.feeVault.totalBurned() + d.feeVault.pendingBurn();
        assertLe(
            d.token.minedSupply() * d.emissions.BPS(),
            burnedByFees * d.emissions.MAX_REWARD_PER_BURN_BPS(),
            "emission <= 90% of burn"
        );
    }

    /// Per participant: each miner's, each model's and each validator's rewards are at most its rate times the burned fees that
    /// backed its claimed work.
    function invariant_rewardToFeeBoundPerParticipant() public view {
        for (uint256 m; m < handler.minerCount(); ++m) {
            address miner = handler.miners(m);
            uint256 bound_;
            for (uint256 i; i < handler.finalizedCount(); ++i) {
                uint256 epoch = handler.finalizedEpochs(i);
                Emissions.Work memory w = d.emissions.minerWork(epoch, miner);
                if (w.claimed) {
                    bound_ += uint256(w.burnedFees) * d.emissions.epochInfo(epoch).minerRewardPerBurnBps / 10_000;
                }
            }
            assertLe(handler.ghostMinerPaid(miner), bound_);
        }
        for (uint256 k; k < handler.modelCount(); ++k) {
            bytes32 modelId = handler.modelIds(k);
            uint256 bound_;
            for (uint256 i; i < handler.finalizedCount(); ++i) {
                uint256 epoch = handler.finalizedEpochs(i);
                Emissions.Work memory w = d.emissions.modelWork(epoch, modelId);
                if (w.claimed) {
                    bound_ += uint256(w.burnedFees) * d.emissions.epochInfo(epoch).modelRewardPerBurnBps / 10_000;
                }
            }
            assertLe(handler.ghostModelPaid(modelId), bound_);
        }
        for (uint256 k; k < handler.validatorCount(); ++k) {
            address validator = handler.validators(k);
            uint256 bound_;
            for (uint256 i; i < handler.finalizedCount(); ++i) {
                uint256 epoch = handler.finalizedEpochs(i);
                Emissions.Work memory w = d.emissions.validatorFees(epoch, validator);
                if (w.claimed) {
                    uint256 rate = d.emissions.validatorEpochInfo(epoch).rewardPerBurnBps;
                    bound_ += uint256(w.burnedFees) * rate / 10_000;
                }
            }
            assertLe(handler.ghostValidatorPaid(validator), bound_);
        }
    }

    function invariant_stakeAccounting() public view {
        uint256 bonded;
        uint256 unbonding;
        for (uint256 i; i < handler.minerCount(); ++i) {
            address miner = handler.miners(i);
            bonded += d.staking.balanceOf(miner);
            unbonding += d.staking.unbonding(miner).amount;
        }
        assertEq(d.staking.totalSupply(), bonded, "stNEURO supply == bonded stake");
        assertEq(d.staking.totalUnbonding(), unbonding);
        assertEq(d.token.balanceOf(address(d.staking)), bonded + unbonding, "vault holds exactly the stake");
        assertGt(d.staking.unbondingPeriod(), d.governor.slashLatency(), "slashing cannot be outrun");
    }
}

/// The same economy with 60-second epochs (the devnet's).
/// forge-config: default.invariant.fail-on-revert = true
/// forge-config: ci.invariant.fail-on-revert = true
contract EconomyShortEpochInvariantTest is EconomyInvariantTest {
    function configure() internal override {
        cfgOverride.epochLength = 60;
        cfgOverride.submissionWindow = 30;
    }
}

/// The same economy with epochs that do not divide an era (they straddle era boundaries).
/// forge-config: default.invariant.fail-on-revert = true
/// forge-config: ci.invariant.fail-on-revert = true
contract EconomyOddEpochInvariantTest is EconomyInvariantTest {
    function configure() internal override {
        cfgOverride.epochLength = 86_399;
        cfgOverride.submissionWindow = 3599;
    }
}
