// Safe Transaction Builder batch files: a proposal's calls (or the guardian's cancel) written in the format the
// Safe{Wallet} "Transaction Builder" app imports, so a Safe's owners can review and sign them there.
//
// The format (version "1.0") carries a checksum the app recomputes on import: keccak256 of a canonical
// serialization of the batch with `meta.name` set to null (objects as their sorted key list followed by each
// value and a comma; everything else as JSON, undefined as null).
import { type AbiFunction, type Address, type Hex, decodeFunctionData, keccak256, stringToHex, toFunctionSelector } from "viem";
import { ABIS } from "./contracts";

export interface SafeTransaction {
  to: Address;
  value: string;
  data: Hex;
  contractMethod: null;
  contractInputsValues: null;
}

export interface BatchFile {
  version: "1.0";
  chainId: string;
  createdAt: number;
  meta: {
    name: string | null;
    description: string;
    txBuilderVersion: string;
    createdFromSafeAddress: string;
    createdFromOwnerAddress: string;
    checksum?: string;
  };
  transactions: SafeTransaction[];
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    return `{${JSON.stringify(keys)}${keys.map((k) => `${canonical(record[k])},`).join("")}}`;
  }
  return JSON.stringify(value === undefined ? null : value);
}

export function checksum(batch: BatchFile): Hex {
  const { checksum: _ignored, ...meta } = batch.meta;
  return keccak256(stringToHex(canonical({ ...batch, meta: { ...meta, name: null } })));
}

export function batchFile(
  chainId: number,
  name: string,
  description: string,
  calls: { to: Address; value: bigint; data: Hex }[],
  safe = "",
): BatchFile {
  const batch: BatchFile = {
    version: "1.0",
    chainId: String(chainId),
    createdAt: Date.now(),
    meta: {
      name,
      description,
      txBuilderVersion: "1.18.0",
      createdFromSafeAddress: safe,
      createdFromOwnerAddress: "",
    },
    transactions: calls.map((c) => ({
      to: c.to,
      value: c.value.toString(),
      data: c.data,
      contractMethod: null,
      contractInputsValues: null,
    })),
  };
  batch.meta.checksum = checksum(batch);
  return batch;
}

/** Offers `batch` as a file download. */
export function download(batch: BatchFile, fileName: string): void {
  const blob = new Blob([JSON.stringify(batch, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export interface Decoded {
  contract: string;
  functionName: string;
  signature: string;
  args: readonly unknown[];
}

/** Decodes calldata sent to one of the deployment's contracts (`names`: address → contract name). */
export function decodeCall(names: Map<string, string>, to: string, data: Hex): Decoded | undefined {
  const contract = names.get(to.toLowerCase());
  const abi = contract ? ABIS[contract] : undefined;
  if (!contract || !abi) return undefined;
  try {
    const { functionName, args } = decodeFunctionData({ abi, data });
    // By selector, not name: overloads (the Governor's queue/execute/cancel) must show the signature called.
    const selector = data.slice(0, 10).toLowerCase();
    const fn = abi.find((x): x is AbiFunction => x.type === "function" && toFunctionSelector(x) === selector);
    const signature = `${functionName}(${fn?.inputs.map((i) => `${i.type} ${i.name}`).join(", ") ?? ""})`;
    return { contract, functionName, signature, args: args ?? [] };
  } catch {
    return undefined;
  }
}
