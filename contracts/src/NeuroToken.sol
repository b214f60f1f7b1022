// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title NEURO, the token of the Neuro inference network
/// @notice Fixed genesis allocation plus a 400M mining allocation that only the emissions contract can mint.
/// @dev Invariants: `totalSupply() <= CAP` on every path (ERC20Capped), and `minedSupply <= MINING_ALLOCATION`.
/// Burns lower `totalSupply` but never `minedSupply`, so burned tokens can never be minted again.
contract NeuroToken is ERC20, ERC20Permit, ERC20Burnable, ERC20Capped {
    /// @notice Hard cap on the supply: 1,000,000,000 NEURO.
    uint256 public constant CAP = 1_000_000_000 ether;
    /// @notice Genesis share of the DAO treasury (the timelock): 20%.
    uint256 public constant TREASURY_ALLOCATION = 200_000_000 ether;
    /// @notice Genesis share of team and advisors, vested: 20%.
    uint256 public constant TEAM_ALLOCATION = 200_000_000 ether;
    /// @notice Genesis share of early investors, vested: 15%.
    uint256 public constant INVESTOR_ALLOCATION = 150_000_000 ether;
    /// @notice Genesis share for liquidity and marketing: 5%.
    uint256 public constant LIQUIDITY_ALLOCATION = 50_000_000 ether;
    /// @notice Mining allocation, minted over time by the emissions contract only: 40%.
    uint256 public constant MINING_ALLOCATION = 400_000_000 ether;

    /// @notice The only address allowed to mint, bounded by `MINING_ALLOCATION`.
    address public immutable emissionsMinter;
    /// @notice Total ever minted by `emissionsMinter`.
    uint256 public minedSupply;

    /// @notice Emitted for every emission mint.
    event EmissionMinted(address indexed to, uint256 amount, uint256 minedSupply);

    /// @notice A genesis recipient or the minter is the zero address.
    error ZeroAddress();
    /// @notice The caller is not the emissions contract.
    error NotEmissionsMinter(address caller);
    /// @notice The mint would exceed the mining allocation.
    error MiningAllocationExceeded(uint256 requested, uint256 remaining);

    /// @notice Mints the genesis allocation and fixes the emissions minter.
    /// @param treasury DAO treasury (the timelock), receives 20%.
    /// @param teamVesting Vesting wallet of team and advisors, receives 20%.
    /// @param investorVesting Vesting wallet of early investors, receives 15%.
    /// @param liquidity Liquidity and marketing address, receives 5%.
    /// @param minter Emissions contract, the only account that can mint the remaining 40%.
    constructor(address treasury, address teamVesting, address investorVesting, address liquidity, address minter)
        ERC20("Neuro", "NEURO")
        ERC20Permit("Neuro")
        ERC20Capped(CAP)
    {
        if (
            treasury == address(0) || teamVesting == address(0) || investorVesting == address(0)
                || liquidity == address(0) || minter == address(0)
        ) revert ZeroAddress();
        emissionsMinter = minter;
        _mint(treasury, TREASURY_ALLOCATION);
        _mint(teamVesting, TEAM_ALLOCATION);
        _mint(investorVesting, INVESTOR_ALLOCATION);
        _mint(liquidity, LIQUIDITY_ALLOCATION);
    }

    /// @notice Mints newly emitted NEURO from the mining allocation.
    /// @param to Recipient (the emissions contract itself, which then pays claims).
    /// @param amount Amount in wei.
    function mintEmission(address to, uint256 amount) external {
        if (msg.sender != emissionsMinter) revert NotEmissionsMinter(msg.sender);
        uint256 remaining = MINING_ALLOCATION - minedSupply;
        if (amount > remaining) revert MiningAllocationExceeded(amount, remaining);
        minedSupply += amount;
        _mint(to, amount);
        emit EmissionMinted(to, amount, minedSupply);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped) {
        super._update(from, to, value);
    }
}
