// Small SVG charts drawn with createElementNS: a line chart over days and a bar chart
// of named values, each with axis labels, a legend and an accessible title.
import { h, s } from "./dom.js";

export const COLOURS = ["#0b6bcb", "#1a7f37", "#8250df", "#c62828", "#b35900", "#0a7f86", "#6e7781"];

function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function ticks(max, count = 4) {
  return Array.from({ length: count + 1 }, (_, i) => (max / count) * i);
}

function fmt(n, unit) {
  const v = Math.abs(n) >= 1000 ? `${(n / 1000).toFixed(n % 1000 ? 1 : 0)}k` : Number.isInteger(n) ? String(n) : n.toFixed(2);
  return unit ? `${v}${unit}` : v;
}

function legend(series) {
  return h(
    "ul",
    { class: "legend" },
    series.map((x, i) => h("li", {}, h("span", { class: "swatch", style: { background: x.colour || COLOURS[i % COLOURS.length] }, "aria-hidden": "true" }), x.name)),
  );
}

let ids = 0;

/** lineChart({title, labels: [day...], series: [{name, values}], yLabel, testid}) */
/** Narrow screens get a narrower drawing, so its text stays readable when scaled. */
function width() {
  return window.innerWidth < 640 ? 380 : 640;
}

export function lineChart({ title, labels, series, yLabel = "", testid, unit = "" }) {
  const W = width(), H = 260, L = 48, R = 24, T = 12, B = 42;
  const id = `chart-${++ids}`;
  const max = niceMax(Math.max(0, ...series.flatMap((x) => x.values)));
  const x = (i) => L + (labels.length <= 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (labels.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const every = Math.max(1, Math.ceil(labels.length / (W < 640 ? 4 : 6)));
  const svg = s(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-t ${id}-d` },
    s("title", { id: `${id}-t` }, title),
    s("desc", { id: `${id}-d` }, series.map((x) => `${x.name}: ${x.values.reduce((a, b) => a + b, 0)} in total`).join("; ")),
    s(
      "g",
      { class: "axis" },
      ticks(max).map((t) => [
        s("line", { class: "gridline", x1: L, x2: W - R, y1: y(t), y2: y(t), "stroke-dasharray": t ? "2 3" : null }),
        s("text", { x: L - 6, y: y(t) + 4, "text-anchor": "end" }, fmt(t, unit)),
      ]),
      labels.map((label, i) => (i % every === 0 || i === labels.length - 1 ? s("text", { x: x(i), y: H - B + 16, "text-anchor": "middle" }, String(label).slice(5)) : null)),
      s("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, "Day (UTC)"),
      yLabel ? s("text", { x: 12, y: T + (H - T - B) / 2, transform: `rotate(-90 12 ${T + (H - T - B) / 2})`, "text-anchor": "middle" }, yLabel) : null,
    ),
    series.map((serie, k) => {
      const colour = serie.colour || COLOURS[k % COLOURS.length];
      const points = serie.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      return s(
        "g",
        {},
        s("polyline", { points, fill: "none", stroke: colour, "stroke-width": "2", "stroke-linejoin": "round" }),
        labels.length <= 31 ? serie.values.map((v, i) => s("circle", { cx: x(i), cy: y(v), r: "2.5", fill: colour }, s("title", {}, `${serie.name} ${labels[i]}: ${v}`))) : null,
      );
    }),
  );
  return h("figure", { class: "chart", testid }, h("figcaption", {}, title), svg, legend(series));
}

/** barChart({title, items: [{label, value}], unit, format, testid}) */
export function barChart({ title, items, yLabel = "", testid, format = (v) => String(v) }) {
  const W = width(), H = 240, L = 56, R = 12, T = 12, B = 42;
  const id = `chart-${++ids}`;
  const max = niceMax(Math.max(0, ...items.map((i) => i.value)));
  const band = (W - L - R) / Math.max(1, items.length);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const svg = s(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-t ${id}-d` },
    s("title", { id: `${id}-t` }, title),
    s("desc", { id: `${id}-d` }, items.length ? items.map((i) => `${i.label}: ${format(i.value)}`).join("; ") : "no data"),
    s(
      "g",
      { class: "axis" },
      ticks(max).map((t) => [
        s("line", { class: "gridline", x1: L, x2: W - R, y1: y(t), y2: y(t), "stroke-dasharray": t ? "2 3" : null }),
        s("text", { x: L - 6, y: y(t) + 4, "text-anchor": "end" }, format(t)),
      ]),
      yLabel ? s("text", { x: 12, y: T + (H - T - B) / 2, transform: `rotate(-90 12 ${T + (H - T - B) / 2})`, "text-anchor": "middle" }, yLabel) : null,
    ),
    items.map((item, i) => {
      const colour = item.colour || COLOURS[i % COLOURS.length];
      const bx = L + i * band + band * 0.2;
      return s(
        "g",
        {},
        s("rect", { x: bx, y: y(item.value), width: band * 0.6, height: Math.max(0, H - B - y(item.value)), fill: colour, rx: "2" }, s("title", {}, `${item.label}: ${format(item.value)}`)),
        s("text", { x: bx + band * 0.3, y: H - B + 16, "text-anchor": "middle" }, item.label),
      );
    }),
    items.length ? null : s("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "No data in this range"),
  );
  return h("figure", { class: "chart", testid }, h("figcaption", {}, title), svg, legend(items.map((i, k) => ({ name: `${i.label}: ${format(i.value)}`, colour: i.colour || COLOURS[k % COLOURS.length] }))));
}
