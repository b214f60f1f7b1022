// The app shell: navigation, the wallet button, the indexer's status line, and a router on the URL's fragment
// (so the indexer serves one file and every page is a link that works without a server round trip).
import "./style.css";
import { get, type Status } from "./api";
import { html, mount, type Html } from "./html";
import { short } from "./format";
import { connect, current, onWalletChange } from "./wallet";
import { type Route, setRerender, showError } from "./ui";
import { auditPages } from "./pages/audit";
import { governancePages } from "./pages/governance";
import { participantPages } from "./pages/participants";

const routes: Route[] = [...auditPages, ...participantPages, ...governancePages];

const NAV: [string, string][] = [
  ["#/", "Supply"],
  ["#/epochs", "Epochs"],
  ["#/miners", "Miners"],
  ["#/models", "Models"],
  ["#/fees", "Fees"],
  ["#/slashes", "Slashes"],
  ["#/validators", "Validators"],
  ["#/disputes", "Disputes"],
  ["#/proposals", "Proposals"],
  ["#/delegate", "Stake & delegate"],
  ["#/propose", "New proposal"],
];

function renderNav(path: string): void {
  const nav = document.getElementById("nav");
  if (!nav) return;
  const active = (href: string) => (href === "#/" ? path === "/" : path.startsWith(href.slice(1)));
  mount(nav, html`${NAV.map(([href, label]) => html`<a href="${href}" class="${active(href) ? "active" : ""}">${label}</a>`)}`);
}

function renderWallet(): void {
  const box = document.getElementById("wallet");
  if (!box) return;
  const c = current();
  if (c) {
    mount(box, html`<span class="account mono" title="${c.account}">${short(c.account)}</span>`);
    return;
  }
  mount(box, html`<button id="connect" class="secondary">Connect wallet</button>`);
  box.querySelector("#connect")?.addEventListener("click", async () => {
    try {
      await connect();
      renderWallet();
      route();
    } catch (e) {
      showError(document.getElementById("app"), e);
    }
  });
}

async function renderStatus(): Promise<void> {
  const footer = document.getElementById("status");
  if (!footer) return;
  try {
    const { data } = await get<Status>("status");
    const lag = data.lag > 0 ? `, ${data.lag} block(s) behind` : "";
    const text: Html = html`Indexed to block <a href="#/block/${data.indexedHead}">#${data.indexedHead}</a> of
      chain ${data.chainId} (finalized #${data.chainFinalized}${lag}).
      ${data.notReady ? html`<span class="warn">Not ready: ${data.notReady}</span>` : ""} Every figure links to
      the block and transaction that produced it. <a href="/openapi.json">API</a>`;
    mount(footer, text);
  } catch (e) {
    footer.textContent = `The indexer is unreachable: ${e instanceof Error ? e.message : e}`;
  }
}

let generation = 0;

async function route(): Promise<void> {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, queryText = ""] = hash.split("?");
  renderNav(path);
  const main = document.getElementById("app");
  if (!main) return;
  const mine = ++generation;
  for (const { pattern, page } of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    const container = document.createElement("div");
    container.className = "page";
    mount(container, html`<p class="muted">Loading…</p>`);
    main.replaceChildren(container);
    try {
      await page(container, match.slice(1).map(decodeURIComponent), new URLSearchParams(queryText));
    } catch (e) {
      if (mine === generation) {
        container.replaceChildren();
        showError(container, e);
      }
    }
    return;
  }
  mount(main, html`<h1>Not found</h1><p>No page at <code>${path}</code>. <a href="#/">Home</a></p>`);
}

setRerender(route);

window.addEventListener("hashchange", () => void route());
onWalletChange(() => {
  renderWallet();
  void route();
});
renderWallet();
// A wallet that already granted this site an account reconnects without asking (eth_accounts never prompts).
void (async () => {
  const accounts = (await window.ethereum?.request({ method: "eth_accounts" }).catch(() => [])) ?? [];
  if (accounts.length > 0 && !current()) await connect().catch(() => undefined);
})().finally(() => void route());
void renderStatus();
setInterval(() => void renderStatus(), 15_000);
