// Sign-in: OAuth2 Authorization Code with PKCE (S256) against the pool's hosted
// sign-in (the local issuer when run locally). Tokens live in sessionStorage (gone
// with the tab); the access token is refreshed shortly before it expires.

const TOKENS = "wacloud.console.tokens";
const PENDING = "wacloud.console.pkce";
const REFRESH_MARGIN = 120; // seconds before expiry

let config = null;
let refreshing = null;
let timer = null;

export async function loadConfig() {
  if (config) return config;
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`console configuration unavailable (${response.status})`);
  config = await response.json();
  config.api_url = String(config.api_url || "").replace(/\/+$/, "");
  config.redirect_uri = config.redirect_uri || new URL(".", location.href).href;
  return config;
}

export function getConfig() {
  return config;
}

function b64url(bytes) {
  let bin = "";
  for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(size = 32) {
  return b64url(crypto.getRandomValues(new Uint8Array(size)));
}

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return b64url(digest);
}

function readTokens() {
  try {
    return JSON.parse(sessionStorage.getItem(TOKENS) || "null");
  } catch {
    return null;
  }
}

function saveTokens(answer, previous = {}) {
  const tokens = {
    access_token: answer.access_token,
    id_token: answer.id_token || previous.id_token || null,
    refresh_token: answer.refresh_token || previous.refresh_token || null,
    expires_at: Date.now() / 1000 + Number(answer.expires_in || 3600),
  };
  sessionStorage.setItem(TOKENS, JSON.stringify(tokens));
  schedule(tokens);
  return tokens;
}

function schedule(tokens) {
  clearTimeout(timer);
  if (!tokens || !tokens.refresh_token || !tokens.expires_at) return;
  const wait = Math.max(5, tokens.expires_at - Date.now() / 1000 - REFRESH_MARGIN);
  timer = setTimeout(() => refresh().catch(() => {}), wait * 1000);
}

/** The claims of a JWT (display only: the API verifies tokens, not the console). */
export function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = part + "=".repeat((4 - (part.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

/** Who the tokens say is signed in: {name, groups}. */
export function tokenIdentity() {
  const tokens = readTokens() || {};
  const id = claims(tokens.id_token || "");
  const access = claims(tokens.access_token || "");
  const name = access.username || id["cognito:username"] || id.email || access.sub || "";
  const groups = access["cognito:groups"] || id["cognito:groups"] || [];
  return { name, groups: Array.isArray(groups) ? groups : String(groups).split(/[\s,]+/) };
}

async function tokenRequest(params) {
  const cfg = await loadConfig();
  const response = await fetch(cfg.token_url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: cfg.client_id, ...params }).toString(),
  });
  if (!response.ok) throw new Error(`token endpoint refused (${response.status})`);
  return response.json();
}

/** Send the browser to the sign-in page; comes back to the console with ?code. */
export async function signIn() {
  const cfg = await loadConfig();
  const verifier = randomString(48);
  const state = randomString(16);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, hash: location.hash }));
  sessionStorage.removeItem(TOKENS);
  const url = new URL(cfg.authorize_url, location.href);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: cfg.client_id,
    redirect_uri: cfg.redirect_uri,
    scope: cfg.scopes || "openid email profile",
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.href);
  return new Promise(() => {}); // the page is leaving
}

/** Finish a sign-in when the page was opened with ?code=..&state=..; true if done. */
async function completeSignIn() {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  if (!code && !params.get("error")) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  const cfg = await loadConfig();
  const clean = new URL(cfg.redirect_uri, location.href);
  clean.hash = (pending && pending.hash) || "";
  history.replaceState(null, "", clean.pathname + clean.hash);
  if (!code || !pending || params.get("state") !== pending.state) {
    throw new Error("sign-in did not complete; please sign in again");
  }
  const answer = await tokenRequest({
    grant_type: "authorization_code",
    code,
    redirect_uri: cfg.redirect_uri,
    code_verifier: pending.verifier,
  });
  saveTokens(answer);
  return true;
}

/** Make sure there are tokens: finish a sign-in, or start one. */
export async function ensureSignedIn() {
  await loadConfig();
  await completeSignIn();
  const tokens = readTokens();
  if (!tokens || !tokens.access_token) return signIn();
  schedule(tokens);
  return tokens;
}

export async function refresh() {
  const tokens = readTokens();
  if (!tokens || !tokens.refresh_token) return null;
  if (!refreshing) {
    refreshing = tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token })
      .then((answer) => saveTokens(answer, tokens))
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

/** A usable access token (refreshed if about to expire). */
export async function accessToken() {
  let tokens = readTokens();
  if (!tokens || !tokens.access_token) return signIn();
  if (tokens.refresh_token && tokens.expires_at - Date.now() / 1000 < REFRESH_MARGIN) {
    try {
      tokens = (await refresh()) || tokens;
    } catch {
      return signIn();
    }
  }
  return tokens.access_token;
}

/** The API said 401: try one refresh, else sign in again. Resolves to a token or never. */
export async function recover() {
  try {
    const tokens = await refresh();
    if (tokens) return tokens.access_token;
  } catch {
    /* fall through */
  }
  return signIn();
}

export async function signOut() {
  const cfg = await loadConfig();
  clearTimeout(timer);
  sessionStorage.removeItem(TOKENS);
  sessionStorage.removeItem(PENDING);
  if (!cfg.logout_url) {
    location.reload();
    return;
  }
  const url = new URL(cfg.logout_url, location.href);
  url.search = new URLSearchParams({
    client_id: cfg.client_id,
    logout_uri: cfg.redirect_uri,
  }).toString();
  location.assign(url.href);
}
