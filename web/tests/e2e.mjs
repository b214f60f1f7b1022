// End-to-end test of the front end: Chromium (Debian's, headless) driven by playwright-core against a running
// devnet's indexer, with a test wallet injected as an EIP-1193 provider that forwards to anvil (whose
// development accounts are unlocked). It loads every page, stakes and delegates, creates a parameter change from
// its template, votes with a reason and sees the tally change, queues and executes it and checks the contract,
// has the guardian cancel a second proposal, and exports Safe batches that must decode to the same calls.
//
//   node tests/e2e.mjs --indexer http://127.0.0.1:8548 --rpc http://127.0.0.1:8545 [--screenshots DIR]
//
// It moves the chain's clock (voting delay, voting period, timelock delay): run it on a throwaway devnet.
import { readFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { decodeFunctionData, decodeFunctionResult, encodeFunctionData, keccak256, parseUnits, stringToHex } from "viem";

const here = dirname(fileURLToPath(import.meta.url));
const abi = (name) => JSON.parse(readFileSync(join(here, "../../protocol/abi", `${name}.json`), "utf8"));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0 && process.argv[i + 1]) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  throw new Error(`--${name} is required`);
};
const indexer = arg("indexer");
const rpcUrl = arg("rpc");
const shots = arg("screenshots", join(here, "../test-results"));
mkdirSync(shots, { recursive: true });
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";

// anvil's well-known development accounts: 0 is the devnet's deployer, liquidity holder and proposal guardian;
// 8 and 9 are unused by the rest of the devnet.
const DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const VOTER = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";
const OTHER = "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f";

let rpcId = 0;
async function rpc(method, params = []) {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }),
  });
  const body = await response.json();
  if (body.error) {
    const error = new Error(body.error.message);
    error.code = body.error.code;
    error.data = body.error.data;
    throw error;
  }
  return body.result;
}
async function api(path) {
  const response = await fetch(`${indexer}/v1/${path}`);
  if (!response.ok) throw new Error(`GET /v1/${path}: ${response.status} ${await response.text()}`);
  return (await response.json()).data;
}
function check(condition, message) {
  if (!condition) throw new Error(`web e2e: ${message}`);
}
async function until(what, f, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await f();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`web e2e: timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}
async function advance(seconds) {
  await rpc("evm_increaseTime", [`0x${seconds.toString(16)}`]);
  await rpc("evm_mine");
}
async function indexedHead() {
  const head = Number(await rpc("eth_blockNumber"));
  await until(`the indexer to reach block ${head}`, async () => (await api("status")).indexedHead >= head);
}
async function call(to, abiOf, functionName, args = []) {
  const data = encodeFunctionData({ abi: abiOf, functionName, args });
  const result = await rpc("eth_call", [{ to, data }, "latest"]);
  return BigInt(result);
}
async function send(from, to, abiOf, functionName, args) {
  const data = encodeFunctionData({ abi: abiOf, functionName, args });
  const hash = await rpc("eth_sendTransaction", [{ from, to, data }]);
  const receipt = await until(`receipt of ${hash}`, () => rpc("eth_getTransactionReceipt", [hash]));
  check(receipt.status === "0x1", `${functionName} reverted`);
}

/** Whole NEURO with thousands separators, as the pages show a whole amount. */
function whole(wei) {
  return (wei / 10n ** 18n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

// The Safe Transaction Builder's own validation: the checksum of the file without it, with meta.name = null.
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${JSON.stringify(keys)}${keys.map((k) => `${canonical(value[k])},`).join("")}}`;
  }
  return JSON.stringify(value === undefined ? null : value);
}
function validBatch(batch, chainId) {
  check(batch.version === "1.0" && batch.chainId === String(chainId), `batch header ${batch.version} ${batch.chainId}`);
  const { checksum, ...meta } = batch.meta;
  const expected = keccak256(stringToHex(canonical({ ...batch, meta: { ...meta, name: null } })));
  check(checksum === expected, `batch checksum ${checksum} is not ${expected}`);
  return batch.transactions;
}

const deployment = await (await fetch(`${indexer}/v1/deployment`)).json();
const c = deployment.contracts;
const governorAbi = abi("NeuroGovernor");
const tokenAbi = abi("NeuroToken");
const paymentsAbi = abi("Payments");

