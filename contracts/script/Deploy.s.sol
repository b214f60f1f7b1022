// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Script, console} from "forge-std/Script.sol";
import {NeuroDeployer} from "./NeuroDeployer.sol";

/// @title Deploys the Neuro protocol and writes `deployments/<chainId>.json`
/// @notice Environment:
/// - `DEPLOYER_PRIVATE_KEY` (required): the broadcasting key (never on the command line).
/// - `NEURO_GENESIS_TIME` (default: the current block's timestamp), `NEURO_EPOCH_LENGTH` (3600),
///   `NEURO_SUBMISSION_WINDOW` (900), `NEURO_TIMELOCK_DELAY` (2 days), `NEURO_VOTING_DELAY` (1 day),
///   `NEURO_VOTING_PERIOD` (5 days), `NEURO_UNBONDING_PERIOD` (7 days), `NEURO_WITHDRAWAL_DELAY` (2 hours).
/// - `NEURO_GUARDIAN`, `NEURO_TEAM_BENEFICIARY`, `NEURO_INVESTOR_BENEFICIARY`, `NEURO_LIQUIDITY` (default: deployer).
/// The manifest goes to `deployments/<chainId>.json`: give each local chain its own id (`anvil --chain-id`).
contract Deploy is Script, NeuroDeployer {
    /// @notice Runs the deployment.
    function run() external returns (Deployment memory d) {
        uint256 key = vm.envUint("DEPLOYER_PRIVATE_KEY");
        address deployer = vm.addr(key);
        Config memory cfg = defaultConfig();
        cfg.genesisTime = vm.envOr("NEURO_GENESIS_TIME", block.timestamp);
        cfg.epochLength = vm.envOr("NEURO_EPOCH_LENGTH", cfg.epochLength);
        cfg.submissionWindow = vm.envOr("NEURO_SUBMISSION_WINDOW", cfg.submissionWindow);
        cfg.timelockDelay = vm.envOr("NEURO_TIMELOCK_DELAY", cfg.timelockDelay);
        cfg.governor.votingDelay = uint48(vm.envOr("NEURO_VOTING_DELAY", uint256(cfg.governor.votingDelay)));
        cfg.governor.votingPeriod = uint32(vm.envOr("NEURO_VOTING_PERIOD", uint256(cfg.governor.votingPeriod)));
        cfg.unbondingPeriod = vm.envOr("NEURO_UNBONDING_PERIOD", cfg.unbondingPeriod);
        cfg.withdrawalDelay = vm.envOr("NEURO_WITHDRAWAL_DELAY", cfg.withdrawalDelay);
        cfg.guardian = vm.envOr("NEURO_GUARDIAN", deployer);
        cfg.teamBeneficiary = vm.envOr("NEURO_TEAM_BENEFICIARY", deployer);
        cfg.investorBeneficiary = vm.envOr("NEURO_INVESTOR_BENEFICIARY", deployer);
        cfg.liquidity = vm.envOr("NEURO_LIQUIDITY", deployer);

        uint256 startBlock = block.number;
        vm.startBroadcast(key);
        d = deploy(cfg, deployer);
        vm.stopBroadcast();

        string memory path = string.concat(vm.projectRoot(), "/deployments/", vm.toString(block.chainid), ".json");
        vm.writeJson(_manifest(d, cfg, deployer, startBlock), path);
        console.log("manifest written to", path);
    }

    function _manifest(Deployment memory d, Config memory cfg, address deployer, uint256 startBlock)
        private
        returns (string memory)
    {
        string memory c = "contracts";
        vm.serializeAddress(c, "NeuroTimelock", address(d.timelock));
        vm.serializeAddress(c, "NeuroGovernor", address(d.governor));
        vm.serializeAddress(c, "NeuroToken", address(d.token));
        vm.serializeAddress(c, "Emissions", address(d.emissions));
        vm.serializeAddress(c, "StakingVault", address(d.staking));
        vm.serializeAddress(c, "TeamVesting", address(d.teamVesting));
        vm.serializeAddress(c, "ModelRegistry", address(d.models));
        vm.serializeAddress(c, "NodeRegistry", address(d.nodes));
        vm.serializeAddress(c, "FeeVault", address(d.feeVault));
        vm.serializeAddress(c, "Payments", address(d.payments));
        vm.serializeAddress(c, "UsageLedger", address(d.ledger));
        vm.serializeAddress(c, "UsageVerifier64", address(d.verifier64));
        vm.serializeAddress(c, "UsageVerifier1024", address(d.verifier1024));
        string memory contracts = vm.serializeAddress(c, "InvestorVesting", address(d.investorVesting));

        // Which verifying keys this chain accepts: the sha-256 each generated verifier embeds.
        string memory k = "usageVerifyingKeys";
        vm.serializeBytes32(k, "64", d.verifier64.VERIFYING_KEY_HASH());
        string memory keys = vm.serializeBytes32(k, "1024", d.verifier1024.VERIFYING_KEY_HASH());

        string memory m = "manifest";
        vm.serializeString(m, "usageVerifyingKeys", keys);
        vm.serializeUint(m, "schemaVersion", 1);
        vm.serializeUint(m, "chainId", block.chainid);
        vm.serializeAddress(m, "deployer", deployer);
        vm.serializeUint(m, "startBlock", startBlock);
        vm.serializeUint(m, "genesisTime", cfg.genesisTime);
        vm.serializeUint(m, "epochLength", cfg.epochLength);
        return vm.serializeString(m, "contracts", contracts);
    }
}
