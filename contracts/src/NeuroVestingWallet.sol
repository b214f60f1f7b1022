// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {VestingWallet} from "@openzeppelin/contracts/finance/VestingWallet.sol";
import {VestingWalletCliff} from "@openzeppelin/contracts/finance/VestingWalletCliff.sol";
import {StakingVault} from "./StakingVault.sol";

/// @title Linear vesting with a cliff for genesis allocations, whose tokens can stake and vote while they vest
/// @notice Releases linearly over `duration` from `start`; nothing is releasable before `start + cliff`. The
/// beneficiary owns the wallet (OpenZeppelin `Ownable`) and may stake the unvested allocation in the staking
/// vault and delegate its votes, so locked allocations count in governance like any stake (one staked token, one
/// vote) without becoming transferable early: stake, unbonding and withdrawals stay inside the wallet.
/// @dev The vested amount counts the wallet's bonded and unbonding stake as part of the allocation; a slash of
/// that stake reduces the allocation. `release` pays only from the liquid balance: unstake first.
contract NeuroVestingWallet is VestingWalletCliff {
    using SafeERC20 for IERC20;

    /// @notice The staking vault this wallet may stake in (fixed: a beneficiary cannot name another contract).
    StakingVault public immutable staking;

    /// @notice The staking vault address is zero.
    error ZeroStakingVault();

    /// @notice Creates a vesting wallet.
    /// @param beneficiary Receives released tokens and owns the wallet.
    /// @param start Vesting start (unix seconds).
    /// @param duration Total vesting time in seconds (4 years for genesis allocations).
    /// @param cliff Seconds after `start` before anything vests (1 year for genesis allocations).
    /// @param staking_ The staking vault (may be deployed after this wallet, at a predicted address).
    constructor(address beneficiary, uint64 start, uint64 duration, uint64 cliff, StakingVault staking_)
        VestingWallet(beneficiary, start, duration)
        VestingWalletCliff(cliff)
    {
        if (address(staking_) == address(0)) revert ZeroStakingVault();
        staking = staking_;
    }

    /// @notice Stakes `amount` of the wallet's NEURO and delegates the votes to the beneficiary.
    /// @param amount Amount in wei, at most the wallet's liquid balance.
    function stake(uint256 amount) external onlyOwner {
        IERC20 neuro = IERC20(address(staking.token()));
        neuro.forceApprove(address(staking), amount);
        staking.stake(amount);
        if (staking.delegates(address(this)) != owner()) staking.delegate(owner());
    }

    /// @notice Starts unbonding `amount` of the wallet's stake.
    /// @param amount Amount in wei.
    function unstake(uint256 amount) external onlyOwner {
        staking.unstake(amount);
    }

    /// @notice Moves the wallet's released unbonding position back into the wallet.
    /// @return amount NEURO returned to the wallet.
    function withdrawStake() external onlyOwner returns (uint256 amount) {
        return staking.withdraw();
    }

    /// @notice Delegates the wallet's votes (for instance to a new owner).
    /// @param delegatee Account that votes with the wallet's stake.
    function delegateVotes(address delegatee) external onlyOwner {
        staking.delegate(delegatee);
    }

    /// @notice What can be released now; zero (not a revert) when a slash of the wallet's stake lowered the vested
    /// amount below what was already released.
    /// @param token Token address.
    function releasable(address token) public view override returns (uint256) {
        uint256 vested = vestedAmount(token, uint64(block.timestamp));
        uint256 done = released(token);
        return vested > done ? vested - done : 0;
    }

    /// @notice Vested amount of `token` at `timestamp`; for NEURO the allocation includes the wallet's stake.
    /// @param token Token address.
    /// @param timestamp Time.
    function vestedAmount(address token, uint64 timestamp) public view override returns (uint256) {
        uint256 allocation = IERC20(token).balanceOf(address(this)) + released(token);
        if (token == address(staking.token())) {
            allocation += staking.balanceOf(address(this)) + staking.unbonding(address(this)).amount;
        }
        return _vestingSchedule(allocation, timestamp);
    }
}
