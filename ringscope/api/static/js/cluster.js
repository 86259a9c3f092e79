// One cluster: header, ring graph with an actor side panel, score breakdown, verdict
// buttons and history, activity timeline, evidence and members.

import { endpoints } from "./api.js";
import { sparkline } from "./charts.js";
import {
  card,
  fmtInt,
  fmtScore,
  fmtSpan,
  fmtTs,
  h,
  knownBadBadge,
  layerChip,
  lineageChip,
  replace,
  reviewChip,
  RISK_GRADIENT,
  riskColor,
  scoreBar,
  verdictChip,
} from "./dom.js";
import { drawGraph, graphPng, relayout, selectInGraph } from "./graph.js";

const MEMBERS_PAGE = 50;
const GRAPH_MAX_NODES = 200;
const NEIGHBOURS_SHOWN = 30;
const NOTE_LIMIT = 2000;
const FAMILY_ORDER = ["abuse", "coordination"];
const FAMILY_COLORS = { abuse: "#e4572e", coordination: "#2f6fdf" };
const VERDICTS = [
  ["confirmed", "Confirm", "btn-confirm", "verdict-confirm"],
  ["dismissed", "Dismiss", "btn-dismiss", "verdict-dismiss"],
  ["needs_more_info", "Needs more info", "btn-more", "verdict-more"],
];

// ---------- score breakdown ----------

