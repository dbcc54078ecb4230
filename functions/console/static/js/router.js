// Hash routes: #/inbox, #/inbox/<wa_id>, #/customers, #/customers/<wa_id>, #/campaigns,
// #/campaigns/new, #/campaigns/<id>, #/templates, #/analytics, #/settings.

const routes = [];
let current = null;
let onChange = null;

/** route("/inbox/:wa_id", "inbox", loader) */
export function route(pattern, name, load) {
  const parts = pattern.split("/").filter(Boolean);
  routes.push({ parts, name, load });
}

export function parse(hash) {
  const path = (hash || "").replace(/^#/, "").split("?")[0];
  const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  for (const r of routes) {
    if (r.parts.length !== segments.length) continue;
    const params = {};
    let ok = true;
    r.parts.forEach((p, i) => {
      if (p.startsWith(":")) params[p.slice(1)] = segments[i];
      else if (p !== segments[i]) ok = false;
    });
    if (ok) return { ...r, params, path };
  }
  return null;
}

export function href(...parts) {
  return "#/" + parts.map((p) => encodeURIComponent(p)).join("/");
}

export function go(hash) {
  if (location.hash === hash) onChange && onChange();
  else location.hash = hash;
}

export function currentRoute() {
  return current;
}

export function start(handler, fallback = "#/inbox") {
  onChange = () => {
    const found = parse(location.hash);
    if (!found) {
      location.replace(fallback);
      return;
    }
    current = found;
    handler(found);
  };
  window.addEventListener("hashchange", onChange);
  onChange();
}

/** Re-run the current route (e.g. after the number changed). */
export function reload() {
  onChange && onChange();
}
