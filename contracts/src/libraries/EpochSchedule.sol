// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title Parameters that are fixed per epoch
/// @notice A value keyed by the epoch from which it applies. A change made during epoch `c` applies from epoch
/// `c + 1`, so the value that governs an epoch is known when the epoch starts and never moves under the people
/// who work in it (floor prices, submission windows, reward rates).
/// @dev A thin layer over OpenZeppelin `Checkpoints.Trace208`: O(1) for the current and next epoch, O(log n) for
/// older ones. Several changes within one epoch overwrite each other (same key).
library EpochSchedule {
    using Checkpoints for Checkpoints.Trace208;

    /// @dev Sets `value` from epoch `fromEpoch` on; `fromEpoch` must not precede an already scheduled change.
    function schedule(Checkpoints.Trace208 storage self, uint256 fromEpoch, uint256 value) internal {
        self.push(SafeCast.toUint48(fromEpoch), SafeCast.toUint208(value));
    }

    /// @dev The value that applies to `epoch` (zero before the first scheduled value).
    function at(Checkpoints.Trace208 storage self, uint256 epoch) internal view returns (uint256) {
        return self.upperLookupRecent(SafeCast.toUint48(epoch));
    }

    /// @dev The newest scheduled value and the epoch it applies from.
    function newest(Checkpoints.Trace208 storage self) internal view returns (uint256 value, uint256 fromEpoch) {
        (, uint48 key, uint208 v) = self.latestCheckpoint();
        return (v, key);
    }
}
