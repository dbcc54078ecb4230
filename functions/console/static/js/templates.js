// Templates: the number's templates as the mirror holds them, with status, category,
// quality, the parameters a send must fill, and when they were last synced.
import { api, numberPath } from "./api.js";
import { h, mount } from "./dom.js";
import { timeEl } from "./format.js";
import { badge, busy, pageHeader, pagedTable } from "./ui.js";

const STATUSES = ["", "APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED"];

function paramsText(p) {
  if (!p || typeof p !== "object") return "–";
  const parts = [];
  for (const kind of ["header", "body"]) {
    const v = p[kind];
    if (Array.isArray(v)) parts.push(`${kind}: ${v.join(", ")}`);
    else if (typeof v === "number") parts.push(`${kind}: ${v}`);
    else if (v && v.media) parts.push(`${kind}: ${v.media}`);
  }
  if (Array.isArray(p.buttons) && p.buttons.length) parts.push(`buttons: ${p.buttons.length}`);
  return parts.length ? parts.join("; ") : "none";
}

export async function render(ctx) {
  const status = h("select", { "aria-label": "Status", testid: "template-status-filter" }, STATUSES.map((s) => h("option", { value: s }, s ? s.toLowerCase() : "any status")));
  const list = pagedTable(
    ctx,
    (cursor) => api.get(numberPath(ctx.pnid, "templates"), { status: status.value || null, components: false, limit: 100, cursor }),
    [
      { label: "Name", cell: (t) => h("strong", {}, t.name) },
      { label: "Language", cell: (t) => t.language },
      { label: "Status", cell: (t) => badge(t.status) },
      { label: "Category", cell: (t) => (t.category ? t.category.toLowerCase() : "–") },
      { label: "Quality", cell: (t) => (t.quality ? badge(t.quality, "quality") : "–") },
      { label: "Parameters", cell: (t) => paramsText(t.parameters) },
      { label: "Last sync", cell: (t) => timeEl(t.synced_at) },
    ],
    { empty: "No templates for this number.", rowAttrs: (t) => ({ testid: "template-row", dataset: { name: t.name, status: t.status || "", language: t.language } }) },
  );

  status.addEventListener("change", () => busy(null, () => list.load(true)));
  mount(ctx.view, pageHeader("Templates", status), list.element);
  await list.load(true);
}
