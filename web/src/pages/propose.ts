// Creating a proposal from a template: a parameter change (current value and the contract's bounds shown), a model
// approval or a treasury transfer. Before proposing, the call is simulated as the timelock will make it, so a
// value the contract would refuse (including its cross-parameter rules) is caught here rather than after a week
// of voting.
import { type Address, type Hex, encodeFunctionData, isAddress, isHex, keccak256, parseUnits, stringToHex } from "viem";
import { get, getDeployment } from "../api";
import { ABIS } from "../contracts";
import { bps, duration, integer, neuro } from "../format";
import { html, type Html } from "../html";
import { batchFile, download } from "../safe";
import { PARAMETERS, type Parameter, type ParamInput, type Unit } from "../templates";
import { indexed, onClick, render, section } from "../ui";
import { current, explain, read, write } from "../wallet";
import { contractNames, renderCall } from "./governance";

interface Call {
  to: Address;
  value: bigint;
  data: Hex;
}

function show(value: bigint, unit: Unit): string {
  if (unit === "bps") return `${integer(value)} bps (${bps(value)})`;
  if (unit === "seconds") return `${integer(value)} s (${duration(Number(value))})`;
  return `${neuro(value)} NEURO`;
}

function parse(text: string, unit: Unit, label: string): bigint {
  const t = text.trim();
  try {
    if (unit === "neuro") return parseUnits(t, 18);
    if (/^\d+$/.test(t)) return BigInt(t);
  } catch {
    /* reported below */
  }
  throw new Error(`${label}: "${t}" is not ${unit === "neuro" ? "an amount of NEURO" : `a whole number of ${unit === "bps" ? "basis points" : "seconds"}`}`);
}

async function bound(contract: Address, name: string | undefined, c: string): Promise<bigint | undefined> {
  return name ? read<bigint>(contract, ABIS[c], name) : undefined;
}

