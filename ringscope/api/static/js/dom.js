// Small DOM and formatting helpers. Every value from the API reaches the page through
// textContent (never innerHTML), so data can never become markup.

/**
 * Build an element.
 * @param {string} tag - tag name with optional id and classes: "td.num.rank", "table#queue".
 * @param {object|null} attrs - attributes; `on*` functions become listeners, `dataset` and
 *   `style` objects are merged (style keys are CSS property names, custom properties
 *   included), `null`/`false` values are skipped.
 * @param {...(Node|string|number|null|undefined|Array)} children - text or nodes.
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const [name, ...parts] = tag.split(/(?=[.#])/);
  const el = document.createElement(name);
  for (const part of parts) {
    if (part.startsWith("#")) el.id = part.slice(1);
    else el.classList.add(part.slice(1));
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "style") {
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, v);
    } else if (key === "class") {
      el.classList.add(...String(value).split(" ").filter(Boolean));
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Build an SVG element (same conventions as {@link h}, attributes only). */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
  for (const child of children) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const fmtScore = (x) => (x === null || x === undefined ? "–" : Number(x).toFixed(2));
export const fmtInt = (x) => (x === null || x === undefined ? "–" : Number(x).toLocaleString("en"));

/** ISO-8601 UTC string -> "2026-11-22 07:56 UTC" (the page always shows UTC). */
export function fmtTs(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** ISO-8601 UTC string -> "2026-11-22". */
export function fmtDay(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().slice(0, 10);
}

/** Human span between two ISO timestamps: "3 d", "5 h", "12 min". */
export function fmtSpan(fromIso, toIso) {
  const ms = new Date(toIso) - new Date(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return "–";
  const minutes = ms / 60000;
  if (minutes < 60) return `${Math.max(1, Math.round(minutes))} min`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} h`;
  return `${Math.round(minutes / 1440)} d`;
}

// Risk ramp: calm grey (0) -> amber -> orange -> red (1). Shared by bars and the graph.
const RAMP = [
  [0, [154, 165, 177]],
  [0.25, [242, 193, 78]],
  [0.6, [239, 125, 45]],
  [1, [214, 40, 40]],
];

/** Colour for a risk or score in [0, 1]. */
export function riskColor(value) {
  const x = Math.min(1, Math.max(0, Number(value) || 0));
  for (let i = 1; i < RAMP.length; i += 1) {
    const [x1, c1] = RAMP[i];
    const [x0, c0] = RAMP[i - 1];
    if (x <= x1) {
      const t = (x - x0) / (x1 - x0);
      const rgb = c0.map((c, j) => Math.round(c + (c1[j] - c) * t));
      return `rgb(${rgb.join(", ")})`;
    }
  }
  return "rgb(214, 40, 40)";
}

/** CSS gradient of the risk ramp, for legends. */
export const RISK_GRADIENT = `linear-gradient(90deg, ${RAMP.map(([x]) => `${riskColor(x)} ${x * 100}%`).join(", ")})`;

/** A horizontal bar for a value in [0, 1] with its number. */
export function scoreBar(value, { color = riskColor(value), label = fmtScore(value) } = {}) {
  const pct = Math.min(100, Math.max(0, Number(value) * 100 || 0));
  return h(
    "div.bar",
    { title: label },
    h("div.bar-track", null, h("div.bar-fill", { style: { width: `${pct}%`, background: color } })),
    h("span.bar-value", null, label),
  );
}

// Evidence layers and cluster kinds get stable colours so the eye learns them.
const LAYER_COLORS = {
  content: "#8b5cf6",
  domain: "#2f6fdf",
  short_link: "#0ea5e9",
  victims: "#e4572e",
  device: "#d97706",
  ip: "#0d9488",
  subnet: "#14b8a6",
  signup_burst: "#db2777",
  signup: "#db2777",
  identity: "#65a30d",
  name: "#84cc16",
  infrastructure: "#0d9488",
};

/** A coloured chip naming an evidence layer or cluster kind. */
export function layerChip(name, extra) {
  const color = LAYER_COLORS[name] || "#6b7280";
  return h("span.chip", { style: { "--chip": color }, title: extra || name }, name);
}

const VERDICT_LABELS = {
  confirmed: ["Confirmed", "#d62828"],
  dismissed: ["Dismissed", "#6b7280"],
  needs_more_info: ["Needs more info", "#d97706"],
};

/** A chip for a verdict value, or "open" when there is none. */
export function verdictChip(verdict) {
  if (!verdict) return h("span.chip", { style: { "--chip": "#2f6fdf" } }, "open");
  const [label, color] = VERDICT_LABELS[verdict.verdict] || [verdict.verdict, "#6b7280"];
  return h("span.chip", { style: { "--chip": color }, dataset: { verdict: verdict.verdict } }, label);
}

const LINEAGE_COLORS = {
  new: "#2f6fdf",
  same: "#6b7280",
  grew: "#d62828",
  shrank: "#2f855a",
  split: "#d97706",
  merged: "#8b5cf6",
};

/** A chip saying how a cluster changed since the previous snapshot. */
export function lineageChip(lineage) {
  if (!lineage) return null;
  const previous = (lineage.previous_ids || []).join(", ");
  const title = previous ? `${lineage.status}; previously ${previous}` : lineage.status;
  return h("span.chip", { style: { "--chip": LINEAGE_COLORS[lineage.status] || "#6b7280" }, title }, lineage.status);
}

const REVIEW_LABELS = {
  reopened: ["reopened", "#d62828"],
  dismissed_before: ["dismissed before", "#6b7280"],
  disputed: ["disputed", "#d97706"],
};

/** A chip for where verdicts put a cluster (nothing for plain open or confirmed ones). */
export function reviewChip(item) {
  const known = REVIEW_LABELS[item.review_state];
  if (!known) return null;
  const [label, color] = known;
  return h("span.chip", { style: { "--chip": color }, title: item.review_reason || label, dataset: { review: item.review_state } }, label);
}

/** A chip marking a cluster of the review lane, with why its verdict teaches most. */
export function teachChip(item) {
  if (!item.teach_reason) return null;
  return h("span.chip", { style: { "--chip": "#8b5cf6" }, title: item.teach_reason, dataset: { teach: "1" } }, "teaches");
}

/** Known-bad badge (suspended actor). */
export const knownBadBadge = () => h("span.badge-bad", { title: "suspended: known bad" }, "KNOWN BAD");

/** Remove all children of an element and append new ones. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A titled card section; `actions` go to the right of the title. */
export const card = (title, { id, actions = [] } = {}, ...body) =>
  h("section.card", { id }, h("div.card-head", null, h("h2", null, title), h("span.spacer"), actions), body);
