// The user's wallet: any EIP-1193 provider the browser injects (MetaMask, Rabby, Frame…). Reading needs none;
// acting needs one, on the chain the indexer follows. Every write is simulated first, so a revert shows its
// reason before the wallet asks for a signature.
import {
  type Abi,
  type Address,
  type Chain,
  type EIP1193Provider,
  type Hex,
  type PublicClient,
  type WalletClient,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
} from "viem";
import { getDeployment } from "./api";

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

export interface Connected {
  account: Address;
  chain: Chain;
  wallet: WalletClient;
  client: PublicClient;
}

let connected: Connected | undefined;
const listeners = new Set<() => void>();

export function onWalletChange(listener: () => void): void {
  listeners.add(listener);
}

function changed(): void {
  for (const l of listeners) l();
}

export function current(): Connected | undefined {
  return connected;
}

export class WalletError extends Error {}

/** Asks the injected wallet for an account and checks it is on the deployment's chain (switching if it can). */
export async function connect(): Promise<Connected> {
  const provider = window.ethereum;
  if (!provider) throw new WalletError("No wallet found: install an EIP-1193 wallet (MetaMask, Rabby) to act.");
  const deployment = await getDeployment();
  const chain = defineChain({
    id: deployment.chainId,
    name: `Neuro (chain ${deployment.chainId})`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [] } },
  });
  const accounts = (await provider.request({ method: "eth_requestAccounts" })) as Address[];
  if (accounts.length === 0) throw new WalletError("The wallet returned no account.");
  const chainId = Number(await provider.request({ method: "eth_chainId" }));
  if (chainId !== deployment.chainId) {
    try {
      await provider.request({
        method: "wallet_switchEthereumChain",
        params: [{ chainId: `0x${deployment.chainId.toString(16)}` }],
      });
    } catch {
      throw new WalletError(
        `The wallet is on chain ${chainId}; this deployment is on chain ${deployment.chainId}. Switch networks.`,
      );
    }
  }
  const transport = custom(provider);
  connected = {
    account: accounts[0],
    chain,
    wallet: createWalletClient({ account: accounts[0], chain, transport }),
    client: createPublicClient({ chain, transport }) as PublicClient,
  };
  if (!provider.on) return connected;
  provider.on("accountsChanged", (next: Address[]) => {
    if (connected && next.length > 0) {
      connected = { ...connected, account: next[0], wallet: createWalletClient({ account: next[0], chain, transport }) };
    } else connected = undefined;
    changed();
  });
  provider.on("chainChanged", () => {
    connected = undefined;
    changed();
  });
  changed();
  return connected;
}

export async function requireWallet(): Promise<Connected> {
  return connected ?? connect();
}

export async function read<T>(contract: Address, abi: Abi, functionName: string, args: unknown[] = []): Promise<T> {
  const { client } = await requireWallet();
  return (await client.readContract({ address: contract, abi, functionName, args })) as T;
}

export interface Sent {
  hash: Hex;
  block: bigint;
}

/** Simulates, sends and waits for the receipt; throws a readable error on a revert. */
export async function write(contract: Address, abi: Abi, functionName: string, args: unknown[] = []): Promise<Sent> {
  const { account, chain, client, wallet } = await requireWallet();
  try {
    const { request } = await client.simulateContract({ account, address: contract, abi, functionName, args, chain });
    // An exact estimate leaves no room for state that moves before the transaction is mined (a checkpoint
    // lookup one step longer is enough to run out of gas), and not every wallet pads it: send half as much
    // again, as MetaMask does. Unused gas is not paid for.
    const estimate = await client.estimateContractGas({ account, address: contract, abi, functionName, args });
    // Never above what a block holds: a node refuses such a transaction outright.
    const { gasLimit } = await client.getBlock();
    const padded = (estimate * 3n) / 2n;
    const gas = padded < gasLimit ? padded : estimate > gasLimit ? estimate : gasLimit;
    const hash = await wallet.writeContract({ ...request, gas });
    const receipt = await client.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") {
      const ranOut = receipt.gasUsed * 64n >= gas * 63n;
      throw new WalletError(`Transaction ${hash} reverted${ranOut ? ` out of gas (limit ${gas})` : ""} in block ${receipt.blockNumber}.`);
    }
    return { hash, block: receipt.blockNumber };
  } catch (e) {
    throw new WalletError(explain(e));
  }
}

/** The revert's custom error name and arguments when the ABI knows it, else viem's short message. */
export function explain(e: unknown): string {
  if (e instanceof BaseError) {
    const revert = e.walk((err) => err instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) {
      const name = revert.data?.errorName ?? revert.reason ?? "reverted";
      const args = revert.data?.args?.map(String).join(", ");
      return args ? `${name}(${args})` : name;
    }
    return e.shortMessage;
  }
  return e instanceof Error ? e.message : String(e);
}
