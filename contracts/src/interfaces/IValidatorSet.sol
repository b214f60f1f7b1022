// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Who counts as a validator for the validators' emission pool
/// @notice Implemented by the dispute court, which holds validator stakes.
interface IValidatorSet {
    /// @notice Whether `account` holds at least the minimum validator stake now and has since the current epoch
    /// began.
    /// @param account Address to check.
    function isValidator(address account) external view returns (bool);
}
