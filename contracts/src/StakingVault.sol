// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {NeuroToken} from "./NeuroToken.sol";
import {Bounds} from "./libraries/Bounds.sol";
import {ISlashLatency} from "./interfaces/ISlashLatency.sol";

/// @title NEURO staking: bonded stake as stNEURO voting power, unbonding, slashing
/// @notice Staking NEURO mints stNEURO 1:1: a non-transferable ERC20Votes token on a timestamp clock (ERC-6372)
/// that is the DAO's voting power. Unstaking burns stNEURO at once and starts an unbonding period during which
/// the amount has no votes and can still be slashed; `withdraw` pays it out afterwards.
/// Slashing cannot be outrun: the unbonding period always exceeds the time governance needs to pass and execute
/// a slash (`ISlashLatency`, checked by every setter on either side), and an account named in a pending slash
/// cannot withdraw until the slash could have executed (a freeze set by the Governor when the proposal is made;
/// dispute resolution may also hold FREEZER_ROLE).
/// A slash proposal posts a bond in NEURO, held here: returned to the proposer if the slash executes, sent to the
/// treasury if the proposal is defeated, cancelled or expires, so freezing others' withdrawals is never free.
/// @dev Invariants: `totalSupply() == Σ bonded`;
/// `token.balanceOf(this) == totalSupply() + totalUnbonding + totalSlashBonds`.
/// Each account has one unbonding position: a new `unstake` adds to it and restarts its timer, which keeps
/// slashing O(1).
contract StakingVault is ERC20, EIP712, ERC20Votes, AccessControl {
    using SafeERC20 for NeuroToken;

    /// @notice Role allowed to slash (the timelock at deployment; governance may grant a validator committee).
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    /// @notice Role allowed to freeze withdrawals of an accused account (the Governor; later, dispute resolution).
    bytes32 public constant FREEZER_ROLE = keccak256("FREEZER_ROLE");
    /// @notice Longest a single freeze may reach into the future: a compromised freezer cannot lock funds forever.
    uint256 public constant MAX_FREEZE = 60 days;
    /// @notice Largest finder's share of a slash: most of a slash is always burned or goes to the treasury, so a
    /// validator framing a node it controls never gets its stake back.
    uint256 public constant MAX_FINDER_BPS = 5000;
    /// @notice Bounds of the slash proposal bond.
    uint256 public constant MIN_SLASH_PROPOSAL_BOND = 100 ether;
    /// @notice Upper bound of the slash proposal bond.
    uint256 public constant MAX_SLASH_PROPOSAL_BOND = 1_000_000 ether;

    /// @notice A slash proposal's bond.
    struct SlashBond {
        address proposer;
        address governor;
        uint256 amount;
    }

    /// @notice Denominator of basis-point shares.
    uint256 public constant BPS = 10_000;
    /// @notice Bounds of the unbonding period.
    uint256 public constant MIN_UNBONDING_PERIOD = 1 days;
    /// @notice Upper bound of the unbonding period.
    uint256 public constant MAX_UNBONDING_PERIOD = 30 days;
    /// @notice Bounds of the minimum stake of an active node.
    uint256 public constant MIN_NODE_STAKE_FLOOR = 1 ether;
    /// @notice Upper bound of the minimum node stake.
    uint256 public constant MIN_NODE_STAKE_CEILING = 10_000_000 ether;

    /// @notice An account's unbonding position.
    struct Unbonding {
        uint192 amount;
        uint64 releaseTime;
    }

    /// @notice The staked token.
    NeuroToken public immutable token;

    /// @notice Seconds between `unstake` and `withdraw` (governable).
    uint256 public unbondingPeriod;
    /// @notice Bonded stake a node needs to be active (governable).
    uint256 public minNodeStake;
    /// @notice Share of slashed stake that is burned, in basis points; the rest goes to the treasury (governable).
    uint256 public slashBurnBps;
    /// @notice Receives the non-burned share of slashes (the timelock; governable).
    address public treasury;
    /// @notice Sum of all unbonding positions.
    uint256 public totalUnbonding;
    /// @notice The Governor, whose slash latency bounds the unbonding period from below (zero: not checked).
    ISlashLatency public slashLatencySource;
    /// @notice Until when `freezer` forbids `account` to withdraw. Each freezer lifts only its own freeze: the
    /// Governor's permissionless release (no live slash proposal) must not lift the dispute court's.
    mapping(address account => mapping(address freezer => uint256)) public frozenBy;
    /// @notice Most distinct accounts that may ever freeze (role holders: the Governor, the court, successors).
    uint256 public constant MAX_FREEZERS = 8;
    /// @dev Every account ever granted FREEZER_ROLE (registered at the grant, so a freeze costs no more than
    /// before), so `frozenUntil` is O(MAX_FREEZERS). A revoked freezer's freezes run out at their time.
    address[] private _freezers;
    mapping(address freezer => bool) private _isFreezer;
    /// @notice NEURO a slash proposal must post (governable).
    uint256 public slashProposalBond;
    /// @notice Sum of the bonds held.
    uint256 public totalSlashBonds;
    /// @notice The bond of each slash proposal, until settled.
    mapping(uint256 proposalId => SlashBond) public slashBonds;

    mapping(address account => Unbonding) private _unbonding;

    /// @notice `account` staked `amount`.
    event Staked(address indexed account, uint256 amount);
    /// @notice `account` started unbonding `amount`; its whole position is released at `releaseTime`.
    event UnbondingStarted(address indexed account, uint256 amount, uint256 totalUnbonding, uint256 releaseTime);
    /// @notice `account` withdrew its released unbonding position.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice `account` was slashed.
    event Slashed(
        address indexed account,
        bytes32 indexed reasonHash,
        uint256 fromBonded,
        uint256 fromUnbonding,
        uint256 burned,
        uint256 toTreasury
    );
    /// @notice The unbonding period changed.
    event UnbondingPeriodSet(uint256 oldPeriod, uint256 newPeriod);
    /// @notice The minimum node stake changed.
    event MinNodeStakeSet(uint256 oldStake, uint256 newStake);
    /// @notice The burned share of slashes changed.
    event SlashBurnShareSet(uint256 oldBps, uint256 newBps);
    /// @notice The treasury changed.
    event TreasurySet(address oldTreasury, address newTreasury);
    /// @notice `finder` was paid its share of the slash of `account`.
    event FinderPaid(address indexed account, bytes32 indexed reasonHash, address indexed finder, uint256 amount);
    /// @notice Withdrawals of `account` are frozen until `until`.
    event WithdrawalsFrozen(address indexed account, uint256 until, address indexed by);
    /// @notice The freeze of `account` was lifted (no live slash proposal names it any more).
    event WithdrawalsReleased(address indexed account, address indexed by);
    /// @notice A slash proposal's bond was posted.
    event SlashBondHeld(uint256 indexed proposalId, address indexed proposer, uint256 amount);
    /// @notice A bond was returned to its proposer (`returned`) or sent to the treasury.
    event SlashBondSettled(uint256 indexed proposalId, address indexed to, uint256 amount, bool returned);
    /// @notice The slash proposal bond changed.
    event SlashProposalBondSet(uint256 oldBond, uint256 newBond);
    /// @notice The source of the slash latency changed.
    event SlashLatencySourceSet(address oldSource, address newSource);

    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice An amount argument is zero.
    error ZeroAmount();
    /// @notice `unstake` asked for more than the bonded stake.
    error InsufficientBondedStake(uint256 requested, uint256 bonded);
    /// @notice `withdraw` was called with nothing unbonding.
    error NothingUnbonding();
    /// @notice `withdraw` was called before the release time.
    error StillUnbonding(uint256 releaseTime);
    /// @notice The account has no stake to slash.
    error NothingToSlash(address account);
    /// @notice stNEURO cannot be transferred or approved.
    error NonTransferable();
    /// @notice A pending slash names the account: it may not withdraw before `until`.
    error WithdrawalsAreFrozen(uint256 until);
    /// @notice The unbonding period would not exceed the time governance needs to slash.
    error UnbondingShorterThanSlashLatency(uint256 unbondingPeriod, uint256 slashLatency);
    /// @notice A freeze reaches further than MAX_FREEZE.
    error FreezeTooLong(uint256 until, uint256 max);
    /// @notice More than MAX_FREEZERS distinct accounts would have held FREEZER_ROLE.
    error TooManyFreezers();
    /// @notice The proposal has no bond to settle.
    error NoSlashBond(uint256 proposalId);
    /// @notice The proposal is neither executed nor defeated, cancelled or expired yet.
    error SlashProposalUnresolved(uint256 proposalId);

    /// @notice Deploys the vault.
    /// @param token_ The NEURO token.
    /// @param admin Admin (the deployer while wiring, then the timelock).
    /// @param slasher First slasher (the timelock).
    /// @param treasury_ Receives the non-burned share of slashes (the timelock).
    /// @param unbondingPeriod_ Initial unbonding period, within bounds.
    /// @param minNodeStake_ Initial minimum node stake, within bounds.
    /// @param slashBurnBps_ Initial burned share of slashes, at most BPS.
    constructor(
        NeuroToken token_,
        address admin,
        address slasher,
        address treasury_,
        uint256 unbondingPeriod_,
        uint256 minNodeStake_,
        uint256 slashBurnBps_
    ) ERC20("Staked Neuro", "stNEURO") EIP712("Staked Neuro", "1") {
        if (address(token_) == address(0) || admin == address(0) || slasher == address(0)) {
            revert ZeroAddress();
        }
        token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(SLASHER_ROLE, slasher);
        _setTreasury(treasury_);
        _setUnbondingPeriod(unbondingPeriod_);
        _setMinNodeStake(minNodeStake_);
        _setSlashBurnShare(slashBurnBps_);
        _setSlashProposalBond(MIN_NODE_STAKE_FLOOR * 10_000); // 10,000 NEURO, a node's default minimum stake
    }

    // ---------------------------------------------------------------- staking

    /// @notice Stakes `amount` NEURO (approved beforehand) and mints as much stNEURO to the caller.
    /// @dev An account that has never delegated is delegated to itself, so its stake votes at once.
    /// @param amount Amount in wei.
    function stake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        if (delegates(msg.sender) == address(0)) _delegate(msg.sender, msg.sender);
        _mint(msg.sender, amount);
        emit Staked(msg.sender, amount);
    }

    /// @notice Burns `amount` stNEURO and moves it into the caller's unbonding position; restarts its timer.
    /// @param amount Amount in wei, at most the caller's bonded stake.
    function unstake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 bonded = balanceOf(msg.sender);
        if (amount > bonded) revert InsufficientBondedStake(amount, bonded);
        _burn(msg.sender, amount);
        Unbonding storage position = _unbonding[msg.sender];
        uint256 newAmount = position.amount + amount;
        uint256 releaseTime = block.timestamp + unbondingPeriod;
        position.amount = SafeCast.toUint192(newAmount);
        position.releaseTime = SafeCast.toUint64(releaseTime);
        totalUnbonding += amount;
        emit UnbondingStarted(msg.sender, amount, newAmount, releaseTime);
    }

    /// @notice Pays out the caller's unbonding position once released.
    /// @return amount NEURO paid.
    function withdraw() external returns (uint256 amount) {
        Unbonding memory position = _unbonding[msg.sender];
        if (position.amount == 0) revert NothingUnbonding();
        if (block.timestamp < position.releaseTime) revert StillUnbonding(position.releaseTime);
        uint256 frozen = frozenUntil(msg.sender);
        if (block.timestamp < frozen) revert WithdrawalsAreFrozen(frozen);
        amount = position.amount;
        delete _unbonding[msg.sender];
        totalUnbonding -= amount;
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// @notice Slashes up to `amount` from `account`: bonded stake first, then its unbonding position.
    /// Burns `slashBurnBps` of it and sends the rest to the treasury.
    /// @param account Account to slash.
    /// @param amount Maximum amount to take; less is taken if the account holds less.
    /// @param reasonHash Hash of the evidence or governance rationale, for auditors.
    /// @return taken Amount actually slashed.
    function slash(address account, uint256 amount, bytes32 reasonHash)
        external
        onlyRole(SLASHER_ROLE)
        returns (uint256 taken)
    {
        return _slash(account, amount, reasonHash, address(0), 0);
    }

    /// @notice Slashes like `slash`, first paying `finderBps` of what is taken to `finder` (the validator whose
    /// upheld dispute caused it); the rest is burned and sent to the treasury in the usual split.
    /// @param account Account to slash.
    /// @param amount Maximum amount to take.
    /// @param reasonHash Hash of the evidence (the dispute).
    /// @param finder Receives the finder's share.
    /// @param finderBps Finder's share of the amount taken, at most `MAX_FINDER_BPS`.
    /// @return taken Amount actually slashed.
    function slashWithFinder(address account, uint256 amount, bytes32 reasonHash, address finder, uint256 finderBps)
        external
        onlyRole(SLASHER_ROLE)
        returns (uint256 taken)
    {
        if (finder == address(0)) revert ZeroAddress();
        Bounds.check(finderBps, 0, MAX_FINDER_BPS);
        return _slash(account, amount, reasonHash, finder, finderBps);
    }

    function _slash(address account, uint256 amount, bytes32 reasonHash, address finder, uint256 finderBps)
        private
        returns (uint256 taken)
    {
        if (amount == 0) revert ZeroAmount();
        uint256 fromBonded = Math.min(amount, balanceOf(account));
        Unbonding storage position = _unbonding[account];
        uint256 fromUnbonding = Math.min(amount - fromBonded, position.amount);
        taken = fromBonded + fromUnbonding;
        if (taken == 0) revert NothingToSlash(account);

        if (fromBonded > 0) _burn(account, fromBonded);
        if (fromUnbonding > 0) {
            position.amount -= uint192(fromUnbonding);
            totalUnbonding -= fromUnbonding;
        }
        uint256 toFinder = taken * finderBps / BPS;
        uint256 burned = (taken - toFinder) * slashBurnBps / BPS;
        uint256 toTreasury = taken - toFinder - burned;
        if (toFinder > 0) {
            token.safeTransfer(finder, toFinder);
            emit FinderPaid(account, reasonHash, finder, toFinder);
        }
        if (burned > 0) token.burn(burned);
        if (toTreasury > 0) token.safeTransfer(treasury, toTreasury);
        emit Slashed(account, reasonHash, fromBonded, fromUnbonding, burned, toTreasury);
    }

    /// @notice Forbids `account` to withdraw before `until` (a freeze only ever extends).
    /// @dev The Governor calls this when a proposal to slash `account` is made, with the time by which that
    /// proposal can have executed; bonded and unbonding stake both stay slashable meanwhile.
    /// @param account Accused account.
    /// @param until Timestamp, at most `MAX_FREEZE` from now.
    function freezeWithdrawals(address account, uint256 until) external onlyRole(FREEZER_ROLE) {
        if (until > block.timestamp + MAX_FREEZE) revert FreezeTooLong(until, block.timestamp + MAX_FREEZE);
        if (until <= frozenBy[account][msg.sender]) return;
        frozenBy[account][msg.sender] = until;
        emit WithdrawalsFrozen(account, until, msg.sender);
    }

    /// @notice Takes the slash proposal bond from `proposer` (approved beforehand), for `proposalId`.
    /// @param proposer The proposer.
    /// @param proposalId The proposal, settled later by `settleSlashBond` against the calling Governor.
    function holdSlashBond(address proposer, uint256 proposalId) external onlyRole(FREEZER_ROLE) {
        uint256 amount = slashProposalBond;
        token.safeTransferFrom(proposer, address(this), amount);
        slashBonds[proposalId] = SlashBond(proposer, msg.sender, amount);
        totalSlashBonds += amount;
        emit SlashBondHeld(proposalId, proposer, amount);
    }

    /// @notice Settles a slash proposal's bond: back to the proposer if the proposal executed, to the treasury if
    /// it was defeated, cancelled or expired. Permissionless.
    /// @param proposalId The proposal.
    function settleSlashBond(uint256 proposalId) external {
        SlashBond memory bond = slashBonds[proposalId];
        if (bond.amount == 0) revert NoSlashBond(proposalId);
        IGovernor.ProposalState s = IGovernor(bond.governor).state(proposalId);
        bool returned = s == IGovernor.ProposalState.Executed;
        if (
            !returned && s != IGovernor.ProposalState.Defeated && s != IGovernor.ProposalState.Canceled
                && s != IGovernor.ProposalState.Expired
        ) revert SlashProposalUnresolved(proposalId);
        delete slashBonds[proposalId];
        totalSlashBonds -= bond.amount;
        address to = returned ? bond.proposer : treasury;
        token.safeTransfer(to, bond.amount);
        emit SlashBondSettled(proposalId, to, bond.amount, returned);
    }

    /// @notice Lifts the caller's own freeze of `account` (the Governor does, once no live proposal would slash
    /// it); other freezers' freezes stay.
    /// @param account Frozen account.
    function releaseWithdrawals(address account) external onlyRole(FREEZER_ROLE) {
        if (frozenBy[account][msg.sender] == 0) return;
        delete frozenBy[account][msg.sender];
        emit WithdrawalsReleased(account, msg.sender);
    }

    /// @dev Registers every FREEZER_ROLE holder for `frozenUntil`.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (role == FREEZER_ROLE && !_isFreezer[account]) {
            if (_freezers.length == MAX_FREEZERS) revert TooManyFreezers();
            _isFreezer[account] = true;
            _freezers.push(account);
        }
    }

    // ---------------------------------------------------------------- views

    /// @notice Until when `account` may not withdraw: the latest of every freezer's freeze.
    /// @param account An account.
    function frozenUntil(address account) public view returns (uint256 until) {
        for (uint256 i; i < _freezers.length; ++i) {
            uint256 byFreezer = frozenBy[account][_freezers[i]];
            if (byFreezer > until) until = byFreezer;
        }
    }

    /// @notice Bonded stake of `account` (equal to its stNEURO balance).
    /// @param account Account.
    function bondedStake(address account) external view returns (uint256) {
        return balanceOf(account);
    }

    /// @notice The unbonding position of `account`.
    /// @param account Account.
    function unbonding(address account) external view returns (Unbonding memory) {
        return _unbonding[account];
    }

    /// @notice Whether `account` has at least `minNodeStake` bonded, as an active node must.
    /// @param account Account.
    function meetsNodeStake(address account) external view returns (bool) {
        return balanceOf(account) >= minNodeStake;
    }

    /// @notice ERC-6372 clock: timestamps, as the Governor uses.
    function clock() public view override returns (uint48) {
        return SafeCast.toUint48(block.timestamp);
    }

    /// @notice ERC-6372 clock mode.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @notice stNEURO is non-transferable: always reverts.
    function approve(address, uint256) public pure override returns (bool) {
        revert NonTransferable();
    }

    /// @notice stNEURO is non-transferable: always reverts.
    function transferFrom(address, address, uint256) public pure override returns (bool) {
        revert NonTransferable();
    }

    // ---------------------------------------------------------------- governance

    /// @notice Sets the unbonding period; applies to unstakes made afterwards.
    /// @param newPeriod Seconds, within [MIN_UNBONDING_PERIOD, MAX_UNBONDING_PERIOD] and above the Governor's
    /// slash latency.
    function setUnbondingPeriod(uint256 newPeriod) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setUnbondingPeriod(newPeriod);
    }

    /// @notice Sets the Governor whose slash latency bounds the unbonding period; the current period must
    /// already exceed its latency.
    /// @param source The Governor.
    function setSlashLatencySource(ISlashLatency source) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(source) == address(0)) revert ZeroAddress();
        emit SlashLatencySourceSet(address(slashLatencySource), address(source));
        slashLatencySource = source;
        _checkSlashLatency(unbondingPeriod);
    }

    /// @notice Sets the bonded stake a node needs to be active.
    /// @param newStake Amount in wei, within [MIN_NODE_STAKE_FLOOR, MIN_NODE_STAKE_CEILING].
    function setMinNodeStake(uint256 newStake) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMinNodeStake(newStake);
    }

    /// @notice Sets the burned share of slashed stake.
    /// @param newBps Basis points, at most BPS.
    function setSlashBurnShare(uint256 newBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setSlashBurnShare(newBps);
    }

    /// @notice Sets the bond a slash proposal must post.
    /// @param newBond NEURO wei, within [MIN_SLASH_PROPOSAL_BOND, MAX_SLASH_PROPOSAL_BOND].
    function setSlashProposalBond(uint256 newBond) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setSlashProposalBond(newBond);
    }

    /// @notice Sets the treasury that receives the non-burned share of slashes.
    /// @param newTreasury Non-zero address.
    function setTreasury(address newTreasury) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTreasury(newTreasury);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Only mints (stake) and burns (unstake, slash) move stNEURO.
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        if (from != address(0) && to != address(0)) revert NonTransferable();
        super._update(from, to, value);
    }

    function _checkSlashLatency(uint256 period) private view {
        if (address(slashLatencySource) == address(0)) return;
        uint256 latency = slashLatencySource.slashLatency();
        if (period <= latency) revert UnbondingShorterThanSlashLatency(period, latency);
    }

    function _setUnbondingPeriod(uint256 newPeriod) private {
        Bounds.check(newPeriod, MIN_UNBONDING_PERIOD, MAX_UNBONDING_PERIOD);
        _checkSlashLatency(newPeriod);
        emit UnbondingPeriodSet(unbondingPeriod, newPeriod);
        unbondingPeriod = newPeriod;
    }

    function _setMinNodeStake(uint256 newStake) private {
        Bounds.check(newStake, MIN_NODE_STAKE_FLOOR, MIN_NODE_STAKE_CEILING);
        emit MinNodeStakeSet(minNodeStake, newStake);
        minNodeStake = newStake;
    }

    function _setSlashBurnShare(uint256 newBps) private {
        Bounds.check(newBps, 0, BPS);
        emit SlashBurnShareSet(slashBurnBps, newBps);
        slashBurnBps = newBps;
    }

    function _setSlashProposalBond(uint256 newBond) private {
        Bounds.check(newBond, MIN_SLASH_PROPOSAL_BOND, MAX_SLASH_PROPOSAL_BOND);
        emit SlashProposalBondSet(slashProposalBond, newBond);
        slashProposalBond = newBond;
    }

    function _setTreasury(address newTreasury) private {
        if (newTreasury == address(0)) revert ZeroAddress();
        emit TreasurySet(treasury, newTreasury);
        treasury = newTreasury;
    }
}
