// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {StakingVault} from "../src/StakingVault.sol";
import {ParameterOutOfBounds} from "../src/libraries/Bounds.sol";
import {NeuroToken} from "../src/NeuroToken.sol";
import {NeuroFixture} from "./utils/NeuroFixture.sol";

contract StakingVaultTest is NeuroFixture {
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    bytes32 internal constant REASON = keccak256("double-signed receipts");

    function test_metadataAndDefaults() public view {
        assertEq(d.staking.name(), "Staked Neuro");
        assertEq(d.staking.symbol(), "stNEURO");
        assertEq(d.staking.unbondingPeriod(), 14 days);
        assertEq(d.staking.minNodeStake(), 10_000 ether);
        assertEq(d.staking.slashBurnBps(), 5000);
        assertEq(d.staking.treasury(), address(d.timelock));
        assertEq(d.staking.CLOCK_MODE(), "mode=timestamp");
        assertEq(d.staking.clock(), block.timestamp);
    }

    function test_constructor_revertsOnBadParameters() public {
        vm.expectRevert(StakingVault.ZeroAddress.selector);
        new StakingVault(NeuroToken(address(0)), address(1), address(1), address(1), 7 days, 1 ether, 0);
        vm.expectRevert(StakingVault.ZeroAddress.selector);
        new StakingVault(d.token, address(1), address(0), address(1), 7 days, 1 ether, 0);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 1 hours, 1 days, 30 days));
        new StakingVault(d.token, address(1), address(1), address(1), 1 hours, 1 ether, 0);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 10_001, 0, 10_000));
        new StakingVault(d.token, address(1), address(1), address(1), 7 days, 1 ether, 10_001);
    }

    function test_stake_mintsVotesAndSelfDelegates() public {
        fund(alice, 100 ether);
        vm.startPrank(alice);
        d.token.approve(address(d.staking), 100 ether);
        vm.expectEmit(address(d.staking));
        emit StakingVault.Staked(alice, 100 ether);
        d.staking.stake(100 ether);
        vm.stopPrank();
        assertEq(d.staking.balanceOf(alice), 100 ether);
        assertEq(d.staking.bondedStake(alice), 100 ether);
        assertEq(d.staking.delegates(alice), alice);
        assertEq(d.staking.getVotes(alice), 100 ether);
        assertEq(d.token.balanceOf(address(d.staking)), 100 ether);
    }

    function test_stake_keepsExistingDelegation() public {
        stakeAs(alice, 10 ether);
        vm.prank(alice);
        d.staking.delegate(bob);
        stakeAs(alice, 5 ether);
        assertEq(d.staking.getVotes(bob), 15 ether);
        assertEq(d.staking.getVotes(alice), 0);
    }

    function test_stake_zeroAndUnapproved() public {
        vm.prank(alice);
        vm.expectRevert(StakingVault.ZeroAmount.selector);
        d.staking.stake(0);
        fund(alice, 1 ether);
        vm.prank(alice);
        vm.expectRevert(); // ERC20InsufficientAllowance
        d.staking.stake(1 ether);
    }

    function test_nonTransferable() public {
        stakeAs(alice, 10 ether);
        vm.startPrank(alice);
        vm.expectRevert(StakingVault.NonTransferable.selector);
        d.staking.transfer(bob, 1 ether);
        vm.expectRevert(StakingVault.NonTransferable.selector);
        d.staking.approve(bob, 1 ether);
        vm.expectRevert(StakingVault.NonTransferable.selector);
        d.staking.transferFrom(alice, bob, 1 ether);
        vm.stopPrank();
    }

    function test_unstake_thenWithdrawAfterUnbonding() public {
        stakeAs(alice, 100 ether);
        uint256 release = block.timestamp + 14 days;
        vm.expectEmit(address(d.staking));
        emit StakingVault.UnbondingStarted(alice, 40 ether, 40 ether, release);
        vm.prank(alice);
        d.staking.unstake(40 ether);
        assertEq(d.staking.balanceOf(alice), 60 ether);
        assertEq(d.staking.getVotes(alice), 60 ether, "unbonding stake has no votes");
        assertEq(d.staking.unbonding(alice).amount, 40 ether);
        assertEq(d.staking.totalUnbonding(), 40 ether);

        vm.warp(release - 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(StakingVault.StillUnbonding.selector, release));
        d.staking.withdraw();

        vm.warp(release);
        vm.expectEmit(address(d.staking));
        emit StakingVault.Withdrawn(alice, 40 ether);
        vm.prank(alice);
        assertEq(d.staking.withdraw(), 40 ether);
        assertEq(d.token.balanceOf(alice), 40 ether);
        assertEq(d.staking.totalUnbonding(), 0);

        vm.prank(alice);
        vm.expectRevert(StakingVault.NothingUnbonding.selector);
        d.staking.withdraw();
    }

    function test_unstake_mergesAndRestartsTimer() public {
        stakeAs(alice, 100 ether);
        vm.prank(alice);
        d.staking.unstake(10 ether);
        vm.warp(block.timestamp + 3 days);
        vm.prank(alice);
        d.staking.unstake(20 ether);
        StakingVault.Unbonding memory u = d.staking.unbonding(alice);
        assertEq(u.amount, 30 ether);
        assertEq(u.releaseTime, block.timestamp + 14 days);
    }

    function test_unstake_errors() public {
        stakeAs(alice, 1 ether);
        vm.startPrank(alice);
        vm.expectRevert(StakingVault.ZeroAmount.selector);
        d.staking.unstake(0);
        vm.expectRevert(abi.encodeWithSelector(StakingVault.InsufficientBondedStake.selector, 2 ether, 1 ether));
        d.staking.unstake(2 ether);
        vm.stopPrank();
    }

    function test_meetsNodeStake() public {
        stakeAs(alice, 9999 ether);
        assertFalse(d.staking.meetsNodeStake(alice));
        stakeAs(alice, 1 ether);
        assertTrue(d.staking.meetsNodeStake(alice));
        vm.prank(alice);
        d.staking.unstake(1);
        assertFalse(d.staking.meetsNodeStake(alice), "unbonding stake does not count");
    }

    function test_slash_bondedThenUnbonding() public {
        stakeAs(alice, 100 ether);
        vm.prank(alice);
        d.staking.unstake(30 ether);
        uint256 supplyBefore = d.token.totalSupply();
        uint256 treasuryBefore = d.token.balanceOf(address(d.timelock));

        vm.expectEmit(address(d.staking));
        emit StakingVault.Slashed(alice, REASON, 70 ether, 10 ether, 40 ether, 40 ether);
        vm.prank(address(d.timelock));
        assertEq(d.staking.slash(alice, 80 ether, REASON), 80 ether);

        assertEq(d.staking.balanceOf(alice), 0);
        assertEq(d.staking.unbonding(alice).amount, 20 ether);
        assertEq(d.staking.totalUnbonding(), 20 ether);
        assertEq(d.token.totalSupply(), supplyBefore - 40 ether, "burn share burned");
        assertEq(d.token.balanceOf(address(d.timelock)), treasuryBefore + 40 ether, "rest to treasury");
        assertEq(d.token.balanceOf(address(d.staking)), 20 ether);
    }

    function test_slash_takesAtMostWhatExists() public {
        stakeAs(alice, 5 ether);
        vm.prank(address(d.timelock));
        assertEq(d.staking.slash(alice, 50 ether, REASON), 5 ether);
        vm.prank(address(d.timelock));
        vm.expectRevert(abi.encodeWithSelector(StakingVault.NothingToSlash.selector, alice));
        d.staking.slash(alice, 1, REASON);
        vm.prank(address(d.timelock));
        vm.expectRevert(StakingVault.ZeroAmount.selector);
        d.staking.slash(alice, 0, REASON);
    }

    function test_slash_onlySlasher() public {
        stakeAs(alice, 5 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, bob, d.staking.SLASHER_ROLE()
            )
        );
        vm.prank(bob);
        d.staking.slash(alice, 1 ether, REASON);

        // Governance can grant a validator committee the role.
        bytes32 role = d.staking.SLASHER_ROLE();
        vm.prank(address(d.timelock));
        d.staking.grantRole(role, bob);
        vm.prank(bob);
        d.staking.slash(alice, 1 ether, REASON);
        assertEq(d.staking.balanceOf(alice), 4 ether);
    }

    function test_setters_onlyTimelockBoundedAndEmit() public {
        bytes memory err = abi.encodeWithSelector(
            IAccessControl.AccessControlUnauthorizedAccount.selector, bob, d.staking.DEFAULT_ADMIN_ROLE()
        );
        vm.startPrank(bob);
        vm.expectRevert(err);
        d.staking.setUnbondingPeriod(2 days);
        vm.expectRevert(err);
        d.staking.setMinNodeStake(1 ether);
        vm.expectRevert(err);
        d.staking.setSlashBurnShare(0);
        vm.expectRevert(err);
        d.staking.setTreasury(bob);
        vm.stopPrank();

        vm.startPrank(address(d.timelock));
        vm.expectEmit(address(d.staking));
        emit StakingVault.UnbondingPeriodSet(14 days, 30 days);
        d.staking.setUnbondingPeriod(30 days);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 31 days, 1 days, 30 days));
        d.staking.setUnbondingPeriod(31 days);
        // 1 d voting delay + 5 d voting + 2 d timelock + 1 d margin = 9 days: unbonding must be longer.
        vm.expectRevert(abi.encodeWithSelector(StakingVault.UnbondingShorterThanSlashLatency.selector, 9 days, 9 days));
        d.staking.setUnbondingPeriod(9 days);
        vm.expectEmit(address(d.staking));
        emit StakingVault.MinNodeStakeSet(10_000 ether, 1 ether);
        d.staking.setMinNodeStake(1 ether);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 0, 1 ether, 10_000_000 ether));
        d.staking.setMinNodeStake(0);
        vm.expectEmit(address(d.staking));
        emit StakingVault.SlashBurnShareSet(5000, 10_000);
        d.staking.setSlashBurnShare(10_000);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 10_001, 0, 10_000));
        d.staking.setSlashBurnShare(10_001);
        vm.expectEmit(address(d.staking));
        emit StakingVault.TreasurySet(address(d.timelock), bob);
        d.staking.setTreasury(bob);
        vm.expectRevert(StakingVault.ZeroAddress.selector);
        d.staking.setTreasury(address(0));
        vm.stopPrank();
    }

    // ------------------------------------------------------------ fuzz

    function testFuzz_stakeUnstakeWithdraw(uint256 stakeAmount, uint256 unstakeAmount) public {
        stakeAmount = bound(stakeAmount, 1, 50_000_000 ether);
        unstakeAmount = bound(unstakeAmount, 1, stakeAmount);
        stakeAs(alice, stakeAmount);
        vm.prank(alice);
        d.staking.unstake(unstakeAmount);
        assertEq(d.staking.balanceOf(alice) + d.staking.unbonding(alice).amount, stakeAmount);
        assertEq(d.staking.getVotes(alice), stakeAmount - unstakeAmount);
        vm.warp(block.timestamp + 14 days);
        vm.prank(alice);
        d.staking.withdraw();
        assertEq(d.token.balanceOf(alice), unstakeAmount);
        assertEq(d.token.balanceOf(address(d.staking)), stakeAmount - unstakeAmount);
    }

    function testFuzz_slashConservesTokens(uint256 stakeAmount, uint256 unstakeAmount, uint256 slashAmount, uint16 bps)
        public
    {
        stakeAmount = bound(stakeAmount, 1, 50_000_000 ether);
        unstakeAmount = bound(unstakeAmount, 0, stakeAmount);
        slashAmount = bound(slashAmount, 1, 60_000_000 ether);
        bps = uint16(bound(bps, 0, 10_000));
        stakeAs(alice, stakeAmount);
        if (unstakeAmount > 0) {
            vm.prank(alice);
            d.staking.unstake(unstakeAmount);
        }
        vm.prank(address(d.timelock));
        d.staking.setSlashBurnShare(bps);

        uint256 supplyBefore = d.token.totalSupply();
        uint256 treasuryBefore = d.token.balanceOf(address(d.timelock));
        vm.prank(address(d.timelock));
        uint256 taken = d.staking.slash(alice, slashAmount, REASON);

        uint256 expectedTaken = slashAmount < stakeAmount ? slashAmount : stakeAmount;
        assertEq(taken, expectedTaken);
        uint256 burned = supplyBefore - d.token.totalSupply();
        uint256 toTreasury = d.token.balanceOf(address(d.timelock)) - treasuryBefore;
        assertEq(burned + toTreasury, taken);
        assertEq(burned, taken * bps / 10_000);
        assertEq(d.staking.balanceOf(alice) + d.staking.unbonding(alice).amount, stakeAmount - taken);
        assertEq(d.token.balanceOf(address(d.staking)), d.staking.totalSupply() + d.staking.totalUnbonding());
        // Bonded stake is taken before unbonding stake.
        uint256 bondedBefore = stakeAmount - unstakeAmount;
        assertEq(d.staking.balanceOf(alice), bondedBefore > taken ? bondedBefore - taken : 0);
    }
}
