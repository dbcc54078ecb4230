// Shared pieces of the pages: the error banner, busy buttons, badges, tables.
import { h, mount } from "./dom.js";

let banner = null;

export function setErrorRegion(el) {
  banner = el;
}

/** Show an API error (its message, and field names for validation) in [data-testid=error]. */
export function showError(error, where) {
  const target = where || banner;
  if (!target) return;
  const message = error && error.message ? error.message : String(error);
  const fields = (error && error.fields) || [];
  const detail = fields.length
    ? h("ul", {}, fields.map((f) => h("li", {}, `${f.field}: ${f.message || f.problem}`)))
    : null;
  mount(
    target,
    h(
      "div",
      { class: "error", role: "alert", testid: "error" },
      h("span", { class: "error-text" }, message),
      detail,
      h("button", { type: "button", class: "link", "aria-label": "Dismiss", onClick: () => clearError(target) }, "×"),
    ),
  );
}

export function clearError(where) {
  const target = where || banner;
  if (target) target.replaceChildren();
}

/** Run an async action with the button disabled; errors go to the banner. */
export async function busy(button, action) {
  if (button) button.disabled = true;
  try {
    clearError();
    return await action();
  } catch (error) {
    showError(error);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function badge(value, kind = "status") {
  const v = value === null || value === undefined ? "unknown" : String(value);
  return h("span", { class: `badge ${kind}-${v.toLowerCase().replace(/[^a-z0-9]+/g, "-")}` }, v);
}

export function button(label, attrs = {}) {
  return h("button", { type: "button", class: "btn", ...attrs }, label);
}

/** A table: columns [{label, cell: row => node|text, class}], rows. */
export function table(columns, rows, { rowAttrs, empty = "Nothing here yet.", caption } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.class }, c.label)))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h("tr", rowAttrs ? rowAttrs(row) : {}, columns.map((c) => h("td", { class: c.class, "data-label": c.label }, c.cell(row)))),
        ),
      ),
    ),
  );
}

/**
 * A table over a paged list route ({items, next_cursor}) with a "Load more" button.
 * `fetchPage(cursor)` asks for one page (cursor null: the first); `load(true)` starts
 * again (a filter changed), `load(false)` appends the next page. Returns
 * {element, load}; `ctx.alive()` stops drawing after the page was left.
 */
export function pagedTable(ctx, fetchPage, columns, options) {
  const body = h("div", {}, loading());
  const more = h("button", { type: "button", class: "btn", hidden: true }, "Load more");
  let rows = [];
  let cursor = null;

  async function load(reset) {
    const answer = await fetchPage(reset ? null : cursor);
    if (!ctx.alive()) return;
    rows = reset ? answer.items || [] : [...rows, ...(answer.items || [])];
    cursor = answer.next_cursor || null;
    more.hidden = !cursor;
    mount(body, table(columns, rows, options));
  }

  more.addEventListener("click", () => busy(more, () => load(false)));
  return { element: h("div", { class: "card" }, body, more), load };
}

/** The page for a 403 on an admin-only resource. */
export function adminsOnly(what) {
  return h(
    "div",
    { class: "notice", role: "status", testid: "admins-only" },
    h("h2", {}, "Admins only"),
    h("p", {}, `${what} can be seen and changed by admins only. Ask an admin if you need access.`),
  );
}

export function pageHeader(title, ...actions) {
  return h("header", { class: "page-header" }, h("h1", {}, title), h("div", { class: "actions" }, actions));
}

export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("small", { class: "hint" }, hint) : null,
  );
}

export function loading() {
  return h("p", { class: "loading", role: "status" }, "Loading…");
}
