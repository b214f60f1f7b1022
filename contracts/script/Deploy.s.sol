// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Script, console} from "forge-std/Script.sol";
import {NeuroDeployer} from "./NeuroDeployer.sol";
import {IUsageVerifier} from "../src/interfaces/IUsageVerifier.sol";
import {UsageVerifier64} from "../src/verifiers/UsageVerifier64.sol";
import {UsageVerifier1024} from "../src/verifiers/UsageVerifier1024.sol";

/// @title Deploys the Neuro protocol and writes `deployments/<chainId>.json`
/// @notice Environment:
/// - `DEPLOYER_PRIVATE_KEY` (required): the broadcasting key (never on the command line).
/// - `NEURO_GENESIS_TIME` (default: the current block's timestamp), `NEURO_EPOCH_LENGTH` (3600),
///   `NEURO_SUBMISSION_WINDOW` (900), `NEURO_TIMELOCK_DELAY` (2 days), `NEURO_VOTING_DELAY` (1 day),
///   `NEURO_VOTING_PERIOD` (5 days), `NEURO_UNBONDING_PERIOD` (14 days), `NEURO_WITHDRAWAL_DELAY` (2 hours),
///   `NEURO_MIN_QUORUM` (10M stNEURO), `NEURO_GUARDIAN_TERM` (365 days), `NEURO_GLOBAL_FLOOR` (0.01 NEURO/MTok).
/// - Roles: `NEURO_GUARDIAN`, `NEURO_TEAM_BENEFICIARY`, `NEURO_INVESTOR_BENEFICIARY`, `NEURO_LIQUIDITY`.
/// - Usage verifiers from a real key ceremony: `NEURO_USAGE_VERIFIER_64`, `NEURO_USAGE_VERIFIER_1024`.
/// On a local dev chain (`isLocalDevChain`) the roles default to the deployer and, without verifier addresses,
/// the devnet verifiers (keys from a public seed) are deployed. On any other chain every role and both verifiers
/// are required, each missing variable is named in the revert, and the devnet verifiers are refused: anyone
/// could forge proofs against them.
/// The manifest goes to `deployments/<chainId>.json`: give each local chain its own id (`anvil --chain-id`).
contract Deploy is Script, NeuroDeployer {
    /// @notice A variable that a deployment to a public chain must set is missing.
    error MissingEnvironment(string name);
    /// @notice A verifier built from the devnet keys was given for a public chain.
    error DevnetVerifierRefused(string name, address verifier);
    /// @notice A verifier is not deployed, or is for another batch size.
    error InvalidVerifier(string name, address verifier);
    /// @notice On a public chain the genesis must not be in the past (it also starts the vesting) nor more than a
    /// year ahead.
    error GenesisOutOfRange(uint256 genesisTime, uint256 earliest, uint256 latest);

    /// @notice Whether `chainId` is a local development chain: anvil's and hardhat's defaults (31337, 1337) and
    /// Neuro's range for throwaway local chains, 0x4e_0000_0000 to 0x4e_ffff_ffff (tests and `devnet.sh`).
    /// @param chainId A chain id.
    function isLocalDevChain(uint256 chainId) public pure returns (bool) {
        return chainId == 31_337 || chainId == 1337 || chainId >> 32 == 0x4e;
    }

    /// @notice Runs the deployment.
    function run() external returns (Deployment memory d) {
        uint256 key = vm.envUint("DEPLOYER_PRIVATE_KEY");
        address deployer = vm.addr(key);
        (Config memory cfg, IUsageVerifier v64, IUsageVerifier v1024) = resolveConfig(deployer, block.chainid);

        uint256 startBlock = block.number;
        vm.startBroadcast(key);
        d = deployWithVerifiers(cfg, deployer, v64, v1024);
        vm.stopBroadcast();

        string memory path = string.concat(vm.projectRoot(), "/deployments/", vm.toString(block.chainid), ".json");
        vm.writeJson(_manifest(d, cfg, deployer, startBlock), path);
        console.log("manifest written to", path);
    }

    /// @notice The configuration this environment asks for on `chainId`; reverts naming what is missing or unsafe.
    /// @param deployer The broadcasting account (default of every role on a local dev chain).
    /// @param chainId The target chain.
    /// Not broadcast: it runs before `startBroadcast`, so the scratch verifiers it creates to learn the devnet key
    /// hashes exist only in the local simulation.
    function resolveConfig(address deployer, uint256 chainId)
        public
        returns (Config memory cfg, IUsageVerifier v64, IUsageVerifier v1024)
    {
        bool dev = isLocalDevChain(chainId);
        cfg = defaultConfig();
        cfg.genesisTime = _uintOr("NEURO_GENESIS_TIME", block.timestamp);
        if (!dev && (cfg.genesisTime < block.timestamp || cfg.genesisTime > block.timestamp + 365 days)) {
            revert GenesisOutOfRange(cfg.genesisTime, block.timestamp, block.timestamp + 365 days);
        }
        cfg.epochLength = _uintOr("NEURO_EPOCH_LENGTH", cfg.epochLength);
        cfg.submissionWindow = _uintOr("NEURO_SUBMISSION_WINDOW", cfg.submissionWindow);
        cfg.timelockDelay = _uintOr("NEURO_TIMELOCK_DELAY", cfg.timelockDelay);
        cfg.governor.votingDelay = uint48(_uintOr("NEURO_VOTING_DELAY", cfg.governor.votingDelay));
        cfg.governor.votingPeriod = uint32(_uintOr("NEURO_VOTING_PERIOD", cfg.governor.votingPeriod));
        cfg.governor.minimumQuorum = _uintOr("NEURO_MIN_QUORUM", cfg.governor.minimumQuorum);
        cfg.governor.guardianExpiry = block.timestamp + _uintOr("NEURO_GUARDIAN_TERM", 365 days);
        cfg.unbondingPeriod = _uintOr("NEURO_UNBONDING_PERIOD", cfg.unbondingPeriod);
        cfg.withdrawalDelay = _uintOr("NEURO_WITHDRAWAL_DELAY", cfg.withdrawalDelay);
        cfg.globalFloorPerMTok = _uintOr("NEURO_GLOBAL_FLOOR", cfg.globalFloorPerMTok);
        cfg.guardian = _role("NEURO_GUARDIAN", deployer, dev);
        cfg.teamBeneficiary = _role("NEURO_TEAM_BENEFICIARY", deployer, dev);
        cfg.investorBeneficiary = _role("NEURO_INVESTOR_BENEFICIARY", deployer, dev);
        cfg.liquidity = _role("NEURO_LIQUIDITY", deployer, dev);
        v64 = _verifier("NEURO_USAGE_VERIFIER_64", 64, address(new UsageVerifier64()), dev);
        v1024 = _verifier("NEURO_USAGE_VERIFIER_1024", 1024, address(new UsageVerifier1024()), dev);
    }

    /// @dev An address from the environment; tests override this instead of touching the process environment.
    function _envAddress(string memory name) internal view virtual returns (bool found, address value) {
        if (!vm.envExists(name)) return (false, address(0));
        return (true, vm.envAddress(name));
    }

    /// @dev A number from the environment, or `fallback_`; overridable like `_envAddress`.
    function _uintOr(string memory name, uint256 fallback_) internal view virtual returns (uint256) {
        return vm.envOr(name, fallback_);
    }

    function _role(string memory name, address deployer, bool dev) private view returns (address) {
        (bool found, address value) = _envAddress(name);
        if (found && value != address(0)) return value;
        if (!dev) revert MissingEnvironment(name);
        return deployer;
    }

    /// @dev `devnet` is a scratch copy of the devnet verifier: a candidate is refused if it has the same code or
    /// reports the same key hash.
    function _verifier(string memory name, uint256 batchSize, address devnet, bool dev)
        private
        view
        returns (IUsageVerifier verifier)
    {
        (bool found, address value) = _envAddress(name);
        if (!found || value == address(0)) {
            if (!dev) revert MissingEnvironment(name);
            return IUsageVerifier(address(0)); // deploy the devnet verifier
        }
        verifier = IUsageVerifier(value);
        if (value.code.length == 0 || verifier.BATCH_SIZE() != batchSize) revert InvalidVerifier(name, value);
        if (!dev && (value.codehash == devnet.codehash || _keyHash(value) == _keyHash(devnet))) {
            revert DevnetVerifierRefused(name, value);
        }
    }

    function _keyHash(address verifier) private view returns (bytes32) {
        return UsageVerifier64(verifier).VERIFYING_KEY_HASH();
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
        vm.serializeAddress(c, "Disputes", address(d.disputes));
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