export async function proposePage(main: HTMLElement, _params: string[], query: URLSearchParams): Promise<void> {
  const wallet = current();
  if (!wallet) {
    render(
      main,
      html`<h1>New proposal</h1><p>Proposing needs a wallet whose delegated votes reach the proposal threshold, and
        reads each parameter's bounds from the chain. Connect a wallet.</p>`,
    );
    return;
  }
  const deployment = await getDeployment();
  const { contracts } = deployment;
  const governor = contracts.NeuroGovernor;
  const kind = query.get("kind") ?? "parameter";
  const parameter = PARAMETERS.find((p) => p.id === (query.get("parameter") ?? PARAMETERS[0].id)) ?? PARAMETERS[0];
  const [threshold, votes] = await Promise.all([
    read<bigint>(governor, ABIS.NeuroGovernor, "proposalThreshold"),
    read<bigint>(contracts.StakingVault, ABIS.StakingVault, "getVotes", [wallet.account]),
  ]);
  const kinds: [string, string][] = [
    ["parameter", "Change a parameter"],
    ["model", "Approve a model"],
    ["treasury", "Pay from the treasury"],
  ];
  let form: Html;
  let inputs: (ParamInput & { current: bigint; lo?: bigint; hi?: bigint })[] = [];
  if (kind === "parameter") {
    const address = contracts[parameter.contract];
    inputs = await Promise.all(
      parameter.inputs.map(async (i) => ({
        ...i,
        current: await read<bigint>(address, ABIS[parameter.contract], i.getter),
        lo: await bound(address, i.min, parameter.contract),
        hi: await bound(address, i.max, parameter.contract),
      })),
    );
    form = html`<label>Parameter <select id="parameter">${PARAMETERS.map((p) => html`<option value="${p.id}" ${p.id === parameter.id ? "selected" : ""}>${p.label}</option>`)}</select></label>
      <p class="muted small">${parameter.contract}.${parameter.setter} — ${parameter.rule ?? "each value within its bounds."}</p>
      ${inputs.map(
        (i) => html`<label>${i.label} <input class="param" name="${i.name}" value="${i.unit === "neuro" ? neuro(i.current, 18).replace(/,/g, "") : i.current}" />
          <span class="muted small">now ${show(i.current, i.unit)}; allowed ${i.lo === undefined ? "0" : show(i.lo, i.unit)} to ${i.hi === undefined ? "any" : show(i.hi, i.unit)}</span></label>`,
      )}`;
  } else if (kind === "model") {
    form = html`<label>Model id (bytes32, as proposed to the ModelRegistry) <input id="model-id" class="mono" size="70" placeholder="0x…" /></label>
      <p class="muted small">See <a href="#/models">Models</a> for the models proposed and their status.</p>`;
  } else {
    const treasury = await read<bigint>(contracts.NeuroToken, ABIS.NeuroToken, "balanceOf", [contracts.NeuroTimelock]);
    form = html`<p>The treasury (the timelock) holds <b>${neuro(treasury)}</b> NEURO.</p>
      <label>Recipient <input id="recipient" class="mono" size="44" placeholder="0x…" /></label>
      <label>Amount (NEURO) <input id="amount" inputmode="decimal" /></label>`;
  }
  render(
    main,
    html`<h1>New proposal</h1>
      <p>Your votes: <b>${neuro(votes)}</b> stNEURO; the threshold to propose is <b>${neuro(threshold)}</b>.
        ${votes < threshold ? html`<span class="warn">Below the threshold: <a href="#/delegate">stake and delegate</a> first.</span>` : ""}</p>
      <div class="result"></div>
      <nav class="tabs">${kinds.map(([k, label]) => html`<a href="#/propose?kind=${k}" class="${k === kind ? "active" : ""}">${label}</a>`)}</nav>
      ${section("Action", form)}
      ${section(
        "Description",
        html`<textarea id="description" rows="5" placeholder="# Title&#10;&#10;Why this change."></textarea>
          <p class="muted small">The first line is the title. The text is stored on chain and is part of the proposal's id.</p>`,
      )}
      <div class="buttons"><button id="check" class="secondary">Check</button><button id="submit">Propose</button>
        <button id="safe-propose" class="secondary">Export for Safe</button></div>
      <div id="preview"></div>`,
  );
  main.querySelector<HTMLSelectElement>("#parameter")?.addEventListener("change", (e) => {
    location.hash = `#/propose?kind=parameter&parameter=${(e.target as HTMLSelectElement).value}`;
  });
  const description = main.querySelector<HTMLTextAreaElement>("#description");
  if (description && kind === "parameter") description.value = `# ${parameter.label}\n\n`;
  if (description && kind === "model") description.value = "# Approve a model\n\n";
  if (description && kind === "treasury") description.value = "# Treasury payment\n\n";

  const build = (): Call => {
    if (kind === "parameter") return parameterCall(parameter, contracts[parameter.contract], main, inputs);
    if (kind === "model") {
      const id = main.querySelector<HTMLInputElement>("#model-id")?.value.trim() ?? "";
      if (!isHex(id) || id.length !== 66) throw new Error(`Model id: "${id}" is not a 32-byte hex id.`);
      return { to: contracts.ModelRegistry, value: 0n, data: encodeFunctionData({ abi: ABIS.ModelRegistry, functionName: "approve", args: [id] }) };
    }
    const to = main.querySelector<HTMLInputElement>("#recipient")?.value.trim() ?? "";
    if (!isAddress(to)) throw new Error(`Recipient: "${to}" is not an address.`);
    const amount = parse(main.querySelector<HTMLInputElement>("#amount")?.value ?? "", "neuro", "Amount");
    if (amount <= 0n) throw new Error("Amount: enter more than zero.");
    return { to: contracts.NeuroToken, value: 0n, data: encodeFunctionData({ abi: ABIS.NeuroToken, functionName: "transfer", args: [to, amount] }) };
  };
  const text = () => {
    const d = description?.value.trim() ?? "";
    if (d.split("\n")[0].replace(/^#+\s*/, "").length === 0) throw new Error("Description: give the proposal a title on its first line.");
    return d;
  };
  const names = await contractNames();
  // Simulated as the timelock will execute it: a revert here would be a revert after the vote. The Governor's own
  // setters (onlyGovernance) accept a call only from inside its execute, which no simulation of one call
  // reproduces: for them the bounds above are what is checked before the vote.
  const check = async (call: Call) => {
    const preview = main.querySelector("#preview");
    const governorSetter = call.to.toLowerCase() === governor.toLowerCase();
    if (!governorSetter) {
      try {
        await wallet.client.call({ account: contracts.NeuroTimelock, to: call.to, data: call.data, value: call.value });
      } catch (e) {
        throw new Error(`As the timelock would execute it, this call reverts: ${explain(e)}`);
      }
    }
    const verdict = governorSetter
      ? html`<p class="muted">A Governor setter: within its bounds; the Governor checks the rest when it executes.</p>`
      : html`<p class="ok-text">Executes as the timelock: no revert.</p>`;
    if (preview) render(preview as HTMLElement, section("Preview", html`${renderCall(names, call.to, call.value.toString(), call.data)}${verdict}`));
  };
  onClick(main, "#check", async () => {
    await check(build());
    return "The action executes as the timelock would make it.";
  });
  onClick(main, "#submit", async () => {
    const call = build();
    const d = text();
    await check(call);
    const args = [[call.to], [call.value], [call.data]] as const;
    const id = await read<bigint>(governor, ABIS.NeuroGovernor, "hashProposal", [...args, keccak256(stringToHex(d))]);
    const sent = await write(governor, ABIS.NeuroGovernor, "propose", [...args, d]);
    await indexed(sent.block, get);
    location.hash = `#/proposals/${id}`;
    return `Proposed: ${id}`;
  });
  onClick(main, "#safe-propose", async () => {
    const call = build();
    const d = text();
    await check(call);
    const data = encodeFunctionData({ abi: ABIS.NeuroGovernor, functionName: "propose", args: [[call.to], [call.value], [call.data], d] });
    download(batchFile(deployment.chainId, `Propose: ${d.split("\n")[0].replace(/^#+\s*/, "")}`, d, [{ to: governor, value: 0n, data }]), "propose.json");
    return "Saved propose.json for the Safe's Transaction Builder.";
  });
}

function parameterCall(parameter: Parameter, to: Address, main: HTMLElement, inputs: (ParamInput & { lo?: bigint; hi?: bigint })[]): Call {
  const values = inputs.map((i) => {
    const field = main.querySelector<HTMLInputElement>(`input.param[name="${i.name}"]`);
    const v = parse(field?.value ?? "", i.unit, i.label);
    if (i.lo !== undefined && v < i.lo) throw new Error(`${i.label}: ${show(v, i.unit)} is below the minimum ${show(i.lo, i.unit)}.`);
    if (i.hi !== undefined && v > i.hi) throw new Error(`${i.label}: ${show(v, i.unit)} is above the maximum ${show(i.hi, i.unit)}.`);
    return v;
  });
  return { to, value: 0n, data: encodeFunctionData({ abi: ABIS[parameter.contract], functionName: parameter.setter, args: values }) };
}
