// Settings per number (admins): the assistant (auto-reply on/off, business name and
// tone for its prompt, confidence threshold, handoff keywords and timeout, opening
// hours and time zone) and the inbox (automatic assignment, satisfaction survey).
// Only changed fields are sent: a field sent is set on this number, the rest keep
// inheriting the organisation's values.
import { api, numberPath } from "./api.js";
import { h, mount } from "./dom.js";
import { adminsOnly, busy, field, loading, pageHeader } from "./ui.js";

const DAYS = [
  ["mon", "Mon"],
  ["tue", "Tue"],
  ["wed", "Wed"],
  ["thu", "Thu"],
  ["fri", "Fri"],
  ["sat", "Sat"],
  ["sun", "Sun"],
];
const SPAN = /^([01]\d|2[0-3]):[0-5]\d$/;

function spansText(spans) {
  return (spans || []).map(([a, b]) => `${a}-${b}`).join(", ");
}

function parseSpans(text, day) {
  const value = text.trim();
  if (!value) return [];
  return value.split(",").map((part) => {
    const [a, b] = part.split("-").map((x) => (x || "").trim());
    if (!SPAN.test(a || "") || !SPAN.test(b || "") || a >= b) {
      throw new Error(`${day}: write spans as 09:00-18:00 (start before end), separated by commas`);
    }
    return [a, b];
  });
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function checkbox(label, checked, testid, hint) {
  const input = h("input", { type: "checkbox", checked, testid });
  const id = `cb-${testid}`;
  input.id = id;
  return { input, el: h("div", { class: "check" }, input, h("label", { for: id }, label), hint ? h("small", { class: "muted" }, hint) : null) };
}

export async function render(ctx) {
  const assistantPath = `/v1/tenants/${encodeURIComponent(ctx.pnid)}/assistant`;
  const inboxPath = numberPath(ctx.pnid, "inbox-settings");
  mount(ctx.view, pageHeader("Settings"), loading());
  let assistant;
  let inbox;
  try {
    [assistant, inbox] = await Promise.all([api.get(assistantPath), api.get(inboxPath)]);
  } catch (error) {
    if (!ctx.alive()) return;
    if (error.status === 403) {
      mount(ctx.view, pageHeader("Settings"), adminsOnly("Settings"));
      return;
    }
    throw error;
  }
  if (!ctx.alive()) return;

  const enabled = checkbox("Auto-reply: the assistant answers customers", assistant.enabled, "settings-auto-reply");
  const businessName = h("input", { type: "text", maxlength: "200", value: assistant.business_name || "", testid: "settings-business-name" });
  const tone = h("textarea", { rows: "3", maxlength: "500", testid: "settings-tone" });
  tone.value = assistant.tone || "";
  const threshold = h("input", { type: "number", min: "0", max: "1", step: "0.05", value: String(assistant.confidence_threshold ?? ""), testid: "settings-threshold" });
  const keywords = h("textarea", { rows: "4", testid: "settings-handoff-keywords", placeholder: "One per line (empty: the default list)" });
  keywords.value = (assistant.handoff_keywords || []).join("\n");
  const timeout = h("input", { type: "number", min: "1", max: "43200", step: "1", value: String(Math.round((assistant.handoff_timeout_seconds || 0) / 60)), testid: "settings-handoff-timeout" });
  const zone = h("input", { type: "text", maxlength: "64", value: assistant.time_zone || "", list: "zones", testid: "settings-time-zone", placeholder: "Europe/Lisbon" });
  const zones = h("datalist", { id: "zones" }, (Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : []).map((z) => h("option", { value: z })));
  const hourInputs = {};
  const hours = h(
    "div",
    { class: "hours", testid: "settings-hours" },
    DAYS.map(([key, label]) => {
      const input = h("input", { type: "text", id: `hours-${key}`, dataset: { day: key }, value: spansText((assistant.hours || {})[key]), placeholder: "closed" });
      hourInputs[key] = input;
      return [h("label", { for: `hours-${key}` }, label), input];
    }),
  );
  const autoAssign = checkbox("Assign handed-over conversations automatically (round-robin)", inbox.auto_assign, "settings-auto-assign");
  const survey = checkbox("Send the satisfaction survey when a conversation is resolved", inbox.survey, "settings-survey");
  const save = h("button", { type: "submit", class: "btn btn-primary", testid: "settings-save" }, "Save settings");
  const saved = h("span", { class: "saved", role: "status", "aria-live": "polite", testid: "settings-saved", hidden: true });
  const overrides = new Set(assistant.overrides || []);
  const inherited = (name) => (overrides.has(name) ? null : "inherited from the organisation");

  const form = h(
    "form",
    { testid: "settings-form", novalidate: true },
    h(
      "fieldset",
      {},
      h("legend", {}, "Assistant"),
      enabled.el,
      field("Business name (in the assistant's prompt)", businessName, inherited("business_name")),
      field("Tone (in the assistant's prompt)", tone, inherited("tone")),
      field("Confidence threshold (0–1)", threshold, "Below it the assistant hands over to a person and leaves its answer as a suggestion"),
      field("Handoff keywords", keywords, "One per line: a customer writing one reaches a person"),
      field("Handoff timeout (minutes)", timeout, "A conversation waiting this long without an agent goes back to the assistant"),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Business hours"),
      field("Time zone", zone, "An IANA name, e.g. Europe/Lisbon"),
      zones,
      h("p", { class: "muted" }, "Per day, spans like 09:00-13:00, 14:00-18:00. Empty: closed."),
      hours,
    ),
    h("fieldset", {}, h("legend", {}, "Inbox"), autoAssign.el, survey.el),
    h("div", { class: "form-actions" }, save, saved),
  );

  form.addEventListener("input", () => {
    saved.hidden = true;
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(save, async () => {
      saved.hidden = true;
      const patch = {};
      if (enabled.input.checked !== assistant.enabled) patch.enabled = enabled.input.checked;
      if (businessName.value.trim() !== (assistant.business_name || "")) patch.business_name = businessName.value.trim();
      if (tone.value.trim() !== (assistant.tone || "")) patch.tone = tone.value.trim();
      const t = Number(threshold.value);
      if (threshold.value === "" || Number.isNaN(t) || t < 0 || t > 1) throw new Error("The confidence threshold is a number from 0 to 1.");
      if (t !== assistant.confidence_threshold) patch.confidence_threshold = t;
      const words = [...new Set(keywords.value.split("\n").map((w) => w.trim()).filter(Boolean))];
      if (!same(words, assistant.handoff_keywords || [])) patch.handoff_keywords = words.length ? words : null;
      const minutes = Number(timeout.value);
      if (!Number.isInteger(minutes) || minutes < 1) throw new Error("The handoff timeout is a whole number of minutes (at least 1).");
      if (minutes !== Math.round((assistant.handoff_timeout_seconds || 0) / 60)) patch.handoff_timeout_seconds = minutes * 60;
      if (zone.value.trim() !== (assistant.time_zone || "")) patch.time_zone = zone.value.trim() || null;
      const wanted = {};
      for (const [key, label] of DAYS) {
        const spans = parseSpans(hourInputs[key].value, label);
        if (spans.length) wanted[key] = spans;
      }
      const had = Object.fromEntries(Object.entries(assistant.hours || {}).filter(([, v]) => v && v.length));
      if (!same(wanted, Object.fromEntries(DAYS.map(([k]) => k).filter((k) => had[k]).map((k) => [k, had[k]])))) patch.hours = wanted;
      const inboxPatch = {};
      if (autoAssign.input.checked !== Boolean(inbox.auto_assign)) inboxPatch.auto_assign = autoAssign.input.checked;
      if (survey.input.checked !== Boolean(inbox.survey)) inboxPatch.survey = survey.input.checked;
      if (Object.keys(patch).length) assistant = await api.patch(assistantPath, patch);
      if (Object.keys(inboxPatch).length) inbox = await api.patch(inboxPath, inboxPatch);
      saved.textContent = Object.keys(patch).length || Object.keys(inboxPatch).length ? "Saved" : "Saved (nothing changed)";
      saved.hidden = false;
    });
  });
  ctx.view.lastElementChild.replaceWith(h("section", { class: "card" }, form));
}

