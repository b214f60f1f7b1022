// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {VestingWallet} from "@openzeppelin/contracts/finance/VestingWallet.sol";
import {VestingWalletCliff} from "@openzeppelin/contracts/finance/VestingWalletCliff.sol";

/// @title Linear vesting with a cliff for genesis allocations (team, advisors, investors)
/// @notice Releases linearly over `duration` from `start`; nothing is releasable before `start + cliff`.
/// The beneficiary owns the wallet and can transfer that ownership (OpenZeppelin `Ownable`).
contract NeuroVestingWallet is VestingWalletCliff {
    /// @notice Creates a vesting wallet.
    /// @param beneficiary Receives released tokens and owns the wallet.
    /// @param start Vesting start (unix seconds).
    /// @param duration Total vesting time in seconds (4 years for genesis allocations).
    /// @param cliff Seconds after `start` before anything vests (1 year for genesis allocations).
    constructor(address beneficiary, uint64 start, uint64 duration, uint64 cliff)
        VestingWallet(beneficiary, start, duration)
        VestingWalletCliff(cliff)
    {}
}
