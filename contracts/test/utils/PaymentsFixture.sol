// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Payments} from "../../src/Payments.sol";
import {NeuroFixture} from "./NeuroFixture.sol";

/// @dev A user with a key, a miner, and helpers to deposit and sign allowances.
abstract contract PaymentsFixture is NeuroFixture {
    address internal user;
    uint256 internal userKey;
    address internal miner = makeAddr("miner");

    function setUp() public virtual override {
        super.setUp();
        (user, userKey) = makeAddrAndKey("user");
    }

    function depositAs(address who, uint256 amount) internal {
        fund(who, amount);
        vm.startPrank(who);
        d.token.approve(address(d.payments), amount);
        d.payments.deposit(amount);
        vm.stopPrank();
    }

    function allowance(uint256 cap, uint256 nonce) internal view returns (Payments.Allowance memory) {
        return Payments.Allowance({user: user, miner: miner, cap: cap, expiry: block.timestamp + 1 days, nonce: nonce});
    }

    function sign(uint256 key, Payments.Allowance memory a) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, d.payments.allowanceDigest(a));
        return abi.encodePacked(r, s, v);
    }

    /// @dev Redeems for usage of MODEL_A in the current epoch.
    function redeemAs(address caller, Payments.Allowance memory a, bytes memory sig, uint256 cumulative)
        internal
        returns (uint256)
    {
        uint256 epoch = d.emissions.currentEpoch();
        vm.prank(caller);
        return d.payments.redeem(a, sig, cumulative, epoch, MODEL_A);
    }
}
