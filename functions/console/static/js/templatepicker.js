// A template and its parameters as inputs, built from the mirror's `parameters`
// (header/body: a list of names when NAMED, a count when POSITIONAL, {media: kind}
// for a media header; buttons: [{index, type, count}]), turned into Graph
// `template.components` for a send.
import { h } from "./dom.js";

function bodyText(template, kind) {
  const c = (template.components || []).find((x) => String(x.type || "").toLowerCase() === kind);
  return c && c.text ? String(c.text) : "";
}

/** The inputs a template needs: [{key, label, group, name, index}] */
export function slotsOf(template) {
  const p = template.parameters || {};
  const slots = [];
  for (const kind of ["header", "body"]) {
    const want = p[kind];
    if (Array.isArray(want)) {
      for (const name of want) slots.push({ group: kind, name, key: kind === "body" ? name : `header.${name}`, label: `${kind === "body" ? "Body" : "Header"} {{${name}}}` });
    } else if (typeof want === "number") {
      for (let i = 1; i <= want; i++) slots.push({ group: kind, index: i, key: kind === "body" ? String(i) : `header.${i}`, label: `${kind === "body" ? "Body" : "Header"} {{${i}}}` });
    } else if (want && typeof want === "object" && want.media) {
      slots.push({ group: "header-media", media: String(want.media).toLowerCase(), key: `header.${String(want.media).toLowerCase()}`, label: `Header ${String(want.media).toLowerCase()} URL`, url: true });
    }
  }
  for (const button of p.buttons || []) {
    for (let i = 1; i <= (button.count || 0); i++) {
      slots.push({ group: "button", button, index: i, key: `button.${button.index}.${i}`, label: `Button ${Number(button.index) + 1} URL {{${i}}}` });
    }
  }
  return slots;
}

/** Graph components from the slots and their values ({key: value}). */
export function componentsOf(template, values) {
  const named = String(template.parameter_format || "").toUpperCase() === "NAMED";
  const slots = slotsOf(template);
  const components = [];
  for (const kind of ["header", "body"]) {
    const mine = slots.filter((s) => s.group === kind);
    if (mine.length) {
      components.push({
        type: kind,
        parameters: mine.map((s) =>
          named && s.name !== undefined
            ? { type: "text", parameter_name: s.name, text: values[s.key] }
            : { type: "text", text: values[s.key] },
        ),
      });
    }
  }
  const media = slots.find((s) => s.group === "header-media");
  if (media) {
    components.unshift({ type: "header", parameters: [{ type: media.media, [media.media]: { link: values[media.key] } }] });
  }
  const buttons = new Map();
  for (const s of slots.filter((x) => x.group === "button")) {
    if (!buttons.has(s.button.index)) buttons.set(s.button.index, { button: s.button, values: [] });
    buttons.get(s.button.index).values.push(values[s.key]);
  }
  for (const [index, b] of buttons) {
    components.push({
      type: "button",
      sub_type: String(b.button.type || "url").toLowerCase() === "quick_reply" ? "quick_reply" : "url",
      index: String(index),
      parameters: b.values.map((v) => ({ type: "text", text: v })),
    });
  }
  return components;
}

/** The body text with the values typed so far, for a preview. */
export function preview(template, values) {
  const text = bodyText(template, "body");
  return text.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (whole, name) => {
    const v = values[name];
    return v ? v : whole;
  });
}

/**
 * The picker: a select of templates, their parameter inputs, a preview.
 * `onChange` is told when the choice or a value changes. Returns {el, value()}:
 * value() -> {template, values, missing[]} or null when none is chosen.
 */
export function templatePicker(templates, { testids = {}, onChange } = {}) {
  const select = h(
    "select",
    { testid: testids.select || "template-select", class: "template-select" },
    h("option", { value: "" }, templates.length ? "Choose a template…" : "No approved templates"),
    templates.map((t, i) => h("option", { value: String(i) }, `${t.name} (${t.language})${t.category ? ` · ${t.category.toLowerCase()}` : ""}`)),
  );
  const inputs = h("div", { class: "template-params" });
  const previewBox = h("p", { class: "template-preview" });
  const values = {};

  function chosen() {
    return select.value === "" ? null : templates[Number(select.value)];
  }

  function draw() {
    const t = chosen();
    inputs.replaceChildren();
    previewBox.textContent = "";
    for (const k of Object.keys(values)) delete values[k];
    if (!t) return;
    for (const slot of slotsOf(t)) {
      const input = h("input", {
        type: slot.url ? "url" : "text",
        testid: testids.param || "template-param",
        dataset: { name: slot.key },
        required: true,
        maxlength: slot.url ? null : "1024",
        onInput: (e) => {
          values[slot.key] = e.target.value;
          previewBox.textContent = preview(t, values);
          onChange && onChange();
        },
      });
      const id = `tp-${Math.random().toString(36).slice(2, 9)}`;
      input.id = id;
      inputs.append(h("div", { class: "field" }, h("label", { for: id }, slot.label), input));
    }
    previewBox.textContent = preview(t, values);
  }

  select.addEventListener("change", () => {
    draw();
    onChange && onChange();
  });

  return {
    el: h("div", { class: "template-picker" }, select, inputs, previewBox),
    select,
    value() {
      const t = chosen();
      if (!t) return null;
      const missing = slotsOf(t).filter((s) => !String(values[s.key] || "").trim()).map((s) => s.label);
      return { template: t, values: { ...values }, missing };
    },
    reset() {
      select.value = "";
      draw();
    },
  };
}
