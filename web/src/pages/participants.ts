// Miners, models, validators and disputes: stake, work, rewards, reputation (from the validators' reports) and
// every slash, each linked to its transaction.
import { get } from "../api";
import { address, integer, neuro, short, time, txLink, type TxRef } from "../format";
import { html, type Html } from "../html";
import { type Route, nextLink, render, section, table } from "../ui";
import { type Slash, slashTable } from "./audit";

interface MinerSummary {
  address: string;
  bondedStake: string;
  unbondingStake: string;
  rewardsClaimed: string;
}

interface MinerDetail extends MinerSummary {
  node?: { endpoint: string; receiptSigner: string; models: string[]; registered: boolean; updated: TxRef };
  epochs: { epoch: number; work: string; rewardClaimed: string; claim?: TxRef; submissions: { modelId: string; tokens: string; fees: string; tx: TxRef }[] }[];
  slashes: Slash[];
}

interface ProbeCounts {
  sent: number;
  passed: number;
  failed: number;
  invalid: number;
  timedOut: number;
}

interface Reputation {
  address: string;
  score: number | null;
  honesty: number | null;
  timeliness: number | null;
  uptime: number | null;
  medianTtftMs: number | null;
  medianTokensPerSecond: number | null;
  probes: ProbeCounts;
  validators: number;
  slashes: number;
  fromEpoch: number;
  toEpoch: number;
}

interface Model {
  id: string;
  name: string;
  owner: string;
  status: string;
  metadataUri: string;
  minPricePerMTok: string;
  rewardsClaimed: string;
  proposed: TxRef;
}

interface Dispute {
  id: string;
  challenger: string;
  delegatedBy?: string;
  accused: string;
  modelId: string;
  epoch: string;
  votingEnds: string;
  status: string;
  upholdWeight: string;
  rejectWeight: string;
  slashed: string;
  opened: TxRef;
  resolved?: TxRef;
  ballots?: { voter: string; uphold: boolean; weight: string; tx: TxRef }[];
}

