// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {Deploy} from "../script/Deploy.s.sol";
import {IUsageVerifier} from "../src/interfaces/IUsageVerifier.sol";
import {UsageVerifier64} from "../src/verifiers/UsageVerifier64.sol";
import {UsageVerifier1024} from "../src/verifiers/UsageVerifier1024.sol";

/// `Deploy.s.sol` with its environment replaced by a map (tests never touch the process environment).
contract DeployWithEnv is Deploy {
    mapping(bytes32 name => address) internal _addresses;

    function setAddress(string memory name, address value) external {
        _addresses[keccak256(bytes(name))] = value;
    }

    function _envAddress(string memory name) internal view override returns (bool, address) {
        address value = _addresses[keccak256(bytes(name))];
        return (value != address(0), value);
    }

    function _uintOr(string memory, uint256 fallback_) internal pure override returns (uint256) {
        return fallback_;
    }
}

/// A verifier from another key ceremony: same interface, another key hash.
contract CeremonyVerifier {
    uint256 public immutable BATCH_SIZE;
    bytes32 public constant VERIFYING_KEY_HASH = keccak256("a real ceremony");

    constructor(uint256 batchSize) {
        BATCH_SIZE = batchSize;
    }

    function verifyProof(uint256[8] calldata, uint256[6] calldata) external pure returns (bool) {
        return false;
    }
}

