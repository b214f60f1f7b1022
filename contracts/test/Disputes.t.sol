// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "forge-std/Vm.sol";
import {NeuroFixture} from "./utils/NeuroFixture.sol";
import {Disputes} from "../src/Disputes.sol";
import {Emissions} from "../src/Emissions.sol";
import {StakingVault} from "../src/StakingVault.sol";
import {ParameterOutOfBounds} from "../src/libraries/Bounds.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @dev The dispute court: evidence checks, freeze and reward hold, quorum and majority, the slash table, bonds
/// and who gets them; and the attacks against it (framing, voting blind, flash stake, self-voting, front-running).
contract DisputesTest is NeuroFixture {
    Disputes internal court;
    address internal node;
    uint256 internal nodeKey;
    address internal v1 = makeAddr("validator1");
    address internal v2 = makeAddr("validator2");
    address internal v3 = makeAddr("validator3");
    address internal outsider = makeAddr("outsider");
    uint256 internal constant NODE_STAKE = 10_000 ether;
    uint256 internal constant VALIDATOR_STAKE = 1000 ether;

    function setUp() public override {
        super.setUp();
        court = d.disputes;
        (node, nodeKey) = makeAddrAndKey("node");
        stakeAs(node, NODE_STAKE);
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = MODEL_A;
        vm.prank(node);
        d.nodes.register("https://node.example", node, ids);
        _validator(v1, VALIDATOR_STAKE);
        _validator(v2, VALIDATOR_STAKE);
        _validator(v3, VALIDATOR_STAKE);
        vm.warp(block.timestamp + 1);
    }

    function _validator(address who, uint256 amount) internal {
        fund(who, amount + 1000 ether);
        vm.startPrank(who);
        d.token.approve(address(court), type(uint256).max);
        court.stake(amount);
        vm.stopPrank();
    }

    function _receipt(address user, bytes memory request, bytes memory output)
        internal
        view
        returns (Disputes.InferenceReceipt memory r)
    {
        r = Disputes.InferenceReceipt({
            miner: node,
            user: user,
            modelId: MODEL_A,
            requestHash: keccak256(request),
            outputHash: keccak256(output),
            samplingHash: bytes32(0),
            promptTokens: 10,
            completionTokens: 20,
            fee: 1e12,
            epoch: uint64(d.emissions.currentEpoch())
        });
    }

    function _sign(uint256 key, Disputes.InferenceReceipt memory r) internal view returns (bytes memory) {
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(key, this.digestOf(r));
        return abi.encodePacked(rr, s, v);
    }

    function digestOf(Disputes.InferenceReceipt calldata r) external view returns (bytes32) {
        return court.receiptDigest(r);
    }

    function _open(address challenger) internal returns (uint256 id, Disputes.InferenceReceipt memory r) {
        bytes memory request = bytes('{"model":"tiny","messages":[{"role":"user","content":"hi"}]}');
        bytes memory output = bytes("a substituted answer");
        r = _receipt(challenger, request, output);
        bytes memory sig = _sign(nodeKey, r);
        vm.prank(challenger);
        id = court.openDispute(r, sig, request, output);
    }

    function _vote(address who, uint256 id, bool uphold) internal {
        vm.prank(who);
        court.vote(id, uphold);
    }

    function _nodeSlashable() internal view returns (uint256) {
        return d.staking.bondedStake(node) + d.staking.unbonding(node).amount;
    }

    // ------------------------------------------------------------ lifecycle

    function test_upheldDisputeSlashesForfeitsAndPaysTheFinder() public {
        record(0, node, MODEL_A, 100);
        uint256 v1Before = d.token.balanceOf(v1);
        (uint256 id,) = _open(v1);
        assertEq(d.token.balanceOf(v1), v1Before - court.disputeBond(), "bond taken");

        // The accused is frozen: unbonding does not let it leave before the dispute resolves.
        vm.prank(node);
        d.staking.unstake(1000 ether);
        Disputes.Dispute memory dispute = court.getDispute(id);
        assertGe(d.staking.frozenUntil(node), dispute.votingEnds, "frozen through the vote");
        assertEq(d.emissions.rewardHolds(0, node), 1, "reward held");

        _vote(v2, id, true);
        _vote(v3, id, false);
        vm.expectRevert(abi.encodeWithSelector(Disputes.CannotVote.selector, id, v2));
        _vote(v2, id, true);

        vm.warp(dispute.votingEnds);
        uint256 slashable = _nodeSlashable();
        uint256 treasuryBefore = d.token.balanceOf(address(d.timelock));
        uint256 supplyBefore = d.token.totalSupply();
        v1Before = d.token.balanceOf(v1);
        assertEq(uint8(court.resolve(id)), uint8(Disputes.Status.Upheld));

        uint256 slash = slashable * court.firstFaultSlashBps() / 10_000;
        uint256 finder = slash * court.finderBps() / 10_000;
        uint256 burned = (slash - finder) * d.staking.slashBurnBps() / 10_000;
        assertEq(_nodeSlashable(), slashable - slash, "slashed by the first-fault rate");
        assertEq(d.token.balanceOf(v1), v1Before + court.disputeBond() + finder, "bond back plus finder's share");
        assertEq(d.token.balanceOf(address(d.timelock)), treasuryBefore + slash - finder - burned, "treasury");
        assertEq(d.token.totalSupply(), supplyBefore - burned, "burned");
        assertEq(court.faults(node), 1);

        // Its reward for the epoch is forfeited: claiming pays nothing.
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        uint256 nodeBefore = d.token.balanceOf(node);
        vm.prank(node);
        assertEq(d.emissions.claim(single(0)), 0, "forfeited");
        assertEq(d.token.balanceOf(node), nodeBefore);

        // The rejecting voter lost its bond to the upholding side, pro rata to stake (v1 and v2 alike).
        uint256 share = court.voteBond() * VALIDATOR_STAKE / (2 * VALIDATOR_STAKE);
        uint256 v2Before = d.token.balanceOf(v2);
        vm.prank(v2);
        assertEq(court.claim(id), court.voteBond() + share);
        assertEq(d.token.balanceOf(v2), v2Before + court.voteBond() + share);
        vm.prank(v1);
        assertEq(court.claim(id), share);
        vm.expectRevert(abi.encodeWithSelector(Disputes.NothingToClaim.selector, id, v3));
        vm.prank(v3);
        court.claim(id);
        vm.expectRevert(abi.encodeWithSelector(Disputes.NothingToClaim.selector, id, v2));
        vm.prank(v2);
        court.claim(id);
    }

    /// Review finding 3: the Governor's permissionless `releaseWithdrawals` (no slash proposal names the node)
    /// used to clear the court's freeze too, so an accused node whose unbonding had matured could withdraw
    /// before the slash. Each freezer now lifts only its own freeze.
    function test_theGovernorsReleaseDoesNotLiftTheCourtsFreeze() public {
        vm.prank(node);
        d.staking.unstake(5000 ether);
        vm.warp(block.timestamp + d.staking.unbondingPeriod() + 1);
        (uint256 id,) = _open(v1);
        uint256 until = court.getDispute(id).votingEnds + court.FREEZE_MARGIN();
        d.governor.releaseWithdrawals(node);
        assertEq(d.staking.frozenUntil(node), until, "the court's freeze stands");
        vm.expectRevert(abi.encodeWithSelector(StakingVault.WithdrawalsAreFrozen.selector, until));
        vm.prank(node);
        d.staking.withdraw();

        _vote(v2, id, true);
        vm.warp(court.getDispute(id).votingEnds);
        court.resolve(id);
        assertEq(_nodeSlashable(), NODE_STAKE * 9 / 10, "slashed by the first-fault rate before it could leave");
    }

    /// Review finding 1: a node that claims its epoch reward before the dispute opens used to keep it (a
    /// forfeit after the claim took nothing). The court now adds the claimed reward to the slash.
    function test_aRewardClaimedBeforeTheDisputeIsTakenBackFromStake() public {
        uint256 epoch = d.emissions.currentEpoch();
        record(epoch, node, MODEL_A, 100);
        warpToFinalizable(epoch);
        d.emissions.finalizeEpoch(epoch);
        vm.prank(node);
        uint256 claimed = d.emissions.claim(single(epoch));
        assertGt(claimed, 0, "the reward was paid");

        // Two disputes about two answers of that epoch, both upheld.
        uint256 first = _openAbout(v1, epoch, "hi");
        uint256 second = _openAbout(v2, epoch, "hello");
        _vote(v2, first, true);
        _vote(v3, second, true);
        vm.warp(court.getDispute(second).votingEnds);

        uint256 slashable = _nodeSlashable();
        court.resolve(first);
        uint256 expected = slashable * court.firstFaultSlashBps() / 10_000 + claimed;
        assertEq(slashable - _nodeSlashable(), expected, "the slash plus the reward claimed");
        assertTrue(d.emissions.rewardForfeited(epoch, node));

        // The second takes the reward back no second time.
        slashable = _nodeSlashable();
        court.resolve(second);
        assertEq(slashable - _nodeSlashable(), slashable * court.repeatFaultSlashBps() / 10_000, "no second clawback");
    }

    function _openAbout(address challenger, uint256 epoch, string memory prompt) internal returns (uint256 id) {
        bytes memory request =
            abi.encodePacked('{"model":"tiny","messages":[{"role":"user","content":"', prompt, '"}]}');
        bytes memory output = bytes("a substituted answer");
        Disputes.InferenceReceipt memory r = _receipt(challenger, request, output);
        r.epoch = uint64(epoch);
        bytes memory sig = _sign(nodeKey, r);
        vm.prank(challenger);
        id = court.openDispute(r, sig, request, output);
    }

    /// Review: once the court no longer shares a freeze with the Governor, a string of false disputes must not
    /// keep an honest node frozen past its last vote: the court lifts its freeze when the last one resolves.
    function test_theCourtsFreezeEndsWithTheLastOpenDispute() public {
        (uint256 first,) = _open(v1);
        uint256 second = _openAbout(v2, d.emissions.currentEpoch(), "another");
        assertEq(court.openDisputesAgainst(node), 2);
        _vote(v3, first, false);
        _vote(v3, second, false);
        vm.warp(court.getDispute(second).votingEnds);
        court.resolve(first);
        assertGt(d.staking.frozenUntil(node), block.timestamp, "still frozen: one dispute open");
        court.resolve(second);
        assertEq(d.staking.frozenUntil(node), 0, "free to leave once cleared");
    }

    /// Review finding 5: governance revoking the court's roles (replacing the court) used to make `resolve`
    /// revert forever, stranding the challenger's and voters' bonds. What the court may no longer do is skipped.
    function test_revokedPowersDoNotStrandTheBonds() public {
        (uint256 id,) = _open(v1);
        _vote(v2, id, true);
        vm.startPrank(address(d.timelock));
        d.staking.revokeRole(d.staking.SLASHER_ROLE(), address(court));
        d.staking.revokeRole(d.staking.FREEZER_ROLE(), address(court));
        d.emissions.revokeRole(d.emissions.REWARD_HOLDER_ROLE(), address(court));
        vm.stopPrank();
        uint256 votingEnds = court.getDispute(id).votingEnds;
        // A gap in the court's powers (an emergency revoke, a re-grant pending) is not a way out for the accused:
        // resolve waits for the powers to come back, or for the grace that retires the court.
        vm.warp(votingEnds);
        uint256 settlesAt = votingEnds + court.POWERLESS_GRACE();
        vm.expectRevert(abi.encodeWithSelector(Disputes.CourtPowerless.selector, id, settlesAt));
        court.resolve(id);
        vm.warp(settlesAt);
        uint256 before = d.token.balanceOf(v1);
        vm.expectEmit(address(court));
        emit Disputes.CourtPowerMissing(id, d.staking.SLASHER_ROLE());
        assertEq(uint8(court.resolve(id)), uint8(Disputes.Status.Upheld));
        assertEq(d.token.balanceOf(v1), before + court.disputeBond(), "the challenger's bond came back");
        assertEq(_nodeSlashable(), NODE_STAKE, "no slash without the power to slash");
        vm.prank(v2);
        court.claim(id);
        assertEq(d.token.balanceOf(address(court)), court.totalStake() + court.totalUnbonding() + court.totalBonds());
    }

    function test_repeatedFraudIsSlashedHarder() public {
        (uint256 first,) = _open(v1);
        _vote(v2, first, true);
        vm.warp(court.getDispute(first).votingEnds);
        court.resolve(first);
        vm.warp(block.timestamp + 1);
        bytes memory request = bytes("second request");
        bytes memory output = bytes("second answer");
        Disputes.InferenceReceipt memory r = _receipt(v1, request, output);
        bytes memory sig = _sign(nodeKey, r);
        vm.prank(v1);
        uint256 second = court.openDispute(r, sig, request, output);
        _vote(v2, second, true);
        vm.warp(court.getDispute(second).votingEnds);
        uint256 slashable = _nodeSlashable();
        court.resolve(second);
        assertEq(_nodeSlashable(), slashable - slashable * court.repeatFaultSlashBps() / 10_000);
        assertGt(court.repeatFaultSlashBps(), court.firstFaultSlashBps());
    }

    /// A validator framing an honest node: the others re-execute, reject, and split its bond.
    function test_aFalseDisputeCostsTheChallengerItsBond() public {
        record(0, node, MODEL_A, 100);
        uint256 v1Before = d.token.balanceOf(v1);
        (uint256 id,) = _open(v1);
        _vote(v2, id, false);
        _vote(v3, id, false);
        vm.warp(court.getDispute(id).votingEnds);
        uint256 slashable = _nodeSlashable();
        assertEq(uint8(court.resolve(id)), uint8(Disputes.Status.Rejected));
        assertEq(_nodeSlashable(), slashable, "no slash");
        assertEq(d.emissions.rewardHolds(0, node), 0, "hold released");
        vm.prank(v2);
        uint256 paid = court.claim(id);
        assertEq(paid, court.voteBond() + court.disputeBond() / 2, "bond back plus half the challenger's");
        vm.expectRevert(abi.encodeWithSelector(Disputes.NothingToClaim.selector, id, v1));
        vm.prank(v1);
        court.claim(id);
        assertEq(d.token.balanceOf(v1), v1Before - court.disputeBond(), "the framer lost its bond");
        // The node's reward is paid in full.
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        vm.prank(node);
        assertGt(d.emissions.claim(single(0)), 0);
    }

    function test_withoutQuorumTheBondGoesToTheTreasuryAndVotersAreRefunded() public {
        // Quorum is a third of validator stake: add stake so that two of five thousand do not reach it.
        _validator(makeAddr("big"), 5000 ether);
        vm.warp(block.timestamp + 1);
        (uint256 id,) = _open(v1);
        _vote(v2, id, true);
        vm.warp(court.getDispute(id).votingEnds);
        uint256 treasuryBefore = d.token.balanceOf(address(d.timelock));
        assertEq(uint8(court.resolve(id)), uint8(Disputes.Status.NoQuorum));
        assertEq(d.token.balanceOf(address(d.timelock)), treasuryBefore + court.disputeBond());
        vm.prank(v2);
        assertEq(court.claim(id), court.voteBond(), "refunded");
    }

    // ------------------------------------------------------------ evidence and attacks

    function test_evidenceMustBeTheNodesSignedClaims() public {
        bytes memory request = bytes("request");
        bytes memory output = bytes("output");
        Disputes.InferenceReceipt memory r = _receipt(v1, request, output);
        (, uint256 strangerKey) = makeAddrAndKey("stranger");
        bytes memory forged = _sign(strangerKey, r);
        vm.prank(v1);
        vm.expectPartialRevert(Disputes.BadReceiptSignature.selector);
        court.openDispute(r, forged, request, output);

        bytes memory sig = _sign(nodeKey, r);
        vm.prank(v1);
        vm.expectRevert(Disputes.EvidenceMismatch.selector);
        court.openDispute(r, sig, request, bytes("another output"));

        // Front-running: somebody else copying the challenger's calldata cannot take the dispute.
        vm.prank(v2);
        vm.expectRevert(abi.encodeWithSelector(Disputes.NotReceiptUser.selector, v2, v1));
        court.openDispute(r, sig, request, output);

        // Rotating the signing key or deregistering does not void what the old key signed.
        vm.prank(node);
        d.nodes.update("https://node.example", makeAddr("new signer"));
        vm.prank(node);
        d.nodes.deregister();
        vm.prank(v1);
        uint256 id = court.openDispute(r, sig, request, output);
        bytes32 digest = this.digestOf(r);
        vm.prank(v1);
        vm.expectRevert(abi.encodeWithSelector(Disputes.AlreadyDisputed.selector, digest, id));
        court.openDispute(r, sig, request, output);
    }

    function test_theEvidenceIsInTheLogWhoeverOpens() public {
        vm.recordLogs();
        (uint256 id, Disputes.InferenceReceipt memory r) = _open(v1);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 topic = Disputes.DisputeEvidence.selector;
        bool found;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(court) || logs[i].topics[0] != topic) continue;
            assertEq(uint256(logs[i].topics[1]), id);
            (Disputes.InferenceReceipt memory logged, bytes memory sig, bytes memory request, bytes memory output) =
                abi.decode(logs[i].data, (Disputes.InferenceReceipt, bytes, bytes, bytes));
            assertEq(court.receiptDigest(logged), court.receiptDigest(r));
            assertEq(keccak256(request), r.requestHash);
            assertEq(keccak256(output), r.outputHash);
            assertEq(sig.length, 65);
            found = true;
        }
        assertTrue(found, "DisputeEvidence emitted");
    }

    function test_flashStakeAndTheAccusedCannotVote() public {
        (uint256 id,) = _open(v1);
        // Stake bonded after the dispute opened does not weigh in it.
        _validator(outsider, 1_000_000 ether);
        vm.prank(outsider);
        vm.expectPartialRevert(Disputes.NotAValidator.selector);
        court.vote(id, false);
        // The accused node, even staked as a validator beforehand, cannot vote on its own dispute.
        vm.prank(node);
        vm.expectRevert(abi.encodeWithSelector(Disputes.CannotVote.selector, id, node));
        court.vote(id, false);
        // Unstaking after the dispute opened keeps the snapshot weight (and the bond is at stake anyway).
        vm.prank(v2);
        court.unstake(VALIDATOR_STAKE);
        _vote(v2, id, true);
        assertEq(court.getVote(id, v2).weight, VALIDATOR_STAKE);
        vm.expectRevert(abi.encodeWithSelector(Disputes.VotingOpen.selector, id, court.getDispute(id).votingEnds));
        court.resolve(id);
    }

    // ------------------------------------------------------------ delegated disputes

    function _delegate(uint256 userKey, Disputes.InferenceReceipt memory r, address validator)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(userKey, court.delegationDigest(this.digestOf(r), validator));
        return abi.encodePacked(rr, s, v);
    }

    struct Delegated {
        uint256 userKey;
        Disputes.InferenceReceipt receipt;
        bytes signature;
        bytes request;
        bytes output;
    }

    function _delegated() internal returns (Delegated memory e) {
        address user;
        (user, e.userKey) = makeAddrAndKey("probe account");
        e.request = bytes("request");
        e.output = bytes("a substituted answer");
        e.receipt = _receipt(user, e.request, e.output);
        e.signature = _sign(nodeKey, e.receipt);
    }

    /// A validator probing from an account nobody can tie to its stake (or an organic user handing over an
    /// answer): the paying user signs a delegation naming one validator; it works for no one else, for no other
    /// receipt, and only with the user's signature.
    function test_aDelegationWorksOnlyForItsValidatorAndReceipt() public {
        Delegated memory e = _delegated();
        address user = e.receipt.user;
        bytes memory delegation = _delegate(e.userKey, e.receipt, v1);
        vm.prank(v1);
        vm.expectRevert(abi.encodeWithSelector(Disputes.NotReceiptUser.selector, v1, user));
        court.openDispute(e.receipt, e.signature, e.request, e.output);
        // A front-runner copying v1's calldata gets nothing.
        vm.prank(v2);
        vm.expectRevert(abi.encodeWithSelector(Disputes.BadDelegation.selector, user, v2));
        court.openDelegatedDispute(e.receipt, e.signature, e.request, e.output, delegation);
        Disputes.InferenceReceipt memory other = _receipt(user, e.request, bytes("another answer"));
        bytes memory otherSig = _sign(nodeKey, other);
        vm.prank(v1);
        vm.expectRevert(abi.encodeWithSelector(Disputes.BadDelegation.selector, user, v1));
        court.openDelegatedDispute(other, otherSig, e.request, bytes("another answer"), delegation);
        (, uint256 strangerKey) = makeAddrAndKey("stranger");
        bytes memory forged = _delegate(strangerKey, e.receipt, v1);
        vm.prank(v1);
        vm.expectRevert(abi.encodeWithSelector(Disputes.BadDelegation.selector, user, v1));
        court.openDelegatedDispute(e.receipt, e.signature, e.request, e.output, forged);
        // A delegation does not make a validator of a non-validator.
        bytes memory toOutsider = _delegate(e.userKey, e.receipt, outsider);
        vm.prank(outsider);
        vm.expectPartialRevert(Disputes.NotAValidator.selector);
        court.openDelegatedDispute(e.receipt, e.signature, e.request, e.output, toOutsider);
    }

    /// The named validator opens the dispute as challenger: it posts the bond, its stake upholds, and upheld it
    /// gets the finder's share; the receipt is disputed once, however many validators its user delegated it to.
    function test_aDelegatedDisputeIsTheValidatorsOwn() public {
        Delegated memory e = _delegated();
        bytes memory delegation = _delegate(e.userKey, e.receipt, v1);
        uint256 before = d.token.balanceOf(v1);
        vm.expectEmit(address(court));
        emit Disputes.DisputeDelegated(1, e.receipt.user, v1);
        vm.prank(v1);
        uint256 id = court.openDelegatedDispute(e.receipt, e.signature, e.request, e.output, delegation);
        Disputes.Dispute memory dispute = court.getDispute(id);
        assertEq(dispute.challenger, v1, "the validator is the challenger");
        assertEq(d.token.balanceOf(v1), before - court.disputeBond(), "and posts the bond");
        assertEq(court.getVote(id, v1).weight, VALIDATOR_STAKE, "and its stake upholds it");
        bytes memory toV2 = _delegate(e.userKey, e.receipt, v2);
        bytes32 digest = this.digestOf(e.receipt);
        vm.prank(v2);
        vm.expectRevert(abi.encodeWithSelector(Disputes.AlreadyDisputed.selector, digest, id));
        court.openDelegatedDispute(e.receipt, e.signature, e.request, e.output, toV2);

        _vote(v2, id, true);
        vm.warp(dispute.votingEnds);
        uint256 slash = _nodeSlashable() * court.firstFaultSlashBps() / 10_000;
        before = d.token.balanceOf(v1);
        court.resolve(id);
        assertEq(d.token.balanceOf(v1), before + court.disputeBond() + slash * court.finderBps() / 10_000);
    }

    /// A user paying from a smart account (a Safe, say) delegates with an ERC-1271 signature.
    function test_aSmartAccountUserDelegatesWithERC1271() public {
        (address owner, uint256 ownerKey) = makeAddrAndKey("wallet owner");
        SingleOwnerWallet wallet = new SingleOwnerWallet(owner);
        bytes memory request = bytes("request");
        bytes memory output = bytes("output");
        Disputes.InferenceReceipt memory r = _receipt(address(wallet), request, output);
        bytes memory sig = _sign(nodeKey, r);
        bytes memory delegation = _delegate(ownerKey, r, v1);
        vm.prank(v1);
        court.openDelegatedDispute(r, sig, request, output, delegation);
        assertEq(court.disputeOfReceipt(this.digestOf(r)), 1);
    }

    /// An account with code that still holds its key (an EIP-7702 account) delegates with its key, as it pays.
    function test_anAccountWithCodeDelegatesWithItsKey() public {
        Delegated memory e = _delegated();
        vm.etch(e.receipt.user, address(new SingleOwnerWallet(address(0xdead))).code);
        bytes memory delegation = _delegate(e.userKey, e.receipt, v1);
        vm.prank(v1);
        uint256 id = court.openDelegatedDispute(e.receipt, e.signature, e.request, e.output, delegation);
        assertEq(court.getDispute(id).challenger, v1);
    }

    function test_nonValidatorsCannotOpenDisputes() public {
        fund(outsider, 1000 ether);
        vm.prank(outsider);
        d.token.approve(address(court), type(uint256).max);
        bytes memory request = bytes("r");
        bytes memory output = bytes("o");
        Disputes.InferenceReceipt memory r = _receipt(outsider, request, output);
        bytes memory sig = _sign(nodeKey, r);
        vm.prank(outsider);
        vm.expectPartialRevert(Disputes.NotAValidator.selector);
        court.openDispute(r, sig, request, output);
    }

    function test_futureDatedEvidenceIsRefused() public {
        bytes memory request = bytes("r");
        bytes memory output = bytes("o");
        Disputes.InferenceReceipt memory r = _receipt(v1, request, output);
        r.epoch += 1;
        bytes memory sig = _sign(nodeKey, r);
        vm.prank(v1);
        vm.expectPartialRevert(Disputes.EvidenceTooOld.selector);
        court.openDispute(r, sig, request, output);
    }

    function test_staleEvidenceIsRefused() public {
        bytes memory request = bytes("r");
        bytes memory output = bytes("o");
        Disputes.InferenceReceipt memory r = _receipt(v1, request, output);
        bytes memory sig = _sign(nodeKey, r);
        vm.warp(d.emissions.epochStart(court.MAX_EVIDENCE_AGE_EPOCHS() + 1));
        vm.prank(v1);
        vm.expectPartialRevert(Disputes.EvidenceTooOld.selector);
        court.openDispute(r, sig, request, output);
    }

    function test_validatorUnbondingOutlastsAVote() public {
        vm.prank(v1);
        court.unstake(400 ether);
        vm.prank(v1);
        vm.expectPartialRevert(Disputes.StillUnbonding.selector);
        court.withdraw();
        vm.warp(block.timestamp + court.validatorUnbonding());
        uint256 before = d.token.balanceOf(v1);
        vm.prank(v1);
        assertEq(court.withdraw(), 400 ether);
        assertEq(d.token.balanceOf(v1), before + 400 ether);
        assertEq(court.stakeOf(v1), VALIDATOR_STAKE - 400 ether);
    }

    // ------------------------------------------------------------ governance

    function test_parametersAreBoundedAndOwnedByTheTimelock() public {
        vm.expectPartialRevert(bytes4(keccak256("AccessControlUnauthorizedAccount(address,bytes32)")));
        court.setBonds(10 ether, 1 ether);
        vm.startPrank(address(d.timelock));
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 200 ether, 1 ether, 100 ether));
        court.setBonds(100 ether, 200 ether); // a vote may not cost more than a dispute
        vm.expectPartialRevert(ParameterOutOfBounds.selector);
        court.setPeriods(2 days, 2 days); // unbonding must outlast the vote and its resolution
        vm.expectPartialRevert(ParameterOutOfBounds.selector);
        court.setSlashing(2000, 1000, 1000); // repeated fraud never costs less than a first fault
        vm.expectPartialRevert(ParameterOutOfBounds.selector);
        court.setSlashing(1000, 2000, 6000); // most of a slash is never the finder's
        vm.expectPartialRevert(ParameterOutOfBounds.selector);
        court.setVoting(3334, 5000); // upholding needs a strict majority
        court.setSlashing(500, 3000, 2000);
        court.setVoting(5000, 7500);
        court.setPeriods(1 hours, 3 days);
        vm.stopPrank();
        assertEq(court.repeatFaultSlashBps(), 3000);
        assertEq(court.votingPeriod(), 1 hours);
    }

    // ------------------------------------------------------------ reputation reports

    function _report(address miner, uint32 sent, uint32 passed) internal pure returns (Disputes.ProbeReport memory) {
        return Disputes.ProbeReport({
            miner: miner,
            sent: sent,
            passed: passed,
            failed: 0,
            invalid: 0,
            timedOut: sent - passed,
            medianTtftMs: 120,
            medianMilliTokensPerSecond: 35_000
        });
    }

    function _oneReport(Disputes.ProbeReport memory r) internal pure returns (Disputes.ProbeReport[] memory list) {
        list = new Disputes.ProbeReport[](1);
        list[0] = r;
    }

    function _warpEpochs(uint256 n) internal {
        vm.warp(block.timestamp + n * d.emissions.epochLength());
    }

    function test_aValidatorReportsEachFinishedEpochOnceInOrder() public {
        _warpEpochs(3);
        uint256 current = d.emissions.currentEpoch();
        Disputes.ProbeReport[] memory list = _oneReport(_report(node, 4, 3));

        // The current epoch is not finished: its report could still change.
        vm.expectRevert(abi.encodeWithSelector(Disputes.ReportEpochRefused.selector, current, 0, current));
        vm.prank(v1);
        court.reportProbes(uint64(current), list);

        vm.expectEmit(address(court));
        emit Disputes.ProbeReported(current - 2, node, v1, VALIDATOR_STAKE, 4, 3, 0, 0, 1, 120, 35_000);
        vm.prank(v1);
        court.reportProbes(uint64(current - 2), list);
        assertEq(court.nextReportEpoch(v1), current - 1);

        // Twice for one epoch, or going back, is refused: one validator cannot stuff a node's record.
        vm.expectRevert(abi.encodeWithSelector(Disputes.ReportEpochRefused.selector, current - 2, current - 1, current));
        vm.prank(v1);
        court.reportProbes(uint64(current - 2), list);

        // Another validator's report of the same epoch is its own.
        vm.prank(v2);
        court.reportProbes(uint64(current - 2), list);
    }

    function test_onlyBondedValidatorsReport() public {
        _warpEpochs(1);
        Disputes.ProbeReport[] memory list = _oneReport(_report(node, 1, 1));
        vm.expectRevert(abi.encodeWithSelector(Disputes.NotAValidator.selector, outsider, 0, court.minValidatorStake()));
        vm.prank(outsider);
        court.reportProbes(0, list);
        // A validator that started unbonding below the minimum no longer reports.
        vm.prank(v1);
        court.unstake(1 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                Disputes.NotAValidator.selector, v1, VALIDATOR_STAKE - 1 ether, court.minValidatorStake()
            )
        );
        vm.prank(v1);
        court.reportProbes(0, list);
    }

    function test_reportsTooOldAreRefused() public {
        _warpEpochs(court.MAX_EVIDENCE_AGE_EPOCHS() + 5);
        uint256 current = d.emissions.currentEpoch();
        uint256 oldest = current - court.MAX_EVIDENCE_AGE_EPOCHS();
        Disputes.ProbeReport[] memory list = _oneReport(_report(node, 1, 1));
        vm.expectRevert(abi.encodeWithSelector(Disputes.ReportEpochRefused.selector, oldest - 1, oldest, current));
        vm.prank(v1);
        court.reportProbes(uint64(oldest - 1), list);
        vm.prank(v1);
        court.reportProbes(uint64(oldest), list);
    }

    function test_madeUpNodesAreSkippedAndSelfReportsRefused() public {
        _warpEpochs(1);
        address nobody = makeAddr("not a node");
        (address low, address high) = node < nobody ? (node, nobody) : (nobody, node);
        Disputes.ProbeReport[] memory list = new Disputes.ProbeReport[](2);
        list[0] = _report(low, 2, 2);
        list[1] = _report(high, 2, 2);
        vm.expectEmit(address(court));
        emit Disputes.ProbeReportSkipped(0, nobody, v1);
        vm.prank(v1);
        court.reportProbes(0, list);

        // A node that deregisters before the reports land does not wipe its record.
        vm.prank(node);
        d.nodes.deregister();
        vm.expectEmit(address(court));
        emit Disputes.ProbeReported(0, node, v2, VALIDATOR_STAKE, 2, 0, 2, 0, 0, 120, 35_000);
        Disputes.ProbeReport memory bad = _report(node, 2, 0);
        (bad.failed, bad.timedOut) = (2, 0);
        vm.prank(v2);
        court.reportProbes(0, _oneReport(bad));

        // A validator that also runs a node cannot rate itself.
        _validator(node, VALIDATOR_STAKE);
        _warpEpochs(1);
        vm.expectRevert(abi.encodeWithSelector(Disputes.MalformedReport.selector, 0));
        vm.prank(node);
        court.reportProbes(1, _oneReport(_report(node, 1, 1)));
    }

    function test_stakeBondedAfterAnEpochDoesNotWeighOnIt() public {
        _warpEpochs(3);
        address late = makeAddr("late validator");
        _validator(late, VALIDATOR_STAKE * 5);
        vm.warp(block.timestamp + 1);
        uint256 current = d.emissions.currentEpoch();
        vm.expectRevert(abi.encodeWithSelector(Disputes.NotAValidator.selector, late, 0, court.minValidatorStake()));
        vm.prank(late);
        court.reportProbes(uint64(current - 2), _oneReport(_report(node, 1, 1)));
        // The epoch it staked in is not over yet; the next one it reports with its stake.
        _warpEpochs(1);
        vm.expectEmit(address(court));
        emit Disputes.ProbeReported(current, node, late, VALIDATOR_STAKE * 5, 1, 1, 0, 0, 0, 120, 35_000);
        vm.prank(late);
        court.reportProbes(uint64(current), _oneReport(_report(node, 1, 1)));
    }

    function test_malformedReportsAreRefused() public {
        _warpEpochs(1);
        address other = makeAddr("another node");
        (address low, address high) = node < other ? (node, other) : (other, node);
        Disputes.ProbeReport[] memory list = new Disputes.ProbeReport[](2);

        // The same node twice in one report would count it twice.
        list[0] = _report(low, 2, 2);
        list[1] = _report(low, 2, 2);
        vm.expectRevert(abi.encodeWithSelector(Disputes.MalformedReport.selector, 1));
        vm.prank(v1);
        court.reportProbes(0, list);

        // Outcomes beyond the probes sent.
        list[1] = _report(high, 2, 2);
        list[1].failed = 1;
        vm.expectRevert(abi.encodeWithSelector(Disputes.MalformedReport.selector, 1));
        vm.prank(v1);
        court.reportProbes(0, list);

        // Empty.
        vm.expectRevert(abi.encodeWithSelector(Disputes.MalformedReport.selector, 0));
        vm.prank(v1);
        court.reportProbes(0, new Disputes.ProbeReport[](0));

        list[1].failed = 0;
        vm.prank(v1);
        court.reportProbes(0, list);
    }

    // ------------------------------------------------------------ gas

    /// Gas of a dispute's life, written to contracts/snapshots/DisputesTest.json (independent of how many nodes
    /// and validators exist).
    function test_gas_disputeLifecycle() public {
        bytes memory request = bytes('{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":64}');
        bytes memory output = bytes("an answer of a few hundred bytes, as a probe's would be, give or take.");
        Disputes.InferenceReceipt memory r = _receipt(v1, request, output);
        bytes memory sig = _sign(nodeKey, r);
        vm.prank(v1);
        uint256 id = court.openDispute(r, sig, request, output);
        vm.snapshotGasLastCall("openDispute");
        _vote(v2, id, true);
        vm.snapshotGasLastCall("vote");
        vm.warp(court.getDispute(id).votingEnds);
        court.resolve(id);
        vm.snapshotGasLastCall("resolve (upheld: slash, finder, forfeit)");
        vm.prank(v2);
        court.claim(id);
        vm.snapshotGasLastCall("claim (winning voter)");
    }

    /// The same opening through a probe account's delegation (one more signature check).
    function test_gas_delegatedOpening() public {
        Delegated memory e = _delegated();
        e.request = bytes('{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":64}');
        e.output = bytes("an answer of a few hundred bytes, as a probe's would be, give or take.");
        e.receipt = _receipt(e.receipt.user, e.request, e.output);
        e.signature = _sign(nodeKey, e.receipt);
        bytes memory delegation = _delegate(e.userKey, e.receipt, v1);
        vm.prank(v1);
        court.openDelegatedDispute(e.receipt, e.signature, e.request, e.output, delegation);
        vm.snapshotGasLastCall("openDelegatedDispute");
    }

    /// Gas of a reputation report, per node covered: one storage write per call plus one log per node.
    function test_gas_reputationReport() public {
        _warpEpochs(2);
        Disputes.ProbeReport[] memory one = _oneReport(_report(node, 3, 3));
        vm.prank(v1);
        court.reportProbes(0, one);
        vm.snapshotGasLastCall("reportProbes (1 node)");
        Disputes.ProbeReport[] memory ten = new Disputes.ProbeReport[](10);
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = MODEL_A;
        for (uint256 i; i < 10; ++i) {
            address operator = address(uint160(i + 1));
            stakeAs(operator, NODE_STAKE);
            vm.prank(operator);
            d.nodes.register("https://node.example", operator, ids);
            ten[i] = _report(operator, 3, 3);
        }
        vm.prank(v1);
        court.reportProbes(1, ten);
        vm.snapshotGasLastCall("reportProbes (10 nodes)");
    }

    // ------------------------------------------------------------ fuzz

    /// Any mix of votes: the outcome follows quorum and majority, and the court always holds what it owes.
    function testFuzz_outcomeAndSolvency(uint8 votes, uint96 extraStake) public {
        uint256 extra = bound(extraStake, 0, 100_000 ether);
        if (extra > 0) _validator(outsider, extra);
        vm.warp(block.timestamp + 1);
        (uint256 id,) = _open(v1);
        bool v2Up = votes & 1 != 0;
        bool v3Up = votes & 2 != 0;
        if (votes & 4 != 0) _vote(v2, id, v2Up);
        if (votes & 8 != 0) _vote(v3, id, v3Up);
        vm.warp(court.getDispute(id).votingEnds);
        Disputes.Status status = court.resolve(id);
        Disputes.Dispute memory dispute = court.getDispute(id);
        uint256 cast = uint256(dispute.upholdWeight) + dispute.rejectWeight;
        if (cast * 10_000 < court.quorumBps() * dispute.totalWeight) {
            assertEq(uint8(status), uint8(Disputes.Status.NoQuorum));
        } else if (uint256(dispute.upholdWeight) * 10_000 > court.majorityBps() * cast) {
            assertEq(uint8(status), uint8(Disputes.Status.Upheld));
        } else {
            assertEq(uint8(status), uint8(Disputes.Status.Rejected));
        }
        address[3] memory voters = [v1, v2, v3];
        for (uint256 i; i < 3; ++i) {
            vm.prank(voters[i]);
            try court.claim(id) {} catch {}
        }
        assertGe(
            d.token.balanceOf(address(court)),
            court.totalStake() + court.totalUnbonding() + court.totalBonds(),
            "solvent"
        );
        assertLe(court.totalBonds(), 2, "everything owed was paid, up to rounding dust");
    }
}

/// @dev A minimal ERC-1271 account: valid signatures are its owner's.
contract SingleOwnerWallet {
    address internal immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address signer,,) = ECDSA.tryRecover(hash, signature);
        return signer == owner ? this.isValidSignature.selector : bytes4(0);
    }
}
