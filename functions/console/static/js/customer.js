// Customers: the list (#/customers, by latest activity, tag filter) and one customer
// (#/customers/<wa_id>): profile, tags and attributes (editable by admins), marketing
// opt-out, block state, and the whole history both ways with delivery state.
import { api, numberPath } from "./api.js";
import { h, mount } from "./dom.js";
import { timeEl } from "./format.js";
import { messageKey, syncMessages } from "./messages.js";
import { href } from "./router.js";
import { badge, busy, loading, pageHeader, pagedTable, showError } from "./ui.js";

const TAG = /^[A-Za-z0-9_.:-]{1,64}$/;
const ATTR = /^[A-Za-z0-9_]{1,64}$/;

export async function render(ctx) {
  if (ctx.params.wa_id) return renderOne(ctx, ctx.params.wa_id);
  return renderList(ctx);
}

async function renderList(ctx) {
  const tagInput = h("input", { type: "search", placeholder: "Filter by tag", "aria-label": "Filter by tag" });
  const list = pagedTable(
    ctx,
    (cursor) => api.get(numberPath(ctx.pnid, "contacts"), { tag: tagInput.value.trim() || null, limit: 50, cursor }),
    [
      { label: "Customer", cell: (c) => h("a", { href: href("customers", c.wa_id) }, c.profile_name || `+${c.wa_id}`) },
      { label: "Number", cell: (c) => `+${c.wa_id}` },
      { label: "Last seen", cell: (c) => timeEl(c.last_seen) },
      { label: "Tags", cell: (c) => (c.tags || []).map((t) => h("span", { class: "label" }, t)) },
      { label: "State", cell: (c) => [c.opted_out ? badge("opted out", "status") : null, c.blocked ? badge("blocked", "status") : null] },
    ],
    { empty: "No customers yet.", rowAttrs: (c) => ({ testid: "customer-row", dataset: { waId: c.wa_id } }) },
  );

  function filter() {
    const tag = tagInput.value.trim();
    if (tag && !TAG.test(tag)) {
      showError(new Error("A tag is 1-64 letters, digits or _ . : -"));
      return Promise.resolve();
    }
    return list.load(true);
  }

  tagInput.addEventListener("change", () => busy(null, filter));
  mount(ctx.view, pageHeader("Customers", tagInput), list.element);
  await list.load(true);
}

function attrRow(name = "", value = "") {
  const row = h(
    "div",
    { class: "attr-row", testid: "attribute-row" },
    h("input", { type: "text", class: "attr-name", value: name, placeholder: "name", "aria-label": "Attribute name", maxlength: "64" }),
    h("input", { type: "text", class: "attr-value", value: value === null ? "" : String(value), placeholder: "value", "aria-label": "Attribute value", maxlength: "256" }),
    h("button", { type: "button", class: "btn btn-quiet", onClick: () => row.remove(), "aria-label": "Remove attribute" }, "Remove"),
  );
  return row;
}

