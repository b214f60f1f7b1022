// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A governable parameter was set outside its bounds.
error ParameterOutOfBounds(uint256 value, uint256 min, uint256 max);

/// @title Bounds checks shared by every governable parameter
library Bounds {
    /// @dev Reverts with {ParameterOutOfBounds} unless `min <= value <= max`.
    function check(uint256 value, uint256 min, uint256 max) internal pure {
        if (value < min || value > max) revert ParameterOutOfBounds(value, min, max);
    }
}
