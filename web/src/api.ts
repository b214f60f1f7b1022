// The indexer's REST API (same origin): every response says which block it reflects.
import type { TxRef } from "./format";

export interface BlockRef {
  number: number;
  hash: string;
  timestamp: number;
}

export interface Envelope<T> {
  block: BlockRef;
  data: T;
  next?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** GET `/v1/<path>`; a 503 during a reorganisation is retried once after its Retry-After. */
export async function get<T>(path: string, retries = 2): Promise<Envelope<T>> {
  const response = await fetch(`/v1/${path}`, { headers: { accept: "application/json" } });
  if (response.status === 503 && retries > 0) {
    await new Promise((r) => setTimeout(r, 1000));
    return get<T>(path, retries - 1);
  }
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new ApiError(response.status, body.error ?? response.statusText);
  return body as Envelope<T>;
}

export interface Deployment {
  chainId: number;
  deployer: string;
  startBlock: number;
  genesisTime: number;
  epochLength: number;
  contracts: Record<string, `0x${string}`>;
}

let deployment: Promise<Deployment> | undefined;

/** The manifest of the deployment the indexer follows (contract addresses, chain id), fetched once. */
export function getDeployment(): Promise<Deployment> {
  deployment ??= fetch("/v1/deployment").then(async (r) => {
    if (!r.ok) throw new ApiError(r.status, "the indexer did not return its deployment");
    return (await r.json()) as Deployment;
  });
  return deployment;
}

export interface Status {
  chainId: number;
  indexedHead: number;
  chainHead: number;
  lag: number;
  chainFinalized: number;
  indexedFinalized: number;
  reorgs: number;
  notReady?: string;
}

export interface Supply {
  cap: string;
  totalSupply: string;
  mintedByEmissions: string;
  scheduledToDate: string;
  forgone: string;
  [key: string]: unknown;
}

export interface Action {
  target: string;
  value: string;
  calldata: string;
}

export interface Proposal {
  id: string;
  proposer: string;
  description: string;
  state: string;
  quorum?: string;
  voteStart: string;
  voteEnd: string;
  votes: { forVotes: string; against: string; abstain: string; voters: number };
  actions: Action[];
  timeline: { created: TxRef; queued?: TxRef; eta?: string; executed?: TxRef; canceled?: TxRef };
}

export interface EventRow {
  contract: string;
  event: string;
  blockNumber: number;
  transactionHash: string;
  logIndex: number;
  args: Record<string, unknown>;
  [key: string]: unknown;
}
