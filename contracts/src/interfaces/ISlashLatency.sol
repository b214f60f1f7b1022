// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title How long governance needs to slash
/// @notice Implemented by the Governor: the staking vault's unbonding period must stay longer than this, so that
/// stake cannot leave before a slash proposal made against it can execute.
interface ISlashLatency {
    /// @notice Voting delay + voting period + timelock delay + an execution margin, in seconds.
    function slashLatency() external view returns (uint256);

    /// @notice Reverts unless the unbonding period exceeds the latency the timelock delay `newDelay` would give.
    /// @param newDelay A proposed timelock delay.
    function checkTimelockDelay(uint256 newDelay) external view;
}
