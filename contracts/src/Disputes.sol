// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {NeuroToken} from "./NeuroToken.sol";
import {StakingVault} from "./StakingVault.sol";
import {NodeRegistry} from "./NodeRegistry.sol";
import {Emissions} from "./Emissions.sol";
import {Bounds} from "./libraries/Bounds.sol";
import {IValidatorSet} from "./interfaces/IValidatorSet.sol";

/// @title Validator stake and disputes settled by a quorum of it
/// @notice Validators bond NEURO here. A validator whose probe of a node fails re-execution opens a dispute with a
/// bond, publishing the node's signed receipt and the request and output bytes it commits to; the accused's stake
/// is frozen (unbonding included) and its reward for the receipt's epoch held. Other validators re-execute and
/// vote within `votingPeriod`, each posting `voteBond`, weighted by their stake just before the dispute opened.
/// With a quorum of validator stake and a `majorityBps` majority to uphold, the node is slashed by the fault
/// table (first fault, repeated fault), its reward for the epoch forfeited, the challenger repaid with a finder's
/// share; otherwise the challenger's bond is forfeited. Voters on the losing side of a decided dispute lose their
/// vote bond to the winning side, pro rata to stake, so voting without re-executing does not pay.
/// @dev Who could abuse this (docs/verification.md): a validator framing an honest node loses its bond unless a
/// majority of validator stake lies with it (the governance-majority case: governance can slash validators'
/// stake and replace this contract); a node staking as validator to vote for itself cannot vote on its own
/// disputes and needs a majority of validator stake to win; flash stake does not count (weights are read just
/// before the dispute opened); a front-runner cannot steal a challenge (only the receipt's paying user opens
/// it, or a validator it named in a signed delegation); per-dispute and per-vote costs are O(1) in the number of
/// validators and nodes.
contract Disputes is AccessControl, EIP712, IValidatorSet {
    using SafeERC20 for NeuroToken;
    using Checkpoints for Checkpoints.Trace208;

    /// @notice Basis-point denominator.
    uint256 public constant BPS = 10_000;
    /// @notice Oldest epoch a dispute may concern, counted back from the current one.
    uint256 public constant MAX_EVIDENCE_AGE_EPOCHS = 24;
    /// @notice How long after the vote ends the accused stays frozen, so `resolve` can run.
    uint256 public constant FREEZE_MARGIN = 1 days;
    /// @notice How long after the vote ends `resolve` waits for a power governance revoked from the court before
    /// settling without it (the court is taken as retired; a shorter gap, such as an emergency revoke and
    /// re-grant, cannot be used by the accused to skip its slash).
    uint256 public constant POWERLESS_GRACE = 30 days;
    /// @notice EIP-712 type of the receipt a node signs over every response.
    bytes32 public constant RECEIPT_TYPEHASH = keccak256(
        "InferenceReceipt(address miner,address user,bytes32 modelId,bytes32 requestHash,bytes32 outputHash,"
        "bytes32 samplingHash,uint64 promptTokens,uint64 completionTokens,uint256 fee,uint64 epoch)"
    );
    /// @notice EIP-712 type (in this contract's domain, "Neuro Disputes" version 1) a receipt's paying user signs to
    /// let one named validator dispute that receipt: a validator probing from an account nobody can tie to its
    /// stake, or an organic user handing a suspicious answer to a validator.
    bytes32 public constant DELEGATION_TYPEHASH =
        keccak256("DisputeDelegation(bytes32 receiptDigest,address validator)");
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    /// @notice What a node claims about one response (see `neuro_protocol::receipt`).
    struct InferenceReceipt {
        address miner;
        address user;
        bytes32 modelId;
        bytes32 requestHash;
        bytes32 outputHash;
        bytes32 samplingHash;
        uint64 promptTokens;
        uint64 completionTokens;
        uint256 fee;
        uint64 epoch;
    }

    /// @notice Lifecycle of a dispute.
    enum Status {
        None,
        Open,
        Upheld,
        Rejected,
        NoQuorum
    }

    /// @notice One dispute.
    struct Dispute {
        address challenger;
        uint64 openedAt;
        address accused;
        uint64 votingEnds;
        uint64 epoch;
        Status status;
        uint128 bond;
        uint128 voteBond;
        uint128 upholdWeight;
        uint128 rejectWeight;
        uint128 upholdBonds;
        uint128 rejectBonds;
        uint128 totalWeight;
        bytes32 receiptDigest;
    }

    /// @notice One validator's vote on a dispute.
    struct Vote {
        uint8 side; // 0 none, 1 uphold, 2 reject
        bool claimed;
        uint128 weight;
    }

    /// @notice What a validator saw of one node during one epoch (see `reportProbes`).
    struct ProbeReport {
        address miner;
        uint32 sent;
        uint32 passed;
        uint32 failed;
        uint32 invalid;
        uint32 timedOut;
        uint32 medianTtftMs;
        uint32 medianMilliTokensPerSecond;
    }

    /// @notice A validator's unbonding position.
    struct Unbonding {
        uint192 amount;
        uint64 releaseTime;
    }

    /// @notice The NEURO token.
    NeuroToken public immutable token;
    /// @notice Node stake (slashed here through SLASHER_ROLE, frozen through FREEZER_ROLE).
    StakingVault public immutable staking;
    /// @notice Node registry (receipt signers).
    NodeRegistry public immutable nodes;
    /// @notice Emissions (rewards held and forfeited through REWARD_HOLDER_ROLE).
    Emissions public immutable emissions;
    /// @notice EIP-712 domain separator of receipts (the `NodeRegistry` on this chain).
    bytes32 public immutable receiptDomainSeparator;

    /// @notice Bounds of each parameter.
    uint256 public constant MIN_VALIDATOR_STAKE_FLOOR = 1 ether;
    /// @notice Upper bound of the validator minimum stake.
    uint256 public constant MIN_VALIDATOR_STAKE_CEILING = 10_000_000 ether;
    /// @notice Lower bound of the dispute bond.
    uint256 public constant MIN_DISPUTE_BOND = 1 ether;
    /// @notice Upper bound of the dispute bond.
    uint256 public constant MAX_DISPUTE_BOND = 1_000_000 ether;
    /// @notice Lower bound of the voting period.
    uint256 public constant MIN_VOTING_PERIOD = 10 minutes;
    /// @notice Upper bound of the voting period.
    uint256 public constant MAX_VOTING_PERIOD = 7 days;
    /// @notice Upper bound of the validator unbonding period.
    uint256 public constant MAX_VALIDATOR_UNBONDING = 30 days;
    /// @notice Most nodes one `reportProbes` call may cover (a validator probes a sample of nodes).
    uint256 public constant MAX_REPORTS_PER_CALL = 200;

    /// @notice Bonded stake a validator needs to open disputes and vote.
    uint256 public minValidatorStake;
    /// @notice Bond posted by a challenger.
    uint256 public disputeBond;
    /// @notice Bond posted by each voter (at most the dispute bond).
    uint256 public voteBond;
    /// @notice Seconds validators have to vote.
    uint256 public votingPeriod;
    /// @notice Seconds between a validator's `unstake` and `withdraw` (longer than the voting period).
    uint256 public validatorUnbonding;
    /// @notice Share of the validator stake (as it was when the dispute opened) that must vote.
    uint256 public quorumBps;
    /// @notice Share of the votes cast that must uphold.
    uint256 public majorityBps;
    /// @notice Slash of a node's stake on its first upheld fault.
    uint256 public firstFaultSlashBps;
    /// @notice Slash on every later upheld fault (at least the first).
    uint256 public repeatFaultSlashBps;
    /// @notice Challenger's share of a slash.
    uint256 public finderBps;

    /// @notice Number of disputes opened (ids start at 1).
    uint256 public disputeCount;
    /// @notice Upheld faults per node.
    mapping(address node => uint256) public faults;
    /// @notice The dispute of a receipt digest (one per receipt).
    mapping(bytes32 digest => uint256 id) public disputeOfReceipt;
    /// @notice Unbonding validator stake.
    mapping(address validator => Unbonding) public unbondingOf;
    /// @notice Sum of unbonding positions.
    uint256 public totalUnbonding;
    /// @notice Sum of bonds held for open or unclaimed disputes.
    uint256 public totalBonds;

    /// @notice The first epoch a validator may still report on (one report per validator and epoch, in order).
    mapping(address validator => uint256) public nextReportEpoch;
    /// @notice Open disputes against each node: the court lifts its freeze when the last one resolves.
    mapping(address node => uint256) public openDisputesAgainst;

    mapping(uint256 id => Dispute) private _disputes;
    mapping(uint256 id => mapping(address voter => Vote)) private _votes;
    mapping(address validator => Checkpoints.Trace208) private _stake;
    Checkpoints.Trace208 private _totalStake;

    /// @notice A validator bonded `amount` (now `total`).
    event ValidatorStaked(address indexed validator, uint256 amount, uint256 total);
    /// @notice A validator started unbonding `amount`, released at `releaseTime`.
    event ValidatorUnbonding(address indexed validator, uint256 amount, uint256 releaseTime);
    /// @notice A validator withdrew its released stake.
    event ValidatorWithdrawn(address indexed validator, uint256 amount);
    /// @notice A dispute was opened; its evidence is in `DisputeEvidence`, emitted with it.
    event DisputeOpened(
        uint256 indexed id,
        address indexed challenger,
        address indexed accused,
        bytes32 modelId,
        uint256 epoch,
        bytes32 receiptDigest,
        uint256 votingEnds
    );
    /// @notice The evidence of dispute `id`, in the log so that voters can read it however the dispute was
    /// opened (a direct call, a batch, a smart account): the node's receipt and signature, the request body and
    /// the output text whose hashes the receipt signs.
    event DisputeEvidence(uint256 indexed id, InferenceReceipt receipt, bytes signature, bytes request, bytes output);
    /// @notice Dispute `id` was opened by `validator` on behalf of the receipt's paying `user`, who signed a
    /// `DisputeDelegation` naming it.
    event DisputeDelegated(uint256 indexed id, address indexed user, address indexed validator);
    /// @notice A validator voted.
    event DisputeVoted(uint256 indexed id, address indexed voter, bool uphold, uint256 weight);
    /// @notice A dispute was resolved; `slashed` is what the accused lost (zero unless upheld).
    event DisputeResolved(
        uint256 indexed id, Status status, uint256 upholdWeight, uint256 rejectWeight, uint256 slashed
    );
    /// @notice A voter (or the challenger) was paid its bond back and its share of the losing side's bonds.
    event VotePaid(uint256 indexed id, address indexed voter, uint256 amount);
    /// @notice A bond was forfeited to the treasury.
    event BondForfeited(uint256 indexed id, address indexed from, uint256 amount);
    /// @notice Validator `validator` (bonded `validatorStake` when reporting) probed `miner` during `epoch`:
    /// `sent` probes, of which `passed` and `failed` re-execution (each failure disputed), `invalid` came back
    /// without a valid receipt and `timedOut` got no answer in time; the median time to first token of its
    /// streamed probes (0: none) and median completion tokens per second (in thousandths).
    event ProbeReported(
        uint256 indexed epoch,
        address indexed miner,
        address indexed validator,
        uint256 validatorStake,
        uint256 sent,
        uint256 passed,
        uint256 failed,
        uint256 invalid,
        uint256 timedOut,
        uint256 medianTtftMs,
        uint256 medianMilliTokensPerSecond
    );
    /// @notice Resolving dispute `id` skipped what needs `role`, which governance revoked from the court since the
    /// dispute opened (bonds are settled all the same).
    event CourtPowerMissing(uint256 indexed id, bytes32 role);
    /// @notice A report's entry about `miner` was left out: it never registered a node, so a validator cannot
    /// fill the ranking with made-up nodes.
    event ProbeReportSkipped(uint256 indexed epoch, address indexed miner, address indexed validator);
    /// @notice A parameter changed.
    event ParameterSet(bytes32 indexed name, uint256 oldValue, uint256 newValue);

    /// @notice An amount was zero.
    error ZeroAmount();
    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice The caller's validator stake is below `minValidatorStake` (at the dispute's snapshot).
    error NotAValidator(address account, uint256 stake, uint256 required);
    /// @notice Unstaking more than bonded.
    error InsufficientStake(uint256 requested, uint256 bonded);
    /// @notice Nothing to withdraw.
    error NothingUnbonding();
    /// @notice The unbonding position is not yet released.
    error StillUnbonding(uint256 releaseTime);
    /// @notice The receipt's signature is not by any key `node` ever registered as its receipt signer.
    error BadReceiptSignature(address recovered, address node);
    /// @notice The request or output bytes do not hash to what the receipt signs.
    error EvidenceMismatch();
    /// @notice Only the receipt's paying user may dispute it.
    error NotReceiptUser(address caller, address user);
    /// @notice `signature` is not `user`'s `DisputeDelegation` of this receipt to `validator`.
    error BadDelegation(address user, address validator);
    /// @notice The receipt is too old to dispute.
    error EvidenceTooOld(uint256 epoch, uint256 currentEpoch);
    /// @notice The receipt was already disputed.
    error AlreadyDisputed(bytes32 digest, uint256 id);
    /// @notice The dispute does not exist or is not in the right state.
    error WrongStatus(uint256 id, Status status);
    /// @notice Voting is over (or not yet over, for `resolve`).
    error VotingClosed(uint256 id, uint256 votingEnds);
    /// @notice Voting is still open.
    error VotingOpen(uint256 id, uint256 votingEnds);
    /// @notice The accused may not vote on its own dispute, nor may anyone vote twice.
    error CannotVote(uint256 id, address voter);
    /// @notice Nothing to pay this voter.
    error NothingToClaim(uint256 id, address voter);
    /// @notice Related parameters would contradict each other.
    error InconsistentParameters();
    /// @notice Governance revoked a power the court needs to resolve; it settles without it from `settlesAt`.
    error CourtPowerless(uint256 id, uint256 settlesAt);
    /// @notice Reports are for a finished epoch no older than `MAX_EVIDENCE_AGE_EPOCHS`, after the validator's
    /// last reported one.
    error ReportEpochRefused(uint256 epoch, uint256 firstAllowed, uint256 currentEpoch);
    /// @notice A report batch is empty, too long, not in strictly ascending miner order, about the reporter itself,
    /// or its counts do not add up (`passed + failed + invalid + timedOut <= sent`, `sent > 0`).
    error MalformedReport(uint256 index);

    /// @notice Deploys the dispute court with default parameters; `admin` (the timelock) governs them.
    /// @param token_ NEURO.
    /// @param staking_ Node staking (this contract needs its SLASHER_ROLE and FREEZER_ROLE).
    /// @param nodes_ Node registry.
    /// @param emissions_ Emissions (this contract needs its REWARD_HOLDER_ROLE).
    /// @param admin Governor of the parameters.
    constructor(NeuroToken token_, StakingVault staking_, NodeRegistry nodes_, Emissions emissions_, address admin)
        EIP712("Neuro Disputes", "1")
    {
        if (admin == address(0)) revert ZeroAddress();
        token = token_;
        staking = staking_;
        nodes = nodes_;
        emissions = emissions_;
        receiptDomainSeparator = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Neuro Receipts"), keccak256("1"), block.chainid, address(nodes_))
        );
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        minValidatorStake = 1000 ether;
        disputeBond = 100 ether;
        voteBond = 10 ether;
        votingPeriod = 1 days;
        validatorUnbonding = 7 days;
        quorumBps = 3334;
        majorityBps = 6000;
        firstFaultSlashBps = 1000;
        repeatFaultSlashBps = 5000;
        finderBps = 1000;
    }

    // ---------------------------------------------------------------- validator stake

    /// @notice Bonds `amount` NEURO (approved beforehand) as validator stake; it weighs in disputes opened from
    /// the next second on.
    /// @param amount Amount in wei.
    function stake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 total = _stake[msg.sender].latest() + amount;
        _push(msg.sender, total, _totalStake.latest() + amount);
        emit ValidatorStaked(msg.sender, amount, total);
    }

    /// @notice Starts unbonding `amount`: it stops weighing at once and can be withdrawn after
    /// `validatorUnbonding`; a new `unstake` restarts the timer of the whole position.
    /// @param amount Amount in wei.
    function unstake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 bonded = _stake[msg.sender].latest();
        if (amount > bonded) revert InsufficientStake(amount, bonded);
        _push(msg.sender, bonded - amount, _totalStake.latest() - amount);
        Unbonding storage position = unbondingOf[msg.sender];
        uint256 releaseTime = block.timestamp + validatorUnbonding;
        position.amount += SafeCast.toUint192(amount);
        position.releaseTime = SafeCast.toUint64(releaseTime);
        totalUnbonding += amount;
        emit ValidatorUnbonding(msg.sender, amount, releaseTime);
    }

    /// @notice Pays out the caller's released unbonding position.
    /// @return amount NEURO paid.
    function withdraw() external returns (uint256 amount) {
        Unbonding memory position = unbondingOf[msg.sender];
        if (position.amount == 0) revert NothingUnbonding();
        if (block.timestamp < position.releaseTime) revert StillUnbonding(position.releaseTime);
        amount = position.amount;
        delete unbondingOf[msg.sender];
        totalUnbonding -= amount;
        token.safeTransfer(msg.sender, amount);
        emit ValidatorWithdrawn(msg.sender, amount);
    }

    // ---------------------------------------------------------------- disputes

    /// @notice Opens a dispute over a response the caller paid for and whose re-execution failed.
    /// @param receipt The node's signed claims.
    /// @param signature The node's receipt signer's signature (65 bytes).
    /// @param request The exact request body (hashes to `receipt.requestHash`).
    /// @param output The generated text (hashes to `receipt.outputHash`).
    /// @return id The dispute id.
    function openDispute(
        InferenceReceipt calldata receipt,
        bytes calldata signature,
        bytes calldata request,
        bytes calldata output
    ) external returns (uint256 id) {
        if (receipt.user != msg.sender) revert NotReceiptUser(msg.sender, receipt.user);
        id = _openWithEvidence(receipt, signature, request, output);
    }

    /// @notice Opens a dispute over a response the receipt's user paid for and delegated to the caller (a
    /// validator) with a `DisputeDelegation` signature: the user may be a probe account of the caller that no
    /// node could tie to it, or an organic user. Only the named validator can use it, and a receipt is disputed
    /// once.
    /// @param receipt The node's signed claims.
    /// @param signature The node's receipt signer's signature (65 bytes).
    /// @param request The exact request body (hashes to `receipt.requestHash`).
    /// @param output The generated text (hashes to `receipt.outputHash`).
    /// @param delegation `receipt.user`'s signature (ECDSA, or ERC-1271 for a contract account) of
    /// `delegationDigest(receiptDigest(receipt), msg.sender)`.
    /// @return id The dispute id.
    function openDelegatedDispute(
        InferenceReceipt calldata receipt,
        bytes calldata signature,
        bytes calldata request,
        bytes calldata output,
        bytes calldata delegation
    ) external returns (uint256 id) {
        bytes32 delegated = delegationDigest(receiptDigest(receipt), msg.sender);
        // ECDSA first, then ERC-1271, as `Payments` checks allowances: an account with code that still holds its
        // key (an EIP-7702 account) can delegate what it could pay for.
        (address recovered, ECDSA.RecoverError recoverError,) = ECDSA.tryRecoverCalldata(delegated, delegation);
        bool byKey = recoverError == ECDSA.RecoverError.NoError && recovered == receipt.user;
        if (!byKey && !SignatureChecker.isValidERC1271SignatureNowCalldata(receipt.user, delegated, delegation)) {
            revert BadDelegation(receipt.user, msg.sender);
        }
        id = _openWithEvidence(receipt, signature, request, output);
        emit DisputeDelegated(id, receipt.user, msg.sender);
    }

    function _openWithEvidence(
        InferenceReceipt calldata receipt,
        bytes calldata signature,
        bytes calldata request,
        bytes calldata output
    ) private returns (uint256 id) {
        bytes32 digest = _checkEvidence(receipt, signature, request, output);
        id = _open(receipt.miner, receipt.epoch, digest);
        emit DisputeOpened(
            id, msg.sender, receipt.miner, receipt.modelId, receipt.epoch, digest, _disputes[id].votingEnds
        );
        emit DisputeEvidence(id, receipt, signature, request, output);
        emit DisputeVoted(id, msg.sender, true, _disputes[id].upholdWeight);
    }

    function _open(address accused, uint64 epoch, bytes32 digest) private returns (uint256 id) {
        uint256 weight = _validatorWeight(msg.sender, block.timestamp - 1);
        id = ++disputeCount;
        disputeOfReceipt[digest] = id;
        uint256 votingEnds = block.timestamp + votingPeriod;
        uint256 bond = disputeBond;
        Dispute storage d = _disputes[id];
        d.challenger = msg.sender;
        d.openedAt = SafeCast.toUint64(block.timestamp);
        d.accused = accused;
        d.votingEnds = SafeCast.toUint64(votingEnds);
        d.epoch = epoch;
        d.status = Status.Open;
        d.bond = SafeCast.toUint128(bond);
        d.voteBond = SafeCast.toUint128(voteBond);
        d.upholdWeight = SafeCast.toUint128(weight);
        d.totalWeight = SafeCast.toUint128(_totalStake.upperLookupRecent(SafeCast.toUint48(block.timestamp - 1)));
        d.receiptDigest = digest;
        _votes[id][msg.sender] = Vote({side: 1, claimed: false, weight: SafeCast.toUint128(weight)});
        totalBonds += bond;
        ++openDisputesAgainst[accused];
        token.safeTransferFrom(msg.sender, address(this), bond);
        staking.freezeWithdrawals(accused, votingEnds + FREEZE_MARGIN);
        emissions.holdMinerReward(epoch, accused);
    }

    /// @notice Votes on an open dispute after re-executing its evidence, posting the dispute's vote bond.
    /// @param id Dispute id.
    /// @param uphold Whether the node's response failed re-execution.
    function vote(uint256 id, bool uphold) external {
        Dispute storage d = _disputes[id];
        if (d.status != Status.Open) revert WrongStatus(id, d.status);
        if (block.timestamp >= d.votingEnds) revert VotingClosed(id, d.votingEnds);
        if (msg.sender == d.accused || _votes[id][msg.sender].side != 0) revert CannotVote(id, msg.sender);
        uint256 weight = _validatorWeight(msg.sender, d.openedAt - 1);
        uint128 bond = d.voteBond;
        _votes[id][msg.sender] = Vote({side: uphold ? 1 : 2, claimed: false, weight: SafeCast.toUint128(weight)});
        if (uphold) {
            d.upholdWeight += SafeCast.toUint128(weight);
            d.upholdBonds += bond;
        } else {
            d.rejectWeight += SafeCast.toUint128(weight);
            d.rejectBonds += bond;
        }
        totalBonds += bond;
        token.safeTransferFrom(msg.sender, address(this), bond);
        emit DisputeVoted(id, msg.sender, uphold, weight);
    }

    /// @notice Resolves a dispute once voting is over (permissionless): slashes (adding any reward of the epoch
    /// already claimed) and forfeits if upheld, settles
    /// the challenger's bond, releases the reward hold.
    /// @param id Dispute id.
    /// @return status The outcome.
    function resolve(uint256 id) external returns (Status status) {
        Dispute storage d = _disputes[id];
        if (d.status != Status.Open) revert WrongStatus(id, d.status);
        if (block.timestamp < d.votingEnds) revert VotingOpen(id, d.votingEnds);
        uint256 cast = uint256(d.upholdWeight) + d.rejectWeight;
        uint256 slashed;
        if (cast == 0 || cast * BPS < quorumBps * uint256(d.totalWeight)) {
            status = Status.NoQuorum;
        } else if (uint256(d.upholdWeight) * BPS > majorityBps * cast) {
            status = Status.Upheld;
        } else {
            status = Status.Rejected;
        }
        d.status = status;
        address accused = d.accused;
        // Governance may have revoked the court's powers since the dispute opened (replacing the court): after
        // POWERLESS_GRACE, what the court may no longer do is skipped (with `CourtPowerMissing`) rather than
        // strand the bonds; before it, `resolve` waits. The roles are checked, not the calls caught, so a caller
        // cannot starve a call of gas to skip a slash.
        bool retired = block.timestamp >= uint256(d.votingEnds) + POWERLESS_GRACE;
        bool canHold = emissions.hasRole(emissions.REWARD_HOLDER_ROLE(), address(this));
        bool canSlash = staking.hasRole(staking.SLASHER_ROLE(), address(this));
        bool canFreeze = staking.hasRole(staking.FREEZER_ROLE(), address(this));
        if (!retired && !(canHold && canSlash && canFreeze)) {
            revert CourtPowerless(id, uint256(d.votingEnds) + POWERLESS_GRACE);
        }
        if (status == Status.Upheld) {
            slashed = _punish(id, d, canHold, canSlash);
            totalBonds -= d.bond;
            token.safeTransfer(d.challenger, d.bond);
            emit VotePaid(id, d.challenger, d.bond);
        } else if (status == Status.NoQuorum) {
            totalBonds -= d.bond;
            token.safeTransfer(staking.treasury(), d.bond);
            emit BondForfeited(id, d.challenger, d.bond);
        }
        // Rejected: the challenger's bond stays, paid to the rejecting voters by `claim`.
        if (!canHold) emit CourtPowerMissing(id, emissions.REWARD_HOLDER_ROLE());
        else if (status != Status.Upheld) emissions.releaseMinerReward(d.epoch, accused, false);
        // A node cleared of (or slashed for) its last open dispute may leave again: a string of false disputes
        // keeps it frozen no longer than each one's vote.
        if (--openDisputesAgainst[accused] == 0) {
            if (canFreeze) staking.releaseWithdrawals(accused);
            else emit CourtPowerMissing(id, staking.FREEZER_ROLE());
        }
        emit DisputeResolved(id, status, d.upholdWeight, d.rejectWeight, slashed);
    }

    /// @dev Slashes the accused of upheld dispute `id` by the fault table, plus the epoch reward it claimed
    /// before the dispute opened (taken back from stake so claiming fast does not keep a cheat's reward), capped
    /// at its stake; forfeits the reward. Skips what the court lost the power to do.
    function _punish(uint256 id, Dispute storage d, bool canHold, bool canSlash) private returns (uint256 slashed) {
        address accused = d.accused;
        uint256 count = ++faults[accused];
        uint256 clawback = canHold ? emissions.releaseMinerReward(d.epoch, accused, true) : 0;
        uint256 base = staking.bondedStake(accused) + staking.unbonding(accused).amount;
        uint256 amount = base * (count == 1 ? firstFaultSlashBps : repeatFaultSlashBps) / BPS + clawback;
        if (amount > base) amount = base;
        if (!canSlash) {
            emit CourtPowerMissing(id, staking.SLASHER_ROLE());
        } else if (amount > 0) {
            slashed = staking.slashWithFinder(accused, amount, d.receiptDigest, d.challenger, finderBps);
        }
    }

    /// @notice Pays a voter of a resolved dispute: on the winning side, its bond back and its stake-weighted
    /// share of the losing side's bonds (the challenger's bond too, when rejected); with no quorum, its bond.
    /// @param id Dispute id.
    /// @return amount NEURO paid.
    function claim(uint256 id) external returns (uint256 amount) {
        Dispute storage d = _disputes[id];
        Vote storage v = _votes[id][msg.sender];
        if (d.status == Status.None || d.status == Status.Open) revert WrongStatus(id, d.status);
        if (v.side == 0 || v.claimed) revert NothingToClaim(id, msg.sender);
        bool isChallenger = msg.sender == d.challenger;
        uint256 ownBond = isChallenger ? 0 : d.voteBond;
        if (d.status == Status.NoQuorum) {
            amount = ownBond;
        } else {
            bool upheld = d.status == Status.Upheld;
            if ((v.side == 1) != upheld) revert NothingToClaim(id, msg.sender);
            uint256 pool = upheld ? d.rejectBonds : uint256(d.upholdBonds) + d.bond;
            uint256 winners = upheld ? d.upholdWeight : d.rejectWeight;
            amount = ownBond + (winners == 0 ? 0 : pool * v.weight / winners);
        }
        v.claimed = true;
        if (amount == 0) revert NothingToClaim(id, msg.sender);
        totalBonds -= amount;
        token.safeTransfer(msg.sender, amount);
        emit VotePaid(id, msg.sender, amount);
    }

    // ---------------------------------------------------------------- reputation

    /// @notice Publishes what the caller's probes of each node found during `epoch`, once per epoch, in epoch
    /// order; the indexer derives every node's reputation from these reports.
    /// @dev Who could abuse this (docs/verification.md, reputation): reports are claims, so they weigh by the
    /// reporter's stake and the indexer takes stake-weighted medians across validators (one validator, or any
    /// minority of reporting stake, cannot move a node's score); a report per validator per epoch bounds the
    /// flood (and `nextReportEpoch` makes it one storage write per call, O(1) in the number of nodes); failures
    /// that matter to money are disputes, not reports.
    /// @param epoch A finished epoch at most `MAX_EVIDENCE_AGE_EPOCHS` old, after the caller's last report.
    /// @param reports One entry per node probed, in strictly ascending miner address order.
    function reportProbes(uint64 epoch, ProbeReport[] calldata reports) external {
        uint256 current = emissions.currentEpoch();
        if (epoch >= current) revert ReportEpochRefused(epoch, nextReportEpoch[msg.sender], current);
        // The stake it held through the epoch reported on, and still holds: stake bonded later (or already
        // leaving) does not weigh on epochs it was not there for.
        uint256 stake_ = Math.min(_stake[msg.sender].latest(), stakeAt(msg.sender, emissions.epochStart(epoch + 1) - 1));
        if (stake_ < minValidatorStake) revert NotAValidator(msg.sender, stake_, minValidatorStake);
        uint256 first = nextReportEpoch[msg.sender];
        if (current > MAX_EVIDENCE_AGE_EPOCHS && current - MAX_EVIDENCE_AGE_EPOCHS > first) {
            first = current - MAX_EVIDENCE_AGE_EPOCHS;
        }
        if (epoch < first || epoch >= current) revert ReportEpochRefused(epoch, first, current);
        if (reports.length == 0 || reports.length > MAX_REPORTS_PER_CALL) revert MalformedReport(0);
        nextReportEpoch[msg.sender] = uint256(epoch) + 1;
        address previous;
        for (uint256 i; i < reports.length; ++i) {
            ProbeReport calldata r = reports[i];
            uint256 outcomes = uint256(r.passed) + r.failed + r.invalid + r.timedOut;
            if (r.miner <= previous || r.miner == msg.sender || r.sent == 0 || outcomes > r.sent) {
                revert MalformedReport(i);
            }
            previous = r.miner;
            // Ever registered: a node deregistering before the reports land cannot wipe its bad record.
            if (!nodes.everRegistered(r.miner)) {
                emit ProbeReportSkipped(epoch, r.miner, msg.sender);
                continue;
            }
            emit ProbeReported(
                epoch,
                r.miner,
                msg.sender,
                stake_,
                r.sent,
                r.passed,
                r.failed,
                r.invalid,
                r.timedOut,
                r.medianTtftMs,
                r.medianMilliTokensPerSecond
            );
        }
    }

    // ---------------------------------------------------------------- views

    /// @notice The EIP-712 digest of `receipt`, as the node signed it.
    /// @param receipt The receipt.
    function receiptDigest(InferenceReceipt calldata receipt) public view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                RECEIPT_TYPEHASH,
                receipt.miner,
                receipt.user,
                receipt.modelId,
                receipt.requestHash,
                receipt.outputHash,
                receipt.samplingHash,
                receipt.promptTokens,
                receipt.completionTokens,
                receipt.fee,
                receipt.epoch
            )
        );
        return MessageHashUtils.toTypedDataHash(receiptDomainSeparator, structHash);
    }

    /// @notice The EIP-712 digest a receipt's user signs to let `validator` dispute the receipt with digest
    /// `receiptDigest_` (see `openDelegatedDispute`).
    /// @param receiptDigest_ The receipt's `receiptDigest`.
    /// @param validator The validator allowed to open the dispute.
    function delegationDigest(bytes32 receiptDigest_, address validator) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(DELEGATION_TYPEHASH, receiptDigest_, validator)));
    }

    /// @notice A dispute.
    /// @param id Dispute id.
    function getDispute(uint256 id) external view returns (Dispute memory) {
        return _disputes[id];
    }

    /// @notice A voter's vote on a dispute.
    /// @param id Dispute id.
    /// @param voter Voter.
    function getVote(uint256 id, address voter) external view returns (Vote memory) {
        return _votes[id][voter];
    }

    /// @notice Bonded validator stake of `validator` now.
    /// @param validator Validator.
    function stakeOf(address validator) external view returns (uint256) {
        return _stake[validator].latest();
    }

    /// @notice Bonded validator stake of `validator` at `timestamp`.
    /// @param validator Validator.
    /// @param timestamp Unix seconds.
    function stakeAt(address validator, uint256 timestamp) public view returns (uint256) {
        return _stake[validator].upperLookupRecent(SafeCast.toUint48(timestamp));
    }

    /// @inheritdoc IValidatorSet
    /// @dev The stake must have been held before the current epoch began (at its first second's predecessor, so
    /// a stake taken in the block that opens the epoch does not count) and still be held: a stake taken and
    /// unbonded around one reveal of probe fees counts for nothing.
    function isValidator(address account) external view returns (bool) {
        uint256 since = emissions.epochStart(emissions.currentEpoch());
        if (since == 0) return false;
        return Math.min(_stake[account].latest(), stakeAt(account, since - 1)) >= minValidatorStake;
    }

    /// @notice Total bonded validator stake now.
    function totalStake() external view returns (uint256) {
        return _totalStake.latest();
    }

    // ---------------------------------------------------------------- governance

    /// @notice Sets the validator minimum stake.
    /// @param value NEURO-wei, within bounds.
    function setMinValidatorStake(uint256 value) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Bounds.check(value, MIN_VALIDATOR_STAKE_FLOOR, MIN_VALIDATOR_STAKE_CEILING);
        emit ParameterSet("minValidatorStake", minValidatorStake, value);
        minValidatorStake = value;
    }

    /// @notice Sets the dispute and vote bonds (a vote never costs more than a dispute).
    /// @param dispute Challenger's bond.
    /// @param perVote Each voter's bond, at least 1% of the dispute bond so voting blind stays costly.
    function setBonds(uint256 dispute, uint256 perVote) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Bounds.check(dispute, MIN_DISPUTE_BOND, MAX_DISPUTE_BOND);
        Bounds.check(perVote, dispute / 100, dispute);
        emit ParameterSet("disputeBond", disputeBond, dispute);
        emit ParameterSet("voteBond", voteBond, perVote);
        disputeBond = dispute;
        voteBond = perVote;
    }

    /// @notice Sets the voting period and validator unbonding (unbonding outlasts a vote and its resolution).
    /// @param voting Seconds to vote.
    /// @param unbonding Seconds a validator's stake stays after `unstake`.
    function setPeriods(uint256 voting, uint256 unbonding) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Bounds.check(voting, MIN_VOTING_PERIOD, MAX_VOTING_PERIOD);
        Bounds.check(unbonding, voting + FREEZE_MARGIN, MAX_VALIDATOR_UNBONDING);
        emit ParameterSet("votingPeriod", votingPeriod, voting);
        emit ParameterSet("validatorUnbonding", validatorUnbonding, unbonding);
        votingPeriod = voting;
        validatorUnbonding = unbonding;
    }

    /// @notice Sets the quorum and the majority needed to uphold.
    /// @param quorum Share of validator stake that must vote (10%–90%).
    /// @param majority Share of votes that must uphold (more than half, at most 90%).
    function setVoting(uint256 quorum, uint256 majority) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Bounds.check(quorum, 1000, 9000);
        Bounds.check(majority, 5001, 9000);
        emit ParameterSet("quorumBps", quorumBps, quorum);
        emit ParameterSet("majorityBps", majorityBps, majority);
        quorumBps = quorum;
        majorityBps = majority;
    }

    /// @notice Sets the slash table and the finder's share.
    /// @param first Slash of a first fault (1%–50% of the node's stake).
    /// @param repeat Slash of later faults (at least `first`, at most 100%).
    /// @param finder Challenger's share of a slash (at most the vault's `MAX_FINDER_BPS`).
    function setSlashing(uint256 first, uint256 repeat, uint256 finder) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Bounds.check(first, 100, 5000);
        Bounds.check(repeat, first, BPS);
        Bounds.check(finder, 0, staking.MAX_FINDER_BPS());
        emit ParameterSet("firstFaultSlashBps", firstFaultSlashBps, first);
        emit ParameterSet("repeatFaultSlashBps", repeatFaultSlashBps, repeat);
        emit ParameterSet("finderBps", finderBps, finder);
        firstFaultSlashBps = first;
        repeatFaultSlashBps = repeat;
        finderBps = finder;
    }

    // ---------------------------------------------------------------- internals

    /// @dev The receipt's digest, after checking (the caller's right to dispute it is checked before) that its node's registered signer
    /// signed it, that the bytes are what it commits to, that it is recent and not yet disputed.
    function _checkEvidence(
        InferenceReceipt calldata receipt,
        bytes calldata signature,
        bytes calldata request,
        bytes calldata output
    ) private view returns (bytes32 digest) {
        digest = receiptDigest(receipt);
        if (disputeOfReceipt[digest] != 0) revert AlreadyDisputed(digest, disputeOfReceipt[digest]);
        // Any key the node ever registered: rotating or deregistering does not void receipts it signed.
        address recovered = ECDSA.recover(digest, signature);
        if (!nodes.wasReceiptSigner(receipt.miner, recovered)) revert BadReceiptSignature(recovered, receipt.miner);
        if (keccak256(request) != receipt.requestHash || keccak256(output) != receipt.outputHash) {
            revert EvidenceMismatch();
        }
        uint256 current = emissions.currentEpoch();
        if (receipt.epoch + MAX_EVIDENCE_AGE_EPOCHS < current) revert EvidenceTooOld(receipt.epoch, current);
        // A receipt dated in the future is the node's own lie; clients refuse receipts not of the current epoch.
        if (receipt.epoch > current) revert EvidenceTooOld(receipt.epoch, current);
    }

    function _validatorWeight(address validator, uint256 at) private view returns (uint256 weight) {
        weight = stakeAt(validator, at);
        if (weight < minValidatorStake) revert NotAValidator(validator, weight, minValidatorStake);
    }

    function _push(address validator, uint256 stake_, uint256 total) private {
        uint48 now_ = SafeCast.toUint48(block.timestamp);
        _stake[validator].push(now_, SafeCast.toUint208(stake_));
        _totalStake.push(now_, SafeCast.toUint208(total));
    }
}