async function renderOne(ctx, waId) {
  const contactPath = numberPath(ctx.pnid, "contacts", waId);
  const conversationPath = numberPath(ctx.pnid, "conversations", waId);
  let contact;
  mount(ctx.view, loading());
  try {
    contact = await api.get(contactPath);
  } catch (error) {
    if (!ctx.alive()) return;
    mount(ctx.view, h("a", { href: "#/customers" }, "← Customers"), h("p", { class: "notice" }, error.status === 404 ? "No such customer for this number." : "The customer could not be loaded."));
    showError(error);
    return;
  }
  if (!ctx.alive()) return;

  const profile = h("section", { class: "card profile", testid: "customer-profile" });
  const stateBox = h("div", {});
  const tagsInput = h("input", { type: "text", testid: "tags-input", placeholder: "vip, newsletter", "aria-label": "Tags (comma separated)" });
  const attrsBox = h("div", { testid: "attributes", class: "attributes" });
  const optOut = h("input", { type: "checkbox", id: "opted-out" });
  const save = h("button", { type: "button", class: "btn btn-primary", testid: "customer-save" }, "Save");
  const saved = h("span", { class: "saved", role: "status" });
  const history = h("div", { class: "history", role: "log", "aria-label": "History" });
  const older = h("button", { type: "button", class: "btn", hidden: true }, "Load older messages");
  let messages = [];
  let before = null;

  function draw() {
    mount(
      profile,
      h("h1", {}, contact.profile_name || `+${contact.wa_id}`),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "WhatsApp"), h("dd", {}, `+${contact.wa_id}`),
        h("dt", {}, "Profile name"), h("dd", {}, contact.profile_name || "–"),
        h("dt", {}, "First seen"), h("dd", {}, timeEl(contact.first_seen)),
        h("dt", {}, "Last seen"), h("dd", {}, timeEl(contact.last_seen)),
        h("dt", {}, "Window"), h("dd", {}, contact.window_open ? ["open · closes ", timeEl(contact.window_expires_at)] : "closed"),
      ),
      h("p", {}, h("a", { href: href("inbox", contact.wa_id) }, "Open in the inbox")),
    );
    mount(
      stateBox,
      h(
        "div",
        { class: "state-line" },
        h("span", { testid: "opt-out-state", class: contact.opted_out ? "badge status-failed" : "badge status-approved" }, contact.opted_out ? "opted out of marketing" : "subscribed to marketing"),
        contact.opted_out_at ? h("small", { class: "muted" }, "since ", timeEl(contact.opted_out_at)) : null,
      ),
      h(
        "div",
        { class: "state-line" },
        h("span", { testid: "block-state", class: contact.blocked ? "badge status-failed" : "badge state-bot" }, contact.blocked ? "blocked" : "not blocked"),
        contact.blocked && contact.blocked_until ? h("small", { class: "muted" }, "until ", timeEl(contact.blocked_until)) : null,
        contact.blocked && contact.blocked_reason ? h("small", { class: "muted pre" }, `reason: ${contact.blocked_reason}`) : null,
        h(
          "button",
          { type: "button", class: contact.blocked ? "btn" : "btn btn-danger", testid: "block-toggle", dataset: { blocked: String(Boolean(contact.blocked)) }, onClick: (e) => toggleBlock(e.currentTarget) },
          contact.blocked ? "Unblock" : "Block",
        ),
      ),
    );
    tagsInput.value = (contact.tags || []).join(", ");
    optOut.checked = Boolean(contact.opted_out);
    mount(attrsBox, Object.entries(contact.attributes || {}).map(([k, v]) => attrRow(k, v)));
  }

  async function toggleBlock(button) {
    await busy(button, async () => {
      if (contact.blocked) {
        contact = await api.post(`${contactPath}/unblock`);
      } else {
        if (!confirm("Block this customer? They will no longer reach this number.")) return;
        const answer = await api.post(`${contactPath}/block`, { reason: "operator" });
        contact = answer;
        if (answer.meta_error) showError(new Error("Blocked here; Meta's Block API refused (only customers who wrote in the last 24 h can be blocked there)."));
      }
      draw();
    });
  }

  save.addEventListener("click", () =>
    busy(save, async () => {
      saved.textContent = "";
      const wanted = [...new Set(tagsInput.value.split(",").map((t) => t.trim()).filter(Boolean))];
      const bad = wanted.filter((t) => !TAG.test(t));
      if (bad.length) throw new Error("Tags are 1-64 letters, digits or _ . : - (no spaces)");
      const had = contact.tags || [];
      const attributes = {};
      const seen = new Set();
      for (const row of attrsBox.querySelectorAll(".attr-row")) {
        const name = row.querySelector(".attr-name").value.trim();
        const raw = row.querySelector(".attr-value").value;
        if (!name) continue;
        if (!ATTR.test(name)) throw new Error("Attribute names are 1-64 letters, digits or _");
        seen.add(name);
        const before = (contact.attributes || {})[name];
        const value = typeof before === "number" && raw.trim() !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
        if (before === undefined || String(before) !== String(value)) attributes[name] = value;
      }
      for (const name of Object.keys(contact.attributes || {})) if (!seen.has(name)) attributes[name] = null;
      const patch = {};
      const add = wanted.filter((t) => !had.includes(t));
      const remove = had.filter((t) => !wanted.includes(t));
      if (add.length) patch.tags_add = add;
      if (remove.length) patch.tags_remove = remove;
      if (Object.keys(attributes).length) patch.attributes = attributes;
      if (optOut.checked !== Boolean(contact.opted_out)) patch.opted_out = optOut.checked;
      if (Object.keys(patch).length) contact = await api.patch(contactPath, patch);
      draw();
      saved.textContent = "Saved";
    }),
  );

  async function loadHistory(more) {
    try {
      const answer = await api.get(conversationPath, { limit: 50, before: more ? before : null });
      if (!ctx.alive()) return;
      messages = more ? [...messages, ...(answer.messages || [])] : answer.messages || [];
      before = answer.next_before || null;
    } catch (error) {
      if (error.status !== 404) showError(error);
      before = null;
    }
    const seen = new Set();
    const all = messages.filter((m) => !seen.has(messageKey(m)) && seen.add(messageKey(m)));
    all.sort((a, b) => (a.at || 0) - (b.at || 0));
    history.querySelector(".empty, .loading")?.remove();
    syncMessages(history, ctx.pnid, all);
    if (!all.length) history.append(h("p", { class: "empty" }, "No messages with this customer."));
    older.hidden = !before;
  }
  older.addEventListener("click", () => busy(older, () => loadHistory(true)));

  mount(
    ctx.view,
    h("p", {}, h("a", { href: "#/customers" }, "← Customers")),
    h(
      "div",
      { class: "grid-2" },
      h("div", {}, profile),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Details"),
        stateBox,
        h("div", { class: "field" }, h("label", { for: "tags" }, "Tags"), Object.assign(tagsInput, { id: "tags" }), h("small", { class: "hint" }, "Comma separated; letters, digits and _ . : -")),
        h("h3", {}, "Attributes"),
        attrsBox,
        h("p", {}, h("button", { type: "button", class: "btn", testid: "attribute-add", onClick: () => attrsBox.append(attrRow()) }, "Add attribute")),
        h("div", { class: "check" }, optOut, h("label", { for: "opted-out" }, "Opted out of marketing")),
        h("div", { class: "form-actions" }, save, saved),
        ctx.session.isAdmin ? null : h("p", { class: "muted" }, "Only admins can change customers."),
      ),
    ),
    h("section", { class: "card" }, h("h2", {}, "History"), older, history),
  );
  draw();
  history.append(loading());
  await loadHistory(false);
}
