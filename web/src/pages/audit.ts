// The auditors' pages: supply against the schedule, epochs, fees, slashes and any block's events. Every figure
// comes from the indexer and links to the block and transaction that produced it.
import { get, type EventRow, type Supply } from "../api";
import { lineChart } from "../chart";
import { address, blockLink, bps, integer, neuro, short, time, txLink, type TxRef } from "../format";
import { html, type Html } from "../html";
import { type Route, nextLink, render, section, table } from "../ui";

interface EpochSummary {
  epoch: number;
  emission: string;
  forgone: string;
  minerRewardPerBurnBps: string;
  modelRewardPerBurnBps: string;
  totalWork: string;
  minerPool: string;
  modelPool: string;
  finalized: TxRef;
}

interface FeeFlush {
  burned: string;
  toTreasury: string;
  tx: TxRef;
}

interface EpochFees {
  epoch: number;
  redeemed: string;
  toMiners: string;
  treasuryShare: string;
  burnShare: string;
  redemptions: number;
  flushed?: FeeFlush;
}

interface WorkShare {
  id: string;
  units: string;
  burnedFees: string;
  reward: string;
  forgone: string;
  claimed?: TxRef;
}

interface EpochDetail {
  epoch: number;
  finalization?: EpochSummary;
  creditedWork: string;
  minerRewardPerUnit: string;
  modelRewardPerUnit: string;
  burnedFees: string;
  minerCount: number;
  modelCount: number;
  miners: WorkShare[];
  minersNext?: string;
  models: WorkShare[];
  modelsNext?: string;
  submissions: number;
  tokens: string;
  feesRedeemed: string;
  feesFlushed?: FeeFlush;
}

export interface Slash {
  account: string;
  reasonHash: string;
  fromBonded: string;
  fromUnbonding: string;
  burned: string;
  toTreasury: string;
  tx: TxRef;
}