function signalsCard(detail) {
  const families = new Map();
  for (const signal of detail.signals || []) {
    if (!families.has(signal.family)) families.set(signal.family, []);
    families.get(signal.family).push(signal);
  }
  const order = [...families.keys()].sort((a, b) => {
    const ia = FAMILY_ORDER.indexOf(a);
    const ib = FAMILY_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  const body = order.map((family) =>
    h(
      "div.family",
      null,
      h("h3", null, family),
      families
        .get(family)
        .sort((a, b) => b.contribution - a.contribution)
        .map((s) =>
          h(
            "div.signal",
            {
              title: `${s.name}: value ${fmtScore(s.value)} × weight ${fmtScore(s.weight)} = contribution ${Number(s.contribution).toFixed(3)}`,
              dataset: { signal: s.name },
            },
            h("span.name", null, s.name),
            scoreBar(s.value, { color: FAMILY_COLORS[family] || "#6b7280" }),
            h("span.contrib", null, `+${Number(s.contribution).toFixed(3)}`),
          ),
        ),
    ),
  );
  return card(
    "Score breakdown",
    { id: "signals", actions: [h("span.bar-value", { style: { color: riskColor(detail.score) } }, fmtScore(detail.score))] },
    h(
      "div.card-body.signals",
      null,
      body.length ? body : h("div.empty", null, "No signals recorded."),
      h("div.signal-legend", null, "Bar: signal value in [0, 1]. Right: its weighted contribution to its family."),
    ),
  );
}

// ---------- learned ranker ----------

const LEARNED_SHOWN = 12;

function learnedCard(detail) {
  const learned = detail.learned;
  if (!learned) {
    return card(
      "Learned ranker",
      { id: "learned" },
      h("div.card-body.muted", null, "Not used in this snapshot: too few confirmed and dismissed verdicts yet. The score is the prior score."),
    );
  }
  const rows = learned.contributions.slice(0, LEARNED_SHOWN).map((c) =>
    h(
      "div.signal",
      { dataset: { feature: c.feature }, title: `${c.feature} = ${Number(c.value).toFixed(3)}: ${c.contribution >= 0 ? "+" : ""}${c.contribution.toFixed(3)} log-odds` },
      h("span.name", null, c.feature),
      h("span.muted", null, Number(c.value).toFixed(2)),
      h("span.contrib", { style: { color: c.contribution >= 0 ? "#d62828" : "#2f855a" } }, `${c.contribution >= 0 ? "+" : ""}${c.contribution.toFixed(3)}`),
    ),
  );
  return card(
    "Learned ranker",
    { id: "learned", actions: [h("span.bar-value", null, fmtScore(learned.learned_score))] },
    h(
      "div.card-body.signals",
      null,
      h(
        "p",
        null,
        `Score ${fmtScore(detail.score)} = ${fmtScore(1 - learned.weight)} × prior ${fmtScore(learned.prior_score)} + ${fmtScore(learned.weight)} × learned ${fmtScore(learned.learned_score)}.`,
      ),
      rows,
      h("div.signal-legend", null, "What investigators' verdicts taught: each feature's push on the learned score, in log-odds, on top of the prior score (largest first)."),
    ),
  );
}

// ---------- verdicts ----------

function historyItem(verdict) {
  return h(
    "li",
    { dataset: { verdictId: verdict.id } },
    h(
      "div.meta",
      null,
      verdictChip(verdict),
      h("strong", null, verdict.investigator || "unknown"),
      h("span", { title: verdict.snapshot_id ? `on snapshot ${verdict.snapshot_id}` : null }, fmtTs(verdict.created_at)),
    ),
    verdict.note ? h("div.note", null, verdict.note) : null,
  );
}

function verdictCard(clusterId, history, ctx, onRecorded) {
  const list = h("ul.history#verdict-history");
  const empty = h("div.muted#verdict-empty", null, "No verdict yet.");
  const fill = (items) => {
    replace(list, items.map(historyItem));
    empty.hidden = items.length > 0;
  };
  fill(history);

  const count = h("span.note-count", null, `0 / ${NOTE_LIMIT}`);
  const note = h("textarea#verdict-note", {
    maxlength: NOTE_LIMIT,
    placeholder: "Note for the record (what you checked, why)",
    "aria-label": "verdict note",
    oninput: () => {
      count.textContent = `${note.value.length} / ${NOTE_LIMIT}`;
    },
  });
  const buttons = VERDICTS.map(([verdict, label, cls, id]) =>
    h(`button.btn.${cls}`, { type: "button", id, onclick: () => submit(verdict) }, label),
  );

  async function submit(verdict) {
    buttons.forEach((b) => {
      b.disabled = true;
    });
    try {
      const body = { verdict };
      if (note.value.trim()) body.note = note.value.trim();
      const recorded = await endpoints.postVerdict(clusterId, body);
      note.value = "";
      count.textContent = `0 / ${NOTE_LIMIT}`;
      history = [recorded, ...history];
      fill(history);
      onRecorded(recorded);
      const disputed = recorded.label === "disputed" ? ` (disputed with ${recorded.disputed_with.join(", ")}: it teaches nothing until you agree)` : "";
      ctx.toast(`Verdict recorded: ${recorded.verdict.replaceAll("_", " ")}${disputed}`);
    } catch (err) {
      ctx.reportError(err);
    } finally {
      buttons.forEach((b) => {
        b.disabled = false;
      });
    }
  }

  return card(
    "Verdict",
    { id: "verdict" },
    h(
      "div.card-body",
      null,
      h("div.verdict-form", null, note, count, h("div.verdict-buttons", null, buttons)),
      h("h3", { style: { margin: "16px 0 4px" } }, "History"),
      empty,
      list,
    ),
  );
}

// ---------- evidence, members, timeline ----------

function evidenceCard(evidence) {
  const rows = evidence.map((e) =>
    h(
      "tr",
      null,
      h("td", null, layerChip(e.layer)),
      h("td.mono", null, e.token),
      h("td.num", null, fmtInt(e.n_actors)),
      h("td", null, fmtTs(e.first_ts)),
      h("td", null, fmtTs(e.last_ts)),
      h("td.num", null, fmtSpan(e.first_ts, e.last_ts)),
    ),
  );
  return card(
    "Shared evidence",
    { id: "evidence", actions: [h("span.muted", null, `${fmtInt(evidence.length)} items`)] },
    evidence.length
      ? h(
          "div.table-wrap.scroll",
          null,
          h(
            "table",
            null,
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                h("th", null, "Layer"),
                h("th", null, "Shared item (hashed)"),
                h("th.num", null, "Actors"),
                h("th", null, "First seen"),
                h("th", null, "Last seen"),
                h("th.num", null, "Span"),
              ),
            ),
            h("tbody", null, rows),
          ),
        )
      : h("div.empty", null, "No shared items recorded for this cluster."),
  );
}

