// Entry point of the investigator page: client-side routing, the API-key prompt, the error
// banner, the theme and the snapshot pill. Views live in queue.js, cluster.js and drift.js.

import { ApiError, endpoints, keyStore } from "./api.js";
import { renderCluster } from "./cluster.js";
import { h, replace } from "./dom.js";
import { renderDrift } from "./drift.js";
import { renderQueue } from "./queue.js";

const view = document.getElementById("view");
const banner = document.getElementById("banner");
const bannerText = document.getElementById("banner-text");
const keyDialog = document.getElementById("key-dialog");
const keyForm = document.getElementById("key-form");
const keyInput = document.getElementById("key-input");
const keyButton = document.getElementById("key-button");
const themeToggle = document.getElementById("theme-toggle");
const snapshotPill = document.getElementById("snapshot-pill");
const toastEl = document.getElementById("toast");

const THEME_STORAGE = "ringscope.theme";
const basePath = new URL(document.baseURI).pathname;

let current = { controller: null, handlers: null };
let toastTimer = null;
let snapshotCreated = null;

// ---------- theme ----------

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  themeToggle.textContent = theme === "dark" ? "Light theme" : "Dark theme";
  window.dispatchEvent(new Event("ringscope:theme"));
}

themeToggle.addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  localStorage.setItem(THEME_STORAGE, next);
  applyTheme(next);
});

// ---------- banner and toast ----------

function showBanner(message) {
  bannerText.textContent = message;
  banner.hidden = false;
}

function hideBanner() {
  banner.hidden = true;
  bannerText.textContent = "";
}

document.getElementById("banner-close").addEventListener("click", hideBanner);

function toast(message) {
  toastEl.textContent = message;
  toastEl.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    toastEl.hidden = true;
  }, 2600);
}

/** Show what went wrong; a rejected key also reopens the key prompt. */
function reportError(err) {
  if (err && err.name === "AbortError") return;
  if (!(err instanceof ApiError)) {
    showBanner(`Unexpected error in the page: ${err && err.message ? err.message : err}`);
    return;
  }
  if (err.status === 401) {
    showBanner(`Your API key was not accepted (401): ${err.message}. Enter a valid key.`);
    openKeyDialog();
  } else if (err.status === 403) {
    showBanner(`Your key may not do this (403): ${err.message}. Use an investigator or admin key.`);
  } else if (err.status === 0) {
    showBanner(`Cannot reach the ringscope server: ${err.message}.`);
  } else {
    showBanner(`Request failed (${err.status}): ${err.message}`);
  }
}

// ---------- API key ----------

function refreshKeyButton() {
  keyButton.textContent = keyStore.get() ? "Change key" : "Set key";
}

function openKeyDialog() {
  if (keyDialog.open) return;
  keyInput.value = "";
  document.getElementById("key-forget").hidden = !keyStore.get();
  keyDialog.showModal();
  keyInput.focus();
}

keyButton.addEventListener("click", openKeyDialog);
document.getElementById("key-cancel").addEventListener("click", () => keyDialog.close());
document.getElementById("key-forget").addEventListener("click", () => {
  keyStore.clear();
  keyDialog.close();
  refreshKeyButton();
  snapshotPill.hidden = true;
  render();
});

keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (!key) return;
  keyStore.set(key);
  keyDialog.close();
  refreshKeyButton();
  hideBanner();
  render();
  loadSnapshotInfo();
});

// ---------- snapshot pill ----------

async function loadSnapshotInfo() {
  try {
    const data = await endpoints.snapshots();
    const item = (data.items || []).find((s) => s.snapshot_id === data.current);
    snapshotCreated = item ? item.created_at : null;
    setSnapshot(data.current);
  } catch {
    // The pill is a convenience; the views report real errors themselves.
  }
}

function setSnapshot(snapshotId) {
  if (!snapshotId) return;
  snapshotPill.replaceChildren(h("span.dot"), `snapshot ${snapshotId}`);
  snapshotPill.title = snapshotCreated ? `published ${snapshotCreated}` : "current snapshot";
  snapshotPill.hidden = false;
}

// ---------- routing ----------

/** Path of the current page relative to the app root, e.g. "ui/clusters/c1". */
function relativePath() {
  const path = location.pathname;
  return path.startsWith(basePath) ? path.slice(basePath.length) : path.replace(/^\//, "");
}

/** Go to a page of the app (a path relative to the app root, query string allowed). */
function navigate(target, { replaceState = false } = {}) {
  const url = new URL(target, document.baseURI);
  if (replaceState) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render();
}

function render() {
  if (current.controller) current.controller.abort();
  const controller = new AbortController();
  current = { controller, handlers: null };
  hideBanner();
  window.scrollTo(0, 0);

  if (!keyStore.get()) {
    replace(
      view,
      h(
        "div.card.empty",
        null,
        h("h2", null, "Enter an API key to start"),
        h("p.muted", null, "The queue and cluster pages need an investigator key."),
        h("button.btn.btn-primary", { type: "button", onclick: openKeyDialog }, "Enter key"),
      ),
    );
    openKeyDialog();
    return;
  }

  const ctx = {
    signal: controller.signal,
    navigate,
    reportError,
    toast,
    setSnapshot,
    isCurrent: () => current.controller === controller,
  };
  const path = relativePath();
  const clusterMatch = path.match(/^ui\/clusters\/([^/]+)\/?$/);
  let pending;
  if (clusterMatch) pending = renderCluster(view, decodeURIComponent(clusterMatch[1]), ctx);
  else if (/^ui\/drift\/?$/.test(path)) pending = renderDrift(view, ctx);
  else pending = renderQueue(view, new URLSearchParams(location.search), ctx);
  pending
    .then((handlers) => {
      if (ctx.isCurrent()) current.handlers = handlers || null;
    })
    .catch((err) => {
      if (err.name === "AbortError" || !ctx.isCurrent()) return;
      reportError(err);
      replace(
        view,
        h(
          "div.card.empty",
          { id: "load-error" },
          h("h2", null, "This page could not be loaded"),
          h("p.muted", null, err.message),
          h("a", { href: "./", "data-nav": true }, "Back to the queue"),
        ),
      );
    });
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-nav]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute("href"));
});

document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, textarea, select, dialog")) return;
  if (event.metaKey || event.ctrlKey || event.altKey) return;
  if (current.handlers && current.handlers.onKey) current.handlers.onKey(event);
});

window.addEventListener("popstate", render);

// ---------- start ----------

const storedTheme = localStorage.getItem(THEME_STORAGE);
const prefersDark = window.matchMedia("(prefers-color-scheme: dark)").matches;
applyTheme(storedTheme || (prefersDark ? "dark" : "light"));
refreshKeyButton();
render();
if (keyStore.get()) loadSnapshotInfo();