const ratio = (x: number | null) => (x === null ? "–" : x.toFixed(3));
const paged = (path: string, query: URLSearchParams, limit = 50) => {
  const cursor = query.get("cursor");
  return `${path}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
};

const minersPage = async (main: HTMLElement, _p: string[], query: URLSearchParams) => {
  const [{ data, next }, ranking] = await Promise.all([
    get<MinerSummary[]>(paged("miners", query)),
    get<Reputation[]>("reputation?limit=500").catch(() => ({ data: [] as Reputation[] })),
  ]);
  const rep = new Map(ranking.data.map((r) => [r.address.toLowerCase(), r]));
  render(
    main,
    html`<h1>Miners</h1>
      ${table(
        ["Miner", "Bonded stake", "Unbonding", "Rewards claimed", "Reputation"],
        data.map((m) => [
          address(m.address),
          html`${neuro(m.bondedStake)}`,
          html`${neuro(m.unbondingStake)}`,
          html`${neuro(m.rewardsClaimed)}`,
          html`${ratio(rep.get(m.address.toLowerCase())?.score ?? null)}`,
        ]),
        "No miner yet.",
      )}
      ${nextLink("/miners", next)}`,
  );
};

function reputationCard(r: Reputation | undefined): Html {
  if (!r) return html`<p class="muted">No validator has reported on this node yet.</p>`;
  return html`<dl class="cards">
    <div><dt>Score</dt><dd data-testid="score">${ratio(r.score)}</dd></div>
    <div><dt>Honesty</dt><dd>${ratio(r.honesty)}</dd></div>
    <div><dt>Timeliness</dt><dd>${ratio(r.timeliness)}</dd></div>
    <div><dt>Uptime</dt><dd>${ratio(r.uptime)}</dd></div>
    <div><dt>Probes passed</dt><dd data-testid="probes">${r.probes.passed} / ${r.probes.sent}</dd></div>
    <div><dt>Failed · timed out</dt><dd>${r.probes.failed} · ${r.probes.timedOut}</dd></div>
    <div><dt>Median TTFT</dt><dd>${r.medianTtftMs === null ? "–" : `${r.medianTtftMs} ms`}</dd></div>
    <div><dt>Validators reporting</dt><dd>${r.validators}</dd></div>
  </dl><p class="muted small">Epochs ${r.fromEpoch}–${r.toEpoch}; ${r.slashes} slash(es).</p>`;
}

function disputeRows(list: Dispute[]): Html {
  return table(
    ["Dispute", "Accused", "Challenger", "Status", "Uphold / reject", "Slashed", "Opened"],
    list.map((d) => [
      html`<a href="#/disputes/${d.id}">${d.id}</a>`,
      address(d.accused),
      address(d.challenger),
      html`${d.status}`,
      html`${neuro(d.upholdWeight, 2)} / ${neuro(d.rejectWeight, 2)}`,
      html`${neuro(d.slashed)}`,
      txLink(d.opened),
    ]),
    "No dispute.",
  );
}

const minerPage = async (main: HTMLElement, [a]: string[], query: URLSearchParams) => {
  // 20 epochs a page (the API allows up to 100): each carries its submissions.
  const [{ data: m, next }, rep, disputes] = await Promise.all([
    get<MinerDetail>(paged(`miners/${a}`, query, 20)),
    get<Reputation>(`miners/${a}/reputation`).then((r) => r.data).catch(() => undefined),
    get<Dispute[]>(`disputes?accused=${a}&limit=50`).then((r) => r.data).catch(() => []),
  ]);
  const node = m.node;
  render(
    main,
    html`<p><a href="#/miners">← Miners</a></p><h1 class="mono">${a}</h1>
      <dl class="cards">
        <div><dt>Bonded stake</dt><dd data-testid="bonded">${neuro(m.bondedStake)}</dd></div>
        <div><dt>Unbonding</dt><dd>${neuro(m.unbondingStake)}</dd></div>
        <div><dt>Rewards claimed</dt><dd data-testid="rewards">${neuro(m.rewardsClaimed)}</dd></div>
      </dl>
      ${node ? html`<p>Node ${node.registered ? "registered" : "deregistered"} at <code>${node.endpoint}</code>, serving
        ${node.models.map((id) => html`<a class="mono" href="#/models/${id}">${short(id)}</a> `)} (updated ${txLink(node.updated)}).</p>` : html`<p class="muted">No node registered.</p>`}
      ${section("Reputation", reputationCard(rep))}
      ${section(
        "Work by epoch",
        table(
          ["Epoch", "Work", "Submissions", "Tokens", "Reward claimed", "Claim"],
          m.epochs.map((e) => [
            html`<a href="#/epochs/${e.epoch}">${e.epoch}</a>`,
            html`${integer(e.work)}`,
            html`${e.submissions.map((s) => txLink(s.tx))}`,
            html`${integer(e.submissions.reduce((t, s) => t + BigInt(s.tokens), 0n))}`,
            html`${neuro(e.rewardClaimed)}`,
            e.claim ? txLink(e.claim) : html`<span class="muted">–</span>`,
          ]),
          "No work submitted.",
        ),
      )}
      ${nextLink(`/miners/${a}`, next)}
      ${section("Disputes (among the 500 newest)", disputeRows(disputes))}
      ${section("Slashes", slashTable(m.slashes))}`,
  );
};

const modelsPage = async (main: HTMLElement, _p: string[], query: URLSearchParams) => {
  const { data, next } = await get<Model[]>(paged("models", query));
  render(
    main,
    html`<h1>Models</h1><p class="muted">Models enter the network by a DAO vote (<a href="#/propose?kind=model">propose an approval</a>).</p>
      ${table(
        ["Model", "Id", "Status", "Owner", "Min price / M tokens", "Rewards claimed", "Proposed"],
        data.map((m) => [
          html`<a href="#/models/${m.id}">${m.name}</a>`,
          html`<span class="mono" title="${m.id}">${short(m.id)}</span>`,
          html`${m.status}`,
          address(m.owner),
          html`${neuro(m.minPricePerMTok)}`,
          html`${neuro(m.rewardsClaimed)}`,
          txLink(m.proposed),
        ]),
        "No model yet.",
      )}
      ${nextLink("/models", next)}`,
  );
};

const modelPage = async (main: HTMLElement, [id]: string[]) => {
  const { data } = await get<Model & { epochs: { epoch: number; work: string; rewardClaimed: string }[] }>(`models/${id}`);
  const m = data;
  render(
    main,
    html`<p><a href="#/models">← Models</a></p><h1>${m.name} <span class="badge">${m.status}</span></h1>
      <p class="mono small">${m.id}</p>
      <p>Owner ${address(m.owner)}; minimum price ${neuro(m.minPricePerMTok)} NEURO per million tokens; rewards
        claimed ${neuro(m.rewardsClaimed)} NEURO; proposed in ${txLink(m.proposed)}.
        ${m.metadataUri ? html`Metadata: <code>${m.metadataUri}</code>` : ""}</p>
      ${section(
        "Work by epoch",
        table(
          ["Epoch", "Work", "Reward claimed"],
          data.epochs.map((e) => [html`<a href="#/epochs/${e.epoch}">${e.epoch}</a>`, html`${integer(e.work)}`, html`${neuro(e.rewardClaimed)}`]),
          "No work yet.",
        ),
      )}`,
  );
};

const validatorsPage = async (main: HTMLElement, _p: string[], query: URLSearchParams) => {
  const { data, next } = await get<MinerSummary[]>(paged("validators", query));
  render(
    main,
    html`<h1>Validators</h1><p class="muted">Validators stake, probe nodes as paying users, re-execute their answers and
      vote on disputes.</p>
      ${table(
        ["Validator", "Bonded stake", "Unbonding", "Rewards claimed"],
        data.map((v) => [address(v.address), html`${neuro(v.bondedStake)}`, html`${neuro(v.unbondingStake)}`, html`${neuro(v.rewardsClaimed)}`]),
        "No validator yet.",
      )}
      ${nextLink("/validators", next)}`,
  );
};

const disputesPage = async (main: HTMLElement, _p: string[], query: URLSearchParams) => {
  const { data, next } = await get<Dispute[]>(paged("disputes", query));
  render(main, html`<h1>Disputes</h1>${disputeRows(data)}${nextLink("/disputes", next)}`);
};

const disputePage = async (main: HTMLElement, [id]: string[]) => {
  const { data: d } = await get<Dispute>(`disputes/${id}`);
  render(
    main,
    html`<p><a href="#/disputes">← Disputes</a></p><h1>Dispute ${d.id} <span class="badge">${d.status}</span></h1>
      <p>${address(d.challenger)} ${d.delegatedBy ? html`(for ${address(d.delegatedBy)})` : ""} accused ${address(d.accused)} of
        serving other weights for model <a class="mono" href="#/models/${d.modelId}">${short(d.modelId)}</a> in epoch ${d.epoch};
        opened in ${txLink(d.opened)}, voting until ${time(d.votingEnds)}${d.resolved ? html`, resolved in ${txLink(d.resolved)}` : ""}.</p>
      <p>Uphold ${neuro(d.upholdWeight, 2)} · reject ${neuro(d.rejectWeight, 2)} · slashed <b data-testid="slashed">${neuro(d.slashed)}</b> NEURO</p>
      ${section(
        "Ballots",
        table(
          ["Validator", "Vote", "Weight", "Transaction"],
          (d.ballots ?? []).map((b) => [address(b.voter), html`${b.uphold ? "uphold" : "reject"}`, html`${neuro(b.weight, 2)}`, txLink(b.tx)]),
          "No ballot yet.",
        ),
      )}`,
  );
};

export const participantPages: Route[] = [
  { pattern: /^\/miners$/, page: minersPage },
  { pattern: /^\/miners\/(0x[0-9a-fA-F]{40})$/, page: minerPage },
  { pattern: /^\/models$/, page: modelsPage },
  { pattern: /^\/models\/(0x[0-9a-fA-F]{64})$/, page: modelPage },
  { pattern: /^\/validators$/, page: validatorsPage },
  { pattern: /^\/disputes$/, page: disputesPage },
  { pattern: /^\/disputes\/(\d+)$/, page: disputePage },
];
