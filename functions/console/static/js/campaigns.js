// Campaigns: the list, a new campaign (templates and A/B variants, recipients from a
// CSV file or pasted text or a segment of known contacts, a start time), and one
// campaign's progress with its per-variant funnel, pause / resume / cancel; polled
// while it is scheduled, running or paused.
import { api, numberPath } from "./api.js";
import { h, mount } from "./dom.js";
import { number, percent, timeEl } from "./format.js";
import { poll } from "./poll.js";
import { go, href } from "./router.js";
import { slotsOf } from "./templatepicker.js";
import { adminsOnly, badge, busy, field, loading, pageHeader, showError, table } from "./ui.js";

const FUNNEL = ["queued", "sent", "delivered", "read", "failed", "replied"];
const ACTIVE = ["scheduled", "running", "paused"];
const TAG = /^[A-Za-z0-9_.:-]{1,64}$/;

export async function render(ctx) {
  if (ctx.path === "/campaigns/new") return renderNew(ctx);
  if (ctx.params.id) return renderOne(ctx, ctx.params.id);
  return renderList(ctx);
}

function forbidden(ctx, error) {
  if (error.status === 403) {
    mount(ctx.view, adminsOnly("Campaigns"));
    return true;
  }
  return false;
}

async function renderList(ctx) {
  mount(ctx.view, pageHeader("Campaigns", h("a", { class: "btn btn-primary", href: "#/campaigns/new", testid: "campaign-new" }, "New campaign")), loading());
  let answer;
  try {
    answer = await api.get(numberPath(ctx.pnid, "campaigns"), { limit: 100 });
  } catch (error) {
    if (!ctx.alive() || forbidden(ctx, error)) return;
    throw error;
  }
  if (!ctx.alive()) return;
  ctx.view.lastElementChild.replaceWith(
    h(
      "div",
      { class: "card" },
      table(
        [
          { label: "Name", cell: (c) => h("a", { href: href("campaigns", c.campaign_id) }, c.name || c.campaign_id) },
          { label: "Status", cell: (c) => badge(c.status) },
          { label: "Variants", cell: (c) => (c.variants || []).join(", ") },
          { label: "Queued", class: "num", cell: (c) => number(c.queued) },
          { label: "Created", cell: (c) => timeEl(c.created_at) },
          { label: "Starts", cell: (c) => timeEl(c.start_at) },
        ],
        answer.items || [],
        { empty: "No campaigns yet.", rowAttrs: (c) => ({ testid: "campaign-row", dataset: { id: c.campaign_id, status: c.status } }) },
      ),
    ),
  );
}