/// Issue #12, attack 7: the deploy script registered the devnet verifiers (keys from a public seed) on every
/// chain and silently made the deployer every role when variables were missing.
contract DeployScriptTest is Test {
    DeployWithEnv internal script;
    address internal deployer = makeAddr("deployer");

    function setUp() public {
        script = new DeployWithEnv();
    }

    function _setRoles() internal {
        script.setAddress("NEURO_GUARDIAN", makeAddr("safe"));
        script.setAddress("NEURO_TEAM_BENEFICIARY", makeAddr("team"));
        script.setAddress("NEURO_INVESTOR_BENEFICIARY", makeAddr("investors"));
        script.setAddress("NEURO_LIQUIDITY", makeAddr("liquidity"));
    }

    function test_localDevChains() public view {
        assertTrue(script.isLocalDevChain(31_337));
        assertTrue(script.isLocalDevChain(1337));
        assertTrue(script.isLocalDevChain(0x4e00000000));
        assertTrue(script.isLocalDevChain(0x4effffffff));
        assertFalse(script.isLocalDevChain(1));
        assertFalse(script.isLocalDevChain(8453));
        assertFalse(script.isLocalDevChain(0x4f00000000));
    }

    function test_publicChain_requiresEveryRoleByName() public {
        vm.expectRevert(abi.encodeWithSelector(Deploy.MissingEnvironment.selector, "NEURO_GUARDIAN"));
        script.resolveConfig(deployer, 1);
        script.setAddress("NEURO_GUARDIAN", makeAddr("safe"));
        vm.expectRevert(abi.encodeWithSelector(Deploy.MissingEnvironment.selector, "NEURO_TEAM_BENEFICIARY"));
        script.resolveConfig(deployer, 1);
        script.setAddress("NEURO_TEAM_BENEFICIARY", makeAddr("team"));
        vm.expectRevert(abi.encodeWithSelector(Deploy.MissingEnvironment.selector, "NEURO_INVESTOR_BENEFICIARY"));
        script.resolveConfig(deployer, 1);
        script.setAddress("NEURO_INVESTOR_BENEFICIARY", makeAddr("investors"));
        vm.expectRevert(abi.encodeWithSelector(Deploy.MissingEnvironment.selector, "NEURO_LIQUIDITY"));
        script.resolveConfig(deployer, 1);
    }

    function test_publicChain_requiresVerifiers() public {
        _setRoles();
        vm.expectRevert(abi.encodeWithSelector(Deploy.MissingEnvironment.selector, "NEURO_USAGE_VERIFIER_64"));
        script.resolveConfig(deployer, 1);
    }

    function test_publicChain_refusesDevnetVerifiers() public {
        _setRoles();
        address devnet64 = address(new UsageVerifier64());
        script.setAddress("NEURO_USAGE_VERIFIER_64", devnet64);
        script.setAddress("NEURO_USAGE_VERIFIER_1024", address(new CeremonyVerifier(1024)));
        vm.expectRevert(
            abi.encodeWithSelector(Deploy.DevnetVerifierRefused.selector, "NEURO_USAGE_VERIFIER_64", devnet64)
        );
        script.resolveConfig(deployer, 1);

        address ceremony64 = address(new CeremonyVerifier(64));
        script.setAddress("NEURO_USAGE_VERIFIER_64", ceremony64);
        address devnet1024 = address(new UsageVerifier1024());
        script.setAddress("NEURO_USAGE_VERIFIER_1024", devnet1024);
        vm.expectRevert(
            abi.encodeWithSelector(Deploy.DevnetVerifierRefused.selector, "NEURO_USAGE_VERIFIER_1024", devnet1024)
        );
        script.resolveConfig(deployer, 1);
    }

    /// A verifier deployed elsewhere with the devnet verifier's code is refused.
    function test_publicChain_refusesAVerifierWithTheDevnetCode() public {
        _setRoles();
        address devnet64 = address(new UsageVerifier64());
        vm.etch(address(0xdead64), devnet64.code);
        script.setAddress("NEURO_USAGE_VERIFIER_64", address(0xdead64));
        script.setAddress("NEURO_USAGE_VERIFIER_1024", address(new CeremonyVerifier(1024)));
        vm.expectRevert(
            abi.encodeWithSelector(Deploy.DevnetVerifierRefused.selector, "NEURO_USAGE_VERIFIER_64", address(0xdead64))
        );
        script.resolveConfig(deployer, 1);
    }

    function test_publicChain_refusesWrongSizeOrMissingCode() public {
        _setRoles();
        address wrong = address(new CeremonyVerifier(1024));
        script.setAddress("NEURO_USAGE_VERIFIER_64", wrong);
        vm.expectRevert(abi.encodeWithSelector(Deploy.InvalidVerifier.selector, "NEURO_USAGE_VERIFIER_64", wrong));
        script.resolveConfig(deployer, 1);
        script.setAddress("NEURO_USAGE_VERIFIER_64", makeAddr("no code"));
        vm.expectRevert(
            abi.encodeWithSelector(Deploy.InvalidVerifier.selector, "NEURO_USAGE_VERIFIER_64", makeAddr("no code"))
        );
        script.resolveConfig(deployer, 1);
    }

    function test_publicChain_acceptsCeremonyVerifiersAndExplicitRoles() public {
        _setRoles();
        address v64 = address(new CeremonyVerifier(64));
        address v1024 = address(new CeremonyVerifier(1024));
        script.setAddress("NEURO_USAGE_VERIFIER_64", v64);
        script.setAddress("NEURO_USAGE_VERIFIER_1024", v1024);
        (Deploy.Config memory cfg, IUsageVerifier got64, IUsageVerifier got1024) = script.resolveConfig(deployer, 1);
        assertEq(cfg.guardian, makeAddr("safe"));
        assertEq(cfg.liquidity, makeAddr("liquidity"));
        assertEq(address(got64), v64);
        assertEq(address(got1024), v1024);
    }

    function test_devChain_defaultsToDeployerAndDevnetVerifiers() public {
        (Deploy.Config memory cfg, IUsageVerifier v64, IUsageVerifier v1024) = script.resolveConfig(deployer, 31_337);
        assertEq(cfg.guardian, deployer);
        assertEq(cfg.teamBeneficiary, deployer);
        assertEq(address(v64), address(0), "deploy fresh devnet verifiers");
        assertEq(address(v1024), address(0));
    }
}
