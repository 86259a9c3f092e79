// The ranked queue: filters and page size (kept in the URL so back/forward and links work),
// the cluster table and cursor pagination. j / k move through rows, Enter opens one.

import { endpoints } from "./api.js";
import { fmtInt, h, layerChip, lineageChip, replace, reviewChip, scoreBar, teachChip, verdictChip } from "./dom.js";

const DEFAULT_PAGE_SIZE = 25;
const PAGE_SIZES = [10, 25, 50, 100];
const FILTER_KEYS = ["lane", "min_score", "min_size", "kind", "verdict", "contains_actor", "limit"];
// Review lanes (tabs above the filters): the API's ``lane`` filter.
const LANES = [
  ["", "All"],
  ["open", "Open queue"],
  ["teach", "Teaches the ranker most"],
  ["dismissed_before", "Dismissed before"],
];
const KNOWN_KINDS = ["content", "infrastructure", "victims", "identity", "signup"];
const VERDICT_OPTIONS = [
  ["", "any"],
  ["none", "not reviewed"],
  ["confirmed", "confirmed"],
  ["dismissed", "dismissed"],
  ["needs_more_info", "needs more info"],
];

const seenKinds = new Set(KNOWN_KINDS);
// Cursors of the pages visited per filter set, so "Previous" can go back without the server
// having to support backwards cursors: pageCursors.get(filterKey)[n - 1] opens page n.
const pageCursors = new Map();

function filtersFrom(query) {
  return Object.fromEntries(FILTER_KEYS.map((key) => [key, query.get(key) || ""]));
}

function queueHref(filters, page = 1, cursor = null) {
  const query = new URLSearchParams();
  for (const key of FILTER_KEYS) if (filters[key]) query.set(key, filters[key]);
  if (cursor) {
    query.set("cursor", cursor);
    query.set("page", String(page));
  }
  const text = query.toString();
  return text ? `./?${text}` : "./";
}

function filterForm(filters, ctx) {
  const scoreValue = h("span.range-value", null, Number(filters.min_score || 0).toFixed(2));
  const minScore = h("input", {
    type: "range",
    name: "min_score",
    min: 0,
    max: 1,
    step: 0.05,
    value: filters.min_score || 0,
    "aria-label": "minimum score",
    oninput: (event) => {
      scoreValue.textContent = Number(event.target.value).toFixed(2);
    },
  });
  const minSize = h("input", {
    type: "number",
    name: "min_size",
    min: 1,
    step: 1,
    value: filters.min_size,
    placeholder: "any",
    "aria-label": "minimum size",
  });
  const kind = h(
    "select",
    { name: "kind", "aria-label": "kind" },
    h("option", { value: "" }, "any"),
    [...seenKinds].sort().map((k) => h("option", { value: k, selected: k === filters.kind }, k)),
  );
  const verdict = h(
    "select",
    { name: "verdict", "aria-label": "verdict" },
    VERDICT_OPTIONS.map(([value, label]) => h("option", { value, selected: value === filters.verdict }, label)),
  );
  const current = Number(filters.limit) || DEFAULT_PAGE_SIZE;
  const sizes = [...new Set([...PAGE_SIZES, current])].sort((a, b) => a - b);
  const limit = h(
    "select",
    { name: "limit", "aria-label": "rows per page" },
    sizes.map((n) => h("option", { value: n, selected: n === current }, String(n))),
  );
  const actor = h("input", {
    type: "search",
    name: "contains_actor",
    value: filters.contains_actor,
    placeholder: "actor id",
    "aria-label": "contains actor",
    spellcheck: "false",
  });

  const lane = h("input", { type: "hidden", name: "lane", value: filters.lane });
  const form = h(
    "form.card.filters",
    {
      id: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        const data = new FormData(form);
        const next = Object.fromEntries(FILTER_KEYS.map((key) => [key, String(data.get(key) || "").trim()]));
        if (next.min_score === "0") next.min_score = "";
        if (Number(next.limit) === DEFAULT_PAGE_SIZE) next.limit = "";
        ctx.navigate(queueHref(next));
      },
    },
    lane,
    h("div.field", null, h("label", null, "Min score"), h("div.field-inline", null, minScore, scoreValue)),
    h("div.field", null, h("label", null, "Min size"), minSize),
    h("div.field", null, h("label", null, "Kind"), kind),
    h("div.field", null, h("label", null, "Verdict"), verdict),
    h("div.field", null, h("label", null, "Contains actor"), actor),
    h("div.field", null, h("label", null, "Rows"), limit),
    h(
      "div.actions",
      null,
      h("button.btn", { type: "button", onclick: () => ctx.navigate("./") }, "Reset"),
      h("button.btn.btn-primary", { type: "submit" }, "Apply filters"),
    ),
  );
  return form;
}

function laneTabs(filters, ctx) {
  return h(
    "nav.lanes#lanes",
    { "aria-label": "review lanes" },
    LANES.map(([value, label]) =>
      h(
        "button.btn",
        {
          type: "button",
          class: value === (filters.lane || "") ? "btn-primary" : null,
          dataset: { lane: value || "all" },
          "aria-pressed": String(value === (filters.lane || "")),
          title: value === "teach" ? "clusters whose verdict would teach the learned ranker most" : null,
          onclick: () => ctx.navigate(queueHref({ ...filters, lane: value })),
        },
        label,
      ),
    ),
  );
}

