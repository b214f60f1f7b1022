// Formatting of chain figures: wei amounts, basis points, times, addresses, and links to their block and tx.
import { formatUnits } from "viem";
import { html, type Html } from "./html";

/** A wei amount (decimal string or bigint) as NEURO with up to `digits` decimals and thousands separators. */
export function neuro(wei: string | bigint | undefined | null, digits = 4): string {
  if (wei === undefined || wei === null || wei === "") return "–";
  const text = formatUnits(BigInt(wei), 18);
  const [whole, fraction = ""] = text.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const cut = fraction.slice(0, digits).replace(/0+$/, "");
  return cut ? `${grouped}.${cut}` : grouped;
}

export function integer(value: string | number | bigint | undefined | null): string {
  if (value === undefined || value === null || value === "") return "–";
  return BigInt(value).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

export function bps(value: number | string | bigint): string {
  return `${(Number(value) / 100).toFixed(2).replace(/\.?0+$/, "")}%`;
}

export function percent(part: bigint, whole: bigint): string {
  if (whole === 0n) return "–";
  return `${(Number((part * 10000n) / whole) / 100).toFixed(2)}%`;
}

export function time(unixSeconds: string | number | bigint | undefined): string {
  if (unixSeconds === undefined) return "–";
  const ms = Number(unixSeconds) * 1000;
  // Dates past year 275760 do not exist in JavaScript: an expiry of 2^64 - 1 means "never".
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return "never";
  const date = new Date(ms);
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

export function short(hex: string): string {
  return hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-6)}` : hex;
}

export function address(a: string): Html {
  return html`<a class="mono" href="#/miners/${a}" title="${a}">${short(a)}</a>`;
}

/** What the indexer calls a TxRef: where an event happened. */
export interface TxRef {
  blockNumber: number;
  transactionHash: string;
  logIndex: number;
}

/** A link to the block's events, with the transaction highlighted. */
export function txLink(ref: TxRef | undefined | null): Html {
  if (!ref) return html`–`;
  const { blockNumber: block, transactionHash: tx } = ref;
  return html`<a class="mono tx" href="#/block/${block}?tx=${tx}" title="block ${block}, tx ${tx}">#${block} · ${short(tx)}</a>`;
}

export function blockLink(block: number): Html {
  return html`<a class="mono" href="#/block/${block}">#${block}</a>`;
}
