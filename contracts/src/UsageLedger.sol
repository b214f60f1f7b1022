// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Emissions} from "./Emissions.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {NodeRegistry} from "./NodeRegistry.sol";
import {Payments} from "./Payments.sol";
import {IUsageVerifier} from "./interfaces/IUsageVerifier.sol";

/// @title The usage ledger: turns paid, proven usage into credited work
/// @notice A node submits, per epoch and model, one Groth16 proof that a batch of metered receipts adds up to
/// `tokens` and `fees` under `batchRoot`. If the node serves the approved model, the epoch is open, the root is
/// new, the fees were actually redeemed through `Payments` for this model and epoch (and not used before), the
/// fees pay at least the model's floor for that epoch (never zero) and the proof verifies, the ledger credits
/// `tokens` work units in `Emissions`, backed by the burned part of those fees (which caps their reward).
/// @dev Within one (miner, epoch, model) each batch takes the share of the not yet used burned fees that its fees
/// are of the not yet used fees, so the burned fees credited never exceed those burned, even if the fee split
/// changed between redemptions.
/// @dev O(1) in the batch size: the verifier checks a constant-size proof against six public inputs
/// `[miner, epoch, modelId mod R, tokens, fees, batchRoot]`. A 32-byte model id is reduced modulo the BN254
/// scalar field order `R`, exactly as the prover does. One verifier per batch size (`verifiers`).
contract UsageLedger is AccessControl {
    /// @notice The BN254 scalar field order.
    uint256 public constant R =
        21_888_242_871_839_275_222_246_405_745_257_275_088_548_364_400_416_034_343_698_204_186_575_808_495_617;
    /// @notice Largest batch size a verifier may be registered for.
    uint256 public constant MAX_BATCH_SIZE = 65_536;

    /// @notice Epoch clock and work book.
    Emissions public immutable emissions;
    /// @notice Fees redeemed per miner and epoch.
    Payments public immutable payments;
    /// @notice Which nodes serve which models.
    NodeRegistry public immutable nodes;
    /// @notice Model floor prices.
    ModelRegistry public immutable models;

    /// @notice The verifier of each supported batch size (zero if unsupported).
    mapping(uint256 batchSize => IUsageVerifier) public verifiers;
    /// @notice Batch roots already submitted (by anyone, in any epoch).
    mapping(uint256 batchRoot => bool) public rootUsed;

    /// @notice Fees of one (miner, epoch, model) already backing submitted usage, and their burned part.
    struct FeesUsed {
        uint128 gross;
        uint128 burned;
    }

    /// @notice Fees of a miner's epoch and model already backing submitted usage.
    mapping(address miner => mapping(uint256 epoch => mapping(bytes32 modelId => FeesUsed))) public feesUsed;

    /// @notice A batch was accepted and its tokens credited as work.
    event UsageSubmitted(
        uint256 indexed epoch,
        address indexed miner,
        bytes32 indexed modelId,
        uint256 batchRoot,
        uint256 batchSize,
        uint256 tokens,
        uint256 fees,
        uint256 burnedFees
    );
    /// @notice The verifier of a batch size changed (zero: size disabled).
    event VerifierSet(uint256 indexed batchSize, address verifier);

    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice No verifier is registered for this batch size.
    error UnsupportedBatchSize(uint256 batchSize);
    /// @notice The batch size is not a power of two in [2, MAX_BATCH_SIZE], or the verifier is for another.
    error InvalidBatchSize(uint256 batchSize);
    /// @notice The caller is not an active node serving this approved model.
    error NodeNotServingModel(address miner, bytes32 modelId);
    /// @notice The epoch is not open (not started, or its submission window closed).
    error EpochNotOpen(uint256 epoch);
    /// @notice The batch root was already submitted.
    error BatchRootUsed(uint256 batchRoot);
    /// @notice The fees exceed what the miner redeemed for the epoch and has not used yet.
    error FeesNotRedeemed(uint256 fees, uint256 available);
    /// @notice The fees pay less than the model's floor price for the tokens.
    error BelowFloorPrice(uint256 tokens, uint256 fees, uint256 minPricePerMTok);
    /// @notice A submission credited zero tokens.
    error ZeroTokens();
    /// @notice A submission carried zero fees.
    error ZeroFees();
    /// @notice The proof does not verify for these inputs.
    error InvalidProof();

    /// @notice Deploys the ledger.
    /// @param emissions_ Emissions (this ledger must be its `workRecorder`).
    /// @param payments_ Payments.
    /// @param nodes_ Node registry.
    /// @param models_ Model registry.
    /// @param admin The timelock: may register or replace verifiers (after a new key ceremony).
    /// @param initialVerifiers Verifiers to register, each under its own `BATCH_SIZE()`.
    constructor(
        Emissions emissions_,
        Payments payments_,
        NodeRegistry nodes_,
        ModelRegistry models_,
        address admin,
        IUsageVerifier[] memory initialVerifiers
    ) {
        if (
            address(emissions_) == address(0) || address(payments_) == address(0) || address(nodes_) == address(0)
                || address(models_) == address(0) || admin == address(0)
        ) revert ZeroAddress();
        emissions = emissions_;
        payments = payments_;
        nodes = nodes_;
        models = models_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        for (uint256 i; i < initialVerifiers.length; ++i) {
            _setVerifier(initialVerifiers[i].BATCH_SIZE(), initialVerifiers[i]);
        }
    }

    /// @notice Submits one proven batch of usage and credits its tokens as work in `epoch`.
    /// @param epoch Epoch of the usage (open: current, or previous within the submission window).
    /// @param modelId Model every receipt of the batch was served with.
    /// @param tokens Total prompt + completion tokens of the batch.
    /// @param fees Total fees of the batch in NEURO-wei (must have been redeemed for `epoch` and `modelId`).
    /// @param batchRoot Poseidon Merkle root of the batch's receipts.
    /// @param batchSize Number of leaves of the batch (selects the verifier).
    /// @param proof Groth16 proof `[A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]`.
    function submitUsage(
        uint256 epoch,
        bytes32 modelId,
        uint256 tokens,
        uint256 fees,
        uint256 batchRoot,
        uint256 batchSize,
        uint256[8] calldata proof
    ) external {
        IUsageVerifier verifier = verifiers[batchSize];
        if (address(verifier) == address(0)) revert UnsupportedBatchSize(batchSize);
        if (tokens == 0) revert ZeroTokens();
        if (fees == 0) revert ZeroFees();
        if (!nodes.servesModel(msg.sender, modelId)) revert NodeNotServingModel(msg.sender, modelId);
        if (!emissions.isOpen(epoch)) revert EpochNotOpen(epoch);
        if (rootUsed[batchRoot]) revert BatchRootUsed(batchRoot);
        uint256 floor = models.floorAt(modelId, epoch);
        if (tokens * floor > fees * 1e6) revert BelowFloorPrice(tokens, fees, floor);

        uint256[6] memory input = [uint256(uint160(msg.sender)), epoch, uint256(modelId) % R, tokens, fees, batchRoot];
        if (!verifier.verifyProof(proof, input)) revert InvalidProof();

        rootUsed[batchRoot] = true;
        uint256 burned = _useFees(epoch, modelId, fees);
        emissions.recordWork(epoch, msg.sender, modelId, SafeCast.toUint128(tokens), burned);
        emit UsageSubmitted(epoch, msg.sender, modelId, batchRoot, batchSize, tokens, fees, burned);
    }

    /// @notice Registers, replaces (after a new key ceremony) or, with the zero address, disables the verifier
    /// of `batchSize`.
    /// @param batchSize A power of two in [2, MAX_BATCH_SIZE]; must equal the verifier's `BATCH_SIZE()`.
    /// @param verifier The verifier, or zero.
    function setVerifier(uint256 batchSize, IUsageVerifier verifier) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setVerifier(batchSize, verifier);
    }

    /// @dev Books `fees` of the caller's (epoch, model) as used and returns the burned fees they carry: the
    /// batch's share of what is left, so never more than was burned, whatever the split history.
    function _useFees(uint256 epoch, bytes32 modelId, uint256 fees) private returns (uint256 burned) {
        FeesUsed memory used = feesUsed[msg.sender][epoch][modelId];
        (uint256 redeemed, uint256 burnedTotal) = payments.feesRedeemed(msg.sender, epoch, modelId);
        if (used.gross + fees > redeemed) revert FeesNotRedeemed(fees, redeemed - used.gross);
        burned = Math.mulDiv(fees, burnedTotal - used.burned, redeemed - used.gross);
        feesUsed[msg.sender][epoch][modelId] =
            FeesUsed(SafeCast.toUint128(used.gross + fees), SafeCast.toUint128(used.burned + burned));
    }

    function _setVerifier(uint256 batchSize, IUsageVerifier verifier) private {
        if (batchSize < 2 || batchSize > MAX_BATCH_SIZE || batchSize & (batchSize - 1) != 0) {
            revert InvalidBatchSize(batchSize);
        }
        if (address(verifier) != address(0) && verifier.BATCH_SIZE() != batchSize) revert InvalidBatchSize(batchSize);
        verifiers[batchSize] = verifier;
        emit VerifierSet(batchSize, address(verifier));
    }
}
