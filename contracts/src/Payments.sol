// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Emissions} from "./Emissions.sol";
import {FeeVault} from "./FeeVault.sol";
import {NeuroToken} from "./NeuroToken.sol";
import {Bounds} from "./libraries/Bounds.sol";

/// @title Inference payments: deposits, signed allowances, funds locked per allowance, cumulative redemptions
/// @notice Users deposit NEURO and authorise a miner with an EIP-712 `Allowance`, which they open on chain:
/// opening locks the allowance's cap out of the deposit for that miner alone, so the same NEURO can never be
/// promised to two miners. The miner redeems cumulative amounts up to the cap; each redemption pays only the
/// increase, split between the miner, the treasury and a burn. A user can revoke an opened allowance: the miner
/// can still redeem usage of the epoch of the revocation (and earlier) while that epoch's submission window is
/// open, then the user releases what is left back into the deposit (also after expiry). An allowance that was
/// never opened is redeemed from the free deposit, first come first served (miners should not rely on it).
/// Withdrawals wait `withdrawalDelay`.
/// @dev Invariants: `token.balanceOf(this) == Σ deposits + Σ locked`; for each allowance, `redeemed <= cap`; an
/// opened allowance is paid only from its own lock; each redeemed
/// fee splits exactly into miner + treasury + burn shares. Fees are booked per (miner, epoch) for the usage
/// ledger, together with the part of them that was burned: the burned part is what caps the emission that work
/// can earn (see `Emissions`). Each redemption names the model it paid for, so fees paid for one model can only
/// back work on that model. Signatures may come from EOAs (ECDSA) or contract wallets such as a Safe (ERC-1271).
contract Payments is AccessControl, EIP712 {
    using SafeERC20 for NeuroToken;

    /// @notice EIP-712 type of an allowance.
    bytes32 public constant ALLOWANCE_TYPEHASH =
        keccak256("Allowance(address user,address miner,uint256 cap,uint256 expiry,uint256 nonce)");
    /// @notice Denominator of basis-point shares.
    uint256 public constant BPS = 10_000;
    /// @notice Bounds of the miner's share of a fee.
    uint256 public constant MIN_MINER_FEE_BPS = 5000;
    /// @notice Upper bound of the miner's share of a fee.
    uint256 public constant MAX_MINER_FEE_BPS = 9000;
    /// @notice Upper bound of the treasury's share of a fee.
    uint256 public constant MAX_TREASURY_FEE_BPS = 3000;
    /// @notice Lower bound of the burned share of a fee (the remainder after miner and treasury). Emission is
    /// capped by burned fees, so a burn share of zero would stop all rewards.
    uint256 public constant MIN_BURN_FEE_BPS = 1000;
    /// @notice Bounds of the withdrawal delay.
    uint256 public constant MIN_WITHDRAWAL_DELAY = 10 minutes;
    /// @notice Upper bound of the withdrawal delay.
    uint256 public constant MAX_WITHDRAWAL_DELAY = 7 days;

    /// @notice A user's signed authorisation for one miner to charge up to `cap` until `expiry`.
    struct Allowance {
        address user;
        address miner;
        uint256 cap;
        uint256 expiry;
        uint256 nonce;
    }

    /// @notice Fees booked for one (miner, epoch, model): gross, and the part that was burned.
    struct FeeBook {
        uint128 gross;
        uint128 burned;
    }

    /// @notice The funds locked for one opened allowance.
    /// @param amount NEURO still locked (the cap minus what was redeemed, until released).
    /// @param opened Whether the allowance was opened (a digest opens once).
    /// @param revoked Whether the user revoked it.
    /// @param revokedEpoch The epoch it was revoked in: usage of later epochs cannot be redeemed.
    struct Lock {
        uint128 amount;
        bool opened;
        bool revoked;
        uint64 revokedEpoch;
    }

    /// @notice What was redeemed under one allowance: the cumulative amount, its burned part, and whether the
    /// user revealed it as probe fees of a validator.
    struct Settlement {
        uint128 redeemed;
        uint120 burned;
        bool probeRevealed;
    }

    /// @notice A pending withdrawal request.
    struct Withdrawal {
        uint192 amount;
        uint64 availableAt;
    }

    /// @notice The NEURO token.
    NeuroToken public immutable token;
    /// @notice Epoch clock.
    Emissions public immutable emissions;
    /// @notice Receives the treasury and burn shares.
    FeeVault public immutable feeVault;

    /// @notice Miner's share of each fee, in basis points (governable).
    uint256 public minerFeeBps;
    /// @notice Treasury's share of each fee, in basis points (governable); the rest is burned.
    uint256 public treasuryFeeBps;
    /// @notice Seconds between a withdrawal request and its completion (governable).
    uint256 public withdrawalDelay;

    /// @notice Deposited balance of each user.
    mapping(address user => uint256) public deposits;
    mapping(bytes32 allowanceDigest => Settlement) private _settlements;
    mapping(address miner => mapping(uint256 epoch => mapping(bytes32 modelId => FeeBook))) private _fees;
    mapping(address user => Withdrawal) private _withdrawals;
    mapping(bytes32 allowanceDigest => Lock) private _locks;

    /// @notice `user` deposited `amount`.
    event Deposited(address indexed user, uint256 amount);
    /// @notice `user` asked to withdraw `amount`, available at `availableAt`.
    event WithdrawalRequested(address indexed user, uint256 amount, uint256 availableAt);
    /// @notice `user` withdrew `amount`.
    event Withdrawn(address indexed user, uint256 amount);
    /// @notice A miner redeemed `amount` (the increase to `cumulative`) under an allowance, for usage of
    /// `modelId` in `epoch`.
    event Redeemed(
        bytes32 indexed allowanceDigest,
        address indexed user,
        address indexed miner,
        uint256 epoch,
        bytes32 modelId,
        uint256 amount,
        uint256 cumulative,
        uint256 toMiner,
        uint256 toTreasury,
        uint256 burned
    );
    /// @notice `user` opened an allowance for `miner`, locking `amount` (what its cap leaves) out of the deposit.
    event AllowanceOpened(
        bytes32 indexed allowanceDigest, address indexed user, address indexed miner, uint256 amount, uint256 expiry
    );
    /// @notice `user` revoked an allowance in `epoch`: usage up to that epoch stays redeemable in its window.
    event AllowanceRevoked(bytes32 indexed allowanceDigest, address indexed user, uint256 epoch);
    /// @notice `user` took the `amount` left in an allowance's lock back into the deposit.
    event AllowanceReleased(bytes32 indexed allowanceDigest, address indexed user, uint256 amount);
    /// @notice `user` revealed an expired allowance as probes paid for `validator`: `amount` was redeemed under
    /// it, `burned` of which was burned.
    event ProbeFeesRevealed(
        bytes32 indexed allowanceDigest, address indexed user, address indexed validator, uint256 amount, uint256 burned
    );
    /// @notice The fee split changed.
    event FeeSplitSet(uint256 minerBps, uint256 treasuryBps, uint256 burnBps);
    /// @notice The withdrawal delay changed.
    event WithdrawalDelaySet(uint256 oldDelay, uint256 newDelay);

    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice An amount argument is zero.
    error ZeroAmount();
    /// @notice A withdrawal asked for more than the deposit.
    error InsufficientDeposit(address user, uint256 available, uint256 needed);
    /// @notice No withdrawal was requested.
    error NoWithdrawalRequested();
    /// @notice The withdrawal delay has not passed.
    error WithdrawalNotReady(uint256 availableAt);
    /// @notice The caller is not the allowance's miner.
    error WrongMiner(address caller, address miner);
    /// @notice The allowance has expired.
    error AllowanceExpired(uint256 expiry);
    /// @notice The signature is not the user's for this allowance, chain and contract.
    error InvalidSignature();
    /// @notice The cumulative amount exceeds the allowance's cap.
    error OverCap(uint256 cumulative, uint256 cap);
    /// @notice The cumulative amount does not exceed what was already redeemed (a replay).
    error NothingToRedeem(uint256 cumulative, uint256 alreadyRedeemed);
    /// @notice The epoch is neither the current one nor the previous one within its submission window, or it is
    /// finalized.
    error EpochNotRedeemable(uint256 epoch, uint256 current);
    /// @notice The model id is zero.
    error InvalidModelId();
    /// @notice Only the allowance's user may open, revoke or release it.
    error NotAllowanceUser(address caller, address user);
    /// @notice The allowance was already opened (a digest opens once).
    error AlreadyOpened(bytes32 allowanceDigest);
    /// @notice The allowance was never opened.
    error NotOpened(bytes32 allowanceDigest);
    /// @notice The allowance was already revoked.
    error AlreadyRevoked(bytes32 allowanceDigest);
    /// @notice The usage is of an epoch after the allowance's revocation.
    error RevokedBefore(uint256 epoch, uint256 revokedEpoch);
    /// @notice The lock cannot be released yet: the allowance is live, or its revocation epoch is still open.
    error NotReleasable(bytes32 allowanceDigest);
    /// @notice The allowance has not expired yet: its redemptions are not final.
    error AllowanceNotExpired(uint256 expiry);
    /// @notice The allowance was already revealed as probe fees.
    error AlreadyRevealed(bytes32 allowanceDigest);
    /// @notice Nothing was redeemed under the revealed allowances.
    error NothingRevealed();
    /// @notice The allowance's lock holds less than the redemption.
    error InsufficientLock(bytes32 allowanceDigest, uint256 available, uint256 needed);

    /// @notice Deploys the payments contract.
    /// @param token_ The NEURO token.
    /// @param emissions_ Epoch clock and submission window.
    /// @param feeVault_ Receives the treasury and burn shares.
    /// @param admin The timelock.
    /// @param withdrawalDelay_ Initial withdrawal delay, within bounds.
    /// @param minerFeeBps_ Initial miner share, within bounds.
    /// @param treasuryFeeBps_ Initial treasury share, within bounds; burn is the remainder.
    constructor(
        NeuroToken token_,
        Emissions emissions_,
        FeeVault feeVault_,
        address admin,
        uint256 withdrawalDelay_,
        uint256 minerFeeBps_,
        uint256 treasuryFeeBps_
    ) EIP712("Neuro Payments", "1") {
        if (
            address(token_) == address(0) || address(emissions_) == address(0) || address(feeVault_) == address(0)
                || admin == address(0)
        ) revert ZeroAddress();
        token = token_;
        emissions = emissions_;
        feeVault = feeVault_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setWithdrawalDelay(withdrawalDelay_);
        _setFeeSplit(minerFeeBps_, treasuryFeeBps_);
    }

    // ---------------------------------------------------------------- user funds

    /// @notice Deposits `amount` NEURO (approved beforehand) to pay for inference.
    /// @param amount Amount in wei.
    function deposit(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        deposits[msg.sender] += amount;
        emit Deposited(msg.sender, amount);
    }

    /// @notice Starts a withdrawal of `amount`; replaces any pending request and restarts the delay.
    /// @dev Until completion the deposit stays redeemable by miners holding the user's allowances.
    /// @param amount Amount in wei, at most the current deposit.
    function requestWithdrawal(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 available = deposits[msg.sender];
        if (amount > available) revert InsufficientDeposit(msg.sender, available, amount);
        uint256 availableAt = block.timestamp + withdrawalDelay;
        _withdrawals[msg.sender] = Withdrawal(uint192(amount), uint64(availableAt));
        emit WithdrawalRequested(msg.sender, amount, availableAt);
    }

    /// @notice Completes the pending withdrawal after the delay; pays the requested amount or, if miners redeemed
    /// part of the deposit meanwhile, what is left.
    /// @return amount Amount paid.
    function completeWithdrawal() external returns (uint256 amount) {
        Withdrawal memory request = _withdrawals[msg.sender];
        if (request.amount == 0) revert NoWithdrawalRequested();
        if (block.timestamp < request.availableAt) revert WithdrawalNotReady(request.availableAt);
        delete _withdrawals[msg.sender];
        uint256 available = deposits[msg.sender];
        amount = request.amount < available ? request.amount : available;
        deposits[msg.sender] = available - amount;
        if (amount > 0) token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// @notice The pending withdrawal of `user` (amount zero if none).
    /// @param user User.
    function pendingWithdrawal(address user) external view returns (Withdrawal memory) {
        return _withdrawals[user];
    }

    // ---------------------------------------------------------------- allowance locks

    /// @notice Opens `allowance`: locks what its cap leaves out of the caller's deposit for its miner alone, until it is
    /// redeemed, or released after expiry or revocation.
    /// @dev Only the user opens its allowances, so opening needs no signature; redemption still does.
    /// @param allowance The allowance; the caller must be `allowance.user`.
    /// @return digest The allowance's EIP-712 digest.
    function openAllowance(Allowance calldata allowance) external returns (bytes32 digest) {
        if (msg.sender != allowance.user) revert NotAllowanceUser(msg.sender, allowance.user);
        if (allowance.miner == address(0)) revert ZeroAddress();
        if (allowance.cap == 0) revert ZeroAmount();
        if (block.timestamp > allowance.expiry) revert AllowanceExpired(allowance.expiry);
        digest = allowanceDigest(allowance);
        Lock storage lock = _locks[digest];
        if (lock.opened) revert AlreadyOpened(digest);
        // What is still redeemable under the cap (less than the cap if it was redeemed before being opened).
        uint256 amount = allowance.cap - _settlements[digest].redeemed;
        if (amount == 0) revert ZeroAmount();
        uint256 available = deposits[msg.sender];
        if (amount > available) revert InsufficientDeposit(msg.sender, available, amount);
        deposits[msg.sender] = available - amount;
        lock.opened = true;
        lock.amount = SafeCast.toUint128(amount);
        emit AllowanceOpened(digest, msg.sender, allowance.miner, amount, allowance.expiry);
    }

    /// @notice Revokes an opened allowance now. Its miner can still redeem usage of the current epoch and
    /// earlier while the current epoch's submission window is open; then the caller can release the rest.
    /// @param allowance The allowance; the caller must be `allowance.user`.
    function revokeAllowance(Allowance calldata allowance) external {
        if (msg.sender != allowance.user) revert NotAllowanceUser(msg.sender, allowance.user);
        bytes32 digest = allowanceDigest(allowance);
        Lock storage lock = _locks[digest];
        if (!lock.opened) revert NotOpened(digest);
        if (lock.revoked) revert AlreadyRevoked(digest);
        uint256 epoch = emissions.currentEpoch();
        lock.revoked = true;
        lock.revokedEpoch = SafeCast.toUint64(epoch);
        emit AllowanceRevoked(digest, msg.sender, epoch);
    }

    /// @notice Moves what is left in an allowance's lock back into the caller's deposit, once nothing more can be
    /// redeemed under it: after its expiry, or once the submission window of its revocation epoch has passed.
    /// @param allowance The allowance; the caller must be `allowance.user`.
    /// @return amount The amount released.
    function releaseAllowance(Allowance calldata allowance) external returns (uint256 amount) {
        if (msg.sender != allowance.user) revert NotAllowanceUser(msg.sender, allowance.user);
        bytes32 digest = allowanceDigest(allowance);
        Lock storage lock = _locks[digest];
        if (!lock.opened) revert NotOpened(digest);
        bool expired = block.timestamp > allowance.expiry;
        bool revocationSettled = lock.revoked && !emissions.isOpen(lock.revokedEpoch);
        if (!expired && !revocationSettled) revert NotReleasable(digest);
        amount = lock.amount;
        lock.amount = 0;
        deposits[msg.sender] += amount;
        emit AllowanceReleased(digest, msg.sender, amount);
    }

    /// @notice The lock of the allowance with EIP-712 digest `digest`.
    /// @param digest The allowance's digest (see `allowanceDigest`).
    function lockOf(bytes32 digest) external view returns (Lock memory) {
        return _locks[digest];
    }

    // ---------------------------------------------------------------- redemption

    /// @notice Redeems an allowance up to `cumulative` for usage of `modelId` in `epoch`; pays only the increase.
    /// @param allowance The user's allowance; `allowance.miner` must be the caller.
    /// @param signature The user's EIP-712 signature (or ERC-1271 contract signature).
    /// @param cumulative Total charged under this allowance so far, at most `allowance.cap`.
    /// @param epoch Epoch of the usage: the current one, or the previous one within its submission window.
    /// @param modelId Model the usage was served with: these fees can back work on this model only.
    /// @return amount The increase paid out of the user's deposit.
    function redeem(
        Allowance calldata allowance,
        bytes calldata signature,
        uint256 cumulative,
        uint256 epoch,
        bytes32 modelId
    ) external returns (uint256 amount) {
        if (msg.sender != allowance.miner) revert WrongMiner(msg.sender, allowance.miner);
        if (modelId == bytes32(0)) revert InvalidModelId();
        if (block.timestamp > allowance.expiry) revert AllowanceExpired(allowance.expiry);
        if (cumulative > allowance.cap) revert OverCap(cumulative, allowance.cap);
        _checkEpoch(epoch);
        bytes32 digest = allowanceDigest(allowance);
        if (!_signedByUser(allowance.user, digest, signature)) revert InvalidSignature();
        uint256 already = _settlements[digest].redeemed;
        if (cumulative <= already) revert NothingToRedeem(cumulative, already);

        amount = cumulative - already;
        Lock storage lock = _locks[digest];
        if (lock.opened) {
            // Paid from the allowance's own lock, which no other miner can touch.
            if (lock.revoked && epoch > lock.revokedEpoch) revert RevokedBefore(epoch, lock.revokedEpoch);
            uint256 locked = lock.amount;
            if (amount > locked) revert InsufficientLock(digest, locked, amount);
            lock.amount = uint128(locked - amount);
        } else {
            uint256 available = deposits[allowance.user];
            if (amount > available) revert InsufficientDeposit(allowance.user, available, amount);
            deposits[allowance.user] = available - amount;
        }
        _settle(digest, allowance.user, epoch, modelId, amount, cumulative);
    }

    /// @notice Reveals expired allowances of the caller as probes it paid for `validator`, whose emission pool
    /// then counts their burned fees in the current epoch (`Emissions.recordValidatorFees`).
    /// @dev A validator pays probes from accounts no miner can tell from organic users while the allowances are
    /// live; once they expired, their redemptions are final and revealing them gives nothing away. Any user may
    /// name any validator: the reward is capped below the burned fee, so revealing never pays more than it cost.
    /// @param validator Validator credited; must hold the minimum validator stake.
    /// @param allowances Expired allowances of the caller, each revealed once.
    /// @return amount Total redeemed under them.
    /// @return burned Its burned part.
    function revealProbeFees(address validator, Allowance[] calldata allowances)
        external
        returns (uint256 amount, uint256 burned)
    {
        for (uint256 i; i < allowances.length; ++i) {
            Allowance calldata allowance = allowances[i];
            if (allowance.user != msg.sender) revert NotAllowanceUser(msg.sender, allowance.user);
            if (block.timestamp <= allowance.expiry) revert AllowanceNotExpired(allowance.expiry);
            bytes32 digest = allowanceDigest(allowance);
            Settlement storage settlement = _settlements[digest];
            if (settlement.probeRevealed) revert AlreadyRevealed(digest);
            settlement.probeRevealed = true;
            amount += settlement.redeemed;
            burned += settlement.burned;
            emit ProbeFeesRevealed(digest, msg.sender, validator, settlement.redeemed, settlement.burned);
        }
        if (burned == 0) revert NothingRevealed();
        emissions.recordValidatorFees(validator, amount, burned);
    }

    /// @notice Cumulative amount redeemed under an allowance.
    /// @param digest The allowance's EIP-712 digest.
    function redeemed(bytes32 digest) external view returns (uint256) {
        return _settlements[digest].redeemed;
    }

    /// @notice What was redeemed under an allowance, its burned part, and whether it was revealed as probes.
    /// @param digest The allowance's EIP-712 digest.
    function settlementOf(bytes32 digest) external view returns (Settlement memory) {
        return _settlements[digest];
    }

    /// @notice Fees `miner` redeemed for usage of `modelId` in `epoch`, and the part of them that was burned.
    /// @param miner Miner.
    /// @param epoch Epoch.
    /// @param modelId Model.
    function feesRedeemed(address miner, uint256 epoch, bytes32 modelId)
        external
        view
        returns (uint256 gross, uint256 burned)
    {
        FeeBook memory book = _fees[miner][epoch][modelId];
        return (book.gross, book.burned);
    }

    /// @dev The user's own key always counts (canonical ECDSA: low `s`, `v` of 27 or 28), even when the user's
    /// account has code (an EIP-7702 delegation): otherwise a user could delegate to a contract that rejects
    /// everything after being served and turn its signed allowances unredeemable. A contract wallet (a Safe) is
    /// checked through ERC-1271.
    function _signedByUser(address user, bytes32 digest, bytes calldata signature) private view returns (bool) {
        (address recovered, ECDSA.RecoverError recoverError,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (recoverError == ECDSA.RecoverError.NoError && recovered == user) return true;
        return SignatureChecker.isValidERC1271SignatureNowCalldata(user, digest, signature);
    }

    /// @notice The EIP-712 digest a user signs for `allowance` (on this chain and contract).
    /// @param allowance The allowance.
    function allowanceDigest(Allowance calldata allowance) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ALLOWANCE_TYPEHASH,
                    allowance.user,
                    allowance.miner,
                    allowance.cap,
                    allowance.expiry,
                    allowance.nonce
                )
            )
        );
    }

    /// @notice What is left to redeem under `allowance`: min(cap − redeemed, its lock) if it was opened,
    /// min(cap − redeemed, the user's free deposit) otherwise.
    /// @param allowance The allowance.
    function remaining(Allowance calldata allowance) external view returns (uint256) {
        bytes32 digest = allowanceDigest(allowance);
        uint256 left = allowance.cap - _settlements[digest].redeemed;
        Lock memory lock = _locks[digest];
        uint256 available = lock.opened ? lock.amount : deposits[allowance.user];
        return left < available ? left : available;
    }

    // ---------------------------------------------------------------- governance

    /// @notice Sets the fee split; the burn share is the remainder.
    /// @param minerBps Miner share, within [MIN_MINER_FEE_BPS, MAX_MINER_FEE_BPS].
    /// @param treasuryBps Treasury share, at most MAX_TREASURY_FEE_BPS and at most
    /// `BPS - minerBps - MIN_BURN_FEE_BPS` (the burn share never drops below MIN_BURN_FEE_BPS).
    function setFeeSplit(uint256 minerBps, uint256 treasuryBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFeeSplit(minerBps, treasuryBps);
    }

    /// @notice Sets the withdrawal delay; applies to requests made afterwards.
    /// @param newDelay Seconds, within [MIN_WITHDRAWAL_DELAY, MAX_WITHDRAWAL_DELAY].
    function setWithdrawalDelay(uint256 newDelay) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setWithdrawalDelay(newDelay);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Splits a redeemed `amount`, books it for the ledger, pays the miner and the fee vault.
    function _settle(bytes32 digest, address user, uint256 epoch, bytes32 modelId, uint256 amount, uint256 cumulative)
        private
    {
        uint256 toMiner = amount * minerFeeBps / BPS;
        uint256 toTreasury = amount * treasuryFeeBps / BPS;
        uint256 burned = amount - toMiner - toTreasury;
        Settlement storage settlement = _settlements[digest];
        settlement.redeemed = SafeCast.toUint128(cumulative);
        settlement.burned += SafeCast.toUint120(burned);
        FeeBook storage book = _fees[msg.sender][epoch][modelId];
        book.gross += SafeCast.toUint128(amount);
        book.burned += SafeCast.toUint128(burned);
        token.safeTransfer(msg.sender, toMiner);
        if (toTreasury + burned > 0) {
            token.safeTransfer(address(feeVault), toTreasury + burned);
            feeVault.accrue(burned, toTreasury);
        }
        emit Redeemed(digest, user, msg.sender, epoch, modelId, amount, cumulative, toMiner, toTreasury, burned);
    }

    function _checkEpoch(uint256 epoch) private view {
        if (!emissions.isOpen(epoch)) revert EpochNotRedeemable(epoch, emissions.currentEpoch());
    }

    function _setFeeSplit(uint256 minerBps, uint256 treasuryBps) private {
        Bounds.check(minerBps, MIN_MINER_FEE_BPS, MAX_MINER_FEE_BPS);
        uint256 room = BPS - minerBps - MIN_BURN_FEE_BPS;
        uint256 maxTreasury = room < MAX_TREASURY_FEE_BPS ? room : MAX_TREASURY_FEE_BPS;
        Bounds.check(treasuryBps, 0, maxTreasury);
        minerFeeBps = minerBps;
        treasuryFeeBps = treasuryBps;
        emit FeeSplitSet(minerBps, treasuryBps, BPS - minerBps - treasuryBps);
    }

    function _setWithdrawalDelay(uint256 newDelay) private {
        Bounds.check(newDelay, MIN_WITHDRAWAL_DELAY, MAX_WITHDRAWAL_DELAY);
        emit WithdrawalDelaySet(withdrawalDelay, newDelay);
        withdrawalDelay = newDelay;
    }
}
