// The inbox: conversations waiting for a person first (longest wait on top, with the
// waiting time), then the rest by last activity; filters mine / unassigned / all;
// refreshed every few seconds. With #/inbox/<wa_id> the thread opens beside the list
// (below it on a phone, where the list steps aside).
import { api, numberPath } from "./api.js";
import { h, mount } from "./dom.js";
import { duration, nowSeconds, relative, timeEl } from "./format.js";
import { poll } from "./poll.js";
import { href } from "./router.js";
import { renderThread } from "./thread.js";
import { badge, showError } from "./ui.js";

const FILTER = "wacloud.console.inbox-filter";
const FILTERS = [
  ["mine", "Mine"],
  ["unassigned", "Unassigned"],
  ["all", "All"],
];

let lastItems = null; // drawn at once when moving between threads

function query(filter) {
  if (filter === "mine") return { assignee: "me", limit: 100 };
  if (filter === "unassigned") return { unassigned: true, limit: 100 };
  return { limit: 100 };
}

// The API filters; this only keeps the list drawn from the previous filter's answer
// (shown at once while the new one loads) from showing rows the new filter excludes.
function visible(items, filter) {
  if (filter === "unassigned") return items.filter((c) => !c.assignee && c.state !== "resolved");
  return items;
}

function rowEl(item, selected) {
  const waiting = Boolean(item.waiting_since);
  return h(
    "li",
    {},
    h(
      "a",
      {
        href: href("inbox", item.wa_id),
        class: ["conversation-row", waiting ? "waiting" : "", selected ? "selected" : ""],
        testid: "conversation-row",
        dataset: { waId: item.wa_id, state: item.state },
        "aria-current": selected ? "true" : null,
      },
      h(
        "div",
        { class: "row-main" },
        h("span", { class: "row-name" }, item.profile_name || `+${item.wa_id}`),
        item.profile_name ? h("span", { class: "row-sub muted" }, `+${item.wa_id}`) : null,
      ),
      h(
        "div",
        { class: "row-side" },
        waiting
          ? h(
              "span",
              { class: "waiting-time", testid: "waiting", title: `Waiting since ${new Date(item.waiting_since * 1000).toLocaleString()}` },
              `waiting ${duration(nowSeconds() - item.waiting_since)}`,
            )
          : timeEl(item.last_activity_at, relative(item.last_activity_at), { class: "muted" }),
        h(
          "span",
          { class: "row-tags" },
          badge(item.state, "state"),
          item.assignee ? h("span", { class: "assignee" }, item.assignee) : null,
          (item.labels || []).map((l) => h("span", { class: "label" }, l)),
        ),
      ),
    ),
  );
}

function listEl(items, selectedWaId) {
  const waiting = items
    .filter((c) => c.waiting_since)
    .sort((a, b) => a.waiting_since - b.waiting_since);
  const rest = items
    .filter((c) => !c.waiting_since)
    .sort((a, b) => (b.last_activity_at || 0) - (a.last_activity_at || 0));
  if (!items.length) return h("p", { class: "empty" }, "No conversations here.");
  return [
    waiting.length
      ? h(
          "section",
          { class: "group", "aria-label": "Waiting for a person" },
          h("h2", { class: "group-title" }, `Waiting for a person (${waiting.length})`),
          h("ul", { class: "rows" }, waiting.map((c) => rowEl(c, c.wa_id === selectedWaId))),
        )
      : null,
    rest.length
      ? h(
          "section",
          { class: "group", "aria-label": "Other conversations" },
          h("h2", { class: "group-title" }, waiting.length ? "Others" : "Conversations"),
          h("ul", { class: "rows" }, rest.map((c) => rowEl(c, c.wa_id === selectedWaId))),
        )
      : null,
  ];
}

export async function render(ctx) {
  const selected = ctx.params.wa_id || null;
  let filter = localStorage.getItem(FILTER) || "all";
  if (!FILTERS.some(([k]) => k === filter)) filter = "all";

  const listBox = h("div", { class: "list-body", "aria-live": "polite" });
  const filters = h(
    "div",
    { class: "filters", role: "group", "aria-label": "Show" },
    FILTERS.map(([key, label]) =>
      h(
        "button",
        {
          type: "button",
          class: "chip",
          testid: `filter-${key}`,
          "aria-pressed": String(key === filter),
          onClick: () => {
            filter = key;
            localStorage.setItem(FILTER, key);
            filters.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.testid === `filter-${key}`)));
            refresh();
          },
        },
        label,
      ),
    ),
  );
  const listPane = h("section", { class: "pane list-pane", "aria-label": "Conversations" }, h("div", { class: "pane-head" }, h("h1", {}, "Inbox"), filters), listBox);
  const threadPane = h("section", { class: "pane thread-pane", "aria-label": "Conversation" });
  mount(ctx.view, h("div", { class: ["inbox", selected ? "has-thread" : ""] }, listPane, threadPane));

  if (lastItems && lastItems.pnid === ctx.pnid && lastItems.filter === filter) {
    mount(listBox, listEl(visible(lastItems.items, filter), selected));
  } else {
    mount(listBox, h("p", { class: "loading" }, "Loading…"));
  }

  async function refresh() {
    const asked = filter;
    try {
      const answer = await api.get(numberPath(ctx.pnid, "conversations"), query(asked));
      if (!ctx.alive() || asked !== filter) return;
      lastItems = { pnid: ctx.pnid, filter: asked, items: answer.items || [] };
      mount(listBox, listEl(visible(lastItems.items, asked), selected));
    } catch (error) {
      if (ctx.alive()) showError(error);
    }
  }

  ctx.onLeave(poll(refresh, 3000));
  refresh();

  if (selected) {
    await renderThread(ctx, threadPane, selected);
  } else {
    mount(threadPane, h("div", { class: "placeholder" }, h("p", {}, "Choose a conversation to read and answer it.")));
  }
}
