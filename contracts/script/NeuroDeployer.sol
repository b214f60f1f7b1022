// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CommonBase} from "forge-std/Base.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {Emissions} from "../src/Emissions.sol";
import {FeeVault} from "../src/FeeVault.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {NodeRegistry} from "../src/NodeRegistry.sol";
import {Payments} from "../src/Payments.sol";
import {NeuroGovernor} from "../src/NeuroGovernor.sol";
import {NeuroTimelock} from "../src/NeuroTimelock.sol";
import {NeuroToken} from "../src/NeuroToken.sol";
import {NeuroVestingWallet} from "../src/NeuroVestingWallet.sol";
import {StakingVault} from "../src/StakingVault.sol";
import {Disputes} from "../src/Disputes.sol";
import {UsageLedger} from "../src/UsageLedger.sol";
import {IModelOwners} from "../src/interfaces/IModelOwners.sol";
import {IUsageVerifier} from "../src/interfaces/IUsageVerifier.sol";
import {UsageVerifier64} from "../src/verifiers/UsageVerifier64.sol";
import {UsageVerifier1024} from "../src/verifiers/UsageVerifier1024.sol";

/// @title Deploys and wires the whole protocol; shared by `Deploy.s.sol` and the tests
/// @notice After `deploy` returns, the timelock holds every admin role and the deployer holds none; the usage
/// ledger is the emissions contract's only work recorder; the Governor may freeze the withdrawals of accounts its
/// proposals would slash; the slash latency is checked by the vault, the Governor and the timelock.
abstract contract NeuroDeployer is CommonBase {
    /// @notice Vesting of the team and investor allocations: 4 years linear.
    uint64 internal constant VESTING_DURATION = 4 * 365 days;
    /// @notice Nothing vests during the first year.
    uint64 internal constant VESTING_CLIFF = 365 days;

    /// @notice Deployment parameters (see `defaultConfig`).
    struct Config {
        uint256 genesisTime;
        uint256 epochLength;
        uint256 submissionWindow;
        uint256 minerShareBps;
        uint256 minerRewardPerBurnBps;
        uint256 modelRewardPerBurnBps;
        uint256 validatorShareBps;
        uint256 validatorRewardPerBurnBps;
        uint256 globalFloorPerMTok;
        uint256 timelockDelay;
        NeuroGovernor.Settings governor;
        address guardian;
        address teamBeneficiary;
        address investorBeneficiary;
        address liquidity;
        uint256 unbondingPeriod;
        uint256 minNodeStake;
        uint256 slashBurnBps;
        uint256 withdrawalDelay;
        uint256 minerFeeBps;
        uint256 treasuryFeeBps;
    }

    /// @notice Addresses of a deployment.
    struct Deployment {
        NeuroTimelock timelock;
        NeuroGovernor governor;
        NeuroToken token;
        Emissions emissions;
        StakingVault staking;
        NeuroVestingWallet teamVesting;
        NeuroVestingWallet investorVesting;
        ModelRegistry models;
        NodeRegistry nodes;
        FeeVault feeVault;
        Payments payments;
        IUsageVerifier verifier64;
        IUsageVerifier verifier1024;
        UsageLedger ledger;
        Disputes disputes;
    }

    /// @notice Thrown when a contract did not land at the address an earlier one was told.
    error AddressMismatch(string name, address predicted, address actual);

    /// @notice Mainnet defaults from the design documents; beneficiaries must be set by the caller.
    function defaultConfig() internal view returns (Config memory cfg) {
        cfg.genesisTime = block.timestamp;
        cfg.epochLength = 1 hours;
        cfg.submissionWindow = 15 minutes;
        cfg.minerShareBps = 7000;
        // Validators get 5% of the emission; miners 70%, model developers the remaining 25%.
        cfg.validatorShareBps = 500;
        // Rewards at most 90% of the burned fee behind the work: 80% for the miner and model owner, split 70/30,
        // and 10% for the validator who paid the fee as a probe (docs/economics.md).
        cfg.minerRewardPerBurnBps = 5600;
        cfg.modelRewardPerBurnBps = 2400;
        cfg.validatorRewardPerBurnBps = 1000;
        cfg.globalFloorPerMTok = 0.01 ether;
        cfg.timelockDelay = 2 days;
        cfg.governor = NeuroGovernor.Settings({
            votingDelay: 1 days,
            votingPeriod: 5 days,
            proposalThreshold: 10_000 ether,
            quorumPercent: 4,
            minimumQuorum: 10_000_000 ether,
            guardianExpiry: block.timestamp + 365 days
        });
        // Longer than voting delay + voting period + timelock delay + 1 day of execution margin (9 days).
        cfg.unbondingPeriod = 14 days;
        cfg.minNodeStake = 10_000 ether;
        cfg.slashBurnBps = 5000;
        cfg.withdrawalDelay = 2 hours;
        cfg.minerFeeBps = 7000;
        cfg.treasuryFeeBps = 1000;
    }

    /// @notice Deploys everything with `deployer` as the sender of every creation, then drops its powers.
    /// @dev The usage verifiers are deployed fresh from the committed (devnet) keys; `deployWithVerifiers` takes
    /// verifiers from a real key ceremony instead.
    /// @param cfg Parameters.
    /// @param deployer The account whose nonce creates the contracts (the broadcaster, or the test contract).
    function deploy(Config memory cfg, address deployer) internal returns (Deployment memory d) {
        return deployWithVerifiers(cfg, deployer, IUsageVerifier(address(0)), IUsageVerifier(address(0)));
    }

    /// @notice Deploys everything, using existing usage verifiers (zero: deploy the devnet ones).
    /// @param cfg Parameters.
    /// @param deployer The account whose nonce creates the contracts.
    /// @param verifier64 Verifier of 64-receipt batches, or zero.
    /// @param verifier1024 Verifier of 1,024-receipt batches, or zero.
    function deployWithVerifiers(
        Config memory cfg,
        address deployer,
        IUsageVerifier verifier64,
        IUsageVerifier verifier1024
    ) internal returns (Deployment memory d) {
        address[] memory none = new address[](0);
        address[] memory anyone = new address[](1); // address(0): anyone may execute a ready operation
        d.timelock = new NeuroTimelock(cfg.timelockDelay, none, anyone, deployer);
        _deployTokenClockAndVault(cfg, deployer, d);
        _deployMarket(cfg, deployer, d, verifier64, verifier1024);
        _deployGovernor(cfg, deployer, d);
    }

    function _deployTokenClockAndVault(Config memory cfg, address deployer, Deployment memory d) private {
        // Five creations in a row, no calls in between (a call would use a nonce when broadcast): the vesting
        // wallets must know the staking vault, the token its only minter, both created after them.
        uint256 nonce = vm.getNonce(deployer);
        address predictedEmissions = vm.computeCreateAddress(deployer, nonce + 3);
        address predictedStaking = vm.computeCreateAddress(deployer, nonce + 4);
        d.teamVesting = new NeuroVestingWallet(
            cfg.teamBeneficiary,
            uint64(cfg.genesisTime),
            VESTING_DURATION,
            VESTING_CLIFF,
            StakingVault(predictedStaking)
        );
        d.investorVesting = new NeuroVestingWallet(
            cfg.investorBeneficiary,
            uint64(cfg.genesisTime),
            VESTING_DURATION,
            VESTING_CLIFF,
            StakingVault(predictedStaking)
        );
        d.token = new NeuroToken(
            address(d.timelock), address(d.teamVesting), address(d.investorVesting), cfg.liquidity, predictedEmissions
        );
        // The deployer administers Emissions and the vault only while wiring them (below).
        d.emissions = new Emissions(
            d.token,
            deployer,
            cfg.genesisTime,
            cfg.epochLength,
            cfg.submissionWindow,
            cfg.minerShareBps,
            cfg.minerRewardPerBurnBps,
            cfg.modelRewardPerBurnBps,
            cfg.validatorShareBps,
            cfg.validatorRewardPerBurnBps,
            IModelOwners(address(0))
        );
        d.staking = new StakingVault(
            d.token,
            deployer,
            address(d.timelock),
            address(d.timelock),
            cfg.unbondingPeriod,
            cfg.minNodeStake,
            cfg.slashBurnBps
        );
        _checkAddress("Emissions", predictedEmissions, address(d.emissions));
        _checkAddress("StakingVault", predictedStaking, address(d.staking));
    }

    function _deployMarket(
        Config memory cfg,
        address deployer,
        Deployment memory d,
        IUsageVerifier verifier64,
        IUsageVerifier verifier1024
    ) private {
        d.models = new ModelRegistry(address(d.timelock), d.emissions, cfg.globalFloorPerMTok);
        d.emissions.setModelRegistry(d.models);
        d.nodes = new NodeRegistry(d.staking, d.models);
        d.feeVault = new FeeVault(d.token, d.emissions, address(d.timelock), address(d.timelock));
        d.payments = new Payments(
            d.token,
            d.emissions,
            d.feeVault,
            address(d.timelock),
            cfg.withdrawalDelay,
            cfg.minerFeeBps,
            cfg.treasuryFeeBps
        );
        d.verifier64 = address(verifier64) != address(0) ? verifier64 : new UsageVerifier64();
        d.verifier1024 = address(verifier1024) != address(0) ? verifier1024 : new UsageVerifier1024();
        IUsageVerifier[] memory verifiers = new IUsageVerifier[](2);
        verifiers[0] = d.verifier64;
        verifiers[1] = d.verifier1024;
        d.ledger = new UsageLedger(d.emissions, d.payments, d.nodes, d.models, address(d.timelock), verifiers);
        d.emissions.setWorkRecorder(address(d.ledger));
        // The dispute court holds and forfeits miners' rewards here, and slashes and freezes in the vault (below).
        d.disputes = new Disputes(d.token, d.staking, d.nodes, d.emissions, address(d.timelock));
        d.emissions.grantRole(d.emissions.REWARD_HOLDER_ROLE(), address(d.disputes));
        // Validators' probe fees come from the payments contract; the court says who is a validator.
        d.emissions.setValidatorAccounting(address(d.payments), d.disputes);
        d.emissions.grantRole(d.emissions.DEFAULT_ADMIN_ROLE(), address(d.timelock));
        d.emissions.renounceRole(d.emissions.DEFAULT_ADMIN_ROLE(), deployer);
    }

    function _deployGovernor(Config memory cfg, address deployer, Deployment memory d) private {
        d.governor = new NeuroGovernor(d.staking, TimelockController(payable(d.timelock)), cfg.guardian, cfg.governor);

        // The vault: the Governor freezes accused accounts and bounds the unbonding period; then the timelock
        // takes over its administration.
        d.staking.grantRole(d.staking.FREEZER_ROLE(), address(d.governor));
        d.staking.grantRole(d.staking.FREEZER_ROLE(), address(d.disputes));
        d.staking.grantRole(d.staking.SLASHER_ROLE(), address(d.disputes));
        d.staking.setSlashLatencySource(d.governor);
        d.staking.grantRole(d.staking.DEFAULT_ADMIN_ROLE(), address(d.timelock));
        d.staking.renounceRole(d.staking.DEFAULT_ADMIN_ROLE(), deployer);

        // The Governor is the only proposer and canceller; then the deployer gives up the timelock admin role.
        d.timelock.setSlashLatencyGuard(d.governor);
        d.timelock.grantRole(d.timelock.PROPOSER_ROLE(), address(d.governor));
        d.timelock.grantRole(d.timelock.CANCELLER_ROLE(), address(d.governor));
        d.timelock.renounceRole(d.timelock.DEFAULT_ADMIN_ROLE(), deployer);
    }

    function _checkAddress(string memory name, address predicted, address actual) private pure {
        if (predicted != actual) revert AddressMismatch(name, predicted, actual);
    }
}
