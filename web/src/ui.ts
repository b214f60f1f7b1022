// Shared page plumbing: the page type, error boxes, tables, pagination and action buttons.
import { html, mount, type Html } from "./html";

/** A page renders into `main`; `params` are the route's captures, `query` the fragment's query string. */
export type Page = (main: HTMLElement, params: string[], query: URLSearchParams) => Promise<void>;

export interface Route {
  pattern: RegExp;
  page: Page;
}

let rerender: () => Promise<void> = async () => {};

export function setRerender(f: () => Promise<void>): void {
  rerender = f;
}

/** Renders the current page again (after a transaction, so the indexer's new figures show). */
export function refresh(): Promise<void> {
  return rerender();
}

export function showError(target: Element | null, e: unknown): void {
  if (!target) return;
  const box = document.createElement("p");
  box.className = "error";
  box.setAttribute("role", "alert");
  box.textContent = e instanceof Error ? e.message : String(e);
  target.prepend(box);
}

export function table(headers: string[], rows: Html[][], empty = "Nothing yet."): Html {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<table>
    <thead><tr>${headers.map((h) => html`<th>${h}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`)}</tbody>
  </table>`;
}

/** A "next page" link keeping the route and replacing its cursor. */
export function nextLink(path: string, next: string | undefined): Html {
  return next ? html`<p><a class="next" href="#${path}?cursor=${encodeURIComponent(next)}">Older →</a></p>` : html``;
}

/** Runs `action` when the button with `id` is clicked, showing progress, then the result or the error. */
export function onClick(root: Element, selector: string, action: (button: HTMLButtonElement) => Promise<string | void>): void {
  root.querySelectorAll<HTMLButtonElement>(selector).forEach((button) =>
    button.addEventListener("click", async () => {
      const label = button.textContent;
      // Looked up after the action: it may have re-rendered the page.
      const out = () => document.querySelector("#app .result") ?? root;
      button.disabled = true;
      button.textContent = "Waiting for the wallet…";
      document.querySelectorAll("#app .error, #app .result > .ok").forEach((e) => e.remove());
      try {
        const message = await action(button);
        if (message) {
          const p = document.createElement("p");
          p.className = "ok";
          p.setAttribute("role", "status");
          p.textContent = message;
          out().prepend(p);
        }
      } catch (e) {
        showError(out(), e);
      } finally {
        button.disabled = false;
        button.textContent = label;
      }
    }),
  );
}

export function section(title: string, body: Html): Html {
  return html`<section><h2>${title}</h2>${body}</section>`;
}

export function render(main: HTMLElement, content: Html): void {
  mount(main, content);
}

/** Waits until the indexer has reached `block` (it follows the chain a poll interval behind). */
export async function indexed(block: bigint, get: (path: string) => Promise<{ block: { number: number } }>): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const { block: b } = await get("status");
    if (BigInt(b.number) >= block) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}
