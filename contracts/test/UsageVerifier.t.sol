// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IUsageVerifier} from "../src/interfaces/IUsageVerifier.sol";
import {UsageFixture} from "./utils/UsageFixture.sol";

/// Proofs made by the Rust prover verify on chain; any change to an input or a proof coordinate is rejected.
contract UsageVerifierTest is UsageFixture {
    uint256 internal constant R =
        21_888_242_871_839_275_222_246_405_745_257_275_088_548_364_400_416_034_343_698_204_186_575_808_495_617;
    uint256 internal constant Q =
        21_888_242_871_839_275_222_246_405_745_257_275_088_696_311_157_297_823_662_689_037_894_645_226_208_583;

    function _verifier(uint256 n) internal view returns (IUsageVerifier) {
        return d.ledger.verifiers(n);
    }

    function test_rustProofsVerify() public view {
        for (uint256 n = 64; n <= 1024; n *= 16) {
            UsageProof memory p = loadProof(n);
            assertTrue(_verifier(n).verifyProof(p.proof, p.inputs), "valid proof");
            assertEq(_verifier(n).BATCH_SIZE(), n);
            assertEq(p.inputs[0], uint160(miner));
            assertEq(p.inputs[2], uint256(MODEL_A) % R, "model id reduced mod r");
            assertEq(p.inputs[3], p.tokens);
            assertEq(p.inputs[4], p.fees);
            assertEq(p.inputs[5], p.batchRoot);
        }
    }

    function test_anyFlippedInputIsRejected() public view {
        UsageProof memory p = loadProof(64);
        for (uint256 i; i < 6; ++i) {
            uint256[6] memory inputs = p.inputs;
            inputs[i] = (inputs[i] + 1) % R;
            assertFalse(_verifier(64).verifyProof(p.proof, inputs), "flipped input");
        }
    }

    function test_anyFlippedCoordinateIsRejected() public view {
        UsageProof memory p = loadProof(64);
        for (uint256 i; i < 8; ++i) {
            uint256[8] memory proof = p.proof;
            proof[i] = (proof[i] + 1) % Q;
            assertFalse(_verifier(64).verifyProof(proof, p.inputs), "flipped coordinate");
        }
    }

    function test_proofForOneSizeFailsOnTheOther() public view {
        UsageProof memory p = loadProof(64);
        assertFalse(_verifier(1024).verifyProof(p.proof, p.inputs));
    }

    function test_nonCanonicalValuesAreRejected() public view {
        UsageProof memory p = loadProof(64);
        uint256[6] memory inputs = p.inputs;
        inputs[5] = p.inputs[5] + R; // the same root modulo r
        assertFalse(_verifier(64).verifyProof(p.proof, inputs), "input >= r");
        uint256[8] memory proof = p.proof;
        proof[0] = p.proof[0] + Q;
        assertFalse(_verifier(64).verifyProof(proof, p.inputs), "coordinate >= q");
        uint256[8] memory zero;
        assertFalse(_verifier(64).verifyProof(zero, p.inputs), "all-zero proof");
    }

    function testFuzz_randomProofsAreRejected(uint256[8] memory proof) public view {
        UsageProof memory p = loadProof(64);
        assertFalse(_verifier(64).verifyProof(proof, p.inputs));
    }
}
