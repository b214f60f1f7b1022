// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Emissions} from "../src/Emissions.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {ParameterOutOfBounds} from "../src/libraries/Bounds.sol";
import {NeuroFixture} from "./utils/NeuroFixture.sol";

contract ModelRegistryTest is NeuroFixture {
    bytes32 internal constant MODEL_C = keccak256("model-c");
    address internal developerC = makeAddr("developerC");

    function _status(bytes32 id) internal view returns (ModelRegistry.Status) {
        return d.models.getModel(id).status;
    }

    function test_propose_storesAndEmits() public {
        address proposer = makeAddr("proposer");
        vm.expectEmit(address(d.models));
        emit ModelRegistry.ModelProposed(MODEL_C, developerC, proposer, "SmolLM2-135M", "ipfs://card", 2 ether);
        vm.prank(proposer);
        d.models.propose(MODEL_C, developerC, "SmolLM2-135M", "ipfs://card", 2 ether);
        ModelRegistry.Model memory m = d.models.getModel(MODEL_C);
        assertEq(m.owner, developerC);
        assertEq(uint8(m.status), uint8(ModelRegistry.Status.Proposed));
        assertEq(m.minPricePerMTok, 2 ether);
        assertEq(m.name, "SmolLM2-135M");
        assertEq(m.metadataURI, "ipfs://card");
        assertEq(d.models.modelOwner(MODEL_C), developerC);
        assertFalse(d.models.isApproved(MODEL_C), "proposed is not approved");
        assertEq(d.models.minPricePerMTok(MODEL_C), 2 ether);
    }

    function test_propose_rejectsBadInput() public {
        vm.expectRevert(ModelRegistry.InvalidModelId.selector);
        d.models.propose(bytes32(0), developerC, "x", "", 1 ether);
        vm.expectRevert(ModelRegistry.ZeroAddress.selector);
        d.models.propose(MODEL_C, address(0), "x", "", 1 ether);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.InvalidLength.selector, 0, 64));
        d.models.propose(MODEL_C, developerC, "", "", 1 ether);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.InvalidLength.selector, 65, 64));
        d.models.propose(MODEL_C, developerC, string(new bytes(65)), "", 1 ether);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.InvalidLength.selector, 513, 512));
        d.models.propose(MODEL_C, developerC, "x", string(new bytes(513)), 1 ether);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 1_000_001 ether, 1, 1_000_000 ether));
        d.models.propose(MODEL_C, developerC, "x", "", 1_000_001 ether);
    }

    function test_propose_existingModel() public {
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistry.ModelExists.selector, MODEL_A, ModelRegistry.Status.Approved)
        );
        d.models.propose(MODEL_A, developerC, "squat", "", 1 ether);
    }

    function test_lifecycle_approveRetire() public {
        proposeModel(MODEL_C, developerC);
        vm.startPrank(address(d.timelock));
        vm.expectEmit(address(d.models));
        emit ModelRegistry.ModelStatusChanged(MODEL_C, ModelRegistry.Status.Approved);
        d.models.approve(MODEL_C);
        assertTrue(d.models.isApproved(MODEL_C));
        d.models.retire(MODEL_C);
        assertFalse(d.models.isApproved(MODEL_C));
        assertEq(uint8(_status(MODEL_C)), uint8(ModelRegistry.Status.Retired));
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistry.WrongStatus.selector, MODEL_C, ModelRegistry.Status.Retired)
        );
        d.models.approve(MODEL_C);
        vm.stopPrank();
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistry.ModelExists.selector, MODEL_C, ModelRegistry.Status.Retired)
        );
        d.models.propose(MODEL_C, developerC, "again", "", 1 ether);
    }

    function test_rejectedModelCanBeProposedAgain() public {
        address squatter = makeAddr("squatter");
        proposeModel(MODEL_C, squatter);
        vm.prank(address(d.timelock));
        d.models.reject(MODEL_C);
        assertEq(uint8(_status(MODEL_C)), uint8(ModelRegistry.Status.Rejected));
        proposeModel(MODEL_C, developerC);
        assertEq(d.models.modelOwner(MODEL_C), developerC);
        bytes32 unknown = keccak256("unknown");
        vm.prank(address(d.timelock));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.WrongStatus.selector, unknown, ModelRegistry.Status.None));
        d.models.retire(unknown);
    }

    function test_statusChanges_onlyTimelock() public {
        proposeModel(MODEL_C, developerC);
        bytes memory err = abi.encodeWithSelector(
            IAccessControl.AccessControlUnauthorizedAccount.selector, developerC, d.models.DEFAULT_ADMIN_ROLE()
        );
        vm.startPrank(developerC);
        vm.expectRevert(err);
        d.models.approve(MODEL_C);
        vm.expectRevert(err);
        d.models.reject(MODEL_C);
        vm.expectRevert(err);
        d.models.retire(MODEL_A);
        vm.stopPrank();
    }

    function test_update_ownerOnlyAppliesNextEpoch() public {
        vm.expectEmit(address(d.models));
        emit ModelRegistry.ModelUpdated(MODEL_A, "ipfs://v2", 2 ether, 1);
        vm.prank(developerA);
        d.models.update(MODEL_A, "ipfs://v2", 2 ether);
        assertEq(d.models.minPricePerMTok(MODEL_A), 1 ether, "the current epoch keeps its floor");
        assertEq(d.models.floorAt(MODEL_A, 0), 1 ether);
        assertEq(d.models.floorAt(MODEL_A, 1), 2 ether);
        assertEq(d.models.getModel(MODEL_A).minPricePerMTok, 2 ether, "the newest floor");
        assertEq(d.models.getModel(MODEL_A).metadataURI, "ipfs://v2");
        vm.warp(d.emissions.epochStart(1));
        assertEq(d.models.minPricePerMTok(MODEL_A), 2 ether);

        vm.prank(developerB);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, MODEL_A, developerB));
        d.models.update(MODEL_A, "x", 1 ether);
        vm.prank(developerA);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 2_000_000 ether, 1, 1_000_000 ether));
        d.models.update(MODEL_A, "x", 2_000_000 ether);
    }

    /// An owner moves its floor at most 2x per epoch, up or down, however many times it calls.
    function test_update_boundedStepPerEpoch() public {
        vm.startPrank(developerA);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.FloorStepTooLarge.selector, 1 ether, 2 ether + 1));
        d.models.update(MODEL_A, "", 2 ether + 1);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.FloorStepTooLarge.selector, 1 ether, 0.5 ether - 1));
        d.models.update(MODEL_A, "", 0.5 ether - 1);
        d.models.update(MODEL_A, "", 2 ether);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.FloorStepTooLarge.selector, 1 ether, 4 ether));
        d.models.update(MODEL_A, "", 4 ether); // chaining within one epoch does not compound
        vm.stopPrank();
    }

    /// The DAO's global minimum applies to every model, from the next epoch, and is never zero.
    function test_globalFloor() public {
        assertEq(d.models.globalFloorAt(0), 0.01 ether);
        bytes32 admin = d.models.DEFAULT_ADMIN_ROLE();
        vm.prank(developerA);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, developerA, admin)
        );
        d.models.setGlobalFloor(5 ether);
        vm.startPrank(address(d.timelock));
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 0, 1 gwei, 1000 ether));
        d.models.setGlobalFloor(0);
        vm.expectEmit(address(d.models));
        emit ModelRegistry.GlobalFloorScheduled(5 ether, 1);
        d.models.setGlobalFloor(5 ether);
        vm.stopPrank();
        assertEq(d.models.floorAt(MODEL_A, 0), 1 ether);
        assertEq(d.models.floorAt(MODEL_A, 1), 5 ether, "max(model floor, global minimum)");
    }

    function test_transferOwnership_movesFutureClaims() public {
        vm.expectEmit(address(d.models));
        emit ModelRegistry.ModelOwnershipTransferred(MODEL_A, developerA, developerC);
        vm.prank(developerA);
        d.models.transferModelOwnership(MODEL_A, developerC);
        assertEq(d.models.modelOwner(MODEL_A), developerC);

        record(0, makeAddr("miner"), MODEL_A, 100);
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        vm.prank(developerC);
        assertEq(d.emissions.claimModel(MODEL_A, single(0)), d.emissions.epochInfo(0).modelPool);

        vm.prank(developerA);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, MODEL_A, developerA));
        d.models.transferModelOwnership(MODEL_A, developerA);
        vm.prank(developerC);
        vm.expectRevert(ModelRegistry.ZeroAddress.selector);
        d.models.transferModelOwnership(MODEL_A, address(0));
    }

    function test_propose_zeroFloorRefused() public {
        vm.prank(developerC);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 0, 1, 1_000_000 ether));
        d.models.propose(MODEL_C, developerC, "free", "", 0);
    }

    function test_constructor_zeroAdmin() public {
        vm.expectRevert(ModelRegistry.ZeroAddress.selector);
        new ModelRegistry(address(0), d.emissions, 1 ether);
        vm.expectRevert(ModelRegistry.ZeroAddress.selector);
        new ModelRegistry(address(1), Emissions(address(0)), 1 ether);
    }
}
