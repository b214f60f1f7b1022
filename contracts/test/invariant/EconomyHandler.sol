// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {Emissions} from "../../src/Emissions.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {Payments} from "../../src/Payments.sol";
import {StakingVault} from "../../src/StakingVault.sol";
import {UsageLedger} from "../../src/UsageLedger.sol";
import {NeuroDeployer} from "../../script/NeuroDeployer.sol";

/// @dev A verifier that accepts every proof, registered by governance for batches of 2. The economic invariants
/// must hold even if proofs could be forged: rewards are bounded by burned fees, not by the proof system.
contract AcceptingVerifier {
    uint256 public constant BATCH_SIZE = 2;

    function verifyProof(uint256[8] calldata, uint256[6] calldata) external pure returns (bool) {
        return true;
    }
}

/// @dev Drives the money paths as their users would (deposits, redemptions, usage submissions, finalization,
/// claims, staking and slashing) and every governance lever in bounds, and keeps ghost totals. Every call is
/// valid by construction: the suite runs with `fail_on_revert`.
contract EconomyHandler is Test {
    uint256 internal constant BATCH = 2;
    uint256 internal constant MINER_STAKE = 20_000 ether;

    NeuroDeployer.Deployment internal d;
    address internal immutable funder;

    address[] public miners;
    address[] public validators;
    /// @dev Probe account i pays probes for validator i.
    address[] internal probeAccounts;
    uint256[] internal probeKeys;
    Payments.Allowance[] internal unrevealedProbes;
    uint256 internal probeNonce;
    address[] public users;
    uint256[] internal userKeys;
    bytes32[] public modelIds;
    address[] public modelOwners;
    uint256[] public finalizedEpochs;
    uint256 internal nextRoot = 1;
    uint256 internal finalizeCursor;

    uint256 public ghostFinalizedEmission;
    uint256 public ghostRedeemed;
    mapping(address miner => uint256) public ghostMinerPaid;
    mapping(bytes32 modelId => uint256) public ghostModelPaid;
    mapping(address validator => uint256) public ghostValidatorPaid;
    mapping(bytes32 digest => uint256) internal _cumulative;

    constructor(
        NeuroDeployer.Deployment memory deployment,
        address funder_,
        bytes32[] memory ids,
        address[] memory owners
    ) {
        d = deployment;
        funder = funder_;
        modelIds = ids;
        modelOwners = owners;
        for (uint256 i; i < 3; ++i) {
            miners.push(makeAddr(string.concat("miner", vm.toString(i))));
            (address user, uint256 key) = makeAddrAndKey(string.concat("user", vm.toString(i)));
            users.push(user);
            userKeys.push(key);
        }
        for (uint256 i; i < 2; ++i) {
            validators.push(makeAddr(string.concat("validator", vm.toString(i))));
            (address account, uint256 key) = makeAddrAndKey(string.concat("probe", vm.toString(i)));
            probeAccounts.push(account);
            probeKeys.push(key);
        }
    }

    /// @dev Stakes and registers the miners; called once by the test's setUp (later calls do nothing).
    function registerMiners() external {
        if (d.nodes.getNode(miners[0]).registeredAt != 0) return;
        for (uint256 i; i < miners.length; ++i) {
            _stake(miners[i], MINER_STAKE);
            vm.prank(miners[i]);
            d.nodes.register("https://node.example", miners[i], modelIds);
            _deposit(users[i], 1_000_000 ether);
        }
        uint256 validatorStake = d.disputes.minValidatorStake();
        for (uint256 i; i < validators.length; ++i) {
            _fundAndApprove(validators[i], address(d.disputes), validatorStake);
            vm.prank(validators[i]);
            d.disputes.stake(validatorStake);
            _deposit(probeAccounts[i], 1_000_000 ether);
        }
    }

    function validatorCount() external view returns (uint256) {
        return validators.length;
    }

    function minerCount() external view returns (uint256) {
        return miners.length;
    }

    function modelCount() external view returns (uint256) {
        return modelIds.length;
    }

    function finalizedCount() external view returns (uint256) {
        return finalizedEpochs.length;
    }

    // ---------------------------------------------------------------- users and miners

    function deposit(uint256 userSeed, uint256 amount) external {
        _deposit(users[userSeed % users.length], bound(amount, 1, 10_000 ether));
    }

    /// A user is served: the miner redeems the fee, then proves and submits the usage it paid for.
    function serve(uint256 userSeed, uint256 minerSeed, uint256 modelSeed, uint256 amount, uint256 tokens) external {
        uint256 u = userSeed % users.length;
        if (d.payments.deposits(users[u]) < 1 ether) _deposit(users[u], 100_000 ether);
        this.redeem(u, minerSeed, modelSeed, bound(amount, 1e12, 1000 ether));
        this.submitUsage(minerSeed, modelSeed, type(uint256).max, tokens, false);
    }

    /// A miner redeems part of a user's allowance for usage of a model in the current epoch.
    function redeem(uint256 userSeed, uint256 minerSeed, uint256 modelSeed, uint256 amount) external {
        uint256 u = userSeed % users.length;
        uint256 available = d.payments.deposits(users[u]);
        if (available == 0) return;
        Payments.Allowance memory a = Payments.Allowance({
            user: users[u],
            miner: miners[minerSeed % miners.length],
            cap: type(uint128).max,
            expiry: type(uint64).max,
            nonce: 0
        });
        bytes32 digest = d.payments.allowanceDigest(a);
        _cumulative[digest] += bound(amount, 1, available);
        _redeem(a, _sign(userKeys[u], digest), _cumulative[digest], modelIds[modelSeed % 2]);
    }

    function _redeem(Payments.Allowance memory a, bytes memory signature, uint256 cumulative, bytes32 modelId) private {
        uint256 epoch = d.emissions.currentEpoch();
        vm.prank(a.miner);
        ghostRedeemed += d.payments.redeem(a, signature, cumulative, epoch, modelId);
    }

    function _sign(uint256 key, bytes32 digest) private pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// A miner submits usage backed by redeemed, unused fees, at or above the epoch's floor.
    function submitUsage(uint256 minerSeed, uint256 modelSeed, uint256 fees, uint256 tokens, bool previous) external {
        address miner = miners[minerSeed % miners.length];
        bytes32 modelId = modelIds[modelSeed % 2];
        if (!d.nodes.servesModel(miner, modelId)) return;
        uint256 epoch = d.emissions.currentEpoch();
        if (previous && epoch > 0) epoch -= 1;
        if (!d.emissions.isOpen(epoch)) return;
        (uint256 redeemed,) = d.payments.feesRedeemed(miner, epoch, modelId);
        (uint128 used,) = d.ledger.feesUsed(miner, epoch, modelId);
        if (redeemed == used) return;
        fees = bound(fees, 1, redeemed - used);
        uint256 maxTokens = fees * 1e6 / d.models.floorAt(modelId, epoch);
        if (maxTokens == 0) return;
        tokens = bound(tokens, 1, maxTokens > type(uint64).max ? type(uint64).max : maxTokens);
        uint256[8] memory proof;
        vm.prank(miner);
        d.ledger.submitUsage(epoch, modelId, tokens, fees, nextRoot++, BATCH, proof);
    }

    /// A validator's probe account pays a miner under a short allowance (the miner redeems it like any other).
    function probe(uint256 validatorSeed, uint256 minerSeed, uint256 modelSeed, uint256 amount, uint256 life) external {
        uint256 v = validatorSeed % validators.length;
        uint256 available = d.payments.deposits(probeAccounts[v]);
        if (available == 0) return;
        amount = bound(amount, 1, available < 1000 ether ? available : 1000 ether);
        Payments.Allowance memory a = Payments.Allowance({
            user: probeAccounts[v],
            miner: miners[minerSeed % miners.length],
            cap: amount,
            expiry: block.timestamp + bound(life, 0, 3 * d.emissions.epochLength()),
            nonce: ++probeNonce
        });
        _redeem(a, _sign(probeKeys[v], d.payments.allowanceDigest(a)), amount, modelIds[modelSeed % 2]);
        unrevealedProbes.push(a);
    }

    /// A probe account reveals its expired probes for its validator (credited to the current epoch).
    function revealProbes(uint256 seed) external {
        uint256 n = unrevealedProbes.length;
        for (uint256 i; i < n; ++i) {
            uint256 k = (seed + i) % n;
            Payments.Allowance memory a = unrevealedProbes[k];
            if (block.timestamp <= a.expiry) continue;
            uint256 v = a.user == probeAccounts[0] ? 0 : 1;
            // Validators staked at genesis count from epoch 1 on (stake held before the epoch began).
            if (!d.disputes.isValidator(validators[v])) return;
            unrevealedProbes[k] = unrevealedProbes[n - 1];
            unrevealedProbes.pop();
            Payments.Allowance[] memory list = new Payments.Allowance[](1);
            list[0] = a;
            vm.prank(a.user);
            d.payments.revealProbeFees(validators[v], list);
            return;
        }
    }

    /// Some validator claims some finalized epoch it revealed unclaimed probe fees in.
    function claimValidator(uint256 validatorSeed, uint256 epochSeed) external {
        uint256 n = finalizedEpochs.length;
        uint256[] memory epochs = new uint256[](1);
        for (uint256 i; i < n; ++i) {
            epochs[0] = finalizedEpochs[(epochSeed % n + i) % n];
            for (uint256 j; j < validators.length; ++j) {
                address validator = validators[(validatorSeed + j) % validators.length];
                Emissions.Work memory w = d.emissions.validatorFees(epochs[0], validator);
                if (w.burnedFees == 0 || w.claimed) continue;
                vm.prank(validator);
                ghostValidatorPaid[validator] += d.emissions.claimValidator(epochs);
                return;
            }
        }
    }

    /// Finalizes a random past epoch, or else the oldest finalizable one (so that most epochs get finalized).
    function finalize(uint256 epochSeed) external {
        uint256 current = d.emissions.currentEpoch();
        if (current == 0) return;
        uint256 epoch = epochSeed % current;
        if (d.emissions.isFinalized(epoch) || block.timestamp < d.emissions.finalizableAt(epoch)) {
            while (finalizeCursor < current && d.emissions.isFinalized(finalizeCursor)) ++finalizeCursor;
            epoch = finalizeCursor;
            if (epoch >= current || block.timestamp < d.emissions.finalizableAt(epoch)) return;
        }
        d.emissions.finalizeEpoch(epoch);
        finalizedEpochs.push(epoch);
        ghostFinalizedEmission += d.emissions.emissionForEpoch(epoch);
    }

    /// Some miner claims some finalized epoch it has unclaimed work in (searching from the seeds).
    function claim(uint256 minerSeed, uint256 epochSeed) external {
        uint256 n = finalizedEpochs.length;
        uint256[] memory epochs = new uint256[](1);
        for (uint256 i; i < n; ++i) {
            epochs[0] = finalizedEpochs[(epochSeed % n + i) % n];
            for (uint256 j; j < miners.length; ++j) {
                address miner = miners[(minerSeed % miners.length + j) % miners.length];
                Emissions.Work memory w = d.emissions.minerWork(epochs[0], miner);
                if (w.units == 0 || w.claimed) continue;
                vm.prank(miner);
                ghostMinerPaid[miner] += d.emissions.claim(epochs);
                return;
            }
        }
    }

    /// Some model owner claims some finalized epoch its model has unclaimed work in.
    function claimModel(uint256 modelSeed, uint256 epochSeed) external {
        uint256 n = finalizedEpochs.length;
        uint256[] memory epochs = new uint256[](1);
        for (uint256 i; i < n; ++i) {
            epochs[0] = finalizedEpochs[(epochSeed % n + i) % n];
            for (uint256 j; j < modelIds.length; ++j) {
                uint256 m = (modelSeed % modelIds.length + j) % modelIds.length;
                Emissions.Work memory w = d.emissions.modelWork(epochs[0], modelIds[m]);
                if (w.units == 0 || w.claimed) continue;
                vm.prank(modelOwners[m]);
                ghostModelPaid[modelIds[m]] += d.emissions.claimModel(modelIds[m], epochs);
                return;
            }
        }
    }

    function stake(uint256 minerSeed, uint256 amount) external {
        _stake(miners[minerSeed % miners.length], bound(amount, 1, 100_000 ether));
    }

    function unstake(uint256 minerSeed, uint256 amount) external {
        address miner = miners[minerSeed % miners.length];
        uint256 bonded = d.staking.balanceOf(miner);
        if (bonded == 0) return;
        vm.prank(miner);
        d.staking.unstake(bound(amount, 1, bonded));
    }

    function withdraw(uint256 minerSeed) external {
        address miner = miners[minerSeed % miners.length];
        StakingVault.Unbonding memory u = d.staking.unbonding(miner);
        if (u.amount == 0 || block.timestamp < u.releaseTime || block.timestamp < d.staking.frozenUntil(miner)) return;
        vm.prank(miner);
        d.staking.withdraw();
    }

    function slash(uint256 minerSeed, uint256 amount) external {
        address miner = miners[minerSeed % miners.length];
        if (d.staking.balanceOf(miner) + d.staking.unbonding(miner).amount == 0) return;
        vm.prank(address(d.timelock));
        d.staking.slash(miner, bound(amount, 1, 50_000 ether), keccak256("invariant"));
    }

    function flush() external {
        if (d.feeVault.pendingBurn() == 0 && d.feeVault.pendingTreasury() == 0) return;
        d.feeVault.flush();
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 2 * d.emissions.epochLength()));
    }

    // ---------------------------------------------------------------- governance levers, each within bounds

    function setMinerShare(uint256 bps) external {
        (uint256 validatorShare,) = d.emissions.validatorRewardsOf(d.emissions.nextEpoch());
        vm.prank(address(d.timelock));
        d.emissions.setMinerShare(bound(bps, 5000, 9000 - validatorShare));
    }

    function setValidatorRewards(uint256 shareBps, uint256 rateBps) external {
        uint256 minerShare = d.emissions.minerShareOf(d.emissions.nextEpoch());
        uint256 room = 9000 - minerShare;
        vm.prank(address(d.timelock));
        d.emissions.setValidatorRewards(bound(shareBps, 0, room < 2000 ? room : 2000), bound(rateBps, 0, 1000));
    }

    function setSubmissionWindow(uint256 window) external {
        window = bound(window, 10, d.emissions.epochLength());
        vm.prank(address(d.timelock));
        d.emissions.setSubmissionWindow(window);
    }

    function setRewardRates(uint256 minerBps, uint256 modelBps) external {
        minerBps = bound(minerBps, 0, 8000);
        modelBps = bound(modelBps, 0, 8000 - minerBps);
        vm.prank(address(d.timelock));
        d.emissions.setRewardRates(minerBps, modelBps);
    }

    function setFeeSplit(uint256 minerBps, uint256 treasuryBps) external {
        minerBps = bound(minerBps, 5000, 9000);
        uint256 room = 9000 - minerBps;
        treasuryBps = bound(treasuryBps, 0, room < 3000 ? room : 3000);
        vm.prank(address(d.timelock));
        d.payments.setFeeSplit(minerBps, treasuryBps);
    }

    function setGlobalFloor(uint256 floor) external {
        vm.prank(address(d.timelock));
        d.models.setGlobalFloor(bound(floor, 1 gwei, 10 ether));
    }

    function setModelFloor(uint256 modelSeed, uint256 floor) external {
        uint256 m = modelSeed % modelIds.length;
        uint256 current = d.models.floorAt(modelIds[m], d.emissions.currentEpoch());
        // Within the model's own bounds and 2x of its floor in force (floorAt may show the global minimum).
        floor = bound(floor, current / 2 == 0 ? 1 : current / 2, current * 2);
        vm.prank(modelOwners[m]);
        try d.models.update(modelIds[m], "", floor) {}
        catch (bytes memory reason) {
            // Only the step bound may refuse, when the global minimum hides a lower model floor.
            assertEq(bytes4(reason), ModelRegistry.FloorStepTooLarge.selector);
        }
    }

    function setUnbondingPeriod(uint256 period) external {
        uint256 latency = d.governor.slashLatency();
        vm.prank(address(d.timelock));
        d.staking.setUnbondingPeriod(bound(period, latency + 1, 30 days));
    }

    function _deposit(address user, uint256 amount) private {
        _fundAndApprove(user, address(d.payments), amount);
        vm.prank(user);
        d.payments.deposit(amount);
    }

    function _stake(address account, uint256 amount) private {
        _fundAndApprove(account, address(d.staking), amount);
        vm.prank(account);
        d.staking.stake(amount);
    }

    /// @dev Gives `account` NEURO from the liquidity allocation and lets `spender` take it.
    function _fundAndApprove(address account, address spender, uint256 amount) private {
        vm.prank(funder);
        d.token.transfer(account, amount);
        vm.prank(account);
        d.token.approve(spender, amount);
    }
}
