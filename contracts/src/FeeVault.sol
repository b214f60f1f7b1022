// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Emissions} from "./Emissions.sol";
import {NeuroToken} from "./NeuroToken.sol";

/// @title Holds the treasury and burn shares of inference fees until the hourly flush
/// @notice `Payments` sends each fee's treasury and burn shares here and books them with `accrue`; anyone (the
/// keeper, hourly) calls `flush` to burn the burn share and send the treasury share to the treasury.
/// @dev Invariant: `token.balanceOf(this) >= pendingBurn + pendingTreasury`. `accrue` books only tokens already
/// received and not yet booked, so anyone may call it (booking a donation is harmless).
contract FeeVault is AccessControl {
    using SafeERC20 for NeuroToken;

    /// @notice The NEURO token.
    NeuroToken public immutable token;
    /// @notice Source of the epoch number reported by `FeesFlushed`.
    Emissions public immutable emissions;
    /// @notice Receives the treasury share (the timelock; governable).
    address public treasury;
    /// @notice Booked and not yet burned.
    uint256 public pendingBurn;
    /// @notice Booked and not yet sent to the treasury.
    uint256 public pendingTreasury;
    /// @notice Burned by flushes since deployment.
    uint256 public totalBurned;
    /// @notice Sent to the treasury by flushes since deployment.
    uint256 public totalToTreasury;

    /// @notice Fee shares were booked.
    event FeesAccrued(uint256 toBurn, uint256 toTreasury);
    /// @notice Pending fees were burned and sent to the treasury.
    event FeesFlushed(uint256 indexed epoch, uint256 burned, uint256 toTreasury);
    /// @notice The treasury changed.
    event TreasurySet(address oldTreasury, address newTreasury);

    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice `accrue` booked more than the vault received.
    error UnbackedAccrual(uint256 booked, uint256 available);
    /// @notice `flush` found nothing pending.
    error NothingToFlush();

    /// @notice Deploys the vault.
    /// @param token_ The NEURO token.
    /// @param emissions_ The emissions contract (epoch clock).
    /// @param treasury_ Receives the treasury share.
    /// @param admin The timelock.
    constructor(NeuroToken token_, Emissions emissions_, address treasury_, address admin) {
        if (address(token_) == address(0) || address(emissions_) == address(0) || admin == address(0)) {
            revert ZeroAddress();
        }
        token = token_;
        emissions = emissions_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setTreasury(treasury_);
    }

    /// @notice Books tokens already transferred to the vault as burn and treasury shares.
    /// @param toBurn Amount to burn at the next flush.
    /// @param toTreasury Amount to send to the treasury at the next flush.
    function accrue(uint256 toBurn, uint256 toTreasury) external {
        uint256 booked = pendingBurn + pendingTreasury + toBurn + toTreasury;
        uint256 available = token.balanceOf(address(this));
        if (booked > available) revert UnbackedAccrual(booked, available);
        pendingBurn += toBurn;
        pendingTreasury += toTreasury;
        emit FeesAccrued(toBurn, toTreasury);
    }

    /// @notice Burns the pending burn share and sends the pending treasury share. Permissionless.
    /// @return burned Amount burned.
    /// @return toTreasury Amount sent to the treasury.
    function flush() external returns (uint256 burned, uint256 toTreasury) {
        burned = pendingBurn;
        toTreasury = pendingTreasury;
        if (burned == 0 && toTreasury == 0) revert NothingToFlush();
        pendingBurn = 0;
        pendingTreasury = 0;
        totalBurned += burned;
        totalToTreasury += toTreasury;
        if (burned > 0) token.burn(burned);
        if (toTreasury > 0) token.safeTransfer(treasury, toTreasury);
        emit FeesFlushed(emissions.currentEpoch(), burned, toTreasury);
    }

    /// @notice Sets the treasury.
    /// @param newTreasury Non-zero address.
    function setTreasury(address newTreasury) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTreasury(newTreasury);
    }

    function _setTreasury(address newTreasury) private {
        if (newTreasury == address(0)) revert ZeroAddress();
        emit TreasurySet(treasury, newTreasury);
        treasury = newTreasury;
    }
}