function clusterRow(item, ctx) {
  const href = `ui/clusters/${encodeURIComponent(item.cluster_id)}`;
  return h(
    "tr.clickable",
    {
      dataset: { clusterId: item.cluster_id },
      onclick: (event) => {
        if (!event.target.closest("a")) ctx.navigate(href);
      },
    },
    h("td.rank.num", null, `#${item.rank}`),
    h("td", null, h("a.mono", { href, "data-nav": true }, item.cluster_id)),
    h("td", null, scoreBar(item.score)),
    h("td.num", null, fmtInt(item.size)),
    h("td", null, item.kind ? layerChip(item.kind) : "–"),
    h("td", null, lineageChip(item.lineage)),
    h(
      "td.summary",
      null,
      h("div.chips", null, reviewChip(item), teachChip(item)),
      h("div.clamp", { title: item.summary }, item.summary),
      item.review_reason && item.review_state !== "open" ? h("div.muted.review-reason", null, item.review_reason) : null,
      item.teach_reason ? h("div.muted.teach-reason", null, item.teach_reason) : null,
    ),
    h("td", null, verdictChip(item.verdict)),
  );
}

/**
 * Render the queue page.
 * @param {HTMLElement} root - where to render.
 * @param {URLSearchParams} query - filters, cursor and page number from the URL.
 * @param {object} ctx - app context (navigate, reportError, setSnapshot, signal).
 * @returns {Promise<{onKey: function}>} keyboard handler for the page.
 */
export async function renderQueue(root, query, ctx) {
  document.title = "Queue · ringscope";
  const filters = filtersFrom(query);
  const cursor = query.get("cursor");
  const page = cursor ? Math.max(2, Number(query.get("page")) || 2) : 1;
  const filterKey = queueHref(filters);
  const pageSize = Math.min(200, Math.max(1, Math.floor(Number(filters.limit)) || DEFAULT_PAGE_SIZE));

  const tbody = h("tbody", null, h("tr", null, h("td.loading", { colspan: 8 }, "Loading clusters…")));
  const countEl = h("span.sub");
  const foot = h("div.table-foot");
  replace(
    root,
    h("div.page-head", null, h("h1", null, "Ranked queue"), countEl),
    laneTabs(filters, ctx),
    filterForm(filters, ctx),
    h(
      "div.card",
      null,
      h(
        "div.table-wrap",
        null,
        h(
          "table#queue-table",
          null,
          h(
            "thead",
            null,
            h(
              "tr",
              null,
              h("th.num", null, "Rank"),
              h("th", null, "Cluster"),
              h("th", null, "Score"),
              h("th.num", null, "Size"),
              h("th", null, "Kind"),
              h("th", null, "Change"),
              h("th", null, "Summary"),
              h("th", null, "Verdict"),
            ),
          ),
          tbody,
        ),
      ),
      foot,
    ),
  );

  const data = await endpoints.clusters({ ...filters, cursor, limit: pageSize }, ctx.signal);
  if (!ctx.isCurrent()) return null;
  ctx.setSnapshot(data.snapshot_id);

  for (const item of data.items) if (item.kind) seenKinds.add(item.kind);
  const cursors = pageCursors.get(filterKey) || [null];
  cursors[page - 1] = cursor;
  if (data.next_cursor) cursors[page] = data.next_cursor;
  pageCursors.set(filterKey, cursors);

  if (data.items.length === 0) {
    replace(tbody, h("tr", null, h("td.empty", { colspan: 8 }, "No cluster matches these filters.")));
  } else {
    replace(tbody, data.items.map((item) => clusterRow(item, ctx)));
  }
  const first = (page - 1) * pageSize + 1;
  const last = (page - 1) * pageSize + data.items.length;
  countEl.textContent = `${fmtInt(data.total)} clusters · snapshot ${data.snapshot_id}`;
  replace(
    foot,
    h("span.muted", null, data.items.length ? `Showing ${first}–${last} of ${fmtInt(data.total)}` : ""),
    h("span.spacer"),
    h(
      "button.btn",
      {
        type: "button",
        id: "prev-page",
        disabled: page === 1,
        onclick: () => ctx.navigate(queueHref(filters, page - 1, cursors[page - 2] || null)),
      },
      "← Previous",
    ),
    h("span.muted", null, `Page ${page}`),
    h(
      "button.btn",
      {
        type: "button",
        id: "next-page",
        disabled: !data.next_cursor,
        onclick: () => ctx.navigate(queueHref(filters, page + 1, data.next_cursor)),
      },
      "Next →",
    ),
  );

  let active = -1;
  const rows = () => [...tbody.querySelectorAll("tr.clickable")];
  const focusRow = (index) => {
    const all = rows();
    if (!all.length) return;
    active = Math.min(all.length - 1, Math.max(0, index));
    all.forEach((row, i) => row.classList.toggle("active", i === active));
    all[active].scrollIntoView({ block: "nearest" });
  };
  return {
    onKey: (event) => {
      if (event.key === "j") focusRow(active + 1);
      else if (event.key === "k") focusRow(active - 1);
      else if (event.key === "Enter" && active >= 0) rows()[active].click();
    },
  };
}
