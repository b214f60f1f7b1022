// Governance, Tally-style: the proposals with their tallies, quorum progress, timeline and decoded actions; voting
// with a reason, queueing, executing and the guardian's cancel; and a Safe Transaction Builder export of any of
// these calls. Writes go through the connected wallet; everything here reads without one.
import { type Address, type Hex, encodeFunctionData } from "viem";
import { get, getDeployment, type Proposal } from "../api";
import { ABIS } from "../contracts";
import { address, neuro, percent, short, time, txLink } from "../format";
import { html, type Html } from "../html";
import { batchFile, decodeCall, download } from "../safe";
import { type Route, indexed, nextLink, onClick, refresh, render, section, table } from "../ui";
import { current, read, write } from "../wallet";
import { delegatePage } from "./delegate";
import { proposePage } from "./propose";

export function title(p: Proposal): string {
  return p.description.split("\n")[0].replace(/^#+\s*/, "").slice(0, 140) || `Proposal ${short(p.id)}`;
}

export function badge(state: string): Html {
  return html`<span class="badge state-${state.toLowerCase()}">${state}</span>`;
}

/** Address (lowercase) → contract name, for decoding calls. */
export async function contractNames(): Promise<Map<string, string>> {
  const { contracts } = await getDeployment();
  return new Map(Object.entries(contracts).map(([name, a]) => [a.toLowerCase(), name]));
}

/** An argument as unambiguous text: strings quoted (so a name cannot pose as more calls), numbers exact and bare. */
export function formatArg(value: unknown): string {
  if (typeof value === "bigint" || typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `[${value.map(formatArg).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    return `{${Object.entries(value).map(([k, v]) => `${k}: ${formatArg(v)}`).join(", ")}}`;
  }
  return JSON.stringify(value) ?? "undefined";
}

// Characters that reorder or hide text (bidirectional overrides, zero-width): shown as a warning, never trusted.
const DECEPTIVE = /[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

export function renderCall(names: Map<string, string>, to: string, value: string, data: string, depth = 0): Html {
  const decoded = decodeCall(names, to, data as Hex);
  const known = names.get(to.toLowerCase());
  const target = known ?? to;
  // Exact: a value cut to a few decimals could hide wei.
  const eth = BigInt(value) > 0n ? html` <span class="warn">(sends ${value} wei of ETH)</span>` : "";
  const unknown = known ? "" : html` <span class="warn">(not a contract of this deployment)</span>`;
  if (!decoded) {
    return html`<div class="call"><b>${target}</b>${unknown}${eth} <span class="warn">(calldata not decoded)</span>
      <code class="data">${data}</code></div>`;
  }
  const args = decoded.args.map(formatArg).join(", ");
  const deceptive = DECEPTIVE.test(args) ? html` <span class="warn">(arguments hold invisible or reordering characters)</span>` : "";
  // A call the Governor relays (`relay(target, value, data)`) is shown decoded too: what it does is the inner call.
  let inner: Html = html``;
  if (decoded.functionName === "relay" && decoded.args.length === 3 && depth < 3) {
    const [innerTo, innerValue, innerData] = decoded.args as [string, bigint, string];
    inner = html`<div class="nested">relays: ${renderCall(names, innerTo, innerValue.toString(), innerData, depth + 1)}</div>`;
  }
  return html`<div class="call"><b>${decoded.contract}</b>.<b>${decoded.functionName}</b>(${args})${unknown}${eth}${deceptive}
    <div class="muted small">${decoded.signature} at <span class="mono">${to}</span></div>${inner}
    <details><summary>calldata</summary><code class="data">${data}</code></details></div>`;
}

function tally(p: Proposal): Html {
  const f = BigInt(p.votes.forVotes);
  const a = BigInt(p.votes.against);
  const ab = BigInt(p.votes.abstain);
  const total = f + a + ab;
  const width = (x: bigint) => (total === 0n ? 0 : Number((x * 1000n) / total) / 10);
  const quorum = p.quorum ? BigInt(p.quorum) : undefined;
  const counted = f + ab;
  const progress = quorum === undefined ? "quorum read at the snapshot" : `${neuro(counted, 2)} of ${neuro(quorum, 2)} stNEURO (${percent(counted, quorum)})`;
  const reached = quorum !== undefined && counted >= quorum;
  const q = quorum === undefined || quorum === 0n ? 0 : Math.min(100, Number((counted * 1000n) / quorum) / 10);
  return html`<div class="tally">
      <div class="bar" aria-hidden="true">
        <meter class="for" value="${width(f)}" min="0" max="100"></meter>
      </div>
      <dl class="votes">
        <dt>For</dt><dd data-testid="votes-for">${neuro(f, 2)}</dd>
        <dt>Against</dt><dd data-testid="votes-against">${neuro(a, 2)}</dd>
        <dt>Abstain</dt><dd data-testid="votes-abstain">${neuro(ab, 2)}</dd>
        <dt>Voters</dt><dd data-testid="voters">${p.votes.voters}</dd>
      </dl>
      <p>Quorum (for + abstain): <span data-testid="quorum">${progress}</span> ${reached ? html`<span class="ok-text">reached</span>` : ""}</p>
      <meter class="quorum" value="${q}" min="0" max="100" aria-label="quorum progress"></meter>
    </div>`;
}

function timeline(p: Proposal): Html {
  const t = p.timeline;
  const rows: Html[][] = [
    [html`Proposed`, txLink(t.created)],
    [html`Voting starts`, html`${time(p.voteStart)}`],
    [html`Voting ends`, html`${time(p.voteEnd)}`],
  ];
  if (t.queued) rows.push([html`Queued in the timelock`, txLink(t.queued)], [html`Executable from`, html`${time(t.eta)}`]);
  if (t.executed) rows.push([html`Executed`, txLink(t.executed)]);
  if (t.canceled) rows.push([html`Canceled`, txLink(t.canceled)]);
  return html`<table class="timeline"><tbody>${rows.map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}</tbody></table>`;
}

const proposalsPage = async (main: HTMLElement, _params: string[], query: URLSearchParams) => {
  const cursor = query.get("cursor");
  const { data, next } = await get<Proposal[]>(`proposals?limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
  const rows = data.map((p) => {
    const f = BigInt(p.votes.forVotes);
    const total = f + BigInt(p.votes.against) + BigInt(p.votes.abstain);
    return [
      html`<a href="#/proposals/${p.id}">${title(p)}</a>`,
      badge(p.state),
      html`${percent(f, total)} for · ${p.votes.voters} voter(s)`,
      txLink(p.timeline.created),
    ];
  });
  render(
    main,
    html`<h1>Proposals</h1>
      <p>Stakers govern every parameter through the Governor and a timelock. <a href="#/propose">Create a proposal</a>
        · <a href="#/delegate">Stake and delegate your votes</a></p>
      ${table(["Proposal", "State", "Votes", "Proposed"], rows, "No proposal yet.")} ${nextLink("/proposals", next)}`,
  );
};

function exportBatch(name: string, description: string, chainId: number, calls: { to: Address; value: bigint; data: Hex }[], file: string): string {
  download(batchFile(chainId, name, description, calls), file);
  return `Saved ${file}: import it in the Safe app's Transaction Builder.`;
}

const proposalPage = async (main: HTMLElement, [id]: string[]) => {
  const [{ data: p, block }, names, deployment] = await Promise.all([
    get<Proposal>(`proposals/${id}`),
    contractNames(),
    getDeployment(),
  ]);
  const governor = deployment.contracts.NeuroGovernor;
  const abi = ABIS.NeuroGovernor;
  const wallet = current();
  const proposalId = BigInt(p.id);
  const now = BigInt(block.timestamp);
  const canQueue = p.state === "Succeeded";
  const canExecute = p.state === "Queued" && p.timeline.eta !== undefined && now >= BigInt(p.timeline.eta);
  const cancellable = ["Pending", "Active", "Succeeded", "Queued"].includes(p.state);
  let voteBox: Html = html``;
  if (p.state === "Active") {
    let voted = false;
    if (wallet) voted = await read<boolean>(governor, abi, "hasVoted", [proposalId, wallet.account]);
    voteBox = voted
      ? html`<p class="ok-text">You have voted on this proposal.</p>`
      : html`<form class="vote">
          <label>Reason (optional, stored on chain)<textarea name="reason" rows="3" maxlength="2000"></textarea></label>
          <div class="buttons">
            <button type="button" class="vote-button" data-support="1">Vote for</button>
            <button type="button" class="vote-button" data-support="0">Vote against</button>
            <button type="button" class="vote-button" data-support="2">Abstain</button>
          </div>
        </form>`;
  }
  const governorCall = (fn: string) => ({ to: governor, value: 0n, data: encodeFunctionData({ abi, functionName: fn, args: [proposalId] }) });
  render(
    main,
    html`<p><a href="#/proposals">← Proposals</a></p>
      <h1>${title(p)} ${badge(p.state)}</h1>
      <p class="muted">Proposal <span class="mono" data-testid="proposal-id">${p.id}</span> by ${address(p.proposer)}</p>
      <div class="result"></div>
      <div class="columns">
        <div>
          ${section("Votes", tally(p))}
          ${section(
            "Act",
            html`${voteBox}
              <div class="buttons">
                ${canQueue ? html`<button id="queue">Queue in the timelock</button>` : ""}
                ${canExecute ? html`<button id="execute">Execute</button>` : ""}
                ${cancellable ? html`<button id="cancel" class="danger">Cancel (guardian)</button>` : ""}
              </div>
              ${!wallet ? html`<p class="muted">Connect a wallet to vote, queue or execute.</p>` : ""}
              <h3>For a Safe</h3>
              <p class="muted small">Transaction Builder batch files of calls to the Governor, to submit from a Safe: a
                Safe that holds or is delegated votes, or the guardian's for a cancel. (The proposal's own actions are
                never exported: run from a Safe, they would spend the Safe's funds instead of the timelock's.)</p>
              <div class="buttons">
                ${p.state === "Active" ? html`<button id="safe-vote-for" class="secondary">Export vote for</button>
                  <button id="safe-vote-against" class="secondary">Export vote against</button>` : ""}
                ${canQueue ? html`<button id="safe-queue" class="secondary">Export queue</button>` : ""}
                ${p.state === "Queued" ? html`<button id="safe-execute" class="secondary">Export execute</button>` : ""}
                ${cancellable ? html`<button id="safe-cancel" class="secondary">Export guardian cancel</button>` : ""}
              </div>`,
          )}
        </div>
        <div>${section("Timeline", timeline(p))}</div>
      </div>
      ${section("Actions", html`<ol class="actions">${p.actions.map((a) => html`<li>${renderCall(names, a.target, a.value, a.calldata)}</li>`)}</ol>`)}
      ${section("Description", html`<pre class="description">${p.description}</pre>`)}`,
  );
  const done = async (sent: { hash: string; block: bigint }, what: string) => {
    await indexed(sent.block, get);
    await refresh();
    return `${what}: transaction ${sent.hash}`;
  };
  onClick(main, ".vote-button", async (button) => {
    const reason = main.querySelector<HTMLTextAreaElement>("textarea[name=reason]")?.value ?? "";
    const support = Number(button.dataset.support);
    return done(await write(governor, abi, "castVoteWithReason", [proposalId, support, reason]), "Vote cast");
  });
  onClick(main, "#queue", async () => done(await write(governor, abi, "queue", [proposalId]), "Queued"));
  onClick(main, "#execute", async () => done(await write(governor, abi, "execute", [proposalId]), "Executed"));
  onClick(main, "#cancel", async () => done(await write(governor, abi, "cancel", [proposalId]), "Canceled"));
  const chainId = deployment.chainId;
  const label = title(p);
  const vote = (support: number) => ({
    to: governor,
    value: 0n,
    data: encodeFunctionData({ abi, functionName: "castVote", args: [proposalId, support] }),
  });
  onClick(main, "#safe-vote-for", async () => exportBatch(`Vote for: ${label}`, `Governor.castVote(${p.id}, 1)`, chainId, [vote(1)], `proposal-${short(p.id)}-vote-for.json`));
  onClick(main, "#safe-vote-against", async () => exportBatch(`Vote against: ${label}`, `Governor.castVote(${p.id}, 0)`, chainId, [vote(0)], `proposal-${short(p.id)}-vote-against.json`));
  onClick(main, "#safe-queue", async () => exportBatch(`Queue: ${label}`, `Governor.queue(${p.id})`, chainId, [governorCall("queue")], `proposal-${short(p.id)}-queue.json`));
  onClick(main, "#safe-execute", async () => exportBatch(`Execute: ${label}`, `Governor.execute(${p.id})`, chainId, [governorCall("execute")], `proposal-${short(p.id)}-execute.json`));
  onClick(main, "#safe-cancel", async () => exportBatch(`Cancel: ${label}`, `Guardian cancel: Governor.cancel(${p.id})`, chainId, [governorCall("cancel")], `proposal-${short(p.id)}-cancel.json`));
};

export const governancePages: Route[] = [
  { pattern: /^\/proposals$/, page: proposalsPage },
  { pattern: /^\/proposals\/(\d+)$/, page: proposalPage },
  { pattern: /^\/delegate$/, page: delegatePage },
  { pattern: /^\/propose$/, page: proposePage },
];

