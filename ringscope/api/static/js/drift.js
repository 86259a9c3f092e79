// The drift panel: what the served snapshot looks like and how the input changed over the
// published snapshots (GET /v1/stats), so an operator sees a jump in rejects, a layer going
// silent or the score distribution sliding before investigators feel it in the queue.

import { endpoints } from "./api.js";
import { card, fmtInt, fmtScore, fmtTs, h, layerChip, replace, svg } from "./dom.js";

const STATUSES = ["new", "same", "grew", "shrank", "split", "merged"];
const HIST_WIDTH = 360;
const HIST_HEIGHT = 120;
const HIST_PAD = 18;
// What counts as a change worth a chip between two consecutive snapshots.
const REJECT_JUMP = 2; // reject rate at least doubled ...
const REJECT_FLOOR = 0.01; // ... and up by at least a point
const MEDIAN_SHIFT = 0.1; // median cluster score moved this much

const fmtPct = (x) => (x === null || x === undefined ? "–" : `${(100 * Number(x)).toFixed(2)}%`);

const stat = (label, value, id) => h("div.stat", { id }, h("span.label", null, label), h("span.value", null, value));

const table = (head, rows) =>
  h(
    "div.table-wrap",
    null,
    h(
      "table",
      null,
      h("thead", null, h("tr", null, head.map(([label, cls]) => h(cls ? `th.${cls}` : "th", null, label)))),
      h("tbody", null, rows),
    ),
  );

const pairsByLayer = (summary) => Object.fromEntries((summary.evidence || []).map((e) => [e.layer, e.pairs]));

/**
 * What moved from `older` to `newer` that an operator should look at.
 * @returns {string[]} short notes, empty when nothing crossed a threshold.
 */
function changes(newer, older) {
  if (!older) return [];
  const notes = [];
  const rate = newer.run.reject_rate;
  const before = older.run.reject_rate;
  if (rate >= REJECT_JUMP * before && rate - before >= REJECT_FLOOR) notes.push(`rejects ${fmtPct(before)} → ${fmtPct(rate)}`);
  const then = pairsByLayer(older);
  const now = pairsByLayer(newer);
  for (const [layer, pairs] of Object.entries(then)) if (pairs > 0 && !now[layer]) notes.push(`${layer} went silent`);
  for (const layer of Object.keys(now)) if (!(layer in then)) notes.push(`${layer} appeared`);
  const median = newer.scores.quantiles.p50;
  const previous = older.scores.quantiles.p50;
  if (median !== null && previous !== null && Math.abs(median - previous) >= MEDIAN_SHIFT) {
    notes.push(`median score ${fmtScore(previous)} → ${fmtScore(median)}`);
  }
  return notes;
}

function historyCard(history) {
  const rows = history.map((s, i) => {
    const notes = changes(s, history[i + 1]);
    const churn = STATUSES.filter((st) => s.churn[st]).map((st) => `${st} ${fmtInt(s.churn[st])}`);
    return h(
      "tr",
      { "data-snapshot": s.snapshot_id, class: notes.length ? "drifted" : null },
      h("td", null, fmtTs(s.created_at)),
      h("td.mono", null, s.snapshot_id),
      h("td.num", null, fmtInt(s.run.events)),
      h("td.num", null, `${fmtInt(s.run.rejected)} (${fmtPct(s.run.reject_rate)})`),
      h("td.num", null, fmtInt(s.scores.clusters)),
      h("td.num", null, fmtInt(s.scores.flagged)),
      h("td.num", null, `${fmtScore(s.scores.quantiles.p50)} / ${fmtScore(s.scores.quantiles.p90)}`),
      h("td.muted", null, churn.join(", ") || "–"),
      h("td", null, h("div.chips", null, notes.map((n) => h("span.chip.drift-note", { style: { "--chip": "#d97706" } }, n)))),
    );
  });
  return card(
    "Snapshots over time",
    { id: "drift-history", actions: [h("span.muted", null, `${fmtInt(history.length)} newest, newest first`)] },
    history.length
      ? table(
          [
            ["Published"],
            ["Snapshot"],
            ["Events", "num"],
            ["Rejected", "num"],
            ["Clusters", "num"],
            ["Flagged", "num"],
            ["Score p50 / p90", "num"],
            ["Churn"],
            ["Changed"],
          ],
          rows,
        )
      : h("div.empty", null, "No published snapshots to compare."),
  );
}