// The voter gets 12M NEURO from the deployer: with the deployer's 10M staked, its votes alone pass the quorum.
if ((await call(c.NeuroToken, tokenAbi, "balanceOf", [VOTER])) < parseUnits("12000000", 18)) {
  await send(DEPLOYER, c.NeuroToken, tokenAbi, "transfer", [VOTER, parseUnits("12000000", 18)]);
}

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
let account = VOTER;
let authorized = false;
const errors = [];
// The test wallet: the page's window.ethereum forwards to this function, which answers the account requests
// itself and sends everything else to anvil with `from` set to the current account.
await context.exposeBinding("__neuroWallet", async (_source, { method, params }) => {
  // Like a real wallet: no account for the site until the user connects (eth_requestAccounts).
  if (method === "eth_requestAccounts") authorized = true;
  if (method === "eth_requestAccounts" || method === "eth_accounts") return authorized ? [account] : [];
  if (method === "wallet_switchEthereumChain") return null;
  if (method === "eth_sendTransaction") params = [{ ...params[0], from: account }];
  try {
    return { result: await rpc(method, params ?? []) };
  } catch (e) {
    return { error: { code: e.code ?? -32603, message: e.message, data: e.data } };
  }
});
await context.addInitScript(() => {
  const listeners = {};
  window.ethereum = {
    isNeuroTestWallet: true,
    async request({ method, params }) {
      const answer = await window.__neuroWallet({ method, params });
      if (Array.isArray(answer) || answer === null) return answer;
      if (answer.error) throw Object.assign(new Error(answer.error.message), answer.error);
      return answer.result;
    },
    on(event, f) {
      (listeners[event] ??= []).push(f);
    },
    removeListener(event, f) {
      listeners[event] = (listeners[event] ?? []).filter((g) => g !== f);
    },
  };
});
const page = await context.newPage();
page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
const downloads = [];
page.on("download", (d) => downloads.push(d));
// A 404 is an answer (a node no validator reported on yet); a 400 is a request the app built wrong.
page.on("response", (r) => (r.status() === 400 || r.status() >= 500) && errors.push(`HTTP ${r.status()} for ${r.url()}`));

async function open(route, shot) {
  // A fresh load each time: going to the URL the page is already on would change nothing.
  await page.goto("about:blank");
  await page.goto(`${indexer}/#${route}`);
  await page.locator(".page").first().waitFor();
  await until(`page ${route} to load`, async () => !(await page.locator(".page").first().innerText()).startsWith("Loading"));
  const error = page.locator(".page .error");
  if ((await error.count()) > 0) throw new Error(`web e2e: page ${route} shows an error: ${await error.first().innerText()}`);
  if (shot) await page.screenshot({ path: join(shots, `${shot}.png`), fullPage: true });
}
async function connect() {
  await page.locator("#connect").click();
  await page.locator(".account").waitFor();
}
async function clickAndWait(selector, expectText) {
  await page.locator(selector).first().click();
  // The page clears its messages on click, then shows the outcome.
  await page.locator(".result .ok, .error").first().waitFor({ timeout: 60_000 });
  const error = page.locator(".error");
  if ((await error.count()) > 0) {
    const message = await error.first().innerText();
    throw new Error(`web e2e: ${selector}: ${message}${await whyReverted(message)}`);
  }
  if (expectText) check((await page.locator(".result .ok").first().innerText()).includes(expectText), `${selector}: no "${expectText}"`);
}
/** For a message naming a reverted transaction: anvil's trace of it (the call that failed, its error, gas). */
async function whyReverted(message) {
  const hash = message.match(/Transaction (0x[0-9a-fA-F]{64}) reverted/)?.[1];
  if (!hash) return "";
  try {
    const trace = await rpc("debug_traceTransaction", [hash, { tracer: "callTracer" }]);
    const failed = [];
    const walk = (frame, depth) => {
      if (frame.error) failed.push(`${"  ".repeat(depth)}${frame.to} ${frame.input.slice(0, 10)} gas ${BigInt(frame.gas)} used ${BigInt(frame.gasUsed)}: ${frame.error}${frame.revertReason ? ` (${frame.revertReason})` : ""}${frame.output ? ` ${frame.output.slice(0, 74)}` : ""}`);
      (frame.calls ?? []).forEach((c) => walk(c, depth + 1));
    };
    walk(trace, 0);
    return `\n  trace of the failed calls:\n${failed.join("\n")}`;
  } catch (e) {
    return ` (no trace: ${e.message})`;
  }
}
async function safeExport(selector) {
  const before = downloads.length;
  await page.locator(selector).click();
  const download = await until(`a download from ${selector}`, async () => downloads[before]);
  return JSON.parse(readFileSync(await download.path(), "utf8"));
}
async function text(testid) {
  return (await page.locator(`[data-testid="${testid}"]`).first().innerText()).trim();
}

