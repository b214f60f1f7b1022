// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Resolves who receives a model's developer rewards (implemented by the model registry).
interface IModelOwners {
    /// @notice The current owner of `modelId`, or the zero address if the model is unknown.
    function modelOwner(bytes32 modelId) external view returns (address);
}
