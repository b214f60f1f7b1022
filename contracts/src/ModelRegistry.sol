// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IModelOwners} from "./interfaces/IModelOwners.sol";
import {Bounds} from "./libraries/Bounds.sol";

/// @title Registry of the models the network serves
/// @notice A model developer proposes a model; only the DAO (the timelock) approves, rejects or retires it. The
/// owner receives the model developers' share of emissions for work done on the model and may update its
/// metadata, floor price and ownership.
/// @dev `modelId` is the sha-256 of the model's weights file or canonical manifest (computed off-chain by the
/// miner's `model add`). A rejected model may be proposed again; an approved or retired one may not.
contract ModelRegistry is AccessControl, IModelOwners {
    /// @notice Upper bound of a model's floor price, in NEURO-wei per million tokens.
    uint256 public constant MAX_PRICE_PER_MTOK = 1_000_000 ether;
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

    mapping(bytes32 modelId => Model) private _models;

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
    /// @notice The owner updated a model's metadata URI or floor price.
    event ModelUpdated(bytes32 indexed modelId, string metadataURI, uint256 minPricePerMTok);
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

    /// @notice Deploys the registry.
    /// @param admin The timelock: approves, rejects and retires models.
    constructor(address admin) {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Proposes a model for integration into the network.
    /// @param modelId sha-256 of the weights file or canonical manifest.
    /// @param owner Receives the model's developer rewards.
    /// @param name Human-readable name (1–64 bytes).
    /// @param metadataURI Where the model card, license and files are described (at most 512 bytes).
    /// @param pricePerMTok Floor price in NEURO-wei per million tokens, at most MAX_PRICE_PER_MTOK.
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
        Bounds.check(pricePerMTok, 0, MAX_PRICE_PER_MTOK);
        Status status = _models[modelId].status;
        if (status != Status.None && status != Status.Rejected) revert ModelExists(modelId, status);
        _models[modelId] = Model(owner, Status.Proposed, pricePerMTok, name, metadataURI);
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

    /// @notice Updates a model's metadata URI and floor price; owner only.
    /// @param modelId The model.
    /// @param metadataURI New URI (at most 512 bytes).
    /// @param pricePerMTok New floor price, at most MAX_PRICE_PER_MTOK.
    function update(bytes32 modelId, string calldata metadataURI, uint256 pricePerMTok) external {
        Model storage model = _ownedBy(modelId, msg.sender);
        _checkUri(metadataURI);
        Bounds.check(pricePerMTok, 0, MAX_PRICE_PER_MTOK);
        model.metadataURI = metadataURI;
        model.minPricePerMTok = pricePerMTok;
        emit ModelUpdated(modelId, metadataURI, pricePerMTok);
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

    /// @notice Floor price of `modelId` in NEURO-wei per million tokens.
    /// @param modelId The model.
    function minPricePerMTok(bytes32 modelId) external view returns (uint256) {
        return _models[modelId].minPricePerMTok;
    }

    /// @notice Everything stored about `modelId` (status None if unknown).
    /// @param modelId The model.
    function getModel(bytes32 modelId) external view returns (Model memory) {
        return _models[modelId];
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
