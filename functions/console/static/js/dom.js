// A tiny, safe element builder. Text is only ever set through text nodes
// (createTextNode / textContent): customer text can never become markup, and
// nothing from the API is ever turned into a link.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(parent, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
  } else if (child instanceof Node) {
    parent.appendChild(child);
  } else {
    parent.appendChild(document.createTextNode(String(child)));
  }
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "dataset") {
      for (const [k, v] of Object.entries(value)) {
        if (v !== null && v !== undefined) el.dataset[k] = String(v);
      }
    } else if (key === "testid") {
      el.setAttribute("data-testid", value);
    } else if (key === "style") {
      // Through the CSSOM only: the console's CSP (style-src 'self') refuses style attributes.
      if (typeof value !== "object") throw new Error("dom.h takes style as an object");
      Object.assign(el.style, value);
    } else if (key === "class") {
      el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    } else if (key === "value" && "value" in el && !(el instanceof SVGElement)) {
      el.value = value;
    } else if ((key === "checked" || key === "selected" || key === "disabled") && !(el instanceof SVGElement)) {
      el[key] = Boolean(value);
    } else if (key === "html" || key === "innerHTML") {
      throw new Error("dom.h never sets markup");
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

/** h("div", {class: "x", testid: "row", onClick: fn}, "text", child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** The same for SVG elements (charts). */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Replace an element's children. */
export function mount(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
  return parent;
}

export function text(value) {
  return document.createTextNode(value === null || value === undefined ? "" : String(value));
}
