// Times and numbers as people read them: relative, with the absolute time on hover.
import { h } from "./dom.js";

const UNITS = [
  [86400, "d"],
  [3600, "h"],
  [60, "min"],
];

/** "5 min", "2 h 10 min", "3 d" for a number of seconds. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  let left = Math.max(0, Math.round(seconds));
  if (left < 60) return `${left} s`;
  const parts = [];
  for (const [size, unit] of UNITS) {
    if (left >= size) {
      const n = Math.floor(left / size);
      parts.push(`${n} ${unit}`);
      left -= n * size;
      if (parts.length === 2 || unit === "min") break;
    } else if (parts.length) {
      break;
    }
  }
  return parts.join(" ");
}

export function absolute(epoch) {
  if (!epoch) return "";
  return new Date(epoch * 1000).toLocaleString();
}

export function nowSeconds() {
  return Date.now() / 1000;
}

/** "5 min ago" / "in 3 h" */
export function relative(epoch) {
  if (!epoch) return "–";
  const delta = nowSeconds() - epoch;
  if (Math.abs(delta) < 45) return "just now";
  return delta > 0 ? `${duration(delta)} ago` : `in ${duration(-delta)}`;
}

/** A <time> element: the relative text, the absolute time as its title. */
export function timeEl(epoch, label, attrs = {}) {
  if (!epoch) return h("span", { class: "muted" }, "–");
  const text = label === undefined ? relative(epoch) : label;
  return h(
    "time",
    { datetime: new Date(epoch * 1000).toISOString(), title: absolute(epoch), ...attrs },
    text,
  );
}

export function percent(ratio) {
  if (ratio === null || ratio === undefined) return "–";
  return `${(ratio * 100).toFixed(1)} %`;
}

export function number(n) {
  if (n === null || n === undefined) return "–";
  return Number(n).toLocaleString();
}

export function money(amount, currency) {
  if (amount === null || amount === undefined) return "–";
  try {
    return new Intl.NumberFormat(undefined, {
      style: "currency",
      currency: currency || "USD",
      maximumFractionDigits: 4,
    }).format(amount);
  } catch {
    return `${Number(amount).toFixed(4)} ${currency || ""}`.trim();
  }
}

/** YYYY-MM-DD of a Date in UTC (the reports' days are UTC days). */
export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}
