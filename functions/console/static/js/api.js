// The operator API: JSON over fetch with the bearer token. Refusals become a thrown
// ApiError carrying the API's stable `code` and its `message` for a person.
import { accessToken, getConfig, recover } from "./auth.js";

export class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message || `request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.code = code || "error";
    this.fields = fields || [];
  }
}

function urlOf(path, query) {
  const base = getConfig().api_url;
  const url = new URL(base + path, location.href);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, String(v));
  }
  return url.href;
}

async function send(method, path, { body, query } = {}, token) {
  const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    return await fetch(urlOf(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "the API could not be reached; check your connection");
  }
}

export async function request(method, path, options = {}) {
  let response = await send(method, path, options, await accessToken());
  if (response.status === 401) {
    response = await send(method, path, options, await recover());
    if (response.status === 401) await recover();
  }
  const textBody = await response.text();
  let data = null;
  if (textBody) {
    try {
      data = JSON.parse(textBody);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(
      response.status,
      error.code || (data && data.message ? "error" : `http_${response.status}`),
      error.message || (data && data.message) || `the request failed (${response.status})`,
      error.fields,
    );
  }
  return data;
}

export const api = {
  get: (path, query) => request("GET", path, { query }),
  post: (path, body) => request("POST", path, { body }),
  put: (path, body) => request("PUT", path, { body }),
  patch: (path, body) => request("PATCH", path, { body }),
  del: (path) => request("DELETE", path),
};

/** The path of a number's resource: numberPath(pnid, "conversations", waId). */
export function numberPath(pnid, ...parts) {
  return ["/v1/numbers", pnid, ...parts].map((p, i) => (i === 0 ? p : encodeURIComponent(p))).join("/");
}