// ------------------------------------------------------------------ create
function variantBlock(templates, index, first) {
  const names = [...new Set(templates.map((t) => t.name))];
  const letter = String.fromCharCode(65 + index);
  const name = h("input", { type: "text", value: letter, pattern: "[A-Za-z0-9_-]{1,32}", class: "variant-name", "aria-label": "Variant name" });
  const template = h(
    "select",
    { class: "variant-template", testid: first ? "campaign-template" : "variant-template" },
    h("option", { value: "" }, "Choose a template…"),
    names.map((n) => h("option", { value: n }, n)),
  );
  const listId = `langs-${index}`;
  const languages = h("datalist", { id: listId });
  const language = h("input", { type: "text", value: "en_US", list: listId, class: "variant-language", testid: first ? "campaign-language" : "variant-language", maxlength: "15" });
  const weight = h("input", { type: "number", value: "1", min: "0.01", step: "any", class: "variant-weight" });
  const vars = h("div", { class: "template-params" });
  const block = h(
    "fieldset",
    { class: "variant", testid: "variant" },
    h("legend", {}, `Variant ${letter}`),
    h("div", { class: "variant-grid" }, field("Template", template), field("Language", language), field("Variant name", name), field("Weight", weight, "Share of recipients")),
    languages,
    vars,
  );

  function current() {
    const lang = language.value.trim();
    return templates.find((t) => t.name === template.value && t.language === lang) || templates.find((t) => t.name === template.value) || null;
  }

  function drawVars() {
    const t = current();
    vars.replaceChildren();
    if (!t) return;
    const slots = slotsOf(t).filter((s) => !s.url);
    if (slots.length) vars.append(h("p", { class: "muted full-row" }, "Fill each parameter from the recipient's row or attributes, e.g. {first_name}."));
    for (const slot of slots) {
      vars.append(field(slot.label, h("input", { type: "text", class: "variant-var", testid: "campaign-variable", dataset: { name: slot.key }, placeholder: "{first_name}" })));
    }
  }

  template.addEventListener("change", () => {
    const langs = templates.filter((t) => t.name === template.value).map((t) => t.language);
    mount(languages, langs.map((l) => h("option", { value: l })));
    if (langs.length && !langs.includes(language.value.trim())) language.value = langs[0];
    drawVars();
  });
  language.addEventListener("change", drawVars);

  block.spec = () => {
    const t = current();
    if (!template.value) throw new Error(`Variant ${letter}: choose a template`);
    const variant = { name: name.value.trim() || letter, template: template.value, language: language.value.trim() || "en_US", weight: Number(weight.value) || 1 };
    if (t) {
      const slots = slotsOf(t).filter((s) => !s.url);
      const variables = {};
      const inputs = [...vars.querySelectorAll(".variant-var")];
      const value = (key) => {
        const input = inputs.find((i) => i.dataset.name === key);
        const v = input ? input.value.trim() : "";
        if (!v) throw new Error(`Variant ${letter}: fill in every template parameter`);
        return v;
      };
      for (const kind of ["header", "body"]) {
        const mine = slots.filter((s) => s.group === kind);
        if (!mine.length) continue;
        variables[kind] = mine[0].name !== undefined ? Object.fromEntries(mine.map((s) => [s.name, value(s.key)])) : mine.map((s) => value(s.key));
      }
      const buttons = new Map();
      for (const s of slots.filter((x) => x.group === "button")) {
        if (!buttons.has(s.button.index)) buttons.set(s.button.index, []);
        buttons.get(s.button.index).push(value(s.key));
      }
      if (buttons.size) variables.buttons = [...buttons].map(([i, values]) => ({ index: i, sub_type: "url", values }));
      if (Object.keys(variables).length) variant.variables = variables;
    }
    return variant;
  };
  return block;
}

function splitTags(value) {
  const tags = value.split(",").map((t) => t.trim()).filter(Boolean);
  if (tags.some((t) => !TAG.test(t))) throw new Error("Tags are 1-64 letters, digits or _ . : -");
  return tags;
}

