// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ModelRegistry} from "../src/ModelRegistry.sol";
import {NodeRegistry} from "../src/NodeRegistry.sol";
import {StakingVault} from "../src/StakingVault.sol";
import {NeuroFixture} from "./utils/NeuroFixture.sol";

contract NodeRegistryTest is NeuroFixture {
    address internal operator = makeAddr("operator");
    address internal signer = makeAddr("receipt-signer");
    string internal constant ENDPOINT = "https://node.example:8080";

    function _ids(bytes32 a) internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](1);
        ids[0] = a;
    }

    function _ids(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](2);
        ids[0] = a;
        ids[1] = b;
    }

    function _registerStaked(address who, bytes32[] memory ids) internal {
        stakeAs(who, 10_000 ether);
        vm.prank(who);
        d.nodes.register(ENDPOINT, signer, ids);
    }

    function test_register_storesAndEmits() public {
        stakeAs(operator, 10_000 ether);
        vm.expectEmit(address(d.nodes));
        emit NodeRegistry.NodeRegistered(operator, ENDPOINT, signer, _ids(MODEL_A, MODEL_B));
        vm.prank(operator);
        d.nodes.register(ENDPOINT, signer, _ids(MODEL_A, MODEL_B));

        NodeRegistry.Node memory node = d.nodes.getNode(operator);
        assertEq(node.endpoint, ENDPOINT);
        assertEq(node.receiptSigner, signer);
        assertEq(node.registeredAt, block.timestamp);
        assertEq(node.models.length, 2);
        assertTrue(d.nodes.isActive(operator));
        assertTrue(d.nodes.servesModel(operator, MODEL_A));
        assertEq(d.nodes.nodeCount(MODEL_B), 1);
    }

    function test_register_requiresStake() public {
        stakeAs(operator, 9999 ether);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.InsufficientStake.selector, 9999 ether, 10_000 ether));
        d.nodes.register(ENDPOINT, signer, _ids(MODEL_A));
    }

    function test_register_validatesInput() public {
        stakeAs(operator, 10_000 ether);
        vm.startPrank(operator);
        vm.expectRevert(NodeRegistry.InvalidEndpoint.selector);
        d.nodes.register("ftp://node", signer, _ids(MODEL_A));
        vm.expectRevert(NodeRegistry.InvalidEndpoint.selector);
        d.nodes.register("https://", signer, _ids(MODEL_A));
        vm.expectRevert(NodeRegistry.InvalidEndpoint.selector);
        d.nodes.register(string.concat("https://", string(new bytes(250))), signer, _ids(MODEL_A));
        vm.expectRevert(NodeRegistry.ZeroAddress.selector);
        d.nodes.register(ENDPOINT, address(0), _ids(MODEL_A));
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.InvalidModelCount.selector, 0));
        d.nodes.register(ENDPOINT, signer, new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.InvalidModelCount.selector, 33));
        d.nodes.register(ENDPOINT, signer, new bytes32[](33));
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.ModelNotApproved.selector, unknown));
        d.nodes.register(ENDPOINT, signer, _ids(unknown));
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.DuplicateModel.selector, MODEL_A));
        d.nodes.register(ENDPOINT, signer, _ids(MODEL_A, MODEL_A));
        d.nodes.register("http://127.0.0.1:8080", signer, _ids(MODEL_A));
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.AlreadyRegistered.selector, operator));
        d.nodes.register(ENDPOINT, signer, _ids(MODEL_A));
        vm.stopPrank();
    }

    function test_activeOnlyWhileStaked() public {
        _registerStaked(operator, _ids(MODEL_A));
        vm.prank(operator);
        d.staking.unstake(1);
        assertFalse(d.nodes.isActive(operator));
        assertFalse(d.nodes.servesModel(operator, MODEL_A));
        stakeAs(operator, 1);
        assertTrue(d.nodes.isActive(operator));
        vm.prank(address(d.timelock));
        d.staking.setMinNodeStake(20_000 ether);
        assertFalse(d.nodes.isActive(operator), "governance raising the minimum deactivates");
    }

    function test_retiredModelIsNotServed() public {
        _registerStaked(operator, _ids(MODEL_A));
        vm.prank(address(d.timelock));
        d.models.retire(MODEL_A);
        assertTrue(d.nodes.isActive(operator));
        assertFalse(d.nodes.servesModel(operator, MODEL_A));
        (address[] memory page,) = d.nodes.activeNodesForModel(MODEL_A, 0, 10);
        assertEq(page.length, 0);
    }

    function test_update_setModels_deregister() public {
        _registerStaked(operator, _ids(MODEL_A));
        address newSigner = makeAddr("new-signer");
        vm.startPrank(operator);
        vm.expectEmit(address(d.nodes));
        emit NodeRegistry.NodeUpdated(operator, "http://10.0.0.1:9000", newSigner);
        d.nodes.update("http://10.0.0.1:9000", newSigner);
        assertEq(d.nodes.getNode(operator).receiptSigner, newSigner);

        vm.expectEmit(address(d.nodes));
        emit NodeRegistry.NodeModelsSet(operator, _ids(MODEL_B));
        d.nodes.setModels(_ids(MODEL_B));
        assertEq(d.nodes.nodeCount(MODEL_A), 0);
        assertEq(d.nodes.nodeCount(MODEL_B), 1);
        assertFalse(d.nodes.servesModel(operator, MODEL_A));

        vm.expectEmit(address(d.nodes));
        emit NodeRegistry.NodeDeregistered(operator);
        d.nodes.deregister();
        assertEq(d.nodes.nodeCount(MODEL_B), 0);
        assertFalse(d.nodes.isActive(operator));
        assertEq(d.nodes.getNode(operator).registeredAt, 0);

        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.NotRegistered.selector, operator));
        d.nodes.update(ENDPOINT, signer);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.NotRegistered.selector, operator));
        d.nodes.setModels(_ids(MODEL_A));
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.NotRegistered.selector, operator));
        d.nodes.deregister();
        vm.stopPrank();
    }

    function test_pagination_skipsInactive() public {
        address[] memory ops = new address[](7);
        for (uint256 i; i < ops.length; ++i) {
            ops[i] = makeAddr(string.concat("op", vm.toString(i)));
            _registerStaked(ops[i], _ids(MODEL_A));
        }
        vm.prank(ops[1]);
        d.staking.unstake(1 ether); // inactive
        vm.prank(ops[5]);
        d.staking.unstake(1 ether);

        (address[] memory page, uint256 next) = d.nodes.activeNodesForModel(MODEL_A, 0, 3);
        assertEq(page.length, 2);
        assertEq(page[0], ops[0]);
        assertEq(page[1], ops[2]);
        assertEq(next, 3);
        (page, next) = d.nodes.activeNodesForModel(MODEL_A, next, 3);
        assertEq(page.length, 2);
        assertEq(page[0], ops[3]);
        assertEq(page[1], ops[4]);
        assertEq(next, 6);
        (page, next) = d.nodes.activeNodesForModel(MODEL_A, next, 3);
        assertEq(page.length, 1);
        assertEq(page[0], ops[6]);
        assertEq(next, 0, "exhausted");
        (page, next) = d.nodes.activeNodesForModel(MODEL_A, 100, 3);
        assertEq(page.length, 0);
        assertEq(next, 0);

        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.InvalidPageSize.selector, 0));
        d.nodes.activeNodesForModel(MODEL_A, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.InvalidPageSize.selector, 101));
        d.nodes.activeNodesForModel(MODEL_A, 0, 101);
    }

    function test_constructor_zeroAddress() public {
        vm.expectRevert(NodeRegistry.ZeroAddress.selector);
        new NodeRegistry(StakingVault(address(0)), d.models);
        vm.expectRevert(NodeRegistry.ZeroAddress.selector);
        new NodeRegistry(d.staking, ModelRegistry(address(0)));
    }
}
