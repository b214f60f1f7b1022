// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {StakingVault} from "./StakingVault.sol";

/// @title Registry of inference nodes
/// @notice A miner registers its node: public HTTP endpoint, receipt-signing key and the approved models it
/// serves. A registered node is active only while its operator's bonded stake is at least `minNodeStake`.
/// Clients list the active nodes of a model page by page.
/// @dev Registration holds no stake itself: activity is read live from the staking vault, so an unbonding or
/// slashed operator drops out at once without any call here.
contract NodeRegistry {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice Most models one node may serve.
    uint256 public constant MAX_MODELS_PER_NODE = 32;
    /// @notice Longest endpoint URL in bytes.
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;
    /// @notice Largest page of `activeNodesForModel`.
    uint256 public constant MAX_PAGE_SIZE = 100;

    /// @notice A registered node.
    struct Node {
        string endpoint;
        address receiptSigner;
        uint64 registeredAt;
        bytes32[] models;
    }

    /// @notice The staking vault (stake threshold of active nodes).
    StakingVault public immutable staking;
    /// @notice The model registry (which models may be served).
    ModelRegistry public immutable models;

    mapping(address operator => Node) private _nodes;
    /// @notice Every key that was ever `operator`'s receipt signer: receipts it signed stay attributable to the
    /// node after a key rotation or deregistration, so a node cannot void the evidence against it.
    mapping(address operator => mapping(address signer => bool)) public wasReceiptSigner;
    /// @notice Whether `operator` ever registered a node (never cleared: deregistering does not erase a record).
    mapping(address operator => bool) public everRegistered;
    mapping(bytes32 modelId => EnumerableSet.AddressSet) private _servers;

    /// @notice A node registered.
    event NodeRegistered(address indexed operator, string endpoint, address receiptSigner, bytes32[] models);
    /// @notice A node changed its endpoint or receipt-signing key.
    event NodeUpdated(address indexed operator, string endpoint, address receiptSigner);
    /// @notice A node changed the models it serves.
    event NodeModelsSet(address indexed operator, bytes32[] models);
    /// @notice A node deregistered.
    event NodeDeregistered(address indexed operator);

    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice The caller already has a registered node.
    error AlreadyRegistered(address operator);
    /// @notice The caller has no registered node.
    error NotRegistered(address operator);
    /// @notice The operator's bonded stake is below `minNodeStake`.
    error InsufficientStake(uint256 bonded, uint256 required);
    /// @notice The endpoint is empty, too long, or not an http(s) URL.
    error InvalidEndpoint();
    /// @notice The model list is empty or longer than MAX_MODELS_PER_NODE.
    error InvalidModelCount(uint256 count);
    /// @notice A listed model is not approved.
    error ModelNotApproved(bytes32 modelId);
    /// @notice A model is listed twice.
    error DuplicateModel(bytes32 modelId);
    /// @notice A page size is zero or above MAX_PAGE_SIZE.
    error InvalidPageSize(uint256 limit);

    /// @notice Deploys the registry.
    /// @param staking_ The staking vault.
    /// @param models_ The model registry.
    constructor(StakingVault staking_, ModelRegistry models_) {
        if (address(staking_) == address(0) || address(models_) == address(0)) revert ZeroAddress();
        staking = staking_;
        models = models_;
    }

    /// @notice Registers the caller's node.
    /// @param endpoint Public base URL of its OpenAI-compatible API (`http://` or `https://`, at most 256 bytes).
    /// @param receiptSigner Address of the key that signs usage receipts.
    /// @param modelIds Approved models it serves (1 to MAX_MODELS_PER_NODE, no duplicates).
    function register(string calldata endpoint, address receiptSigner, bytes32[] calldata modelIds) external {
        Node storage node = _nodes[msg.sender];
        if (node.registeredAt != 0) revert AlreadyRegistered(msg.sender);
        uint256 bonded = staking.bondedStake(msg.sender);
        uint256 required = staking.minNodeStake();
        if (bonded < required) revert InsufficientStake(bonded, required);
        _checkEndpoint(endpoint);
        if (receiptSigner == address(0)) revert ZeroAddress();
        node.endpoint = endpoint;
        node.receiptSigner = receiptSigner;
        wasReceiptSigner[msg.sender][receiptSigner] = true;
        everRegistered[msg.sender] = true;
        node.registeredAt = uint64(block.timestamp);
        _setModels(node, modelIds);
        emit NodeRegistered(msg.sender, endpoint, receiptSigner, modelIds);
    }

    /// @notice Changes the caller's endpoint and receipt-signing key.
    /// @param endpoint New endpoint URL.
    /// @param receiptSigner New receipt-signing key address.
    function update(string calldata endpoint, address receiptSigner) external {
        Node storage node = _registered(msg.sender);
        _checkEndpoint(endpoint);
        if (receiptSigner == address(0)) revert ZeroAddress();
        node.endpoint = endpoint;
        node.receiptSigner = receiptSigner;
        wasReceiptSigner[msg.sender][receiptSigner] = true;
        emit NodeUpdated(msg.sender, endpoint, receiptSigner);
    }

    /// @notice Replaces the list of models the caller's node serves.
    /// @param modelIds Approved models (1 to MAX_MODELS_PER_NODE, no duplicates).
    function setModels(bytes32[] calldata modelIds) external {
        Node storage node = _registered(msg.sender);
        _clearModels(node);
        _setModels(node, modelIds);
        emit NodeModelsSet(msg.sender, modelIds);
    }

    /// @notice Removes the caller's node.
    function deregister() external {
        Node storage node = _registered(msg.sender);
        _clearModels(node);
        delete _nodes[msg.sender];
        emit NodeDeregistered(msg.sender);
    }

    /// @notice Whether `operator` is registered and holds the node stake.
    /// @param operator Node operator.
    function isActive(address operator) public view returns (bool) {
        return _nodes[operator].registeredAt != 0 && staking.meetsNodeStake(operator);
    }

    /// @notice Whether `operator` is active and serves `modelId`, which is approved.
    /// @param operator Node operator.
    /// @param modelId Model.
    function servesModel(address operator, bytes32 modelId) external view returns (bool) {
        return _servers[modelId].contains(operator) && isActive(operator) && models.isApproved(modelId);
    }

    /// @notice The registered node of `operator` (registeredAt zero if none).
    /// @param operator Node operator.
    function getNode(address operator) external view returns (Node memory) {
        return _nodes[operator];
    }

    /// @notice Number of registered nodes listing `modelId`, active or not.
    /// @param modelId Model.
    function nodeCount(bytes32 modelId) external view returns (uint256) {
        return _servers[modelId].length();
    }

    /// @notice One page of the active nodes serving `modelId` (empty if the model is not approved).
    /// @param modelId Model.
    /// @param offset Index to start scanning at (0 for the first page).
    /// @param limit Entries to scan, 1 to MAX_PAGE_SIZE.
    /// @return operators Active operators found in the scanned entries.
    /// @return next Offset of the next page, or 0 when the list is exhausted.
    function activeNodesForModel(bytes32 modelId, uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory operators, uint256 next)
    {
        if (limit == 0 || limit > MAX_PAGE_SIZE) revert InvalidPageSize(limit);
        EnumerableSet.AddressSet storage servers = _servers[modelId];
        uint256 total = servers.length();
        uint256 end = offset + limit < total ? offset + limit : total;
        operators = new address[](end > offset ? end - offset : 0);
        uint256 found;
        if (models.isApproved(modelId)) {
            for (uint256 i = offset; i < end; ++i) {
                address operator = servers.at(i);
                if (staking.meetsNodeStake(operator)) operators[found++] = operator;
            }
        }
        assembly ("memory-safe") {
            mstore(operators, found) // shrink to the active entries
        }
        next = end < total ? end : 0;
    }

    function _registered(address operator) private view returns (Node storage node) {
        node = _nodes[operator];
        if (node.registeredAt == 0) revert NotRegistered(operator);
    }

    function _setModels(Node storage node, bytes32[] calldata modelIds) private {
        uint256 count = modelIds.length;
        if (count == 0 || count > MAX_MODELS_PER_NODE) revert InvalidModelCount(count);
        for (uint256 i; i < count; ++i) {
            bytes32 modelId = modelIds[i];
            if (!models.isApproved(modelId)) revert ModelNotApproved(modelId);
            if (!_servers[modelId].add(msg.sender)) revert DuplicateModel(modelId);
            node.models.push(modelId);
        }
    }

    function _clearModels(Node storage node) private {
        bytes32[] storage current = node.models;
        for (uint256 i; i < current.length; ++i) {
            _servers[current[i]].remove(msg.sender);
        }
        delete node.models;
    }

    function _checkEndpoint(string calldata endpoint) private pure {
        bytes memory b = bytes(endpoint);
        if (b.length > MAX_ENDPOINT_LENGTH) revert InvalidEndpoint();
        if (!_startsWith(b, "http://") && !_startsWith(b, "https://")) revert InvalidEndpoint();
    }

    function _startsWith(bytes memory value, bytes memory prefix) private pure returns (bool) {
        if (value.length <= prefix.length) return false;
        for (uint256 i; i < prefix.length; ++i) {
            if (value[i] != prefix[i]) return false;
        }
        return true;
    }
}
