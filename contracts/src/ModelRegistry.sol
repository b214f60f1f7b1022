// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Emissions} from "./Emissions.sol";
import {IModelOwners} from "./interfaces/IModelOwners.sol";
import {Bounds} from "./libraries/Bounds.sol";
import {EpochSchedule} from "./libraries/EpochSchedule.sol";

/// @title Registry of the models the network serves
/// @notice A model developer proposes a model; only the DAO (the timelock) approves, rejects or retires it. The
/// owner receives the model developers' share of emissions for work done on the model and may update its
/// metadata, floor price and ownership.
/// @dev `modelId` is the sha-256 of the model's weights file or canonical manifest (computed off-chain by the
/// miner's `model add`). A rejected model may be proposed again; an approved or retired one may not.
/// Floors are fixed per epoch: the floor a batch of an epoch is checked against is
/// `max(model floor, global minimum)` as they stood when the epoch started. An owner's change applies from the
/// next epoch and moves the floor at most by a factor `MAX_FLOOR_STEP` from the one in force; the DAO's global
/// minimum (never zero) also applies from the next epoch. So a floor cannot move under batches already served,
/// and no work can be credited without a fee.
contract ModelRegistry is AccessControl, IModelOwners {
    using Checkpoints for Checkpoints.Trace208;
    using EpochSchedule for Checkpoints.Trace208;

    /// @notice Upper bound of a model's floor price, in NEURO-wei per million tokens.
    uint256 public constant MAX_PRICE_PER_MTOK = 1_000_000 ether;
    /// @notice Lower bound of a model's own floor price (never zero).
    uint256 public constant MIN_PRICE_PER_MTOK = 1;
    /// @notice Bounds of the DAO's global minimum floor: never zero.
    uint256 public constant MIN_GLOBAL_FLOOR = 1 gwei;
    /// @notice Upper bound of the global minimum floor.
    uint256 public constant MAX_GLOBAL_FLOOR = 1000 ether;
    /// @notice An owner's floor change moves the floor in force by at most this factor, up or down.
    uint256 public constant MAX_FLOOR_STEP = 2;
    /// @notice Upper bound of a model's name length in bytes.
    uint256 public constant MAX_NAME_LENGTH = 64;
    /// @notice Upper bound of a model's metadata URI length in bytes.
    uint256 public constant MAX_URI_LENGTH = 512;

    /// @notice Lifecycle of a model.
    enum Status {
        None,
        Proposed,
        Approved,
        Rejected,
        Retired
    }

    /// @notice A registered model.
    struct Model {
        address owner;
        Status status;
        uint256 minPricePerMTok;
        string name;
        string metadataURI;
    }

    /// @notice The epoch clock (floors apply per epoch).
    Emissions public immutable emissions;

    mapping(bytes32 modelId => Model) private _models;
    mapping(bytes32 modelId => Checkpoints.Trace208) private _floors;
    Checkpoints.Trace208 private _globalFloor;

    /// @notice A model was proposed.
    event ModelProposed(
        bytes32 indexed modelId,
        address indexed owner,
        address indexed proposer,
        string name,
        string metadataURI,
        uint256 minPricePerMTok
    );
    /// @notice The DAO changed a model's status (approved, rejected or retired).
    event ModelStatusChanged(bytes32 indexed modelId, Status status);
    /// @notice The owner updated a model's metadata URI and floor price; the floor applies from `fromEpoch`.
    event ModelUpdated(bytes32 indexed modelId, string metadataURI, uint256 minPricePerMTok, uint256 fromEpoch);
    /// @notice The DAO's global minimum floor changes to `minPricePerMTok` from `fromEpoch` on.
    event GlobalFloorScheduled(uint256 minPricePerMTok, uint256 fromEpoch);
    /// @notice A model changed owner.
    event ModelOwnershipTransferred(bytes32 indexed modelId, address indexed previousOwner, address indexed newOwner);

    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice The model id is zero.
    error InvalidModelId();
    /// @notice The model exists and is not rejected, so it cannot be proposed.
    error ModelExists(bytes32 modelId, Status status);
    /// @notice The model is not in the status the action requires.
    error WrongStatus(bytes32 modelId, Status status);
    /// @notice The caller does not own the model.
    error NotModelOwner(bytes32 modelId, address caller);
    /// @notice A string argument is empty or too long.
    error InvalidLength(uint256 length, uint256 max);
    /// @notice A floor change moves the floor in force by more than `MAX_FLOOR_STEP`.
    error FloorStepTooLarge(uint256 current, uint256 requested);

    /// @notice Deploys the registry.
    /// @param admin The timelock: approves, rejects and retires models and sets the global minimum floor.
    /// @param emissions_ The epoch clock.
    /// @param globalFloor Initial global minimum floor, within [MIN_GLOBAL_FLOOR, MAX_GLOBAL_FLOOR].
    constructor(address admin, Emissions emissions_, uint256 globalFloor) {
        if (admin == address(0) || address(emissions_) == address(0)) revert ZeroAddress();
        emissions = emissions_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _scheduleGlobalFloor(globalFloor, 0);
    }

    /// @notice Proposes a model for integration into the network.
    /// @param modelId sha-256 of the weights file or canonical manifest.
    /// @param owner Receives the model's developer rewards.
    /// @param name Human-readable name (1–64 bytes).
    /// @param metadataURI Where the model card, license and files are described (at most 512 bytes).
    /// @param pricePerMTok Floor price in NEURO-wei per million tokens, within [MIN_PRICE_PER_MTOK,
    /// MAX_PRICE_PER_MTOK]; it applies from the current epoch (the model earns nothing before approval).
    function propose(
        bytes32 modelId,
        address owner,
        string calldata name,
        string calldata metadataURI,
        uint256 pricePerMTok
    ) external {
        if (modelId == bytes32(0)) revert InvalidModelId();
        if (owner == address(0)) revert ZeroAddress();
        if (bytes(name).length == 0 || bytes(name).length > MAX_NAME_LENGTH) {
            revert InvalidLength(bytes(name).length, MAX_NAME_LENGTH);
        }
        _checkUri(metadataURI);
        Bounds.check(pricePerMTok, MIN_PRICE_PER_MTOK, MAX_PRICE_PER_MTOK);
        Status status = _models[modelId].status;
        if (status != Status.None && status != Status.Rejected) revert ModelExists(modelId, status);
        _models[modelId] = Model(owner, Status.Proposed, pricePerMTok, name, metadataURI);
        // A first proposal may set the floor of the current epoch; a re-proposal (after a rejection) schedules it
        // like an update, never before a floor already scheduled.
        Checkpoints.Trace208 storage floors = _floors[modelId];
        uint256 fromEpoch = floors.length() == 0 ? _epochNow() : emissions.nextEpoch();
        floors.schedule(fromEpoch, pricePerMTok);
        emit ModelProposed(modelId, owner, msg.sender, name, metadataURI, pricePerMTok);
    }

    /// @notice Approves a proposed model: nodes may serve it and work on it earns rewards.
    /// @param modelId A proposed model.
    function approve(bytes32 modelId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _transition(modelId, Status.Proposed, Status.Approved);
    }

    /// @notice Rejects a proposed model; it may be proposed again.
    /// @param modelId A proposed model.
    function reject(bytes32 modelId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _transition(modelId, Status.Proposed, Status.Rejected);
    }

    /// @notice Retires an approved model: no new work on it is credited; past rewards stay claimable.
    /// @param modelId An approved model.
    function retire(bytes32 modelId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _transition(modelId, Status.Approved, Status.Retired);
    }

    /// @notice Updates a model's metadata URI and floor price; owner only. The floor applies from the next
    /// epoch, so batches of the current epoch keep the floor they were served under.
    /// @param modelId The model.
    /// @param metadataURI New URI (at most 512 bytes).
    /// @param pricePerMTok New floor price within [MIN_PRICE_PER_MTOK, MAX_PRICE_PER_MTOK], and within a factor
    /// `MAX_FLOOR_STEP` of the model's floor in force now.
    function update(bytes32 modelId, string calldata metadataURI, uint256 pricePerMTok) external {
        Model storage model = _ownedBy(modelId, msg.sender);
        _checkUri(metadataURI);
        Bounds.check(pricePerMTok, MIN_PRICE_PER_MTOK, MAX_PRICE_PER_MTOK);
        uint256 current = _floors[modelId].at(_epochNow());
        if (pricePerMTok > current * MAX_FLOOR_STEP || pricePerMTok * MAX_FLOOR_STEP < current) {
            revert FloorStepTooLarge(current, pricePerMTok);
        }
        uint256 fromEpoch = emissions.nextEpoch();
        model.metadataURI = metadataURI;
        model.minPricePerMTok = pricePerMTok;
        _floors[modelId].schedule(fromEpoch, pricePerMTok);
        emit ModelUpdated(modelId, metadataURI, pricePerMTok, fromEpoch);
    }

    /// @notice Sets the global minimum floor of every model, from the next epoch on (DAO only).
    /// @param pricePerMTok NEURO-wei per million tokens, within [MIN_GLOBAL_FLOOR, MAX_GLOBAL_FLOOR].
    function setGlobalFloor(uint256 pricePerMTok) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _scheduleGlobalFloor(pricePerMTok, emissions.nextEpoch());
    }

    /// @notice Transfers a model's ownership (and its future reward claims); owner only.
    /// @param modelId The model.
    /// @param newOwner Non-zero new owner.
    function transferModelOwnership(bytes32 modelId, address newOwner) external {
        Model storage model = _ownedBy(modelId, msg.sender);
        if (newOwner == address(0)) revert ZeroAddress();
        model.owner = newOwner;
        emit ModelOwnershipTransferred(modelId, msg.sender, newOwner);
    }

    /// @inheritdoc IModelOwners
    function modelOwner(bytes32 modelId) external view returns (address) {
        return _models[modelId].owner;
    }

    /// @notice Whether `modelId` is approved (servable and earning).
    /// @param modelId The model.
    function isApproved(bytes32 modelId) external view returns (bool) {
        return _models[modelId].status == Status.Approved;
    }

    /// @notice Floor price of `modelId` in force in the current epoch, in NEURO-wei per million tokens.
    /// @param modelId The model.
    function minPricePerMTok(bytes32 modelId) external view returns (uint256) {
        return floorAt(modelId, _epochNow());
    }

    /// @notice The floor that usage of `modelId` in `epoch` must pay: the larger of the model's floor and the
    /// global minimum, both as they stood when the epoch started. Never zero.
    /// @param modelId The model.
    /// @param epoch Epoch number.
    function floorAt(bytes32 modelId, uint256 epoch) public view returns (uint256) {
        return Math.max(_floors[modelId].at(epoch), _globalFloor.at(epoch));
    }

    /// @notice The global minimum floor that applies to `epoch`.
    /// @param epoch Epoch number.
    function globalFloorAt(uint256 epoch) external view returns (uint256) {
        return _globalFloor.at(epoch);
    }

    /// @notice Everything stored about `modelId` (status None if unknown).
    /// @param modelId The model.
    function getModel(bytes32 modelId) external view returns (Model memory) {
        return _models[modelId];
    }

    function _epochNow() private view returns (uint256) {
        uint256 next = emissions.nextEpoch();
        return next == 0 ? 0 : next - 1;
    }

    function _scheduleGlobalFloor(uint256 pricePerMTok, uint256 fromEpoch) private {
        Bounds.check(pricePerMTok, MIN_GLOBAL_FLOOR, MAX_GLOBAL_FLOOR);
        _globalFloor.schedule(fromEpoch, pricePerMTok);
        emit GlobalFloorScheduled(pricePerMTok, fromEpoch);
    }

    function _transition(bytes32 modelId, Status from, Status to) private {
        Model storage model = _models[modelId];
        if (model.status != from) revert WrongStatus(modelId, model.status);
        model.status = to;
        emit ModelStatusChanged(modelId, to);
    }

    function _ownedBy(bytes32 modelId, address caller) private view returns (Model storage model) {
        model = _models[modelId];
        if (model.owner != caller || caller == address(0)) revert NotModelOwner(modelId, caller);
    }

    function _checkUri(string calldata uri) private pure {
        if (bytes(uri).length > MAX_URI_LENGTH) revert InvalidLength(bytes(uri).length, MAX_URI_LENGTH);
    }
}