function memberRow(member, onPick) {
  return h(
    "tr.clickable",
    { dataset: { actorId: member.actor_id }, onclick: () => onPick(member.actor_id) },
    h("td.mono", null, member.actor_id),
    h("td", null, scoreBar(member.risk_score)),
    h("td", null, member.known_bad ? knownBadBadge() : h("span.muted", null, "–")),
  );
}

function membersCard(clusterId, detail, ctx, onPick) {
  const tbody = h("tbody", null, detail.members.items.map((m) => memberRow(m, onPick)));
  let nextCursor = detail.members.next_cursor;
  const shown = h("span.muted");
  const more = h("button.btn", { type: "button", id: "members-more" }, "Load more members");
  const refreshFoot = () => {
    shown.textContent = `${fmtInt(tbody.children.length)} of ${fmtInt(detail.size)} shown`;
    more.hidden = !nextCursor;
  };
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const page = await endpoints.cluster(
        clusterId,
        { members_cursor: nextCursor, members_limit: MEMBERS_PAGE },
        ctx.signal,
      );
      tbody.append(...page.members.items.map((m) => memberRow(m, onPick)));
      nextCursor = page.members.next_cursor;
      refreshFoot();
    } catch (err) {
      ctx.reportError(err);
    } finally {
      more.disabled = false;
    }
  });
  refreshFoot();
  return card(
    "Members",
    { id: "members" },
    h(
      "div.table-wrap.scroll",
      null,
      h(
        "table",
        null,
        h("thead", null, h("tr", null, h("th", null, "Actor"), h("th", null, "Risk"), h("th", null, "Status"))),
        tbody,
      ),
    ),
    h("div.table-foot", null, shown, h("span.spacer"), more),
  );
}

function timelineCard(timeline) {
  return card("Activity", { id: "timeline" }, h("div.card-body", null, sparkline(timeline || [])));
}

// ---------- graph and side panel ----------

function layerChips(layers) {
  return h(
    "div.chips",
    null,
    layers.map((l) =>
      typeof l === "string"
        ? layerChip(l)
        : layerChip(
            l.layer,
            `${l.layer}: similarity ${fmtScore(l.similarity)}, ${fmtInt(l.n_items)} shared items, ${fmtTs(l.first_ts)} – ${fmtTs(l.last_ts)}`,
          ),
    ),
  );
}

/** Side panel next to the graph: details of the clicked actor or edge. */
class GraphPanel {
  constructor(clusterId, ctx) {
    this.clusterId = clusterId;
    this.ctx = ctx;
    this.controller = null;
    this.pick = () => {};
    this.el = h("aside.graph-panel#graph-panel");
    this.clear();
  }

  clear() {
    replace(
      this.el,
      h("h2", null, "Actor details"),
      h("p.hint", null, "Click an actor in the graph or the member table to see its evidence links."),
    );
  }

  showEdge(edge) {
    replace(
      this.el,
      h("h2", null, "Coordination link"),
      h(
        "dl",
        null,
        h("dt", null, "Between"),
        h("dd.mono", null, `${edge.source} – ${edge.target}`),
        h("dt", null, "Weight"),
        h("dd", null, scoreBar(edge.weight, { color: "#2f6fdf", label: Number(edge.weight).toFixed(3) })),
        h("dt", null, "Layers"),
        h("dd", null, layerChips(edge.layers)),
      ),
    );
  }

