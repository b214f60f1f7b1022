// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Payments} from "../../src/Payments.sol";
import {PaymentsFixture} from "./PaymentsFixture.sol";

/// @dev Loads proofs written by `neuro-prover fixtures` (scripts/generate-verifiers.sh) for `miner`, epoch 0 and
/// MODEL_A, and prepares a node that may submit them.
abstract contract UsageFixture is PaymentsFixture {
    struct UsageProof {
        uint256 batchSize;
        uint256 tokens;
        uint256 fees;
        uint256 batchRoot;
        uint256[8] proof;
        uint256[6] inputs;
    }

    function loadProof(uint256 batchSize) internal view returns (UsageProof memory p) {
        string memory json = vm.readFile(
            string.concat(vm.projectRoot(), "/contracts/test/fixtures/usage-", vm.toString(batchSize), ".json")
        );
        p.batchSize = vm.parseJsonUint(json, ".batchSize");
        p.tokens = vm.parseJsonUint(json, ".totalTokens");
        p.fees = vm.parseJsonUint(json, ".totalFee");
        p.batchRoot = vm.parseJsonUint(json, ".batchRoot");
        uint256[] memory proof = vm.parseJsonUintArray(json, ".proof");
        uint256[] memory inputs = vm.parseJsonUintArray(json, ".publicInputs");
        for (uint256 i; i < 8; ++i) {
            p.proof[i] = proof[i];
        }
        for (uint256 i; i < 6; ++i) {
            p.inputs[i] = inputs[i];
        }
        assertEq(vm.parseJsonAddress(json, ".miner"), miner, "fixture made for makeAddr(\"miner\")");
        assertEq(vm.parseJsonBytes32(json, ".modelId"), MODEL_A, "fixture made for MODEL_A");
    }

    /// @dev Stakes and registers `miner` as a node serving MODEL_A.
    function registerMiner() internal {
        stakeAs(miner, 10_000 ether);
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = MODEL_A;
        vm.prank(miner);
        d.nodes.register("https://miner.example", makeAddr("receipt-key"), ids);
    }

    /// @dev The user deposits and the miner redeems `amount` for epoch 0.
    function payMiner(uint256 amount) internal {
        depositAs(user, amount);
        Payments.Allowance memory a = allowance(amount, 0);
        redeemAs(miner, a, sign(userKey, a), amount);
    }

    function submit(UsageProof memory p) internal {
        vm.prank(miner);
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, p.batchSize, p.proof);
    }
}