async function renderNew(ctx) {
  mount(ctx.view, pageHeader("New campaign"), loading());
  let templates = [];
  try {
    const answer = await api.get(numberPath(ctx.pnid, "templates"), { status: "APPROVED", limit: 200 });
    templates = (answer.items || []).filter((t) => String(t.status || "").toUpperCase() === "APPROVED");
  } catch (error) {
    showError(error);
  }
  if (!ctx.alive()) return;

  const name = h("input", { type: "text", testid: "campaign-name", maxlength: "200", required: true });
  const variants = h("div", { class: "variants" });
  variants.append(variantBlock(templates, 0, true));
  const addVariant = h("button", { type: "button", class: "btn", testid: "variant-add" }, "Add a variant (A/B test)");
  addVariant.addEventListener("click", () => {
    const count = variants.children.length;
    if (count >= 10) return;
    variants.append(variantBlock(templates, count, false));
  });

  const csvFile = h("input", { type: "file", accept: ".csv,text/csv,text/plain", testid: "campaign-csv" });
  const csvText = h("textarea", { rows: "6", testid: "campaign-csv-text", placeholder: "wa_id,first_name\n15551234567,Ana" });
  csvFile.addEventListener("change", () => {
    const file = csvFile.files && csvFile.files[0];
    if (!file) return;
    if (file.size > 5 * 1024 * 1024) {
      showError(new Error("The CSV is larger than 5 MB; split it into several campaigns."));
      return;
    }
    const reader = new FileReader();
    reader.onload = () => {
      csvText.value = String(reader.result || "");
    };
    reader.onerror = () => showError(new Error("The file could not be read."));
    reader.readAsText(file);
  });
  const tagsAny = h("input", { type: "text", testid: "segment-tags-any", placeholder: "vip, newsletter" });
  const tagsAll = h("input", { type: "text", testid: "segment-tags-all" });
  const tagsNone = h("input", { type: "text", testid: "segment-tags-none" });
  const seenAfter = h("input", { type: "text", testid: "segment-last-seen-after", placeholder: "90d, 12h or an ISO date" });
  const csvBox = h("div", {}, field("CSV file", csvFile, "A header row with a wa_id, to or phone column; other columns fill {placeholders}."), field("…or paste the CSV", csvText));
  const segmentBox = h("div", { hidden: true }, h("div", { class: "variant-grid" }, field("Has any of the tags", tagsAny), field("Has all of the tags", tagsAll), field("Has none of the tags", tagsNone), field("Last seen after", seenAfter)), h("p", { class: "muted" }, "Customers who opted out of marketing are left out."));
  const kindCsv = h("input", { type: "radio", name: "recipients", value: "csv", checked: true, testid: "recipients-csv" });
  const kindSegment = h("input", { type: "radio", name: "recipients", value: "segment", testid: "recipients-segment" });
  for (const r of [kindCsv, kindSegment]) {
    r.addEventListener("change", () => {
      csvBox.hidden = !kindCsv.checked;
      segmentBox.hidden = kindCsv.checked;
    });
  }
  const start = h("input", { type: "datetime-local", testid: "campaign-start" });
  const create = h("button", { type: "submit", class: "btn btn-primary", testid: "campaign-create" }, "Create campaign");

  const form = h(
    "form",
    { class: "card", testid: "campaign-form", novalidate: true },
    field("Name", name),
    h("h2", {}, "Message"),
    variants,
    h("p", {}, addVariant),
    h("h2", {}, "Recipients"),
    h("div", { class: "radio-line" }, h("label", {}, kindCsv, "Upload a list (CSV)"), h("label", {}, kindSegment, "A segment of known customers")),
    csvBox,
    segmentBox,
    h("h2", {}, "When"),
    field("Start at (your local time)", start, "Empty: start now"),
    h("div", { class: "form-actions" }, create, h("a", { href: "#/campaigns" }, "Cancel")),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(create, async () => {
      const body = { name: name.value.trim(), variants: [...variants.children].map((b) => b.spec()) };
      if (kindCsv.checked) {
        const csv = csvText.value.trim();
        if (!csv) throw new Error("Choose a CSV file or paste the list.");
        body.recipients = { csv: `${csv}\n` };
      } else {
        const segment = {};
        const any = splitTags(tagsAny.value);
        const all = splitTags(tagsAll.value);
        const none = splitTags(tagsNone.value);
        if (any.length) segment.tags_any = any;
        if (all.length) segment.tags_all = all;
        if (none.length) segment.tags_none = none;
        if (seenAfter.value.trim()) segment.last_seen_after = seenAfter.value.trim();
        body.recipients = { segment };
      }
      if (start.value) {
        const when = new Date(start.value);
        if (Number.isNaN(when.getTime())) throw new Error("The start time is not a valid date.");
        body.start_at = when.toISOString();
      }
      const answer = await api.post(numberPath(ctx.pnid, "campaigns"), body);
      go(href("campaigns", answer.campaign_id));
    });
  });
  ctx.view.lastElementChild.replaceWith(form);
  if (!templates.length) form.prepend(h("p", { class: "notice" }, "No approved templates for this number yet: campaigns send approved templates only."));
}