  async showActor(actorId) {
    if (this.controller) this.controller.abort();
    this.controller = new AbortController();
    replace(this.el, h("h2.mono", null, actorId), h("p.hint", null, "Loading…"));
    let actor;
    try {
      actor = await endpoints.actor(actorId, this.controller.signal);
    } catch (err) {
      if (err.name !== "AbortError") {
        replace(this.el, h("h2.mono", null, actorId), h("p.hint", null, `Could not load: ${err.message}`));
        this.ctx.reportError(err);
      }
      return;
    }
    const neighbours = [...(actor.neighbours || [])].sort((a, b) => b.weight - a.weight);
    const clusterLink =
      actor.cluster_id && actor.cluster_id !== this.clusterId
        ? h("a.mono", { href: `ui/clusters/${encodeURIComponent(actor.cluster_id)}`, "data-nav": true }, actor.cluster_id)
        : h("span", null, actor.cluster_id ? "this cluster" : "none");
    replace(
      this.el,
      h("h2.mono", { dataset: { actorId: actor.actor_id } }, actor.actor_id),
      h(
        "dl",
        null,
        h("dt", null, "Risk"),
        h("dd", null, scoreBar(actor.risk_score)),
        h("dt", null, "Status"),
        h("dd", null, actor.known_bad ? knownBadBadge() : "not suspended"),
        h("dt", null, "Cluster"),
        h("dd", null, clusterLink),
      ),
      h("h3", null, `Neighbours (${fmtInt(neighbours.length)})`),
      neighbours.length
        ? h(
            "ul.neighbours#neighbours",
            null,
            neighbours.slice(0, NEIGHBOURS_SHOWN).map((n) =>
              h(
                "li",
                { dataset: { actorId: n.actor_id }, onclick: () => this.pick(n.actor_id) },
                h(
                  "div.line",
                  null,
                  h("span.mono", null, n.actor_id),
                  h("span.muted", { title: "edge weight" }, Number(n.weight).toFixed(2)),
                ),
                layerChips(n.layers || []),
              ),
            ),
          )
        : h("p.hint", null, "No coordination links."),
      neighbours.length > NEIGHBOURS_SHOWN
        ? h("p.hint", null, `… and ${fmtInt(neighbours.length - NEIGHBOURS_SHOWN)} weaker links`)
        : null,
    );
  }
}

function graphCard(panel) {
  const canvas = h("div.graph-canvas#graph", null, h("div.loading", null, "Loading graph…"));
  const note = h("span.muted#graph-note");
  const buttons = {
    fit: h("button.btn.btn-small#graph-fit", { type: "button", disabled: true }, "Fit"),
    layout: h("button.btn.btn-small#graph-layout", { type: "button", disabled: true }, "Re-layout"),
    png: h("button.btn.btn-small#graph-png", { type: "button", disabled: true, title: "Save the graph as PNG" }, "PNG"),
  };
  const legend = h(
    "div.legend",
    null,
    h("span", null, "risk"),
    h("span.ramp", { style: { background: RISK_GRADIENT } }),
    h("span.swatch-bad"),
    h("span", null, "known bad"),
    h("span.swatch-edge"),
    h("span", null, "width = evidence weight"),
  );
  const el = h(
    "section.card.graph-card",
    { id: "graph-card" },
    h("div.card-head", null, h("h2", null, "Ring graph"), note, h("span.spacer"), legend, Object.values(buttons)),
    h("div.graph-area", null, canvas, panel.el),
  );
  return { el, canvas, note, buttons };
}

// ---------- page ----------

/**
 * Render the cluster page.
 * @param {HTMLElement} root - where to render.
 * @param {string} clusterId - the cluster to show.
 * @param {object} ctx - app context (navigate, reportError, toast, signal).
 * @returns {Promise<null>}
 */
