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
    /// @notice Upper bound of `minerRewardPerBurnBps + modelRewardPerBurnBps`: the emission paid for a unit of
    /// work stays at most 90% of the fee burned for it, so wash trading loses at least 10% of the burn plus the
    /// whole treasury share (docs/economics.md).
    uint256 public constant MAX_REWARD_PER_BURN_BPS = 9000;
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
    /// @notice The reward rates add up to more than `MAX_REWARD_PER_BURN_BPS`.
    error RewardRatesTooHigh(uint256 minerBps, uint256 modelBps);
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
    /// `MAX_REWARD_PER_BURN_BPS`.
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

    /// @notice Fixes `epoch`'s reward pools and rates. Permissionless; once per epoch.
    /// @dev Epochs may be finalized in any order and at any time after `finalizableAt(epoch)`: nothing is lost.
    /// An epoch without credited work, or whose work was backed by no burned fee, adds its emission to
    /// `totalForgone`. Nothing is minted here: rewards are minted when claimed, so what the fee caps withhold is
    /// never minted.
    /// @param epoch Epoch to finalize.
    function finalizeEpoch(uint256 epoch) external {
        uint256 readyAt = finalizableAt(epoch);
        if (block.timestamp < readyAt) revert EpochNotClosed(epoch, readyAt);
        EpochState storage state = _epochs[epoch];
        if (state.finalized) revert EpochAlreadyFinalized(epoch);
        state.finalized = true;

        uint256 emission = emissionForEpoch(epoch);
        if (state.totalBurnedFees == 0 || emission == 0) {
            totalForgone += emission;
            emit EpochFinalized(epoch, emission, state.totalWork, 0, 0, emission, 0, 0);
            return;
        }
        uint256 minerPool = emission * minerShareOf(epoch) / BPS;
        uint256 modelPool = emission - minerPool;
        (uint256 minerRate, uint256 modelRate) = rewardRatesOf(epoch);
        // Emission per epoch < 2^75 wei: the narrow fields cannot overflow.
        state.minerPool = uint120(minerPool);
        state.modelPool = uint120(modelPool);
        state.minerRewardPerBurnBps = uint16(minerRate);
        state.modelRewardPerBurnBps = uint16(modelRate);
        emit EpochFinalized(epoch, emission, state.totalWork, minerPool, modelPool, 0, minerRate, modelRate);
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
    /// @param modelBps Model reward per burned fee; `minerBps + modelBps <= MAX_REWARD_PER_BURN_BPS`.
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
        _minerShares.schedule(fromEpoch, newBps);
        emit MinerShareScheduled(newBps, fromEpoch);
    }

    function _scheduleSubmissionWindow(uint256 newWindow, uint256 fromEpoch) private {
        Bounds.check(newWindow, MIN_SUBMISSION_WINDOW, epochLength);
        _windows.schedule(fromEpoch, newWindow);
        emit SubmissionWindowScheduled(newWindow, fromEpoch);
    }

    function _scheduleRewardRates(uint256 minerBps, uint256 modelBps, uint256 fromEpoch) private {
        if (minerBps + modelBps > MAX_REWARD_PER_BURN_BPS) revert RewardRatesTooHigh(minerBps, modelBps);
        _rewardRates.schedule(fromEpoch, minerBps << 16 | modelBps);
        emit RewardRatesScheduled(minerBps, modelBps, fromEpoch);
    }

    function _setModelRegistry(IModelOwners newRegistry) private {
        emit ModelRegistrySet(address(modelRegistry), address(newRegistry));
        modelRegistry = newRegistry;
    }
}
