// The contracts' ABIs, as exported by scripts/export-abi.js from the compiled sources (protocol/abi).
import type { Abi } from "viem";
import Disputes from "../../protocol/abi/Disputes.json";
import Emissions from "../../protocol/abi/Emissions.json";
import ModelRegistry from "../../protocol/abi/ModelRegistry.json";
import NeuroGovernor from "../../protocol/abi/NeuroGovernor.json";
import NeuroTimelock from "../../protocol/abi/NeuroTimelock.json";
import NeuroToken from "../../protocol/abi/NeuroToken.json";
import Payments from "../../protocol/abi/Payments.json";
import StakingVault from "../../protocol/abi/StakingVault.json";

export const ABIS: Record<string, Abi> = {
  Disputes: Disputes as Abi,
  Emissions: Emissions as Abi,
  ModelRegistry: ModelRegistry as Abi,
  NeuroGovernor: NeuroGovernor as Abi,
  NeuroTimelock: NeuroTimelock as Abi,
  NeuroToken: NeuroToken as Abi,
  Payments: Payments as Abi,
  StakingVault: StakingVault as Abi,
};