/** Up to `pages` pages of a newest-first list, oldest first. */
async function history<T>(path: string, pages: number): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < pages; i++) {
    const { data, next } = await get<T[]>(`${path}?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    all.push(...data);
    if (!next) break;
    cursor = next;
  }
  return all.reverse();
}

function card(label: string, value: string, testid: string, note: Html | string = ""): Html {
  return html`<div><dt>${label}</dt><dd data-testid="${testid}">${value}</dd>${note ? html`<p class="muted small">${note}</p>` : ""}</div>`;
}

const supplyPage = async (main: HTMLElement) => {
  const [{ data: s, block }, epochs, fees] = await Promise.all([
    get<Supply>("supply"),
    history<EpochSummary>("epochs", 4),
    history<EpochFees>("fees", 4),
  ]);
  const burnedAt = new Map(fees.map((f) => [f.epoch, BigInt(f.flushed?.burned ?? "0")]));
  let [scheduled, earned, forgone, burned] = [0n, 0n, 0n, 0n];
  const sorted = [...epochs].sort((a, b) => a.epoch - b.epoch);
  const series = { scheduled: [] as bigint[], earned: [] as bigint[], forgone: [] as bigint[], burned: [] as bigint[] };
  for (const e of sorted) {
    scheduled += BigInt(e.emission);
    forgone += BigInt(e.forgone);
    earned += BigInt(e.emission) - BigInt(e.forgone);
    burned += burnedAt.get(e.epoch) ?? 0n;
    series.scheduled.push(scheduled);
    series.earned.push(earned);
    series.forgone.push(forgone);
    series.burned.push(burned);
  }
  const str = (k: string) => String(s[k] ?? "0");
  render(
    main,
    html`<h1>Supply</h1>
      <p class="muted">At block ${blockLink(block.number)}. Emission follows a Bitcoin-style schedule (hourly epochs,
        halving every four years), paid only for verified work and capped by the fees that work burned.</p>
      <dl class="cards">
        ${card("Hard cap", neuro(s.cap, 0), "cap")}
        ${card("Total supply", neuro(s.totalSupply, 2), "total-supply")}
        ${card("Schedule to date", neuro(s.scheduledToDate, 2), "scheduled", `${integer(str("epochsFinalized"))} epochs finalized`)}
        ${card("Minted by emissions", neuro(s.mintedByEmissions, 2), "minted", "rewards claimed")}
        ${card("Forgone", neuro(s.forgone, 2), "forgone", "epochs without work and rewards withheld by the fee cap: never minted")}
        ${card("Burned", neuro(str("burnedTotal"), 2), "burned", `fees ${neuro(str("burnedByFees"), 2)} · slashes ${neuro(str("burnedBySlashes"), 2)}`)}
        ${card("Staked", neuro(str("staked"), 2), "staked")}
        ${card("Treasury", neuro(str("treasury"), 2), "treasury", "held by the timelock: spent only by proposals")}
        ${card("Vesting, locked", neuro(str("vestingLocked"), 2), "vesting")}
        ${card("Circulating", neuro(str("circulating"), 2), "circulating")}
        ${card("User deposits", neuro(str("depositsFree"), 2), "deposits", html`<a href="#/allowances">${neuro(str("depositsLocked"), 2)}</a> more locked in allowances`)}
      </dl>
      <p>${s.emissionsReconcile ? html`<span class="ok-text">Minted ≤ 90% of the fees burned: the emission cap holds.</span>` : html`<span class="warn">Minted exceeds the cap on burned fees: investigate.</span>`}</p>
      ${section(
        sorted.length > 0 && sorted[0].epoch > 0
          ? `Cumulative over epochs ${sorted[0].epoch}–${sorted[sorted.length - 1].epoch} (the newest ${sorted.length}; totals above)`
          : "Cumulative, by epoch",
        lineChart(
          sorted.map((e) => e.epoch),
          [
            { label: "scheduled", className: "s1", points: series.scheduled },
            { label: "earned by work", className: "s2", points: series.earned },
            { label: "forgone", className: "s3", points: series.forgone },
            { label: "fees burned", className: "s4", points: series.burned },
          ],
          (v) => neuro(v, 0),
          "epoch",
        ),
      )}`,
  );
};

const epochsPage = async (main: HTMLElement, _p: string[], query: URLSearchParams) => {
  const cursor = query.get("cursor");
  const { data, next } = await get<EpochSummary[]>(`epochs?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
  const rows = data.map((e) => [
    html`<a href="#/epochs/${e.epoch}">${e.epoch}</a>`,
    html`${neuro(e.emission, 2)}`,
    html`${neuro(e.forgone, 2)}`,
    html`${integer(e.totalWork)}`,
    html`${bps(e.minerRewardPerBurnBps)} / ${bps(e.modelRewardPerBurnBps)}`,
    txLink(e.finalized),
  ]);
  render(
    main,
    html`<h1>Epochs</h1>
      <p class="muted">Finalized epochs, newest first. Caps: a miner's (model's) reward is at most this share of the
        fees its work burned.</p>
      ${table(["Epoch", "Emission", "Forgone", "Credited work", "Reward caps (miner / model)", "Finalized"], rows, "No epoch finalized yet.")}
      ${nextLink("/epochs", next)}`,
  );
};

function shares(kind: "miners" | "models", list: WorkShare[]): Html {
  return table(
    [kind === "miners" ? "Miner" : "Model", "Work", "Fees burned", "Reward", "Forgone by the cap", "Claim"],
    list.map((w) => [
      kind === "miners" ? address(w.id) : html`<a class="mono" href="#/models/${w.id}">${short(w.id)}</a>`,
      html`${integer(w.units)}`,
      html`${neuro(w.burnedFees)}`,
      html`${neuro(w.reward)}`,
      html`${neuro(w.forgone)}`,
      w.claimed ? txLink(w.claimed) : html`<span class="muted">unclaimed</span>`,
    ]),
    "No work credited.",
  );
}

const epochPage = async (main: HTMLElement, [n]: string[], query: URLSearchParams) => {
  const { data: e } = await get<EpochDetail>(`epochs/${n}?limit=50`);
  const f = e.finalization;
  // Further pages of miners or models replace the first one (an epoch can credit thousands of miners).
  for (const side of ["miners", "models"] as const) {
    const cursor = query.get(side);
    if (!cursor) continue;
    const page = await get<WorkShare[]>(`epochs/${n}/${side}?limit=50&cursor=${encodeURIComponent(cursor)}`);
    e[side] = page.data;
    e[side === "miners" ? "minersNext" : "modelsNext"] = page.next;
  }
  const more = (side: string, next: string | undefined) =>
    next ? html`<p><a class="next" href="#/epochs/${e.epoch}?${side}=${encodeURIComponent(next)}">More ${side} →</a></p>` : html``;
  render(
    main,
    html`<p><a href="#/epochs">← Epochs</a></p><h1>Epoch ${e.epoch}</h1>
      <dl class="cards">
        ${card("Emission", f ? neuro(f.emission, 4) : "not finalized", "emission")}
        ${card("Forgone", f ? neuro(f.forgone, 4) : "–", "epoch-forgone")}
        ${card("Credited work", integer(e.creditedWork), "credited-work")}
        ${card("Usage submissions", String(e.submissions), "submissions", `${integer(e.tokens)} tokens`)}
        ${card("Fees redeemed", neuro(e.feesRedeemed), "fees-redeemed")}
        ${card("Fees burned", e.feesFlushed ? neuro(e.feesFlushed.burned) : "not flushed", "fees-burned")}
      </dl>
      ${f ? html`<p>Finalized in ${txLink(f.finalized)}; miner pool ${neuro(f.minerPool)}, model pool ${neuro(f.modelPool)}; caps
        ${bps(f.minerRewardPerBurnBps)} (miners), ${bps(f.modelRewardPerBurnBps)} (models) of burned fees.</p>` : ""}
      ${e.feesFlushed ? html`<p>Fees flushed in ${txLink(e.feesFlushed.tx)}: ${neuro(e.feesFlushed.burned)} burned,
        ${neuro(e.feesFlushed.toTreasury)} to the treasury.</p>` : ""}
      ${section(`Miners (${e.minerCount})`, html`${shares("miners", e.miners)}${more("miners", e.minersNext)}`)}
      ${section(`Models (${e.modelCount})`, html`${shares("models", e.models)}${more("models", e.modelsNext)}`)}`,
  );
};

const feesPage = async (main: HTMLElement, _p: string[], query: URLSearchParams) => {
  const cursor = query.get("cursor");
  const { data, next } = await get<EpochFees[]>(`fees?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
  render(
    main,
    html`<h1>Fees</h1><p class="muted">Users' payments redeemed by miners, by epoch, and their split. Deposits locked
        for one miner are under <a href="#/allowances">allowances</a>.</p>
      ${table(
        ["Epoch", "Redeemed", "To miners", "Treasury share", "Burn share", "Redemptions", "Flushed"],
        data.map((f) => [
          html`<a href="#/epochs/${f.epoch}">${f.epoch}</a>`,
          html`${neuro(f.redeemed)}`,
          html`${neuro(f.toMiners)}`,
          html`${neuro(f.treasuryShare)}`,
          html`${neuro(f.burnShare)}`,
          html`${f.redemptions}`,
          f.flushed ? txLink(f.flushed.tx) : html`<span class="muted">pending</span>`,
        ]),
        "No fees yet.",
      )}
      ${nextLink("/fees", next)}`,
  );
};

export function slashTable(list: Slash[]): Html {
  return table(
    ["Account", "From bonded", "From unbonding", "Burned", "To treasury", "Reason", "Transaction"],
    list.map((s) => [
      address(s.account),
      html`${neuro(s.fromBonded)}`,
      html`${neuro(s.fromUnbonding)}`,
      html`${neuro(s.burned)}`,
      html`${neuro(s.toTreasury)}`,
      html`<span class="mono" title="${s.reasonHash}">${short(s.reasonHash)}</span>`,
      txLink(s.tx),
    ]),
    "No slash.",
  );
}

interface Allowance {
  digest: string;
  user: string;
  miner: string;
  openedAmount: string;
  expiry: string;
  locked: string;
  redeemed: string;
  revokedEpoch?: string;
  released: string;
  opened: TxRef;
  revoked?: TxRef;
  release?: TxRef;
}

function allowanceState(a: Allowance): string {
  if (BigInt(a.released) > 0n) return "released";
  if (a.revokedEpoch !== undefined) return `revoked in epoch ${a.revokedEpoch}`;
  if (BigInt(a.expiry) * 1000n < BigInt(Date.now())) return "expired";
  return BigInt(a.locked) > 0n ? "locked" : "spent";
}

const allowancesPage = async (main: HTMLElement, _p: string[], query: URLSearchParams) => {
  const cursor = query.get("cursor");
  const miner = query.get("miner");
  const filter = `${miner ? `&miner=${encodeURIComponent(miner)}` : ""}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
  const { data, next } = await get<Allowance[]>(`allowances?limit=50${filter}`);
  render(
    main,
    html`<h1>Allowances${miner ? html` for ${address(miner)}` : ""}</h1>
      <p class="muted">Deposits users locked for one miner by opening an allowance: only that miner can redeem them,
        until the user revokes it (later epochs stop being redeemable) and releases what is left.</p>
      ${table(
        ["Allowance", "User", "Miner", "Opened with", "Redeemed", "Locked", "State", "Opened"],
        data.map((a) => [
          html`<a class="mono" href="#/allowances/${a.digest}" title="${a.digest}">${short(a.digest)}</a>`,
          address(a.user),
          address(a.miner),
          html`${neuro(a.openedAmount)}`,
          html`${neuro(a.redeemed)}`,
          html`<span data-testid="locked">${neuro(a.locked)}</span>`,
          html`${allowanceState(a)}`,
          txLink(a.opened),
        ]),
        "No allowance opened yet.",
      )}
      ${nextLink(`/allowances${miner ? `?miner=${encodeURIComponent(miner)}` : ""}`, next)}`,
  );
};

const allowancePage = async (main: HTMLElement, [digest]: string[]) => {
  const { data: a } = await get<Allowance>(`allowances/${digest}`);
  render(
    main,
    html`<h1>Allowance <span class="mono">${short(a.digest)}</span></h1>
      <p class="muted mono small">${a.digest}</p>
      <dl class="cards">
        ${card("User", "", "user", address(a.user))}
        ${card("Miner", "", "miner", address(a.miner))}
        ${card("Locked at opening", neuro(a.openedAmount), "opened", html`expires ${time(a.expiry)} · ${txLink(a.opened)}`)}
        ${card("Redeemed since", neuro(a.redeemed), "redeemed", "by the miner, out of the lock")}
        ${card("Still locked", neuro(a.locked), "locked")}
        ${card("Revoked", a.revokedEpoch !== undefined ? `in epoch ${a.revokedEpoch}` : "no", "revoked", a.revoked ? txLink(a.revoked) : "")}
        ${card("Released", a.release ? neuro(a.released) : "no", "released", a.release ? txLink(a.release) : "")}
      </dl>`,
  );
};

const slashesPage = async (main: HTMLElement, _p: string[], query: URLSearchParams) => {
  const cursor = query.get("cursor");
  const { data, next } = await get<Slash[]>(`slashes?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
  render(main, html`<h1>Slashes</h1>${slashTable(data)}${nextLink("/slashes", next)}`);
};

const blockPage = async (main: HTMLElement, [n]: string[], query: URLSearchParams) => {
  const tx = query.get("tx")?.toLowerCase();
  const { data } = await get<EventRow[]>(`events?fromBlock=${n}&toBlock=${n}&limit=500`);
  const rows = data.map((e) => [
    html`${e.logIndex}`,
    html`<span class="mono ${e.transactionHash.toLowerCase() === tx ? "highlight" : ""}" title="${e.transactionHash}">${short(e.transactionHash)}</span>`,
    html`${e.contract}`,
    html`<b>${e.event}</b>`,
    html`<code class="args">${JSON.stringify(e.args)}</code>`,
  ]);
  render(
    main,
    html`<h1>Block ${n}</h1>
      ${tx ? html`<p>Transaction <span class="mono" data-testid="tx">${tx}</span> highlighted.</p>` : ""}
      <p class="muted">The protocol's events in this block, as indexed.</p>
      ${table(["Log", "Transaction", "Contract", "Event", "Arguments"], rows, "No protocol event in this block.")}`,
  );
};

export const auditPages: Route[] = [
  { pattern: /^\/$/, page: supplyPage },
  { pattern: /^\/epochs$/, page: epochsPage },
  { pattern: /^\/epochs\/(\d+)$/, page: epochPage },
  { pattern: /^\/fees$/, page: feesPage },
  { pattern: /^\/slashes$/, page: slashesPage },
  { pattern: /^\/allowances$/, page: allowancesPage },
  { pattern: /^\/allowances\/(0x[0-9a-fA-F]{64})$/, page: allowancePage },
  { pattern: /^\/block\/(\d+)$/, page: blockPage },
];
