// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {NeuroToken} from "../src/NeuroToken.sol";
import {NeuroFixture} from "./utils/NeuroFixture.sol";

contract NeuroTokenTest is NeuroFixture {
    function test_metadata() public view {
        assertEq(d.token.name(), "Neuro");
        assertEq(d.token.symbol(), "NEURO");
        assertEq(d.token.decimals(), 18);
        assertEq(d.token.cap(), 1_000_000_000 ether);
        assertEq(d.token.emissionsMinter(), address(d.emissions));
    }

    function test_genesisAllocation() public view {
        assertEq(d.token.balanceOf(address(d.timelock)), 200_000_000 ether, "treasury 20%");
        assertEq(d.token.balanceOf(address(d.teamVesting)), 200_000_000 ether, "team 20%");
        assertEq(d.token.balanceOf(address(d.investorVesting)), 150_000_000 ether, "investors 15%");
        assertEq(d.token.balanceOf(liquidity), 50_000_000 ether, "liquidity 5%");
        assertEq(d.token.totalSupply(), 600_000_000 ether);
        assertEq(d.token.totalSupply() + d.token.MINING_ALLOCATION(), d.token.CAP());
        assertEq(d.token.minedSupply(), 0);
    }

    function test_constructor_revertsOnZeroAddress() public {
        address a = makeAddr("a");
        vm.expectRevert(NeuroToken.ZeroAddress.selector);
        new NeuroToken(address(0), a, a, a, a);
        vm.expectRevert(NeuroToken.ZeroAddress.selector);
        new NeuroToken(a, a, a, a, address(0));
    }

    function test_mintEmission_onlyMinter() public {
        vm.expectRevert(abi.encodeWithSelector(NeuroToken.NotEmissionsMinter.selector, address(this)));
        d.token.mintEmission(address(this), 1);
        vm.prank(address(d.timelock));
        vm.expectRevert(abi.encodeWithSelector(NeuroToken.NotEmissionsMinter.selector, address(d.timelock)));
        d.token.mintEmission(address(this), 1);
    }

    function test_mintEmission_boundedByMiningAllocation() public {
        vm.startPrank(address(d.emissions));
        vm.expectEmit(address(d.token));
        emit NeuroToken.EmissionMinted(address(1), 400_000_000 ether - 1, 400_000_000 ether - 1);
        d.token.mintEmission(address(1), 400_000_000 ether - 1);
        vm.expectRevert(abi.encodeWithSelector(NeuroToken.MiningAllocationExceeded.selector, 2, 1));
        d.token.mintEmission(address(1), 2);
        d.token.mintEmission(address(1), 1);
        vm.stopPrank();
        assertEq(d.token.totalSupply(), d.token.CAP());
    }

    function test_burnedTokensCannotBeReminted() public {
        vm.prank(address(d.emissions));
        d.token.mintEmission(address(this), 400_000_000 ether);
        d.token.burn(1 ether);
        assertEq(d.token.totalSupply(), d.token.CAP() - 1 ether);
        vm.prank(address(d.emissions));
        vm.expectRevert(abi.encodeWithSelector(NeuroToken.MiningAllocationExceeded.selector, 1, 0));
        d.token.mintEmission(address(this), 1);
    }

    function test_capHoldsEvenForTheMinter() public view {
        // The mining allocation is exactly the headroom below the cap, so ERC20Capped can never trigger first.
        assertEq(d.token.CAP() - d.token.totalSupply(), d.token.MINING_ALLOCATION() - d.token.minedSupply());
        ERC20Capped capped = d.token;
        assertEq(capped.cap(), 1_000_000_000 ether);
    }

    function test_permit() public {
        (address owner, uint256 key) = makeAddrAndKey("permit-owner");
        fund(owner, 10 ether);
        address spender = makeAddr("spender");
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner,
                spender,
                5 ether,
                d.token.nonces(owner),
                deadline
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, keccak256(abi.encodePacked("\x19\x01", d.token.DOMAIN_SEPARATOR(), structHash)));
        d.token.permit(owner, spender, 5 ether, deadline, v, r, s);
        assertEq(d.token.allowance(owner, spender), 5 ether);
    }

    function testFuzz_burnFromReducesSupply(uint256 amount) public {
        amount = bound(amount, 1, 50_000_000 ether);
        vm.prank(liquidity);
        d.token.approve(address(this), amount);
        d.token.burnFrom(liquidity, amount);
        assertEq(d.token.totalSupply(), 600_000_000 ether - amount);
    }
}
