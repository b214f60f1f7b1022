// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {Emissions} from "../../src/Emissions.sol";
import {FeeVault} from "../../src/FeeVault.sol";
import {NeuroToken} from "../../src/NeuroToken.sol";
import {Payments} from "../../src/Payments.sol";

/// @dev Random deposits, withdrawals, allowances opened, revoked and released, redemptions and flushes, with
/// ghost totals.
contract PaymentsHandler is Test {
    NeuroToken internal immutable token;
    Payments internal immutable payments;
    FeeVault internal immutable vault;
    Emissions internal immutable emissions;
    address internal immutable funder;

    address[] public users;
    uint256[] internal keys;
    address[] public miners;
    Payments.Allowance[] internal allowances;
    uint256[] internal allowanceSignerKey;

    uint256 public ghostFunded;
    uint256 public ghostRedeemed;
    uint256 public ghostWithdrawn;
    uint256 public ghostToMiners;
    mapping(address miner => uint256) public ghostFeesOfMiner;
    uint256[] public touchedEpochs;

    constructor(NeuroToken token_, Payments payments_, FeeVault vault_, Emissions emissions_, address funder_) {
        token = token_;
        payments = payments_;
        vault = vault_;
        emissions = emissions_;
        funder = funder_;
        for (uint256 i; i < 3; ++i) {
            (address user, uint256 key) = makeAddrAndKey(string.concat("payer", vm.toString(i)));
            users.push(user);
            keys.push(key);
            miners.push(makeAddr(string.concat("payee", vm.toString(i))));
        }
    }

    function userCount() external view returns (uint256) {
        return users.length;
    }

    function minerCount() external view returns (uint256) {
        return miners.length;
    }

    function touchedEpochCount() external view returns (uint256) {
        return touchedEpochs.length;
    }

    function deposit(uint256 userSeed, uint256 amount) external {
        address user = users[userSeed % users.length];
        amount = bound(amount, 1, 100_000 ether);
        vm.prank(funder);
        token.transfer(user, amount);
        ghostFunded += amount;
        vm.startPrank(user);
        token.approve(address(payments), amount);
        payments.deposit(amount);
        vm.stopPrank();
    }

    function requestWithdrawal(uint256 userSeed, uint256 amount) external {
        address user = users[userSeed % users.length];
        uint256 available = payments.deposits(user);
        if (available == 0) return;
        vm.prank(user);
        payments.requestWithdrawal(bound(amount, 1, available));
    }

    function completeWithdrawal(uint256 userSeed) external {
        address user = users[userSeed % users.length];
        Payments.Withdrawal memory w = payments.pendingWithdrawal(user);
        if (w.amount == 0 || block.timestamp < w.availableAt) return;
        vm.prank(user);
        ghostWithdrawn += payments.completeWithdrawal();
    }

    function newAllowance(uint256 userSeed, uint256 minerSeed, uint256 cap) external {
        uint256 u = userSeed % users.length;
        allowances.push(
            Payments.Allowance({
                user: users[u],
                miner: miners[minerSeed % miners.length],
                cap: bound(cap, 1, 50_000 ether),
                expiry: block.timestamp + 3 days,
                nonce: allowances.length
            })
        );
        allowanceSignerKey.push(keys[u]);
    }

    function allowanceCount() external view returns (uint256) {
        return allowances.length;
    }

    function allowanceAt(uint256 index) external view returns (Payments.Allowance memory) {
        return allowances[index];
    }

    /// @dev Σ of every allowance's lock.
    function lockedTotal() external view returns (uint256 sum) {
        for (uint256 i; i < allowances.length; ++i) {
            sum += payments.lockOf(payments.allowanceDigest(allowances[i])).amount;
        }
    }

    function open(uint256 allowanceSeed) external {
        if (allowances.length == 0) return;
        Payments.Allowance memory a = allowances[allowanceSeed % allowances.length];
        bytes32 digest = payments.allowanceDigest(a);
        if (block.timestamp > a.expiry || payments.lockOf(digest).opened) return;
        uint256 needed = a.cap - payments.redeemed(digest);
        if (needed == 0 || needed > payments.deposits(a.user)) return;
        vm.prank(a.user);
        payments.openAllowance(a);
    }

    function revoke(uint256 allowanceSeed) external {
        if (allowances.length == 0) return;
        Payments.Allowance memory a = allowances[allowanceSeed % allowances.length];
        Payments.Lock memory lock = payments.lockOf(payments.allowanceDigest(a));
        if (!lock.opened || lock.revoked) return;
        vm.prank(a.user);
        payments.revokeAllowance(a);
    }

    function release(uint256 allowanceSeed) external {
        if (allowances.length == 0) return;
        Payments.Allowance memory a = allowances[allowanceSeed % allowances.length];
        Payments.Lock memory lock = payments.lockOf(payments.allowanceDigest(a));
        bool settled = lock.revoked && !emissions.isOpen(lock.revokedEpoch);
        if (!lock.opened || (block.timestamp <= a.expiry && !settled)) return;
        vm.prank(a.user);
        payments.releaseAllowance(a);
    }

    function redeem(uint256 allowanceSeed, uint256 increase) external {
        if (allowances.length == 0) return;
        uint256 index = allowanceSeed % allowances.length;
        Payments.Allowance memory a = allowances[index];
        if (block.timestamp > a.expiry) return;
        uint256 already = payments.redeemed(payments.allowanceDigest(a));
        if (already >= a.cap) return;
        Payments.Lock memory lock = payments.lockOf(payments.allowanceDigest(a));
        if (lock.revoked && emissions.currentEpoch() > lock.revokedEpoch) return;
        uint256 available = lock.opened ? lock.amount : payments.deposits(a.user);
        uint256 room = a.cap - already < available ? a.cap - already : available;
        if (room == 0) return;
        uint256 cumulative = already + bound(increase, 1, room);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(allowanceSignerKey[index], payments.allowanceDigest(a));
        uint256 epoch = emissions.currentEpoch();
        uint256 minerBefore = token.balanceOf(a.miner);
        vm.prank(a.miner);
        uint256 paid = payments.redeem(a, abi.encodePacked(r, s, v), cumulative, epoch, bytes32(uint256(1)));
        ghostRedeemed += paid;
        ghostToMiners += token.balanceOf(a.miner) - minerBefore;
        ghostFeesOfMiner[a.miner] += paid;
        touchedEpochs.push(epoch);
    }

    function flush() external {
        if (vault.pendingBurn() == 0 && vault.pendingTreasury() == 0) return;
        vault.flush();
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 6 hours));
    }
}