function histogram(scores) {
  const bins = scores.histogram;
  const peak = Math.max(1, ...bins.map((b) => b.clusters));
  const width = (HIST_WIDTH - 2 * HIST_PAD) / bins.length;
  const bars = bins.map((b, i) => {
    const height = (b.clusters / peak) * (HIST_HEIGHT - 2 * HIST_PAD);
    return svg(
      "rect",
      {
        class: "hist-bar",
        x: (HIST_PAD + i * width + 1).toFixed(1),
        y: (HIST_HEIGHT - HIST_PAD - height).toFixed(1),
        width: (width - 2).toFixed(1),
        height: height.toFixed(1),
        "data-clusters": b.clusters,
      },
      svg("title", null, `score ${b.low.toFixed(1)}–${b.high.toFixed(1)}: ${fmtInt(b.clusters)} clusters`),
    );
  });
  const axis = [0, 0.5, 1].map((x) =>
    svg("text", { class: "hist-axis", x: HIST_PAD + x * (HIST_WIDTH - 2 * HIST_PAD), y: HIST_HEIGHT - 4 }, x.toFixed(1)),
  );
  return svg(
    "svg",
    { class: "histogram", viewBox: `0 0 ${HIST_WIDTH} ${HIST_HEIGHT}`, role: "img" },
    svg("title", null, "clusters per score bin"),
    ...bars,
    ...axis,
  );
}

function scoresCard(scores) {
  const quantiles = Object.entries(scores.quantiles).map(([q, v]) => h("div.stat", null, h("span.label", null, q), h("span.value", null, fmtScore(v))));
  return card(
    "Cluster scores",
    { id: "drift-scores" },
    h("div.card-body", null, scores.clusters ? histogram(scores) : h("div.empty", null, "No clusters."), h("div.stats.quantiles", null, quantiles)),
  );
}

function evidenceCard(current, previous) {
  const before = previous ? pairsByLayer(previous) : {};
  const layers = new Set([...(current.evidence || []).map((e) => e.layer), ...Object.keys(before)]);
  const now = Object.fromEntries((current.evidence || []).map((e) => [e.layer, e]));
  const rows = [...layers].sort().map((layer) => {
    const e = now[layer] || { pairs: 0, items: 0 };
    const was = before[layer];
    const delta = was === undefined ? "new" : was ? `${e.pairs >= was ? "+" : ""}${(100 * (e.pairs / was - 1)).toFixed(0)}%` : "–";
    return h(
      "tr",
      { "data-layer": layer },
      h("td", null, layerChip(layer)),
      h("td.num", null, fmtInt(e.pairs)),
      h("td.num", null, fmtInt(e.items)),
      h("td.num", null, was === undefined ? "–" : fmtInt(was)),
      h("td.num", null, previous ? delta : "–"),
    );
  });
  return card(
    "Evidence per layer",
    { id: "drift-evidence" },
    rows.length
      ? table([["Layer"], ["Pairs", "num"], ["Items", "num"], ["Pairs before", "num"], ["Change", "num"]], rows)
      : h("div.empty", null, "No coordination evidence in this snapshot."),
  );
}

function churnCard(churn) {
  return card(
    "Cluster churn since the previous snapshot",
    { id: "drift-churn" },
    h("div.card-body.stats", null, STATUSES.map((st) => stat(st, fmtInt(churn[st] || 0), `churn-${st}`))),
  );
}

function streamCard(stream) {
  if (!stream) return null;
  const last = stream.last_batch;
  return card(
    "Stream",
    { id: "drift-stream" },
    h(
      "div.card-body.stats",
      null,
      stat("Logged events", fmtInt(stream.log_events)),
      stat("Backlog", fmtInt(stream.backlog)),
      stat("Lag", `${Number(stream.lag_s).toFixed(1)} s`),
      stat("Posted rejects", fmtInt(stream.posted_rejects)),
      stat("Last batch", last ? `${Number(last.seconds).toFixed(1)} s${last.ok ? "" : " (failed)"}` : "–"),
    ),
  );
}

/**
 * Render the drift panel into `view`.
 * @param {HTMLElement} view
 * @param {{signal: AbortSignal, setSnapshot: Function}} ctx
 */
export async function renderDrift(view, ctx) {
  replace(view, h("div.loading", null, "Loading statistics…"));
  const stats = await endpoints.stats({ history: 20 }, ctx.signal);
  ctx.setSnapshot(stats.snapshot_id);
  const history = stats.history || [];
  const previous = history.find((s) => s.snapshot_id !== stats.snapshot_id && s.created_at < stats.created_at);
  replace(
    view,
    h(
      "div.page-head",
      null,
      h("h1", null, "Input drift"),
      h("span.sub", null, `snapshot ${stats.snapshot_id}, published ${fmtTs(stats.created_at)}`),
      h(
        "div.stats",
        null,
        stat("Events", fmtInt(stats.run.events), "stat-events"),
        stat("Reject rate", fmtPct(stats.run.reject_rate), "stat-reject-rate"),
        stat("Clusters", fmtInt(stats.scores.clusters), "stat-clusters"),
        stat("Flagged", fmtInt(stats.scores.flagged), "stat-flagged"),
      ),
    ),
    h(
      "div.grid",
      null,
      h("div.stack", null, historyCard(history), evidenceCard(stats, previous)),
      h("div.stack", null, scoresCard(stats.scores), churnCard(stats.churn), streamCard(stats.stream)),
    ),
  );
  return null;
}
