// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {NeuroToken} from "./NeuroToken.sol";
import {Bounds} from "./libraries/Bounds.sol";
import {EpochSchedule} from "./libraries/EpochSchedule.sol";
import {IModelOwners} from "./interfaces/IModelOwners.sol";
import {IValidatorSet} from "./interfaces/IValidatorSet.sol";

/// @title NEURO emissions on a halving schedule, paid for verified work and capped by burned fees
/// @notice The schedule is per unit of time: `INITIAL_EMISSION_PER_SECOND` during the first era (4 years), halved
/// every era, so 200M NEURO are scheduled over the first 4 years whatever the epoch length. Epoch `e` spans
/// `[genesisTime + e * epochLength, genesisTime + (e + 1) * epochLength)` and its emission is the schedule's
/// amount over that span. Once an epoch and its submission window have passed, anyone may finalize it: that fixes
/// its miner and model pools. A miner's reward for an epoch is
/// `min(minerPool * burnedFees / totalBurnedFees, minerRewardPerBurnBps * burnedFees / BPS)` and a model's the
/// same with the model pool and rate, where `burnedFees` is the part of the users' fees behind its credited work
/// that was burned. Both terms are proportional to the claimant's own burned fees, so every claimant earns the
/// same reward per burned NEURO, at most the rate: nobody earns more emission than a fixed fraction (below one)
/// of the fee burned for its work, and adding self-paid work never raises the reward of work paid by others (as a
/// split by tokens would: cheap padding would then capture the cap room of well-paid work). What the caps leave
/// unpaid is forgone at claim time, never rolled into later epochs. Rewards are minted when claimed.
/// Validators get a third pool, `validatorShareBps` of the emission, split the same way by the burned part of the
/// probe fees they paid (revealed through `Payments.revealProbeFees` once the allowances expired) and capped at
/// `validatorRewardPerBurnBps`. The miner and model rates add up to at most `MAX_REWARD_PER_BURN_BPS -
/// MAX_VALIDATOR_REWARD_PER_BURN_BPS` and the validator rate to at most `MAX_VALIDATOR_REWARD_PER_BURN_BPS`, so
/// whatever the rates were when a fee was redeemed and when it was revealed, the emission one fee can trigger
/// (miner + model owner + validator) stays at most 90% of its burned part (docs/economics.md).
/// @dev Invariants: `totalEmitted <= scheduledSupplyAt(e)` for every finalized `e`; each epoch is finalized at
/// most once and never reopens (its submission window and reward rates are fixed when it starts); for each
/// epoch, claims paid from the miner (model) pool never exceed it; every reward is at most its rate times the
/// burned fees behind it. Finalize is O(1) in the number of miners and models, claims O(epochs claimed).
contract Emissions is AccessControl {
    using Checkpoints for Checkpoints.Trace208;
    using EpochSchedule for Checkpoints.Trace208;

    /// @notice Length of an era: 4 years of 365 days (35,040 hours); the emission rate halves every era.
    uint256 public constant ERA_DURATION = 4 * 365 days;
    /// @notice Emission per second during era 0, in wei: 200M NEURO (half the mining allocation) over one era.
    uint256 public constant INITIAL_EMISSION_PER_SECOND = 200_000_000 ether / ERA_DURATION;
    /// @notice Denominator of basis-point shares.
    uint256 public constant BPS = 10_000;
    /// @notice Bounds of the miners' share of an epoch's emission (the rest goes to model developers).
    uint256 public constant MIN_MINER_SHARE_BPS = 5000;
    /// @notice Upper bound of the miners' share.
    uint256 public constant MAX_MINER_SHARE_BPS = 9000;
    /// @notice Upper bound of the emission one fee can trigger (miner + model owner + validator), per burned fee:
    /// it stays at most 90% of the fee burned, so wash trading loses at least 10% of the burn plus the whole
    /// treasury share (docs/economics.md).
    uint256 public constant MAX_REWARD_PER_BURN_BPS = 9000;
    /// @notice Upper bound of the validator reward per burned probe fee; the miner and model rates add up to at
    /// most `MAX_REWARD_PER_BURN_BPS` minus this, whatever the validator rate is.
    uint256 public constant MAX_VALIDATOR_REWARD_PER_BURN_BPS = 1000;
    /// @notice Upper bound of the validators' share of an epoch's emission.
    uint256 public constant MAX_VALIDATOR_SHARE_BPS = 2000;
    /// @notice Lower bound of the model developers' share: the miner and validator shares add up to at most
    /// `BPS` minus this.
    uint256 public constant MIN_MODEL_SHARE_BPS = 1000;
    /// @notice Lower bound of the submission window.
    uint256 public constant MIN_SUBMISSION_WINDOW = 10 seconds;
    /// @notice Bounds of the epoch length (a deployment parameter).
    uint256 public constant MIN_EPOCH_LENGTH = 60 seconds;
    /// @notice Upper bound of the epoch length.
    uint256 public constant MAX_EPOCH_LENGTH = 1 days;
    /// @dev From this era on the rate is zero (INITIAL_EMISSION_PER_SECOND < 2^61).
    uint256 private constant LAST_EMITTING_ERA = 61;

    /// @notice Per-epoch accounting, three storage slots (`recordWork` writes the first only).
    struct EpochState {
        uint128 totalWork;
        uint128 totalBurnedFees;
        uint120 minerPool;
        uint120 modelPool;
        bool finalized;
        uint112 minerPaid;
        uint112 modelPaid;
        uint16 minerRewardPerBurnBps;
        uint16 modelRewardPerBurnBps;
    }

    /// @notice Credited work of one miner or one model in one epoch, the fees burned for it, and whether its
    /// reward was claimed.
    struct Work {
        uint128 units;
        uint120 burnedFees;
        bool claimed;
    }

    /// @notice The validators' pool of an epoch: the burned probe fees revealed in it, the pool fixed at
    /// finalization, what was claimed, and the reward cap per burned fee.
    struct ValidatorEpoch {
        uint128 totalBurnedFees;
        uint120 pool;
        uint112 paid;
        uint16 rewardPerBurnBps;
    }

    /// @notice Role that holds and forfeits miners' rewards during disputes (the `Disputes` contract).
    bytes32 public constant REWARD_HOLDER_ROLE = keccak256("REWARD_HOLDER_ROLE");

    /// @notice The NEURO token; this contract is its only emissions minter.
    NeuroToken public immutable token;
    /// @notice Start of epoch 0 (unix seconds).
    uint256 public immutable genesisTime;
    /// @notice Length of an epoch in seconds.
    uint256 public immutable epochLength;

    /// @notice The usage ledger: the only writer of credited work, set once (no role the DAO could grant to an
    /// account that would then credit work with made-up burned fees).
    address public workRecorder;
    /// @notice The payments contract: the only writer of validators' probe fees, set once.
    address public probeFeeRecorder;
    /// @notice Who counts as a validator (the dispute court), set once together with `probeFeeRecorder`.
    IValidatorSet public validatorSet;
    /// @notice Resolver of model owners for `claimModel` (the model registry; governable).
    IModelOwners public modelRegistry;

    /// @notice NEURO minted by claims.
    uint256 public totalEmitted;
    /// @notice Emission never to be minted: epochs without work, and what the fee caps left unpaid.
    uint256 public totalForgone;
    /// @notice Rewards paid out by claims (equal to `totalEmitted`: rewards are minted to the claimant).
    uint256 public totalClaimed;

    mapping(uint256 epoch => EpochState) private _epochs;
    mapping(uint256 epoch => mapping(address miner => Work)) private _minerWork;
    mapping(uint256 epoch => mapping(bytes32 modelId => Work)) private _modelWork;
    mapping(uint256 epoch => ValidatorEpoch) private _validatorEpochs;
    /// @dev Per validator and epoch: `units` holds the gross probe fees revealed, `burnedFees` their burned part.
    mapping(uint256 epoch => mapping(address validator => Work)) private _validatorFees;
    /// @notice Open disputes holding a miner's reward of an epoch: it cannot be claimed while any is open.
    mapping(uint256 epoch => mapping(address miner => uint256)) public rewardHolds;
    /// @notice Whether a miner's reward of an epoch was forfeited by an upheld dispute (never minted).
    mapping(uint256 epoch => mapping(address miner => bool)) public rewardForfeited;
    /// @dev Submission window per epoch (seconds).
    Checkpoints.Trace208 private _windows;
    /// @dev Reward rates per epoch: `minerBps << 16 | modelBps`.
    Checkpoints.Trace208 private _rewardRates;
    /// @dev Miners' share of each epoch's emission (basis points), per epoch.
    Checkpoints.Trace208 private _minerShares;
    /// @dev Validators' share and reward cap per epoch: `shareBps << 16 | rewardPerBurnBps`.
    Checkpoints.Trace208 private _validatorRewards;

    /// @notice Work was credited to a miner and a model in an epoch, backed by `burnedFees` of burned fees.
    event WorkRecorded(
        uint256 indexed epoch, address indexed miner, bytes32 indexed modelId, uint256 units, uint256 burnedFees
    );
    /// @notice An epoch was finalized; `forgone` is its whole emission when it had no work, else zero. The
    /// rates cap each claim of the epoch at `rate * burnedFees / BPS` (see `WorkRecorded`).
    event EpochFinalized(
        uint256 indexed epoch,
        uint256 emission,
        uint256 totalWork,
        uint256 minerPool,
        uint256 modelPool,
        uint256 forgone,
        uint256 minerRewardPerBurnBps,
        uint256 modelRewardPerBurnBps
    );
    /// @notice A miner claimed `amount` for an epoch; `forgone` is the part of its pool share the fee cap withheld.
    event MinerRewardClaimed(uint256 indexed epoch, address indexed miner, uint256 amount, uint256 forgone);
    /// @notice A model owner claimed the model's reward for an epoch; `forgone` as for miners.
    event ModelRewardClaimed(
        uint256 indexed epoch, bytes32 indexed modelId, address indexed owner, uint256 amount, uint256 forgone
    );
    /// @notice Probe fees a validator paid were revealed and credited to `epoch` (the one open when revealed).
    event ValidatorFeesRecorded(uint256 indexed epoch, address indexed validator, uint256 fees, uint256 burnedFees);
    /// @notice The validators' pool of `epoch` was fixed at finalization; `forgone` is the part no revealed fee
    /// backs (all of it when none was revealed).
    event ValidatorPoolFinalized(
        uint256 indexed epoch, uint256 pool, uint256 totalBurnedFees, uint256 forgone, uint256 rewardPerBurnBps
    );
    /// @notice A validator claimed `amount` for an epoch; `forgone` is the part of its pool share the cap withheld.
    event ValidatorRewardClaimed(uint256 indexed epoch, address indexed validator, uint256 amount, uint256 forgone);
    /// @notice The validators' share and reward cap change from epoch `fromEpoch` on.
    event ValidatorRewardsScheduled(uint256 shareBps, uint256 rewardPerBurnBps, uint256 fromEpoch);
    /// @notice The probe fee recorder and the validator set were set (once).
    event ValidatorAccountingSet(address probeFeeRecorder, address validatorSet);
    /// @notice The miners' share changes to `newBps` from epoch `fromEpoch` on.
    event MinerShareScheduled(uint256 newBps, uint256 fromEpoch);
    /// @notice The work recorder was set (once).
    event WorkRecorderSet(address recorder);
    /// @notice The submission window changes to `window` from epoch `fromEpoch` on.
    event SubmissionWindowScheduled(uint256 window, uint256 fromEpoch);
    /// @notice The reward rates change from epoch `fromEpoch` on.
    event RewardRatesScheduled(uint256 minerRewardPerBurnBps, uint256 modelRewardPerBurnBps, uint256 fromEpoch);
    /// @notice The model owner resolver changed.
    event ModelRegistrySet(address oldRegistry, address newRegistry);
    /// @notice A dispute holds `miner`'s reward of `epoch` (`holds` open disputes now).
    event RewardHeld(uint256 indexed epoch, address indexed miner, uint256 holds);
    /// @notice A dispute released its hold; `forfeited` when it was upheld (the reward is never minted).
    event RewardHoldReleased(uint256 indexed epoch, address indexed miner, uint256 holds, bool forfeited);

    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice The chain time is before `genesisTime`.
    error EmissionsNotStarted(uint256 genesisTime);
    /// @notice Work was recorded for an epoch that has not started.
    error EpochNotStarted(uint256 epoch);
    /// @notice Work was recorded after the epoch's submission window closed, or on a finalized epoch.
    error EpochClosed(uint256 epoch);
    /// @notice Finalization was attempted before the epoch and its submission window ended.
    error EpochNotClosed(uint256 epoch, uint256 finalizableAt);
    /// @notice The epoch was already finalized.
    error EpochAlreadyFinalized(uint256 epoch);
    /// @notice A claim named an epoch that is not finalized.
    error EpochNotFinalized(uint256 epoch);
    /// @notice A claim named an epoch whose reward was already claimed.
    error AlreadyClaimed(uint256 epoch);
    /// @notice A claim found no credited work.
    error NothingToClaim();
    /// @notice Zero work units were recorded.
    error ZeroWork();
    /// @notice `claimModel` was called while no model registry is set.
    error ModelRegistryNotSet();
    /// @notice The caller does not own the model.
    error NotModelOwner(bytes32 modelId, address caller, address owner);
    /// @notice The miner and model reward rates add up to more than `MAX_REWARD_PER_BURN_BPS -
    /// MAX_VALIDATOR_REWARD_PER_BURN_BPS`.
    error RewardRatesTooHigh(uint256 minerBps, uint256 modelBps);
    /// @notice The miner and validator shares leave the model developers less than `MIN_MODEL_SHARE_BPS`.
    error SharesTooHigh(uint256 minerShareBps, uint256 validatorShareBps);
    /// @notice The caller is not the probe fee recorder.
    error NotProbeFeeRecorder(address caller);
    /// @notice The probe fee recorder is already set.
    error ValidatorAccountingAlreadySet(address recorder);
    /// @notice Probe fees were revealed for an account that is not a validator.
    error NotAValidator(address account);
    /// @notice The caller is not the work recorder.
    error NotWorkRecorder(address caller);
    /// @notice The work recorder is already set.
    error WorkRecorderAlreadySet(address recorder);
    /// @notice An open dispute holds this reward.
    error RewardOnHold(uint256 epoch, address miner);
    /// @notice A hold was released that was never taken.
    error NoRewardHold(uint256 epoch, address miner);

    /// @notice Deploys the emissions schedule.
    /// @param token_ The NEURO token, whose `emissionsMinter` must be this contract.
    /// @param admin Holder of the admin role (the deployer while wiring, then the timelock); sets the work
    /// recorder once and the bounded parameters.
    /// @param genesisTime_ Start of epoch 0.
    /// @param epochLength_ Epoch length in seconds, within [MIN_EPOCH_LENGTH, MAX_EPOCH_LENGTH].
    /// @param submissionWindow_ Initial submission window, within [MIN_SUBMISSION_WINDOW, epochLength_].
    /// @param minerShareBps_ Initial miners' share, within the share bounds.
    /// @param minerRewardPerBurnBps_ Initial miner reward cap per burned fee (basis points).
    /// @param modelRewardPerBurnBps_ Initial model reward cap per burned fee; the two add up to at most
    /// `MAX_REWARD_PER_BURN_BPS - MAX_VALIDATOR_REWARD_PER_BURN_BPS`.
    /// @param validatorShareBps_ Initial validators' share of the emission, at most `MAX_VALIDATOR_SHARE_BPS`
    /// and leaving the model developers at least `MIN_MODEL_SHARE_BPS`.
    /// @param validatorRewardPerBurnBps_ Initial validator reward cap per burned probe fee.
    /// @param modelRegistry_ Initial model owner resolver; zero until a registry exists.
    constructor(
        NeuroToken token_,
        address admin,
        uint256 genesisTime_,
        uint256 epochLength_,
        uint256 submissionWindow_,
        uint256 minerShareBps_,
        uint256 minerRewardPerBurnBps_,
        uint256 modelRewardPerBurnBps_,
        uint256 validatorShareBps_,
        uint256 validatorRewardPerBurnBps_,
        IModelOwners modelRegistry_
    ) {
        if (address(token_) == address(0) || admin == address(0)) revert ZeroAddress();
        Bounds.check(epochLength_, MIN_EPOCH_LENGTH, MAX_EPOCH_LENGTH);
        token = token_;
        genesisTime = genesisTime_;
        epochLength = epochLength_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _scheduleSubmissionWindow(submissionWindow_, 0);
        _scheduleRewardRates(minerRewardPerBurnBps_, modelRewardPerBurnBps_, 0);
        _scheduleMinerShare(minerShareBps_, 0);
        _scheduleValidatorRewards(validatorShareBps_, validatorRewardPerBurnBps_, 0);
        if (address(modelRegistry_) != address(0)) _setModelRegistry(modelRegistry_);
    }

    // ---------------------------------------------------------------- schedule (views)

    /// @notice NEURO scheduled over the first `elapsed` seconds after genesis.
    /// @dev Exact integer arithmetic, O(eras): era k emits `(INITIAL_EMISSION_PER_SECOND >> k)` per second.
    /// @param elapsed Seconds since `genesisTime`.
    function scheduledSupplyAtTime(uint256 elapsed) public pure returns (uint256 total) {
        uint256 era = elapsed / ERA_DURATION;
        uint256 fullEras = Math.min(era, LAST_EMITTING_ERA);
        for (uint256 k; k < fullEras; ++k) {
            total += (INITIAL_EMISSION_PER_SECOND >> k) * ERA_DURATION;
        }
        if (era < LAST_EMITTING_ERA) total += (INITIAL_EMISSION_PER_SECOND >> era) * (elapsed % ERA_DURATION);
    }

    /// @notice The emission of `epoch` in wei: the schedule's amount over the epoch's span.
    /// @param epoch Epoch number.
    function emissionForEpoch(uint256 epoch) public view returns (uint256) {
        return scheduledSupplyAtTime((epoch + 1) * epochLength) - scheduledSupplyAtTime(epoch * epochLength);
    }

    /// @notice Total emission scheduled for epochs `0 .. epoch - 1`, i.e. before epoch `epoch` starts.
    /// @param epoch Epoch number.
    function scheduledSupplyAt(uint256 epoch) public view returns (uint256) {
        return scheduledSupplyAtTime(epoch * epochLength);
    }

    // ---------------------------------------------------------------- clock

    /// @notice The epoch containing the current block's timestamp.
    function currentEpoch() public view returns (uint256) {
        if (block.timestamp < genesisTime) revert EmissionsNotStarted(genesisTime);
        return (block.timestamp - genesisTime) / epochLength;
    }

    /// @notice The first epoch that has not started yet: parameter changes made now apply from it.
    function nextEpoch() public view returns (uint256) {
        return block.timestamp < genesisTime ? 0 : currentEpoch() + 1;
    }

    /// @notice Start time of `epoch`.
    /// @param epoch Epoch number.
    function epochStart(uint256 epoch) public view returns (uint256) {
        return genesisTime + epoch * epochLength;
    }

    /// @notice The submission window that applies to `epoch` (fixed once the epoch has started).
    /// @param epoch Epoch number.
    function submissionWindowOf(uint256 epoch) public view returns (uint256) {
        return _windows.at(epoch);
    }

    /// @notice The newest submission window: it applies to epochs from `nextEpoch()` on (or to the current one,
    /// if no change is scheduled).
    function submissionWindow() external view returns (uint256 window) {
        (window,) = _windows.newest();
    }

    /// @notice First timestamp at which `epoch` can be finalized: its end plus its submission window.
    /// @param epoch Epoch number.
    function finalizableAt(uint256 epoch) public view returns (uint256) {
        return genesisTime + (epoch + 1) * epochLength + submissionWindowOf(epoch);
    }

    /// @notice Whether work and fees may still be booked for `epoch`: it has started, its submission window has
    /// not closed and it is not finalized.
    /// @param epoch Epoch number.
    function isOpen(uint256 epoch) public view returns (bool) {
        return epoch <= currentEpoch() && block.timestamp < finalizableAt(epoch) && !_epochs[epoch].finalized;
    }

    /// @notice The miners' share of `epoch`'s emission (fixed once the epoch has started), in basis points.
    /// @param epoch Epoch number.
    function minerShareOf(uint256 epoch) public view returns (uint256) {
        return _minerShares.at(epoch);
    }

    /// @notice The newest miners' share (it applies from `nextEpoch()` on, or now if no change is scheduled).
    function minerShareBps() external view returns (uint256 bps) {
        (bps,) = _minerShares.newest();
    }

    /// @notice The validators' share of `epoch`'s emission and their reward cap per burned probe fee (fixed once
    /// the epoch has started), in basis points.
    /// @param epoch Epoch number.
    function validatorRewardsOf(uint256 epoch) public view returns (uint256 shareBps, uint256 rewardPerBurnBps) {
        uint256 packed = _validatorRewards.at(epoch);
        return (packed >> 16, packed & 0xffff);
    }

    /// @notice The reward caps that apply to `epoch`, in basis points of the burned fees behind the work.
    /// @param epoch Epoch number.
    function rewardRatesOf(uint256 epoch) public view returns (uint256 minerBps, uint256 modelBps) {
        uint256 packed = _rewardRates.at(epoch);
        return (packed >> 16, packed & 0xffff);
    }

    // ---------------------------------------------------------------- work and finalization

    /// @notice Credits `units` of verified work to `miner` and `modelId` in `epoch`, backed by `burnedFees`.
    /// @dev Only the usage ledger (`workRecorder`). The epoch must be open.
    /// @param epoch Epoch the work belongs to.
    /// @param miner Miner that did the work.
    /// @param modelId Model the work was done on.
    /// @param units Work units (tokens served).
    /// @param burnedFees NEURO burned from the fees the users paid for this work; caps the rewards it earns.
    function recordWork(uint256 epoch, address miner, bytes32 modelId, uint128 units, uint256 burnedFees) external {
        if (msg.sender != workRecorder || msg.sender == address(0)) revert NotWorkRecorder(msg.sender);
        if (units == 0) revert ZeroWork();
        if (miner == address(0)) revert ZeroAddress();
        if (epoch > currentEpoch()) revert EpochNotStarted(epoch);
        if (!isOpen(epoch)) revert EpochClosed(epoch);
        uint120 burned = SafeCast.toUint120(burnedFees);
        EpochState storage state = _epochs[epoch];
        state.totalWork += units;
        state.totalBurnedFees += burned;
        Work storage m = _minerWork[epoch][miner];
        m.units += units;
        m.burnedFees += burned;
        Work storage w = _modelWork[epoch][modelId];
        w.units += units;
        w.burnedFees += burned;
        emit WorkRecorded(epoch, miner, modelId, units, burnedFees);
    }

    /// @notice Credits probe fees `validator` paid to the current epoch's validators' pool.
    /// @dev Only the payments contract (`probeFeeRecorder`), when an allowance's user reveals its expired
    /// allowances as probes of `validator`. Crediting the epoch open at reveal time (not the epochs the fees were
    /// redeemed in) keeps probe accounts unlinkable to their validator while they are in use.
    /// @param validator Validator the fees were paid for; must hold the minimum validator stake.
    /// @param fees Gross fees revealed.
    /// @param burnedFees Their burned part; caps the reward they earn.
    function recordValidatorFees(address validator, uint256 fees, uint256 burnedFees) external {
        if (msg.sender != probeFeeRecorder || msg.sender == address(0)) revert NotProbeFeeRecorder(msg.sender);
        if (!validatorSet.isValidator(validator)) revert NotAValidator(validator);
        uint256 epoch = currentEpoch();
        // The current epoch is open: it ends before its submission window and finalization.
        uint120 burned = SafeCast.toUint120(burnedFees);
        _validatorEpochs[epoch].totalBurnedFees += burned;
        Work storage work = _validatorFees[epoch][validator];
        work.units += SafeCast.toUint128(fees);
        work.burnedFees += burned;
        emit ValidatorFeesRecorded(epoch, validator, fees, burnedFees);
    }

    /// @notice Fixes `epoch`'s reward pools and rates. Permissionless; once per epoch.
    /// @dev Epochs may be finalized in any order and at any time after `finalizableAt(epoch)`: nothing is lost.
    /// An epoch without credited work, or whose work was backed by no burned fee, adds its miner and model pools
    /// to `totalForgone`; likewise the validators' pool when no probe fee was revealed in the epoch. Nothing is
    /// minted here: rewards are minted when claimed, so what the fee caps withhold is never minted.
    /// @param epoch Epoch to finalize.
    function finalizeEpoch(uint256 epoch) external {
        uint256 readyAt = finalizableAt(epoch);
        if (block.timestamp < readyAt) revert EpochNotClosed(epoch, readyAt);
        EpochState storage state = _epochs[epoch];
        if (state.finalized) revert EpochAlreadyFinalized(epoch);
        state.finalized = true;

        uint256 emission = emissionForEpoch(epoch);
        uint256 validatorPool = _finalizeValidatorPool(epoch, emission);
        uint256 minerAndModel = emission - validatorPool;
        if (state.totalBurnedFees == 0 || minerAndModel == 0) {
            totalForgone += minerAndModel;
            emit EpochFinalized(epoch, emission, state.totalWork, 0, 0, minerAndModel, 0, 0);
            return;
        }
        uint256 minerPool = emission * minerShareOf(epoch) / BPS;
        uint256 modelPool = minerAndModel - minerPool;
        (uint256 minerRate, uint256 modelRate) = rewardRatesOf(epoch);
        // Emission per epoch < 2^75 wei: the narrow fields cannot overflow.
        state.minerPool = uint120(minerPool);
        state.modelPool = uint120(modelPool);
        state.minerRewardPerBurnBps = uint16(minerRate);
        state.modelRewardPerBurnBps = uint16(modelRate);
        emit EpochFinalized(epoch, emission, state.totalWork, minerPool, modelPool, 0, minerRate, modelRate);
    }

    /// @dev Fixes the validators' pool of `epoch`; returns its nominal size (share of the emission), paid or
    /// forgone.
    function _finalizeValidatorPool(uint256 epoch, uint256 emission) private returns (uint256 nominal) {
        (uint256 shareBps, uint256 rate) = validatorRewardsOf(epoch);
        nominal = emission * shareBps / BPS;
        ValidatorEpoch storage v = _validatorEpochs[epoch];
        if (v.totalBurnedFees == 0 || rate == 0) {
            totalForgone += nominal;
            emit ValidatorPoolFinalized(epoch, 0, v.totalBurnedFees, nominal, 0);
            return nominal;
        }
        v.pool = uint120(nominal);
        v.rewardPerBurnBps = uint16(rate);
        emit ValidatorPoolFinalized(epoch, nominal, v.totalBurnedFees, 0, rate);
    }

    // ---------------------------------------------------------------- claims

    /// @notice Claims the caller's miner rewards for `epochs` (each finalized, each claimed once).
    /// @dev An epoch whose reward the fee cap reduces to zero is still marked claimed (its share is forgone).
    /// @param epochs Epochs to claim; reverts on a duplicate or an unfinalized one.
    /// @return amount NEURO minted to the caller.
    function claim(uint256[] calldata epochs) external returns (uint256 amount) {
        bool anyWork;
        for (uint256 i; i < epochs.length; ++i) {
            uint256 epoch = epochs[i];
            Work storage work = _minerWork[epoch][msg.sender];
            anyWork = anyWork || work.units > 0;
            if (rewardHolds[epoch][msg.sender] > 0) revert RewardOnHold(epoch, msg.sender);
            (uint256 reward, uint256 forgone) = _take(epoch, work, true);
            if (rewardForfeited[epoch][msg.sender]) {
                // Fraud proven by a dispute: the whole share is forgone (never minted).
                forgone += reward;
                totalForgone += reward;
                _refundMinerPaid(epoch, reward);
                reward = 0;
            }
            amount += reward;
            emit MinerRewardClaimed(epoch, msg.sender, reward, forgone);
        }
        if (!anyWork) revert NothingToClaim();
        _pay(msg.sender, amount);
    }

    /// @notice Claims the developer rewards of `modelId` for `epochs`; only the model's owner may call.
    /// @param modelId Model whose rewards are claimed.
    /// @param epochs Epochs to claim; reverts on a duplicate or an unfinalized one.
    /// @return amount NEURO minted to the model owner (the caller).
    function claimModel(bytes32 modelId, uint256[] calldata epochs) external returns (uint256 amount) {
        if (address(modelRegistry) == address(0)) revert ModelRegistryNotSet();
        address owner = modelRegistry.modelOwner(modelId);
        if (owner != msg.sender || owner == address(0)) revert NotModelOwner(modelId, msg.sender, owner);
        bool anyWork;
        for (uint256 i; i < epochs.length; ++i) {
            uint256 epoch = epochs[i];
            Work storage work = _modelWork[epoch][modelId];
            anyWork = anyWork || work.units > 0;
            (uint256 reward, uint256 forgone) = _take(epoch, work, false);
            amount += reward;
            emit ModelRewardClaimed(epoch, modelId, owner, reward, forgone);
        }
        if (!anyWork) revert NothingToClaim();
        _pay(owner, amount);
    }

    /// @notice Claims the caller's validator rewards for `epochs` (each finalized, each claimed once): its share
    /// of each validators' pool by the burned part of the probe fees it revealed, capped at the epoch's rate.
    /// @param epochs Epochs to claim; reverts on a duplicate or an unfinalized one.
    /// @return amount NEURO minted to the caller.
    function claimValidator(uint256[] calldata epochs) external returns (uint256 amount) {
        bool anyFees;
        for (uint256 i; i < epochs.length; ++i) {
            uint256 epoch = epochs[i];
            if (!_epochs[epoch].finalized) revert EpochNotFinalized(epoch);
            Work storage work = _validatorFees[epoch][msg.sender];
            if (work.claimed) revert AlreadyClaimed(epoch);
            anyFees = anyFees || work.burnedFees > 0;
            (uint256 reward, uint256 forgone) = _validatorShare(epoch, work);
            work.claimed = true;
            _validatorEpochs[epoch].paid += SafeCast.toUint112(reward);
            totalForgone += forgone;
            amount += reward;
            emit ValidatorRewardClaimed(epoch, msg.sender, reward, forgone);
        }
        if (!anyFees) revert NothingToClaim();
        _pay(msg.sender, amount);
    }

    // ---------------------------------------------------------------- disputes

    /// @notice Holds `miner`'s reward of `epoch` while a dispute about its work in that epoch is open.
    /// @param epoch Epoch of the disputed response.
    /// @param miner Accused miner.
    function holdMinerReward(uint256 epoch, address miner) external onlyRole(REWARD_HOLDER_ROLE) {
        uint256 holds = ++rewardHolds[epoch][miner];
        emit RewardHeld(epoch, miner, holds);
    }

    /// @notice Releases a hold taken by `holdMinerReward`; with `forfeit`, the reward is never paid.
    /// @param epoch Epoch of the disputed response.
    /// @param miner Accused miner.
    /// @param forfeit Whether the dispute was upheld.
    /// @return alreadyPaid With `forfeit`: the reward the miner claimed before the dispute (the first forfeiture
    /// of the epoch only), for the court to take back from its stake; otherwise zero.
    function releaseMinerReward(uint256 epoch, address miner, bool forfeit)
        external
        onlyRole(REWARD_HOLDER_ROLE)
        returns (uint256 alreadyPaid)
    {
        uint256 holds = rewardHolds[epoch][miner];
        if (holds == 0) revert NoRewardHold(epoch, miner);
        rewardHolds[epoch][miner] = holds - 1;
        if (forfeit && !rewardForfeited[epoch][miner]) {
            Work storage work = _minerWork[epoch][miner];
            // A claim pays only while nothing is forfeited and no hold is on; paid then means paid in full.
            if (work.claimed) (alreadyPaid,) = _share(epoch, work, true);
            rewardForfeited[epoch][miner] = true;
        }
        emit RewardHoldReleased(epoch, miner, holds - 1, forfeit);
    }

    // ---------------------------------------------------------------- views

    /// @notice Accounting of `epoch`.
    /// @param epoch Epoch number.
    function epochInfo(uint256 epoch) external view returns (EpochState memory) {
        return _epochs[epoch];
    }

    /// @notice Whether `epoch` is finalized.
    /// @param epoch Epoch number.
    function isFinalized(uint256 epoch) external view returns (bool) {
        return _epochs[epoch].finalized;
    }

    /// @notice Work credited to `miner` in `epoch`, the fees burned for it, and whether it was claimed.
    /// @param epoch Epoch number.
    /// @param miner Miner address.
    function minerWork(uint256 epoch, address miner) external view returns (Work memory) {
        return _minerWork[epoch][miner];
    }

    /// @notice Work credited to `modelId` in `epoch`, the fees burned for it, and whether it was claimed.
    /// @param epoch Epoch number.
    /// @param modelId Model id.
    function modelWork(uint256 epoch, bytes32 modelId) external view returns (Work memory) {
        return _modelWork[epoch][modelId];
    }

    /// @notice The validators' pool of `epoch`: burned probe fees revealed, pool, paid, reward cap.
    /// @param epoch Epoch number.
    function validatorEpochInfo(uint256 epoch) external view returns (ValidatorEpoch memory) {
        return _validatorEpochs[epoch];
    }

    /// @notice Probe fees `validator` revealed in `epoch` (`units`: gross, `burnedFees`: burned part), and
    /// whether their reward was claimed.
    /// @param epoch Epoch number.
    /// @param validator Validator address.
    function validatorFees(uint256 epoch, address validator) external view returns (Work memory) {
        return _validatorFees[epoch][validator];
    }

    /// @notice Unclaimed validator reward of `validator` over `epochs` (unfinalized or claimed epochs count zero).
    /// @param validator Validator address.
    /// @param epochs Epochs to sum.
    function pendingValidatorReward(address validator, uint256[] calldata epochs)
        external
        view
        returns (uint256 amount)
    {
        for (uint256 i; i < epochs.length; ++i) {
            Work storage work = _validatorFees[epochs[i]][validator];
            if (work.claimed) continue;
            (uint256 reward,) = _validatorShare(epochs[i], work);
            amount += reward;
        }
    }

    /// @notice Unclaimed miner reward of `miner` over `epochs` (unfinalized or claimed epochs count zero).
    /// @param miner Miner address.
    /// @param epochs Epochs to sum.
    function pendingMinerReward(address miner, uint256[] calldata epochs) external view returns (uint256 amount) {
        for (uint256 i; i < epochs.length; ++i) {
            if (rewardForfeited[epochs[i]][miner]) continue;
            (uint256 reward,) = _owed(epochs[i], _minerWork[epochs[i]][miner], true);
            amount += reward;
        }
    }

    /// @notice Unclaimed developer reward of `modelId` over `epochs` (unfinalized or claimed epochs count zero).
    /// @param modelId Model id.
    /// @param epochs Epochs to sum.
    function pendingModelReward(bytes32 modelId, uint256[] calldata epochs) external view returns (uint256 amount) {
        for (uint256 i; i < epochs.length; ++i) {
            (uint256 reward,) = _owed(epochs[i], _modelWork[epochs[i]][modelId], false);
            amount += reward;
        }
    }

    // ---------------------------------------------------------------- governance

    /// @notice Sets the miners' share of the emission of epochs that have not started yet (from `nextEpoch()`).
    /// @param newBps Share in basis points, within [MIN_MINER_SHARE_BPS, MAX_MINER_SHARE_BPS].
    function setMinerShare(uint256 newBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _scheduleMinerShare(newBps, nextEpoch());
    }

    /// @notice Sets the validators' share of the emission and their reward cap per burned probe fee, for epochs
    /// that have not started yet (from `nextEpoch()`).
    /// @param shareBps Share in basis points, at most `MAX_VALIDATOR_SHARE_BPS`; with the newest miners' share
    /// it leaves the model developers at least `MIN_MODEL_SHARE_BPS`.
    /// @param rewardPerBurnBps Reward cap, at most `MAX_VALIDATOR_REWARD_PER_BURN_BPS`.
    function setValidatorRewards(uint256 shareBps, uint256 rewardPerBurnBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _scheduleValidatorRewards(shareBps, rewardPerBurnBps, nextEpoch());
    }

    /// @notice Sets the payments contract as the only writer of validators' probe fees, and the dispute court as
    /// the judge of who is a validator; once, by the admin (the deployer while wiring).
    /// @param recorder The payments contract.
    /// @param validators The validator set (the dispute court).
    function setValidatorAccounting(address recorder, IValidatorSet validators) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (recorder == address(0) || address(validators) == address(0)) revert ZeroAddress();
        if (probeFeeRecorder != address(0)) revert ValidatorAccountingAlreadySet(probeFeeRecorder);
        probeFeeRecorder = recorder;
        validatorSet = validators;
        emit ValidatorAccountingSet(recorder, address(validators));
    }

    /// @notice Sets the usage ledger as the only writer of credited work; once, by the admin (the deployer while
    /// wiring). No later change is possible: a new ledger means a new deployment.
    /// @param recorder The usage ledger.
    function setWorkRecorder(address recorder) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (recorder == address(0)) revert ZeroAddress();
        if (workRecorder != address(0)) revert WorkRecorderAlreadySet(workRecorder);
        workRecorder = recorder;
        emit WorkRecorderSet(recorder);
    }

    /// @notice Sets the submission window of epochs that have not started yet (from `nextEpoch()` on): an epoch's
    /// window never changes once it has started, so a finalized epoch can never reopen.
    /// @param newWindow Seconds, within [MIN_SUBMISSION_WINDOW, epochLength].
    function setSubmissionWindow(uint256 newWindow) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _scheduleSubmissionWindow(newWindow, nextEpoch());
    }

    /// @notice Sets the reward caps of epochs that have not started yet, in basis points of burned fees.
    /// @param minerBps Miner reward per burned fee.
    /// @param modelBps Model reward per burned fee; `minerBps + modelBps <= MAX_REWARD_PER_BURN_BPS -
    /// MAX_VALIDATOR_REWARD_PER_BURN_BPS`.
    function setRewardRates(uint256 minerBps, uint256 modelBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _scheduleRewardRates(minerBps, modelBps, nextEpoch());
    }

    /// @notice Sets the contract that resolves model owners for `claimModel`.
    /// @param newRegistry Non-zero resolver.
    function setModelRegistry(IModelOwners newRegistry) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(newRegistry) == address(0)) revert ZeroAddress();
        _setModelRegistry(newRegistry);
    }

    // ---------------------------------------------------------------- internals

    /// @dev `(reward, forgone)`: the pool share by burned fees, capped at the rate times the burned fees; zero if
    /// not owed.
    function _owed(uint256 epoch, Work storage work, bool minerSide)
        private
        view
        returns (uint256 reward, uint256 forgone)
    {
        if (work.claimed) return (0, 0);
        return _share(epoch, work, minerSide);
    }

    /// @dev `(reward, forgone)` of `work`, claimed or not: the pool share by burned fees, capped at the rate
    /// times the burned fees.
    function _share(uint256 epoch, Work storage work, bool minerSide)
        private
        view
        returns (uint256 reward, uint256 forgone)
    {
        EpochState storage state = _epochs[epoch];
        if (!state.finalized || work.burnedFees == 0) return (0, 0);
        uint256 pool = minerSide ? state.minerPool : state.modelPool;
        uint256 rate = minerSide ? state.minerRewardPerBurnBps : state.modelRewardPerBurnBps;
        uint256 share = Math.mulDiv(pool, work.burnedFees, state.totalBurnedFees);
        uint256 cap = uint256(work.burnedFees) * rate / BPS;
        reward = Math.min(share, cap);
        forgone = share - reward;
    }

    /// @dev `(reward, forgone)` of a validator's revealed fees: the pool share by burned fees, capped at the rate.
    function _validatorShare(uint256 epoch, Work storage work) private view returns (uint256 reward, uint256 forgone) {
        ValidatorEpoch storage v = _validatorEpochs[epoch];
        if (!_epochs[epoch].finalized || work.burnedFees == 0 || v.pool == 0) return (0, 0);
        uint256 share = Math.mulDiv(v.pool, work.burnedFees, v.totalBurnedFees);
        uint256 cap = uint256(work.burnedFees) * v.rewardPerBurnBps / BPS;
        reward = Math.min(share, cap);
        forgone = share - reward;
    }

    function _take(uint256 epoch, Work storage work, bool minerSide) private returns (uint256 reward, uint256 forgone) {
        EpochState storage state = _epochs[epoch];
        if (!state.finalized) revert EpochNotFinalized(epoch);
        if (work.claimed) revert AlreadyClaimed(epoch);
        (reward, forgone) = _owed(epoch, work, minerSide);
        work.claimed = true;
        // Σ claims ≤ pool holds by construction (floor division of pro-rata shares); the checked cast and the
        // bookkeeping make the per-epoch bound explicit.
        if (minerSide) state.minerPaid += SafeCast.toUint112(reward);
        else state.modelPaid += SafeCast.toUint112(reward);
        totalForgone += forgone;
    }

    /// @dev Undoes the pool bookkeeping of a reward `_take` counted but a forfeiture withholds.
    function _refundMinerPaid(uint256 epoch, uint256 reward) private {
        _epochs[epoch].minerPaid -= SafeCast.toUint112(reward);
    }

    function _pay(address to, uint256 amount) private {
        if (amount == 0) return;
        totalEmitted += amount;
        totalClaimed += amount;
        token.mintEmission(to, amount);
    }

    function _scheduleMinerShare(uint256 newBps, uint256 fromEpoch) private {
        Bounds.check(newBps, MIN_MINER_SHARE_BPS, MAX_MINER_SHARE_BPS);
        (uint256 validatorRewards,) = _validatorRewards.newest();
        _checkShares(newBps, validatorRewards >> 16);
        _minerShares.schedule(fromEpoch, newBps);
        emit MinerShareScheduled(newBps, fromEpoch);
    }

    function _scheduleValidatorRewards(uint256 shareBps, uint256 rewardPerBurnBps, uint256 fromEpoch) private {
        Bounds.check(shareBps, 0, MAX_VALIDATOR_SHARE_BPS);
        Bounds.check(rewardPerBurnBps, 0, MAX_VALIDATOR_REWARD_PER_BURN_BPS);
        (uint256 minerShare,) = _minerShares.newest();
        _checkShares(minerShare, shareBps);
        _validatorRewards.schedule(fromEpoch, shareBps << 16 | rewardPerBurnBps);
        emit ValidatorRewardsScheduled(shareBps, rewardPerBurnBps, fromEpoch);
    }

    function _checkShares(uint256 minerShareBps_, uint256 validatorShareBps_) private pure {
        if (minerShareBps_ + validatorShareBps_ > BPS - MIN_MODEL_SHARE_BPS) {
            revert SharesTooHigh(minerShareBps_, validatorShareBps_);
        }
    }

    function _scheduleSubmissionWindow(uint256 newWindow, uint256 fromEpoch) private {
        Bounds.check(newWindow, MIN_SUBMISSION_WINDOW, epochLength);
        _windows.schedule(fromEpoch, newWindow);
        emit SubmissionWindowScheduled(newWindow, fromEpoch);
    }

    function _scheduleRewardRates(uint256 minerBps, uint256 modelBps, uint256 fromEpoch) private {
        if (minerBps + modelBps > MAX_REWARD_PER_BURN_BPS - MAX_VALIDATOR_REWARD_PER_BURN_BPS) {
            revert RewardRatesTooHigh(minerBps, modelBps);
        }
        _rewardRates.schedule(fromEpoch, minerBps << 16 | modelBps);
        emit RewardRatesScheduled(minerBps, modelBps, fromEpoch);
    }

    function _setModelRegistry(IModelOwners newRegistry) private {
        emit ModelRegistrySet(address(modelRegistry), address(newRegistry));
        modelRegistry = newRegistry;
    }
}
