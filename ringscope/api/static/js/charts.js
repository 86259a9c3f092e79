// Inline SVG charts: the cluster's activity timeline as a sparkline.

import { fmtDay, fmtInt, fmtTs, h, svg } from "./dom.js";

const WIDTH = 340;
const HEIGHT = 64;
const PAD = 4;
const MAX_DOTS = 45;
const WINDOW_BUCKETS = 60;
const DAY_MS = 86_400_000;

/**
 * The most recent WINDOW_BUCKETS buckets as an evenly spaced series, empty buckets filled
 * with zero. The API lists only buckets with events, and rings often go quiet for months
 * and then burst; spacing by time keeps the burst honest, and older activity is summed
 * into `earlier` instead of squashing the recent window.
 */
function recentSeries(buckets) {
  const points = buckets
    .map((b) => [Date.parse(b.bucket_start), Number(b.events) || 0])
    .filter(([t]) => Number.isFinite(t))
    .sort((a, b) => a[0] - b[0]);
  let step = Infinity;
  for (let i = 1; i < points.length; i += 1) step = Math.min(step, points[i][0] - points[i - 1][0]);
  if (!Number.isFinite(step) || step <= 0) step = DAY_MS;
  const last = points[points.length - 1][0];
  const start = Math.max(points[0][0], last - (WINDOW_BUCKETS - 1) * step);
  const series = Array.from({ length: Math.round((last - start) / step) + 1 }, (_, i) => ({
    t: start + i * step,
    events: 0,
  }));
  let earlier = 0;
  for (const [t, events] of points) {
    if (t < start) earlier += events;
    else series[Math.round((t - start) / step)].events += events;
  }
  return { series, earlier, since: points[0][0] };
}

const iso = (t) => new Date(t).toISOString();

/**
 * Events per time bucket as an area sparkline; hovering a bucket shows its count.
 * @param {Array<{bucket_start: string, events: number}>} buckets - buckets with events.
 * @returns {HTMLElement}
 */
export function sparkline(buckets) {
  if (!buckets.length) return h("div.empty", null, "No activity recorded.");
  const { series, earlier, since } = recentSeries(buckets);
  const counts = series.map((b) => b.events);
  const peak = Math.max(1, ...counts);
  const step = series.length > 1 ? (WIDTH - 2 * PAD) / (series.length - 1) : 0;
  const x = (i) => (series.length > 1 ? PAD + i * step : WIDTH / 2);
  const y = (v) => HEIGHT - PAD - (v / peak) * (HEIGHT - 2 * PAD);
  const line = counts.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const area = `${x(0).toFixed(1)},${HEIGHT - PAD} ${line} ${x(counts.length - 1).toFixed(1)},${HEIGHT - PAD}`;
  const hitWidth = Math.max(step, 4);

  const chart = svg(
    "svg",
    { class: "sparkline", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: "none", role: "img" },
    svg("title", null, `events per bucket, peak ${peak}`),
    svg("polygon", { class: "area", points: area }),
    svg("polyline", { class: "line", points: line }),
    ...(series.length <= MAX_DOTS
      ? counts.map((v, i) => svg("circle", { class: "dot", cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 2.5 }))
      : []),
    ...series.map((b, i) =>
      svg(
        "rect",
        { class: "hit", x: (x(i) - hitWidth / 2).toFixed(1), y: 0, width: hitWidth.toFixed(1), height: HEIGHT },
        svg("title", null, `${fmtTs(iso(b.t))}: ${fmtInt(counts[i])} events`),
      ),
    ),
  );
  const total = counts.reduce((a, b) => a + b, 0);
  return h(
    "div",
    null,
    chart,
    h(
      "div.spark-axis",
      null,
      h("span", null, fmtDay(iso(series[0].t))),
      h("span", null, `${fmtInt(total)} events · peak ${fmtInt(peak)}`),
      h("span", null, fmtDay(iso(series[series.length - 1].t))),
    ),
    earlier > 0
      ? h("div.spark-axis", null, h("span", null, `and ${fmtInt(earlier)} earlier events since ${fmtDay(iso(since))}`))
      : null,
  );
}
