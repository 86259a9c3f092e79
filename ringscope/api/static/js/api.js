// HTTP client for the ringscope API. The key lives in sessionStorage (this tab only) and
// goes out as a bearer token; every non-2xx answer becomes an ApiError carrying the
// server's `detail` so the page can show it as it is.

const KEY_STORAGE = "ringscope.apiKey";

export const keyStore = {
  get: () => sessionStorage.getItem(KEY_STORAGE),
  set: (key) => sessionStorage.setItem(KEY_STORAGE, key.trim()),
  clear: () => sessionStorage.removeItem(KEY_STORAGE),
};

/** A failed API call: HTTP status plus the server's explanation. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
  }
}

/** Turn FastAPI's `detail` (a string, or a list of validation errors) into one line. */
function detailText(body, status, statusText) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((err) => {
        const where = (err.loc || []).filter((part) => part !== "body" && part !== "query").join(".");
        return where ? `${where}: ${err.msg}` : err.msg;
      })
      .join("; ");
  }
  return `${status} ${statusText || "error"}`;
}

/** URL of an API path, resolved against the page's <base> so a path prefix still works. */
function apiUrl(path, params) {
  const url = new URL(path.replace(/^\//, ""), document.baseURI);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
  }
  return url;
}

/**
 * Call the API.
 * @param {string} path - e.g. "v1/clusters".
 * @param {{params?: object, method?: string, body?: object, signal?: AbortSignal}} options
 * @returns {Promise<any>} the decoded JSON body.
 * @throws {ApiError} on any non-2xx answer or a network failure (status 0).
 */
export async function api(path, { params, method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  const key = keyStore.get();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(apiUrl(path, params), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, `cannot reach the server (${err.message})`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) throw new ApiError(response.status, detailText(data, response.status, response.statusText));
  return data;
}

const enc = encodeURIComponent;

export const endpoints = {
  clusters: (params, signal) => api("v1/clusters", { params, signal }),
  cluster: (id, params, signal) => api(`v1/clusters/${enc(id)}`, { params, signal }),
  graph: (id, params, signal) => api(`v1/clusters/${enc(id)}/graph`, { params, signal }),
  actor: (id, signal) => api(`v1/actors/${enc(id)}`, { signal }),
  postVerdict: (id, body) => api(`v1/clusters/${enc(id)}/verdicts`, { method: "POST", body }),
  snapshots: (signal) => api("v1/snapshots", { signal }),
  stats: (params, signal) => api("v1/stats", { params, signal }),
};
