// The ring as an interactive graph (Cytoscape.js, vendored): actors coloured by risk,
// known-bad actors outlined, edge width by evidence weight, `cose` force layout.
// The live instance is exposed as window.__cy so browser tests can inspect what was drawn.

import { riskColor } from "./dom.js";

const LABEL_ALL_UP_TO = 30;
const LABEL_NEIGHBOURS_UP_TO = 12;
const DENSE_EDGES = 300;

/** Force layout tuned so dense rings spread out instead of collapsing into a blob. */
function coseLayout(nodeCount, animate) {
  return {
    name: "cose",
    animate,
    randomize: true,
    fit: true,
    padding: 30,
    nodeRepulsion: () => 400000,
    nodeOverlap: 20,
    idealEdgeLength: () => 90,
    edgeElasticity: () => 100,
    gravity: 0.3,
    componentSpacing: 80,
    // cose is quadratic per iteration; big rings settle well enough in fewer rounds.
    numIter: nodeCount <= 60 ? 1000 : nodeCount <= 150 ? 400 : 200,
  };
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function buildStyle(weightRange, labelAll, dense) {
  const [wMin, wMax] = weightRange;
  const text = cssVar("--text");
  const surface = cssVar("--surface");
  return [
    {
      selector: "node",
      style: {
        "background-color": "data(color)",
        width: "data(size)",
        height: "data(size)",
        label: labelAll ? "data(label)" : "",
        "font-size": 9,
        "font-family": "ui-monospace, monospace",
        color: text,
        "text-valign": "bottom",
        "text-margin-y": 3,
        "text-outline-color": surface,
        "text-outline-width": 2,
        "border-width": 1,
        "border-color": surface,
      },
    },
    {
      selector: "node[?known_bad]",
      style: { "border-width": 3.5, "border-color": cssVar("--bad-outline") },
    },
    {
      selector: "edge",
      style: {
        width: wMax > wMin ? `mapData(weight, ${wMin}, ${wMax}, 0.6, 6)` : 2,
        "line-color": cssVar("--edge"),
        opacity: dense ? 0.22 : 0.6,
        "curve-style": "haystack",
      },
    },
    { selector: "node.hover, node:selected, node.neighbour-label", style: { label: "data(label)" } },
    { selector: "edge.focus", style: { opacity: 0.9, "line-color": cssVar("--accent") } },
    {
      selector: "node:selected",
      style: {
        "underlay-color": cssVar("--accent"),
        "underlay-opacity": 0.35,
        "underlay-padding": 6,
        "underlay-shape": "ellipse",
      },
    },
    { selector: "edge:selected", style: { "line-color": cssVar("--accent"), opacity: 1 } },
    { selector: ".faded", style: { opacity: 0.15 } },
  ];
}

/**
 * Draw a cluster graph.
 * @param {HTMLElement} container - sized element to draw in.
 * @param {{nodes: Array, edges: Array}} graph - the API's graph payload.
 * @param {{onNode: function(string), onEdge: function(object), onClear: function()}} handlers
 * @returns {object} the Cytoscape instance.
 */
export function drawGraph(container, graph, { onNode, onEdge, onClear }) {
  const weights = graph.edges.map((e) => Number(e.weight) || 0);
  const weightRange = weights.length ? [Math.min(...weights), Math.max(...weights)] : [0, 0];
  const labelAll = graph.nodes.length <= LABEL_ALL_UP_TO;
  const dense = graph.edges.length > Math.min(DENSE_EDGES, 4 * graph.nodes.length);
  const elements = [
    ...graph.nodes.map((n) => ({
      group: "nodes",
      data: {
        id: n.id,
        label: n.label || n.id,
        risk: n.risk_score,
        known_bad: Boolean(n.known_bad),
        color: riskColor(n.risk_score),
        size: 12 + 14 * Math.min(1, Math.max(0, Number(n.risk_score) || 0)),
      },
    })),
    ...graph.edges.map((e, i) => ({
      group: "edges",
      data: { id: `e${i}`, source: e.source, target: e.target, weight: Number(e.weight) || 0, layers: e.layers || [] },
    })),
  ];

  const cy = window.cytoscape({
    container,
    elements,
    style: buildStyle(weightRange, labelAll, dense),
    layout: coseLayout(graph.nodes.length, false),
    minZoom: 0.2,
    maxZoom: 4,
    selectionType: "single",
  });

  const clearFocus = () => cy.elements().removeClass("faded neighbour-label focus");
  const focus = (node) => {
    clearFocus();
    cy.elements().addClass("faded");
    node.closedNeighborhood().removeClass("faded");
    node.connectedEdges().addClass("focus");
    const neighbours = node.neighborhood("node");
    if (neighbours.length <= LABEL_NEIGHBOURS_UP_TO) neighbours.addClass("neighbour-label");
  };

  cy.on("mouseover", "node", (event) => event.target.addClass("hover"));
  cy.on("mouseout", "node", (event) => event.target.removeClass("hover"));
  cy.on("tap", "node", (event) => {
    focus(event.target);
    onNode(event.target.id());
  });
  cy.on("tap", "edge", (event) => {
    clearFocus();
    const data = event.target.data();
    onEdge({ source: data.source, target: data.target, weight: data.weight, layers: data.layers });
  });
  cy.on("tap", (event) => {
    if (event.target === cy) {
      clearFocus();
      onClear();
    }
  });

  const restyle = () => cy.style(buildStyle(weightRange, labelAll, dense));
  window.addEventListener("ringscope:theme", restyle);
  cy.on("destroy", () => window.removeEventListener("ringscope:theme", restyle));

  window.__cy = cy;
  return cy;
}

/** Select an actor in the graph (from a table click), bringing it into view; false if absent. */
export function selectInGraph(cy, actorId) {
  const node = cy.getElementById(actorId);
  if (!node || node.empty()) return false;
  cy.elements().unselect();
  node.select();
  node.emit("tap");
  const view = cy.extent();
  const { x, y } = node.position();
  if (x < view.x1 || x > view.x2 || y < view.y1 || y > view.y2) {
    cy.animate({ center: { eles: node }, duration: 250 });
  }
  return true;
}

/** Run the force layout again (new random start). */
export function relayout(cy) {
  cy.layout(coseLayout(cy.nodes().length, true)).run();
}

/** The graph as a PNG data URL on the current theme's background. */
export function graphPng(cy) {
  return cy.png({ full: true, scale: 2, bg: cssVar("--surface") });
}
