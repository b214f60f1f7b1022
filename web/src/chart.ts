// A small SVG line chart (no chart library: a few lines of geometry beat 200 kB of dependencies here). Presentation
// attributes only, so the page's content security policy needs no inline styles.
import { html, type Html } from "./html";

export interface Series {
  label: string;
  className: string;
  points: bigint[];
}

export function lineChart(xs: number[], series: Series[], formatY: (v: bigint) => string, xLabel: string): Html {
  const width = 720;
  const height = 260;
  const pad = { left: 90, right: 16, top: 12, bottom: 36 };
  const max = series.flatMap((s) => s.points).reduce((m, v) => (v > m ? v : m), 0n);
  if (xs.length < 2 || max === 0n) return html`<p class="muted">Not enough finalized epochs to chart yet.</p>`;
  const [x0, x1] = [xs[0], xs[xs.length - 1]];
  const sx = (x: number) => pad.left + ((x - x0) / Math.max(1, x1 - x0)) * (width - pad.left - pad.right);
  // Scaled in bigint then to number: wei values exceed a double's exact range.
  const sy = (v: bigint) => pad.top + (1 - Number((v * 10000n) / max) / 10000) * (height - pad.top - pad.bottom);
  const ticks = [0n, max / 2n, max];
  return html`<figure class="chart">
    <svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${series.map((s) => s.label).join(", ")} by ${xLabel}">
      ${ticks.map(
        (t) => html`<line x1="${pad.left}" x2="${width - pad.right}" y1="${sy(t)}" y2="${sy(t)}" class="grid" />
          <text x="${pad.left - 6}" y="${sy(t) + 4}" text-anchor="end" class="axis">${formatY(t)}</text>`,
      )}
      <text x="${pad.left}" y="${height - 8}" class="axis">${xLabel} ${x0}</text>
      <text x="${width - pad.right}" y="${height - 8}" text-anchor="end" class="axis">${x1}</text>
      ${series.map(
        (s) => html`<polyline class="line ${s.className}" fill="none"
          points="${s.points.map((v, i) => `${sx(xs[i]).toFixed(1)},${sy(v).toFixed(1)}`).join(" ")}" />`,
      )}
    </svg>
    <figcaption>${series.map((s) => html`<span class="key ${s.className}">${s.label}</span>`)}</figcaption>
  </figure>`;
}
