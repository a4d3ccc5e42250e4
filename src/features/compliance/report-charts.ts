import { html, type Html } from './report-html';

const DAY_MS = 86_400_000;
/** More days than this are drawn as buckets of several days, so a bar stays wide enough to see and print. */
export const MAX_BARS = 92;

const dayOf = (iso: string) => Math.floor(Date.parse(iso) / DAY_MS);
const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
const fmt = (n: number) => n.toLocaleString('en-US');

export interface Bar {
  /** First UTC day of the bar (YYYY-MM-DD). */
  from: string;
  /** Last UTC day of the bar. */
  to: string;
  count: number;
}

/**
 * Every UTC day from `since` to `until` (both ISO instants) as bars, zero where the series has no entry,
 * grouped into buckets of ceil(days / MAX_BARS) days when the window is long. Pure, so the chart's figures
 * are tested without a browser: the bars' counts always sum to the series' total.
 */
export function dailyBars(series: Record<string, number>, since: string, until: string): { bars: Bar[]; bucketDays: number } {
  const first = dayOf(since);
  const last = dayOf(until);
  const days = last - first + 1;
  const bucketDays = Math.max(1, Math.ceil(days / MAX_BARS));
  const bars: Bar[] = [];
  for (let start = first; start <= last; start += bucketDays) {
    const end = Math.min(last, start + bucketDays - 1);
    let count = 0;
    for (let d = start; d <= end; d++) count += series[isoDay(d)] ?? 0;
    bars.push({ from: isoDay(start), to: isoDay(end), count });
  }
  return { bars, bucketDays };
}

/**
 * A bar chart of a per-day series as inline SVG (drawn here: no script, no library, no external resource),
 * with its total, its largest bar and its first and last day written out so the printed page stays
 * readable in black and white. Each bar carries its day and count (`data-from`, `data-count`) and a title.
 */
export function dailyBarChart(p: { id: string; label: string; series: Record<string, number>; since: string; until: string }): Html {
  const { bars, bucketDays } = dailyBars(p.series, p.since, p.until);
  const total = bars.reduce((a, b) => a + b.count, 0);
  const max = Math.max(1, ...bars.map((b) => b.count));
  const width = 720;
  const height = 150;
  const left = 36;
  const top = 8;
  const plotW = width - left - 4;
  const plotH = height - top - 22;
  const step = plotW / bars.length;
  const barW = Math.max(1, step * 0.8);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const per = bucketDays === 1 ? 'per day' : `per ${bucketDays} days`;
  const rects = bars.map((b, i) => {
    const h = (b.count / max) * plotH;
    const x = left + i * step + (step - barW) / 2;
    const when = b.from === b.to ? b.from : `${b.from} – ${b.to}`;
    return html`<rect class="bar${b.count > 0 ? '' : ' zero'}" x="${x.toFixed(2)}" y="${(top + plotH - h).toFixed(2)}" width="${barW.toFixed(2)}" height="${h.toFixed(2)}" data-from="${b.from}" data-to="${b.to}" data-count="${b.count}"><title>${when}: ${fmt(b.count)}</title></rect>`;
  });
  return html`<figure class="chart" id="${p.id}" data-total="${total}" data-bucket-days="${bucketDays}">
<figcaption>${p.label} ${per} — total <strong data-chart-total>${fmt(total)}</strong>, largest ${fmt(Math.max(0, ...bars.map((b) => b.count)))}</figcaption>
<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${p.label} ${per}, total ${total}">
<line class="axis" x1="${left}" y1="${top + plotH}" x2="${width - 4}" y2="${top + plotH}"/>
<line class="grid" x1="${left}" y1="${y(max)}" x2="${width - 4}" y2="${y(max)}"/>
<text class="tick" x="${left - 4}" y="${y(max) + 4}" text-anchor="end">${fmt(max)}</text>
<text class="tick" x="${left - 4}" y="${top + plotH + 4}" text-anchor="end">0</text>
${rects}
<text class="tick" x="${left}" y="${height - 4}">${bars[0]?.from ?? ''}</text>
<text class="tick" x="${width - 4}" y="${height - 4}" text-anchor="end">${bars.at(-1)?.to ?? ''}</text>
</svg>
</figure>`;
}

/**
 * A key's oldest ciphertext age against its cryptoperiod, as a small horizontal bar: the bar is the age,
 * the mark is the cryptoperiod, both on one scale (`scaleDays`, the largest of either over the listed keys).
 */
export function keyAgeBar(p: { ageDays: number | null; cryptoperiodDays: number | null; scaleDays: number }): Html {
  const width = 220;
  const height = 14;
  const scale = (d: number) => Math.min(width, (d / Math.max(1, p.scaleDays)) * width);
  const over = p.ageDays !== null && p.cryptoperiodDays !== null && p.ageDays > p.cryptoperiodDays;
  const label = `oldest ciphertext ${p.ageDays === null ? 'none' : `${p.ageDays} days`}, cryptoperiod ${p.cryptoperiodDays === null ? 'none' : `${p.cryptoperiodDays} days`}`;
  return html`<svg class="age" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${label}">
<rect class="track" x="0" y="3" width="${width}" height="8"/>
${p.ageDays !== null && html`<rect class="${over ? 'age-bar over' : 'age-bar'}" x="0" y="3" width="${scale(p.ageDays).toFixed(2)}" height="8"/>`}
${p.cryptoperiodDays !== null && html`<rect class="period" x="${Math.max(0, scale(p.cryptoperiodDays) - 1).toFixed(2)}" y="0" width="2" height="${height}"/>`}
</svg>`;
}
