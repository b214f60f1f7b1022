// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Emissions} from "../src/Emissions.sol";
import {FeeVault} from "../src/FeeVault.sol";
import {NeuroToken} from "../src/NeuroToken.sol";
import {NeuroFixture} from "./utils/NeuroFixture.sol";

contract FeeVaultTest is NeuroFixture {
    function _donateAndBook(uint256 toBurn, uint256 toTreasury) internal {
        fund(address(d.feeVault), toBurn + toTreasury);
        d.feeVault.accrue(toBurn, toTreasury);
    }

    function test_accrue_onlyBacked() public {
        fund(address(d.feeVault), 10 ether);
        vm.expectEmit(address(d.feeVault));
        emit FeeVault.FeesAccrued(6 ether, 4 ether);
        d.feeVault.accrue(6 ether, 4 ether);
        vm.expectRevert(abi.encodeWithSelector(FeeVault.UnbackedAccrual.selector, 10 ether + 1, 10 ether));
        d.feeVault.accrue(1, 0);
    }

    function test_flush_burnsAndPaysTreasury() public {
        _donateAndBook(6 ether, 4 ether);
        vm.warp(d.emissions.epochStart(5));
        uint256 supply = d.token.totalSupply();
        uint256 treasury = d.token.balanceOf(address(d.timelock));
        vm.expectEmit(address(d.feeVault));
        emit FeeVault.FeesFlushed(5, 6 ether, 4 ether);
        (uint256 burned, uint256 toTreasury) = d.feeVault.flush();
        assertEq(burned, 6 ether);
        assertEq(toTreasury, 4 ether);
        assertEq(d.token.totalSupply(), supply - 6 ether);
        assertEq(d.token.balanceOf(address(d.timelock)), treasury + 4 ether);
        assertEq(d.feeVault.pendingBurn(), 0);
        assertEq(d.feeVault.pendingTreasury(), 0);
        assertEq(d.feeVault.totalBurned(), 6 ether);
        assertEq(d.feeVault.totalToTreasury(), 4 ether);

        vm.expectRevert(FeeVault.NothingToFlush.selector);
        d.feeVault.flush();
    }

    function test_setTreasury() public {
        address newTreasury = makeAddr("new-treasury");
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), d.feeVault.DEFAULT_ADMIN_ROLE()
            )
        );
        d.feeVault.setTreasury(newTreasury);
        vm.startPrank(address(d.timelock));
        vm.expectEmit(address(d.feeVault));
        emit FeeVault.TreasurySet(address(d.timelock), newTreasury);
        d.feeVault.setTreasury(newTreasury);
        vm.expectRevert(FeeVault.ZeroAddress.selector);
        d.feeVault.setTreasury(address(0));
        vm.stopPrank();
        _donateAndBook(0, 1 ether);
        d.feeVault.flush();
        assertEq(d.token.balanceOf(newTreasury), 1 ether);
    }

    function test_constructor_zeroAddress() public {
        vm.expectRevert(FeeVault.ZeroAddress.selector);
        new FeeVault(NeuroToken(address(0)), d.emissions, address(1), address(1));
        vm.expectRevert(FeeVault.ZeroAddress.selector);
        new FeeVault(d.token, Emissions(address(0)), address(1), address(1));
        vm.expectRevert(FeeVault.ZeroAddress.selector);
        new FeeVault(d.token, d.emissions, address(0), address(1));
    }
}
