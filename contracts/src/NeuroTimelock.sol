// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {Bounds} from "./libraries/Bounds.sol";
import {ISlashLatency} from "./interfaces/ISlashLatency.sol";

/// @title The DAO's timelock: owner of every protocol parameter and holder of the treasury
/// @notice OpenZeppelin `TimelockController` whose minimum delay stays within bounds and short enough that a
/// slash passed by the Governor executes before the accused's stake can unbond (`ISlashLatency`).
contract NeuroTimelock is TimelockController {
    /// @notice Lower bound of the minimum delay.
    uint256 public constant MIN_DELAY_FLOOR = 1 minutes;
    /// @notice Upper bound of the minimum delay.
    uint256 public constant MIN_DELAY_CEILING = 30 days;

    /// @notice The Governor that checks a new delay against the unbonding period (zero: not checked).
    ISlashLatency public slashLatencyGuard;

    /// @notice The slash latency guard changed.
    event SlashLatencyGuardSet(address oldGuard, address newGuard);

    /// @notice Deploys the timelock.
    /// @param minDelay Initial minimum delay, within bounds.
    /// @param proposers Accounts granted the proposer and canceller roles (the Governor only).
    /// @param executors Accounts granted the executor role (`address(0)`: anyone may execute).
    /// @param admin Optional temporary admin for wiring; must renounce afterwards (zero for none).
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {
        Bounds.check(minDelay, MIN_DELAY_FLOOR, MIN_DELAY_CEILING);
    }

    /// @notice Changes the minimum delay; callable only by the timelock itself (through a proposal).
    /// @param newDelay New delay in seconds, within [MIN_DELAY_FLOOR, MIN_DELAY_CEILING].
    function updateDelay(uint256 newDelay) public override {
        Bounds.check(newDelay, MIN_DELAY_FLOOR, MIN_DELAY_CEILING);
        if (address(slashLatencyGuard) != address(0)) slashLatencyGuard.checkTimelockDelay(newDelay);
        super.updateDelay(newDelay);
    }

    /// @notice Sets the Governor that checks new delays (the admin while wiring, then the timelock itself).
    /// @param guard The Governor.
    function setSlashLatencyGuard(ISlashLatency guard) external onlyRole(DEFAULT_ADMIN_ROLE) {
        emit SlashLatencyGuardSet(address(slashLatencyGuard), address(guard));
        slashLatencyGuard = guard;
        if (address(guard) != address(0)) guard.checkTimelockDelay(getMinDelay());
    }
}