try {
  // ---- every page loads, without a wallet
  const miner = (await api("miners?limit=1"))[0]?.address;
  const epoch = (await api("epochs?limit=1"))[0]?.epoch;
  const proposal = (await api("proposals?limit=1"))[0]?.id;
  const dispute = (await api("disputes?limit=1"))[0]?.id;
  const model = (await api("models?limit=1"))[0]?.id;
  const allowance = (await api("allowances?limit=1"))[0];
  const pages = [
    ["/", "supply"], ["/epochs", "epochs"], ["/fees", "fees"], ["/slashes", "slashes"], ["/miners", "miners"],
    ["/models", "models"], ["/validators", "validators"], ["/disputes", "disputes"], ["/proposals", "proposals"],
    ["/allowances", "allowances"], ["/delegate", null], ["/propose", null],
  ];
  if (allowance) pages.push([`/allowances/${allowance.digest}`, null]);
  if (miner) pages.push([`/miners/${miner}`, "miner"]);
  if (epoch !== undefined) pages.push([`/epochs/${epoch}`, "epoch"]);
  if (proposal) pages.push([`/proposals/${proposal}`, null]);
  if (dispute) pages.push([`/disputes/${dispute}`, "dispute"]);
  if (model) pages.push([`/models/${model}`, null]);
  for (const [route, shot] of pages) await open(route, shot);
  const supply = await api("supply");
  await open("/", null);
  check((await text("total-supply")).replace(/,/g, "").startsWith(BigInt(supply.totalSupply) / 10n ** 18n + ""), "supply page shows another total supply");
  if (dispute) {
    const opened = (await api("disputes?limit=1"))[0];
    const against = await api(`disputes?accused=${opened.accused}`);
    check(against.some((d) => d.id === opened.id), "the accused filter misses the dispute");
    check(against.every((d) => d.accused.toLowerCase() === opened.accused.toLowerCase()), "the accused filter lets others through");
    check((await api(`disputes?accused=${OTHER}`)).length === 0, "a node never accused has disputes");
  }
  if (allowance) {
    // The lock as the chain has it, at the indexer's block: the page shows the same figure.
    const { data: detail, block } = await (await fetch(`${indexer}/v1/allowances/${allowance.digest}`)).json();
    const lock = decodeFunctionResult({
      abi: paymentsAbi,
      functionName: "lockOf",
      data: await rpc("eth_call", [{ to: c.Payments, data: encodeFunctionData({ abi: paymentsAbi, functionName: "lockOf", args: [allowance.digest] }) }, `0x${block.number.toString(16)}`]),
    });
    check(lock.amount === BigInt(detail.locked), `allowance lock: indexer ${detail.locked}, chain ${lock.amount}`);
    await open(`/allowances/${allowance.digest}`, null);
    check((await text("locked")).replace(/,/g, "").startsWith(`${lock.amount / 10n ** 18n}`), "the allowance page shows another lock");
  }
  // A figure links to its block, whose page lists the transaction's events.
  const link = page.locator("a.tx").first();
  if (miner) {
    await open("/epochs", null);
    await link.click();
    await page.locator('[data-testid="tx"]').waitFor();
  }
  console.log(`web e2e: ${pages.length} pages load without errors`);

  // ---- stake and delegate (to someone else, then back to oneself)
  await open("/delegate", null);
  await connect();
  await open("/delegate", null);
  const stakedBefore = await call(c.StakingVault, abi("StakingVault"), "balanceOf", [VOTER]);
  const votes = whole(stakedBefore + parseUnits("12000000", 18));
  await page.locator("#stake-amount").fill("12000000");
  await clickAndWait("#stake", "Staked");
  check((await text("staked")) === votes, `staked shows ${await text("staked")}, not ${votes}`);
  if (stakedBefore === 0n) {
    check((await text("votes")) === votes, `votes after staking: ${await text("votes")} (a first stake delegates to itself)`);
  }
  await page.locator("#delegatee").fill(OTHER);
  await clickAndWait("#delegate", "delegated");
  check((await text("votes")) === "0", `votes after delegating away: ${await text("votes")}`);
  await clickAndWait("#delegate-self", "yourself");
  check((await text("votes")) === votes, `votes after delegating to oneself: ${await text("votes")}`);
  await page.screenshot({ path: join(shots, "delegate.png"), fullPage: true });
  console.log("web e2e: staked 12M NEURO, delegated away and back to oneself");

  // ---- a parameter change from its template: a value out of bounds is refused before anything is sent
  const oldDelay = await call(c.Payments, paymentsAbi, "withdrawalDelay");
  const newDelay = oldDelay === 7200n ? 7260n : 7200n;
  await open("/propose?kind=parameter&parameter=withdrawal-delay", null);
  await page.locator('input.param[name="newDelay"]').fill("1");
  await page.locator("#check").click();
  await page.locator(".error").waitFor();
  check((await page.locator(".error").innerText()).includes("below the minimum"), "an out-of-bounds value was not refused");
  await page.locator('input.param[name="newDelay"]').fill(String(newDelay));
  // Unique, as a proposal's id hashes its description: the test may run twice on one chain.
  await page.locator("#description").fill(`# Withdrawal delay to ${newDelay} s\n\nTested by the web e2e at ${Date.now()}.`);
  await page.screenshot({ path: join(shots, "propose.png"), fullPage: true });
  // Exported for a Safe first: one call to the Governor's propose, with the action and the description typed.
  const proposeBatch = validBatch(await safeExport("#safe-propose"), deployment.chainId);
  check(proposeBatch.length === 1 && proposeBatch[0].to.toLowerCase() === c.NeuroGovernor.toLowerCase(), "propose batch");
  const proposed = decodeFunctionData({ abi: governorAbi, data: proposeBatch[0].data });
  check(proposed.functionName === "propose", `propose batch calls ${proposed.functionName}`);
  const proposeArgs = proposed.args;
  check(proposeArgs[0][0].toLowerCase() === c.Payments.toLowerCase(), "the exported action targets another contract");
  const action = decodeFunctionData({ abi: paymentsAbi, data: proposeArgs[2][0] });
  check(action.functionName === "setWithdrawalDelay" && action.args[0] === newDelay, "the exported action is not the change typed");
  await page.locator("#submit").click();
  await page.waitForURL(/#\/proposals\/\d+/, { timeout: 60_000 });
  const id = page.url().split("/").pop();
  await page.locator('[data-testid="proposal-id"]').waitFor();
  console.log(`web e2e: proposal ${id} created from the template`);

  // ---- vote with a reason once voting opens; the tally changes
  await advance(Number(await call(c.NeuroGovernor, governorAbi, "votingDelay")) + 1);
  await indexedHead();
  await open(`/proposals/${id}`, null);
  check((await text("votes-for")) === "0", `votes for before voting: ${await text("votes-for")}`);
  await page.locator("textarea[name=reason]").fill("Slower withdrawals give disputes time to land.");
  await clickAndWait('.vote-button[data-support="1"]', "Vote cast");
  check((await text("votes-for")) === votes, `votes for after voting: ${await text("votes-for")}, not ${votes}`);
  check((await text("voters")) === "1", `voters: ${await text("voters")}`);
  check((await page.locator(".tally").innerText()).includes("reached"), "quorum not shown as reached");
  await page.screenshot({ path: join(shots, "proposal.png"), fullPage: true });
  const voteEvents = await api("events?contract=NeuroGovernor&name=VoteCast&limit=50");
  check(voteEvents.some((e) => e.args.reason === "Slower withdrawals give disputes time to land."), "the reason is not on chain");

  // ---- the Safe exports: the propose call exported before proposing holds exactly the proposal's calls, and a
  // vote export is the Governor's castVote for this proposal
  const details = await api(`proposals/${id}`);
  check(details.actions.length === proposeArgs[0].length, "the proposal has another number of calls than the export");
  details.actions.forEach((a, i) => {
    check(a.target.toLowerCase() === proposeArgs[0][i].toLowerCase(), `call ${i}: target`);
    check(BigInt(a.value) === proposeArgs[1][i] && a.calldata === proposeArgs[2][i], `call ${i}: value or calldata`);
  });
  check(details.description === proposeArgs[3], "the exported description differs");
  const voteBatch = validBatch(await safeExport("#safe-vote-for"), deployment.chainId);
  const v = decodeFunctionData({ abi: governorAbi, data: voteBatch[0].data });
  check(voteBatch[0].to.toLowerCase() === c.NeuroGovernor.toLowerCase(), "vote batch targets another contract");
  check(v.functionName === "castVote" && v.args[0] === BigInt(id) && v.args[1] === 1, "vote batch is not castVote(id, for)");

  // ---- queue, then execute after the timelock delay; the contract changed
  await advance(Number(await call(c.NeuroGovernor, governorAbi, "votingPeriod")) + 1);
  await indexedHead();
  await open(`/proposals/${id}`, null);
  const queueBatch = validBatch(await safeExport("#safe-queue"), deployment.chainId);
  const q = decodeFunctionData({ abi: governorAbi, data: queueBatch[0].data });
  check(queueBatch[0].to.toLowerCase() === c.NeuroGovernor.toLowerCase() && q.functionName === "queue" && q.args[0] === BigInt(id), "queue batch");
  await clickAndWait("#queue", "Queued");
  const timelockAbi = abi("NeuroTimelock");
  await advance(Number(await call(c.NeuroTimelock, timelockAbi, "getMinDelay")) + 1);
  await indexedHead();
  await open(`/proposals/${id}`, null);
  await clickAndWait("#execute", "Executed");
  check((await page.locator("h1 .badge").innerText()) === "Executed", "the proposal is not shown as executed");
  check((await call(c.Payments, paymentsAbi, "withdrawalDelay")) === newDelay, "withdrawalDelay did not change");
  console.log(`web e2e: voted with a reason, queued and executed: withdrawalDelay ${oldDelay} → ${newDelay}`);

  // ---- a treasury payment proposed, exported for the guardian's Safe, and cancelled by the guardian
  await open("/propose?kind=treasury", null);
  await page.locator("#recipient").fill(OTHER);
  await page.locator("#amount").fill("1000");
  await page.locator("#description").fill(`# Pay 1,000 NEURO to a contributor\n\n${Date.now()}`);
  await page.locator("#submit").click();
  await page.waitForURL((url) => url.hash.startsWith("#/proposals/") && !url.hash.endsWith(id), { timeout: 60_000 });
  const second = page.url().split("/").pop();
  await page.locator('[data-testid="proposal-id"]').waitFor();
  const cancelBatch = validBatch(await safeExport("#safe-cancel"), deployment.chainId);
  const cancel = decodeFunctionData({ abi: governorAbi, data: cancelBatch[0].data });
  check(cancel.functionName === "cancel" && cancel.args.length === 1 && cancel.args[0] === BigInt(second), "cancel batch");
  check(cancelBatch[0].to.toLowerCase() === c.NeuroGovernor.toLowerCase(), "cancel batch targets another contract");
  // Not the guardian: the cancel reverts and the page says why. (While the proposal is Pending its proposer may
  // cancel it, and this account proposed it: voting must have opened first.)
  await advance(Number(await call(c.NeuroGovernor, governorAbi, "votingDelay")) + 1);
  await indexedHead();
  await open(`/proposals/${second}`, null);
  await page.locator("#cancel").click();
  await page.locator(".error").waitFor({ timeout: 60_000 });
  account = (await call(c.NeuroGovernor, governorAbi, "proposalGuardian")) === BigInt(DEPLOYER) ? DEPLOYER : account;
  check(account === DEPLOYER, "the devnet's guardian is not the deployer");
  await open(`/proposals/${second}`, null);
  check((await page.locator(".account").getAttribute("title")) === DEPLOYER, "the wallet did not reconnect as the guardian");
  await clickAndWait("#cancel", "Canceled");
  check((await page.locator("h1 .badge").innerText()) === "Canceled", "the proposal is not shown as canceled");
  const state = await call(c.NeuroGovernor, governorAbi, "state", [BigInt(second)]);
  check(state === 2n, `Governor.state is ${state}, not Canceled`);
  console.log(`web e2e: proposal ${second} exported for the guardian's Safe and cancelled by the guardian`);

  check(errors.length === 0, `the browser reported errors:\n${errors.join("\n")}`);
  console.log(`web e2e passed (screenshots in ${shots})`);
} catch (e) {
  await page.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => {});
  console.error(e instanceof Error ? e.message : e);
  if (errors.length) console.error(errors.join("\n"));
  process.exitCode = 1;
} finally {
  await browser.close();
}
