// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {NeuroFixture} from "./utils/NeuroFixture.sol";

contract VestingTest is NeuroFixture {
    function test_schedule() public view {
        assertEq(d.teamVesting.owner(), team);
        assertEq(d.investorVesting.owner(), investors);
        assertEq(d.teamVesting.start(), cfg.genesisTime);
        assertEq(d.teamVesting.duration(), 4 * 365 days);
        assertEq(d.teamVesting.cliff(), cfg.genesisTime + 365 days);
    }

    function test_nothingBeforeCliffThenLinear() public {
        address token = address(d.token);
        vm.warp(cfg.genesisTime + 365 days - 1);
        assertEq(d.teamVesting.releasable(token), 0);
        vm.warp(cfg.genesisTime + 365 days);
        assertEq(d.teamVesting.releasable(token), 50_000_000 ether, "a quarter at the cliff");
        d.teamVesting.release(token);
        assertEq(d.token.balanceOf(team), 50_000_000 ether);
        vm.warp(cfg.genesisTime + 4 * 365 days);
        d.investorVesting.release(token);
        assertEq(d.token.balanceOf(investors), 150_000_000 ether);
    }
}
