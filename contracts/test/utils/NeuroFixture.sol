// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {NeuroDeployer} from "../../script/NeuroDeployer.sol";

/// @dev Deploys the protocol exactly as `Deploy.s.sol` does, with the mainnet defaults.
abstract contract NeuroFixture is Test, NeuroDeployer {
    Config internal cfg;
    Deployment internal d;
    /// @dev Non-zero fields replace the defaults' epoch length and submission window (set before setUp).
    Config internal cfgOverride;

    address internal guardian = makeAddr("guardian");
    address internal team = makeAddr("team");
    address internal investors = makeAddr("investors");
    address internal liquidity = makeAddr("liquidity");

    bytes32 internal constant MODEL_A = keccak256("model-a");
    bytes32 internal constant MODEL_B = keccak256("model-b");
    address internal developerA = makeAddr("developerA");
    address internal developerB = makeAddr("developerB");

    function setUp() public virtual {
        vm.warp(1_800_000_000);
        cfg = defaultConfig();
        if (cfgOverride.epochLength != 0) cfg.epochLength = cfgOverride.epochLength;
        if (cfgOverride.submissionWindow != 0) cfg.submissionWindow = cfgOverride.submissionWindow;
        cfg.guardian = guardian;
        cfg.teamBeneficiary = team;
        cfg.investorBeneficiary = investors;
        cfg.liquidity = liquidity;
        d = deploy(cfg, address(this));

        proposeModel(MODEL_A, developerA);
        proposeModel(MODEL_B, developerB);
        vm.startPrank(address(d.timelock));
        d.models.approve(MODEL_A);
        d.models.approve(MODEL_B);
        vm.stopPrank();
    }

    /// @dev Proposes a model owned (and proposed) by `owner` with a floor of `initialFloor()`.
    function proposeModel(bytes32 modelId, address owner) internal {
        vm.prank(owner);
        d.models.propose(modelId, owner, "test model", "ipfs://model-card", initialFloor());
    }

    /// @dev Floor of the fixture's models: 1 NEURO per million tokens.
    function initialFloor() internal pure virtual returns (uint256) {
        return 1 ether;
    }

    /// @dev Gives `to` NEURO from the liquidity allocation (no supply change).
    function fund(address to, uint256 amount) internal {
        vm.prank(liquidity);
        d.token.transfer(to, amount);
    }

    /// @dev Funds `account` and stakes `amount` for it.
    function stakeAs(address account, uint256 amount) internal {
        fund(account, amount);
        vm.startPrank(account);
        d.token.approve(address(d.staking), amount);
        d.staking.stake(amount);
        vm.stopPrank();
    }

    /// @dev Funds `account` and bonds `amount` of validator stake for it in the dispute court.
    function stakeValidatorAs(address account, uint256 amount) internal {
        fund(account, amount);
        vm.startPrank(account);
        d.token.approve(address(d.disputes), amount);
        d.disputes.stake(amount);
        vm.stopPrank();
    }

    /// @dev Burned fees per work unit so large that the fee caps never bind (a pool is under 4,000 NEURO): for
    /// tests of the pro-rata split alone.
    uint256 internal constant UNCAPPED_PER_UNIT = 1_000_000 ether;
    /// @dev Burned fees that make one small credit uncapped.
    uint256 internal constant UNCAPPED = 1e30;

    /// @dev Credits work as the usage ledger would, backed by enough burned fees (in proportion to the units) for
    /// the caps not to bind.
    function record(uint256 epoch, address miner, bytes32 modelId, uint128 units) internal {
        record(epoch, miner, modelId, units, uint256(units) * UNCAPPED_PER_UNIT);
    }

    /// @dev Credits work backed by `burned` burned fees, as the usage ledger (the only recorder) would.
    function record(uint256 epoch, address miner, bytes32 modelId, uint128 units, uint256 burned) internal {
        vm.prank(address(d.ledger));
        d.emissions.recordWork(epoch, miner, modelId, units, burned);
    }

    /// @dev Moves time to the first second `epoch` can be finalized.
    function warpToFinalizable(uint256 epoch) internal {
        vm.warp(d.emissions.finalizableAt(epoch));
    }

    function single(uint256 value) internal pure returns (uint256[] memory list) {
        list = new uint256[](1);
        list[0] = value;
    }
}