export async function renderCluster(root, clusterId, ctx) {
  document.title = "Cluster · ringscope";
  replace(root, h("div.loading", null, "Loading cluster…"));
  const graphRequest = endpoints.graph(clusterId, { max_nodes: GRAPH_MAX_NODES }, ctx.signal);
  graphRequest.catch(() => {});
  const detail = await endpoints.cluster(clusterId, { members_limit: MEMBERS_PAGE }, ctx.signal);
  if (!ctx.isCurrent()) return null;
  document.title = `Cluster #${detail.rank} · ringscope`;

  const currentVerdict = h("span#current-verdict", null, verdictChip(detail.verdict));
  const panel = new GraphPanel(clusterId, ctx);
  const graph = graphCard(panel);
  let cy = null;
  const pick = (actorId) => {
    if (!(cy && selectInGraph(cy, actorId))) panel.showActor(actorId);
  };
  panel.pick = pick;

  replace(
    root,
    h(
      "div.cluster-head",
      null,
      h("a.back", { href: "./", "data-nav": true }, "← Queue"),
      h("h1", null, `Cluster #${detail.rank}`),
      h("span.cluster-id", null, detail.cluster_id),
      detail.kind ? layerChip(detail.kind) : null,
      lineageChip(detail.lineage),
      reviewChip(detail),
      currentVerdict,
      h(
        "div.stats",
        null,
        h(
          "div.stat",
          null,
          h("span.label", null, "Score"),
          h("span.value", { style: { color: riskColor(detail.score) } }, fmtScore(detail.score)),
        ),
        h("div.stat", null, h("span.label", null, "Members"), h("span.value", null, fmtInt(detail.size))),
        h("div.stat", null, h("span.label", null, "Rank"), h("span.value", null, `#${detail.rank}`)),
      ),
    ),
    h("p.cluster-summary", null, detail.summary),
    detail.review_reason ? h("p.muted#review-reason", null, detail.review_reason) : null,
    h(
      "div.grid",
      null,
      h(
        "div.stack",
        null,
        graph.el,
        evidenceCard(detail.evidence || []),
        membersCard(clusterId, detail, ctx, (actorId) => {
          pick(actorId);
          graph.el.scrollIntoView({ behavior: "smooth", block: "nearest" });
        }),
      ),
      h(
        "div.stack",
        null,
        verdictCard(clusterId, detail.verdicts || [], ctx, (v) => replace(currentVerdict, verdictChip(v))),
        signalsCard(detail),
        learnedCard(detail),
        timelineCard(detail.timeline),
      ),
    ),
  );

  try {
    const data = await graphRequest;
    if (!ctx.isCurrent()) return null;
    replace(graph.canvas);
    cy = drawGraph(graph.canvas, data, {
      onNode: (id) => panel.showActor(id),
      onEdge: (edge) => panel.showEdge(edge),
      onClear: () => panel.clear(),
    });
    ctx.signal.addEventListener("abort", () => cy.destroy());
    graph.canvas.dataset.nodes = String(cy.nodes().length);
    graph.note.textContent = data.truncated
      ? `riskiest ${fmtInt(data.nodes.length)} of ${fmtInt(detail.size)} actors · ${fmtInt(data.edges.length)} links`
      : `${fmtInt(data.nodes.length)} actors · ${fmtInt(data.edges.length)} links`;
    graph.buttons.fit.onclick = () => cy.fit(undefined, 24);
    graph.buttons.layout.onclick = () => relayout(cy);
    graph.buttons.png.onclick = () => {
      const link = h("a", { href: graphPng(cy), download: `ring-${clusterId}.png` });
      link.click();
    };
    Object.values(graph.buttons).forEach((b) => {
      b.disabled = false;
    });
  } catch (err) {
    if (err.name === "AbortError") return null;
    replace(graph.canvas, h("div.empty", null, `Graph unavailable: ${err.message}`));
    ctx.reportError(err);
  }
  return null;
}
