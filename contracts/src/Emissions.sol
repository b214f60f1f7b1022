// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {NeuroToken} from "./NeuroToken.sol";
import {Bounds} from "./libraries/Bounds.sol";
import {IModelOwners} from "./interfaces/IModelOwners.sol";

/// @title Hourly NEURO emissions with a Bitcoin-style halving, paid for verified work
/// @notice Epoch `e` spans `[genesisTime + e * epochLength, genesisTime + (e + 1) * epochLength)`. Each era of
/// 35,040 epochs halves the per-epoch emission. Once an epoch and its submission window have passed, anyone may
/// finalize it: that mints exactly its emission and splits it between miners (pro rata to credited work) and
/// model developers (pro rata to the work done on their models). Claims are pull-based.
/// @dev Invariants: `totalEmitted <= scheduledSupplyAt(e)` for every finalized `e`; each epoch is finalized at
/// most once; the sum of all claims of an epoch never exceeds its pools (floor division); finalize is O(1) in
/// the number of miners and models, claims are O(epochs claimed).
contract Emissions is AccessControl {
    using SafeERC20 for NeuroToken;

    /// @notice Role of the usage ledger, the only writer of credited work.
    bytes32 public constant WORK_RECORDER_ROLE = keccak256("WORK_RECORDER_ROLE");

    /// @notice Epochs per era (4 years of hourly epochs); the emission halves at every era boundary.
    uint256 public constant EPOCHS_PER_ERA = 35_040;
    /// @notice Emission of each epoch of era 0, in wei: half of the 400M mining allocation over one era.
    uint256 public constant INITIAL_EPOCH_EMISSION = 200_000_000 ether / EPOCHS_PER_ERA;
    /// @notice Denominator of basis-point shares.
    uint256 public constant BPS = 10_000;
    /// @notice Bounds of the miners' share of an epoch's emission (the rest goes to model developers).
    uint256 public constant MIN_MINER_SHARE_BPS = 5000;
    /// @notice Upper bound of the miners' share.
    uint256 public constant MAX_MINER_SHARE_BPS = 9000;
    /// @notice Lower bound of the submission window.
    uint256 public constant MIN_SUBMISSION_WINDOW = 10 seconds;
    /// @notice Bounds of the epoch length (a deployment parameter).
    uint256 public constant MIN_EPOCH_LENGTH = 60 seconds;
    /// @notice Upper bound of the epoch length.
    uint256 public constant MAX_EPOCH_LENGTH = 1 days;
    /// @dev Past this era the emission is zero (INITIAL_EPOCH_EMISSION < 2^73).
    uint256 private constant LAST_EMITTING_ERA = 80;

    /// @notice Per-epoch accounting, two storage slots.
    struct EpochState {
        uint128 totalWork;
        uint128 minerPool;
        uint128 modelPool;
        bool finalized;
    }

    /// @notice Credited work of one miner or one model in one epoch, and whether its reward was claimed.
    struct Work {
        uint128 units;
        bool claimed;
    }

    /// @notice The NEURO token; this contract is its only emissions minter.
    NeuroToken public immutable token;
    /// @notice Start of epoch 0 (unix seconds).
    uint256 public immutable genesisTime;
    /// @notice Length of an epoch in seconds.
    uint256 public immutable epochLength;

    /// @notice Miners' share of each epoch's emission, in basis points (governable).
    uint256 public minerShareBps;
    /// @notice Seconds after an epoch's end during which work can still be credited to it (governable).
    uint256 public submissionWindow;
    /// @notice Resolver of model owners for `claimModel` (the model registry; governable).
    IModelOwners public modelRegistry;

    /// @notice NEURO minted by finalized epochs.
    uint256 public totalEmitted;
    /// @notice Emission of finalized epochs that had no credited work, never minted.
    uint256 public totalForgone;
    /// @notice Rewards paid out by claims.
    uint256 public totalClaimed;

    mapping(uint256 epoch => EpochState) private _epochs;
    mapping(uint256 epoch => mapping(address miner => Work)) private _minerWork;
    mapping(uint256 epoch => mapping(bytes32 modelId => Work)) private _modelWork;

    /// @notice Work was credited to a miner and a model in an epoch.
    event WorkRecorded(uint256 indexed epoch, address indexed miner, bytes32 indexed modelId, uint256 units);
    /// @notice An epoch was finalized; `minted` is zero and `forgone` its emission when it had no work.
    event EpochFinalized(
        uint256 indexed epoch, uint256 minted, uint256 totalWork, uint256 minerPool, uint256 modelPool, uint256 forgone
    );
    /// @notice A miner claimed its reward for an epoch.
    event MinerRewardClaimed(uint256 indexed epoch, address indexed miner, uint256 amount);
    /// @notice A model owner claimed the model's reward for an epoch.
    event ModelRewardClaimed(uint256 indexed epoch, bytes32 indexed modelId, address indexed owner, uint256 amount);
    /// @notice The miners' share changed.
    event MinerShareSet(uint256 oldBps, uint256 newBps);
    /// @notice The submission window changed.
    event SubmissionWindowSet(uint256 oldWindow, uint256 newWindow);
    /// @notice The model owner resolver changed.
    event ModelRegistrySet(address oldRegistry, address newRegistry);

    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice The chain time is before `genesisTime`.
    error EmissionsNotStarted(uint256 genesisTime);
    /// @notice Work was recorded for an epoch that has not started.
    error EpochNotStarted(uint256 epoch);
    /// @notice Work was recorded after the epoch's submission window closed.
    error EpochClosed(uint256 epoch);
    /// @notice Finalization was attempted before the epoch and its submission window ended.
    error EpochNotClosed(uint256 epoch, uint256 finalizableAt);
    /// @notice The epoch was already finalized.
    error EpochAlreadyFinalized(uint256 epoch);
    /// @notice A claim named an epoch that is not finalized.
    error EpochNotFinalized(uint256 epoch);
    /// @notice A claim named an epoch whose reward was already claimed.
    error AlreadyClaimed(uint256 epoch);
    /// @notice A claim paid nothing.
    error NothingToClaim();
    /// @notice Zero work units were recorded.
    error ZeroWork();
    /// @notice `claimModel` was called while no model registry is set.
    error ModelRegistryNotSet();
    /// @notice The caller does not own the model.
    error NotModelOwner(bytes32 modelId, address caller, address owner);

    /// @notice Deploys the emissions schedule.
    /// @param token_ The NEURO token, whose `emissionsMinter` must be this contract.
    /// @param admin Holder of the admin role (the timelock); grants WORK_RECORDER_ROLE and sets parameters.
    /// @param genesisTime_ Start of epoch 0.
    /// @param epochLength_ Epoch length in seconds, within [MIN_EPOCH_LENGTH, MAX_EPOCH_LENGTH].
    /// @param submissionWindow_ Initial submission window, within [MIN_SUBMISSION_WINDOW, epochLength_].
    /// @param minerShareBps_ Initial miners' share, within the share bounds.
    /// @param modelRegistry_ Initial model owner resolver; zero until a registry exists.
    constructor(
        NeuroToken token_,
        address admin,
        uint256 genesisTime_,
        uint256 epochLength_,
        uint256 submissionWindow_,
        uint256 minerShareBps_,
        IModelOwners modelRegistry_
    ) {
        if (address(token_) == address(0) || admin == address(0)) revert ZeroAddress();
        Bounds.check(epochLength_, MIN_EPOCH_LENGTH, MAX_EPOCH_LENGTH);
        token = token_;
        genesisTime = genesisTime_;
        epochLength = epochLength_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setSubmissionWindow(submissionWindow_);
        _setMinerShare(minerShareBps_);
        if (address(modelRegistry_) != address(0)) _setModelRegistry(modelRegistry_);
    }

    // ---------------------------------------------------------------- schedule (pure views)

    /// @notice The emission of epoch `epoch` in wei: `INITIAL_EPOCH_EMISSION >> era`.
    /// @param epoch Epoch number.
    function emissionForEpoch(uint256 epoch) public pure returns (uint256) {
        uint256 era = epoch / EPOCHS_PER_ERA;
        return era > LAST_EMITTING_ERA ? 0 : INITIAL_EPOCH_EMISSION >> era;
    }

    /// @notice Total emission scheduled for epochs `0 .. epoch - 1`, i.e. before epoch `epoch` starts.
    /// @dev Closed form, O(eras). Never above the mining allocation: each era emits at most half of what is left.
    /// @param epoch Epoch number.
    function scheduledSupplyAt(uint256 epoch) public pure returns (uint256 total) {
        uint256 era = epoch / EPOCHS_PER_ERA;
        uint256 fullEras = Math.min(era, LAST_EMITTING_ERA + 1);
        for (uint256 k; k < fullEras; ++k) {
            total += EPOCHS_PER_ERA * (INITIAL_EPOCH_EMISSION >> k);
        }
        total += (epoch % EPOCHS_PER_ERA) * emissionForEpoch(epoch);
    }

    // ---------------------------------------------------------------- clock

    /// @notice The epoch containing the current block's timestamp.
    function currentEpoch() public view returns (uint256) {
        if (block.timestamp < genesisTime) revert EmissionsNotStarted(genesisTime);
        return (block.timestamp - genesisTime) / epochLength;
    }

    /// @notice Start time of `epoch`.
    /// @param epoch Epoch number.
    function epochStart(uint256 epoch) public view returns (uint256) {
        return genesisTime + epoch * epochLength;
    }

    /// @notice First timestamp at which `epoch` can be finalized: its end plus the submission window.
    /// @param epoch Epoch number.
    function finalizableAt(uint256 epoch) public view returns (uint256) {
        return genesisTime + (epoch + 1) * epochLength + submissionWindow;
    }

    /// @notice Whether work and fees may still be booked for `epoch`: it has started and its submission window
    /// has not closed (so it is the current epoch, or the previous one within the window).
    /// @param epoch Epoch number.
    function isOpen(uint256 epoch) public view returns (bool) {
        return epoch <= currentEpoch() && block.timestamp < finalizableAt(epoch);
    }

    // ---------------------------------------------------------------- work and finalization

    /// @notice Credits `units` of verified work to `miner` and `modelId` in `epoch`.
    /// @dev Only the usage ledger (WORK_RECORDER_ROLE). The epoch must have started and its window be open.
    /// @param epoch Epoch the work belongs to.
    /// @param miner Miner that did the work.
    /// @param modelId Model the work was done on.
    /// @param units Work units (tokens served).
    function recordWork(uint256 epoch, address miner, bytes32 modelId, uint128 units)
        external
        onlyRole(WORK_RECORDER_ROLE)
    {
        if (units == 0) revert ZeroWork();
        if (miner == address(0)) revert ZeroAddress();
        if (epoch > currentEpoch()) revert EpochNotStarted(epoch);
        if (block.timestamp >= finalizableAt(epoch)) revert EpochClosed(epoch);
        _epochs[epoch].totalWork += units;
        _minerWork[epoch][miner].units += units;
        _modelWork[epoch][modelId].units += units;
        emit WorkRecorded(epoch, miner, modelId, units);
    }

    /// @notice Mints `epoch`'s emission and fixes its reward pools. Permissionless; once per epoch.
    /// @dev Epochs may be finalized in any order and at any time after `finalizableAt(epoch)`: nothing is lost.
    /// An epoch without credited work mints nothing and adds its emission to `totalForgone`.
    /// @param epoch Epoch to finalize.
    function finalizeEpoch(uint256 epoch) external {
        uint256 readyAt = finalizableAt(epoch);
        if (block.timestamp < readyAt) revert EpochNotClosed(epoch, readyAt);
        EpochState storage state = _epochs[epoch];
        if (state.finalized) revert EpochAlreadyFinalized(epoch);
        state.finalized = true;

        uint256 emission = emissionForEpoch(epoch);
        uint256 work = state.totalWork;
        if (work == 0 || emission == 0) {
            totalForgone += emission;
            emit EpochFinalized(epoch, 0, work, 0, 0, emission);
            return;
        }
        uint256 minerPool = emission * minerShareBps / BPS;
        uint256 modelPool = emission - minerPool;
        state.minerPool = uint128(minerPool);
        state.modelPool = uint128(modelPool);
        totalEmitted += emission;
        token.mintEmission(address(this), emission);
        emit EpochFinalized(epoch, emission, work, minerPool, modelPool, 0);
    }

    // ---------------------------------------------------------------- claims

    /// @notice Claims the caller's miner rewards for `epochs` (each finalized, each claimed once).
    /// @param epochs Epochs to claim; reverts on a duplicate or an unfinalized one.
    /// @return amount NEURO paid to the caller.
    function claim(uint256[] calldata epochs) external returns (uint256 amount) {
        for (uint256 i; i < epochs.length; ++i) {
            uint256 epoch = epochs[i];
            uint256 reward = _take(epoch, _minerWork[epoch][msg.sender], true);
            amount += reward;
            emit MinerRewardClaimed(epoch, msg.sender, reward);
        }
        _pay(msg.sender, amount);
    }

    /// @notice Claims the developer rewards of `modelId` for `epochs`; only the model's owner may call.
    /// @param modelId Model whose rewards are claimed.
    /// @param epochs Epochs to claim; reverts on a duplicate or an unfinalized one.
    /// @return amount NEURO paid to the model owner (the caller).
    function claimModel(bytes32 modelId, uint256[] calldata epochs) external returns (uint256 amount) {
        if (address(modelRegistry) == address(0)) revert ModelRegistryNotSet();
        address owner = modelRegistry.modelOwner(modelId);
        if (owner != msg.sender || owner == address(0)) revert NotModelOwner(modelId, msg.sender, owner);
        for (uint256 i; i < epochs.length; ++i) {
            uint256 epoch = epochs[i];
            uint256 reward = _take(epoch, _modelWork[epoch][modelId], false);
            amount += reward;
            emit ModelRewardClaimed(epoch, modelId, owner, reward);
        }
        _pay(owner, amount);
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

    /// @notice Work credited to `miner` in `epoch`, and whether it was claimed.
    /// @param epoch Epoch number.
    /// @param miner Miner address.
    function minerWork(uint256 epoch, address miner) external view returns (Work memory) {
        return _minerWork[epoch][miner];
    }

    /// @notice Work credited to `modelId` in `epoch`, and whether it was claimed.
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
            amount += _owed(epochs[i], _minerWork[epochs[i]][miner], true);
        }
    }

    /// @notice Unclaimed developer reward of `modelId` over `epochs` (unfinalized or claimed epochs count zero).
    /// @param modelId Model id.
    /// @param epochs Epochs to sum.
    function pendingModelReward(bytes32 modelId, uint256[] calldata epochs) external view returns (uint256 amount) {
        for (uint256 i; i < epochs.length; ++i) {
            amount += _owed(epochs[i], _modelWork[epochs[i]][modelId], false);
        }
    }

    // ---------------------------------------------------------------- governance

    /// @notice Sets the miners' share of each epoch's emission; applies to epochs finalized afterwards.
    /// @param newBps Share in basis points, within [MIN_MINER_SHARE_BPS, MAX_MINER_SHARE_BPS].
    function setMinerShare(uint256 newBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMinerShare(newBps);
    }

    /// @notice Sets the submission window.
    /// @param newWindow Seconds, within [MIN_SUBMISSION_WINDOW, epochLength].
    function setSubmissionWindow(uint256 newWindow) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setSubmissionWindow(newWindow);
    }

    /// @notice Sets the contract that resolves model owners for `claimModel`.
    /// @param newRegistry Non-zero resolver.
    function setModelRegistry(IModelOwners newRegistry) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(newRegistry) == address(0)) revert ZeroAddress();
        _setModelRegistry(newRegistry);
    }

    // ---------------------------------------------------------------- internals

    function _owed(uint256 epoch, Work storage work, bool minerSide) private view returns (uint256) {
        EpochState storage state = _epochs[epoch];
        if (!state.finalized || work.claimed || work.units == 0) return 0;
        return Math.mulDiv(minerSide ? state.minerPool : state.modelPool, work.units, state.totalWork);
    }

    function _take(uint256 epoch, Work storage work, bool minerSide) private returns (uint256 reward) {
        if (!_epochs[epoch].finalized) revert EpochNotFinalized(epoch);
        if (work.claimed) revert AlreadyClaimed(epoch);
        reward = _owed(epoch, work, minerSide);
        work.claimed = true;
    }

    function _pay(address to, uint256 amount) private {
        if (amount == 0) revert NothingToClaim();
        totalClaimed += amount;
        token.safeTransfer(to, amount);
    }

    function _setMinerShare(uint256 newBps) private {
        Bounds.check(newBps, MIN_MINER_SHARE_BPS, MAX_MINER_SHARE_BPS);
        emit MinerShareSet(minerShareBps, newBps);
        minerShareBps = newBps;
    }

    function _setSubmissionWindow(uint256 newWindow) private {
        Bounds.check(newWindow, MIN_SUBMISSION_WINDOW, epochLength);
        emit SubmissionWindowSet(submissionWindow, newWindow);
        submissionWindow = newWindow;
    }

    function _setModelRegistry(IModelOwners newRegistry) private {
        emit ModelRegistrySet(address(modelRegistry), address(newRegistry));
        modelRegistry = newRegistry;
    }
}