// ------------------------------------------------------------------ one
async function renderOne(ctx, id) {
  const path = numberPath(ctx.pnid, "campaigns", id);
  const title = h("h1", {}, id);
  const status = h("span", { testid: "campaign-status", class: "badge" });
  const progress = h("progress", { testid: "campaign-progress", max: "1", value: "0" });
  const progressText = h("span", { class: "muted" });
  const pause = h("button", { type: "button", class: "btn", testid: "campaign-pause" }, "Pause");
  const resume = h("button", { type: "button", class: "btn btn-primary", testid: "campaign-resume" }, "Resume");
  const cancel = h("button", { type: "button", class: "btn btn-danger", testid: "campaign-cancel" }, "Cancel campaign");
  const facts = h("dl", { class: "facts" });
  const funnel = h("div", {});
  let stop = null;

  function draw(c) {
    title.textContent = c.name || c.campaign_id;
    status.textContent = c.status || "unknown";
    status.className = `badge status-${String(c.status || "unknown").toLowerCase()}`;
    const share = Math.max(0, Math.min(1, Number(c.progress || 0)));
    progress.value = share;
    progress.dataset.value = String(share);
    progressText.textContent = `${percent(share)} of the list read`;
    pause.hidden = !["scheduled", "running"].includes(c.status);
    resume.hidden = c.status !== "paused";
    cancel.hidden = !ACTIVE.includes(c.status);
    const skipped = Object.entries(c.skipped || {});
    mount(
      facts,
      h("dt", {}, "Created"), h("dd", {}, timeEl(c.created_at)),
      h("dt", {}, "Starts"), h("dd", {}, c.start_at ? timeEl(c.start_at) : "at once"),
      c.completed_at ? [h("dt", {}, "Completed"), h("dd", {}, timeEl(c.completed_at))] : null,
      c.cancelled_at ? [h("dt", {}, "Cancelled"), h("dd", {}, timeEl(c.cancelled_at))] : null,
      c.audience !== undefined && c.audience !== null ? [h("dt", {}, "Audience"), h("dd", {}, typeof c.audience === "object" ? JSON.stringify(c.audience) : String(c.audience))] : null,
      h("dt", {}, "Skipped"), h("dd", {}, skipped.length ? skipped.map(([k, v]) => `${k}: ${number(v)}`).join(", ") : "none"),
    );
    const variants = c.variants && !Array.isArray(c.variants) ? Object.entries(c.variants) : [];
    const rows = variants.map(([name, figures]) => ({ name, ...figures }));
    if (c.totals && rows.length > 1) rows.push({ name: "Total", total: true, ...c.totals });
    mount(
      funnel,
      table(
        [
          { label: "Variant", cell: (r) => (r.total ? h("strong", {}, r.name) : r.name) },
          ...FUNNEL.map((f) => ({
            label: f,
            class: "num",
            cell: (r) => {
              const base = r.queued || 0;
              const n = r[f] || 0;
              return [number(n), f !== "queued" && base ? h("div", { class: "funnel-bar", style: { width: `${Math.min(100, (n / base) * 100)}%` }, "aria-hidden": "true" }) : null];
            },
          })),
        ],
        rows,
        { empty: "No messages yet.", rowAttrs: (r) => ({ testid: r.total ? "variant-total" : "variant-funnel", dataset: { variant: r.name } }) },
      ),
    );
  }

  async function refresh() {
    const c = await api.get(path);
    if (!ctx.alive()) return;
    draw(c);
    if (!ACTIVE.includes(c.status) && stop) {
      stop();
      stop = null;
    } else if (ACTIVE.includes(c.status) && !stop) {
      stop = poll(refresh, 3000);
    }
  }

  async function steer(button, action) {
    if (action === "cancel" && !confirm("Cancel this campaign for good? Queued messages are withdrawn.")) return;
    await busy(button, async () => {
      await api.post(`${path}/${action}`);
      await refresh();
    });
  }
  pause.addEventListener("click", () => steer(pause, "pause"));
  resume.addEventListener("click", () => steer(resume, "resume"));
  cancel.addEventListener("click", () => steer(cancel, "cancel"));

  mount(ctx.view, loading());
  try {
    const c = await api.get(path);
    if (!ctx.alive()) return;
    mount(
      ctx.view,
      h("p", {}, h("a", { href: "#/campaigns" }, "← Campaigns")),
      h("header", { class: "page-header" }, h("div", {}, title, h("div", {}, status)), h("div", { class: "actions" }, pause, resume, cancel)),
      h("section", { class: "card" }, h("h2", {}, "Progress"), h("div", { class: "progress-line" }, progress, progressText), facts),
      h("section", { class: "card" }, h("h2", {}, "Funnel per variant"), funnel),
    );
    draw(c);
    if (ACTIVE.includes(c.status)) stop = poll(refresh, 3000);
    ctx.onLeave(() => stop && stop());
  } catch (error) {
    if (!ctx.alive() || forbidden(ctx, error)) return;
    mount(ctx.view, h("p", {}, h("a", { href: "#/campaigns" }, "← Campaigns")), h("p", { class: "notice" }, error.status === 404 ? "No such campaign." : "The campaign could not be loaded."));
    showError(error);
  }
}
