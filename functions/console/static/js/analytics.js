// Analytics over a day range (default: the last 30 days) from the six /reports routes:
// the funnel over time, cost by pricing category, read/reply/failure rates, the
// assistant's resolution and handoff rates, agents' times and satisfaction, and
// tables per template, campaign and failure code.
import { api, numberPath } from "./api.js";
import { barChart, lineChart } from "./charts.js";
import { h, mount } from "./dom.js";
import { duration, isoDay, money, number, percent } from "./format.js";
import { adminsOnly, busy, field, loading, pageHeader, showError, table } from "./ui.js";

const REPORTS = ["funnel", "cost", "templates", "campaigns", "conversations", "failures"];
const FUNNEL_SERIES = ["sent", "delivered", "read", "replied", "failed"];

function seconds(v) {
  return v === null || v === undefined ? "–" : duration(v);
}

function satisfaction(s) {
  if (!s) return "–";
  const total = (s.good || 0) + (s.ok || 0) + (s.bad || 0);
  if (!total) return "no answers";
  return `${percent((s.good || 0) / total)} good (${s.good || 0} / ${s.ok || 0} / ${s.bad || 0})`;
}

function rate(label, value, testid) {
  return h("div", { class: "rate", testid }, h("dt", {}, label), h("dd", {}, percent(value)));
}

export async function render(ctx) {
  const today = new Date();
  const from = h("input", { type: "date", testid: "analytics-from", value: isoDay(new Date(today.getTime() - 29 * 86400000)) });
  const to = h("input", { type: "date", testid: "analytics-to", value: isoDay(today) });
  const apply = h("button", { type: "submit", class: "btn btn-primary", testid: "analytics-apply" }, "Show");
  const form = h("form", { class: "range" }, field("From", from), field("To", to), apply);
  const body = h("div", {}, loading());
  mount(ctx.view, pageHeader("Analytics", form), body);

  async function load() {
    mount(body, loading());
    const query = { from: from.value, to: to.value };
    let results;
    try {
      results = await Promise.all(REPORTS.map((r) => api.get(numberPath(ctx.pnid, "reports", r), query)));
    } catch (error) {
      if (!ctx.alive()) return;
      if (error.status === 403) {
        mount(body, adminsOnly("Analytics"));
        return;
      }
      mount(body, h("p", { class: "notice" }, "The reports could not be loaded."));
      throw error;
    }
    if (!ctx.alive()) return;
    const [funnel, cost, templates, campaigns, conversations, failures] = results;
    const days = (funnel.days || []).map((d) => d.day);
    const currency = cost.currency || "USD";
    const conv = conversations.totals || {};
    const byCategory = Object.entries((cost.totals && cost.totals.by_category) || {});

    mount(
      body,
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Rates"),
        h(
          "dl",
          { class: "rates", testid: "rates" },
          rate("Delivered", funnel.rates && funnel.rates.delivered, "rate-delivered"),
          rate("Read", funnel.rates && funnel.rates.read, "rate-read"),
          rate("Replied", funnel.rates && funnel.rates.replied, "rate-replied"),
          rate("Failed", funnel.rates && funnel.rates.failed, "rate-failed"),
          rate("Assistant resolution", conv.assistant_resolution_rate, "rate-assistant-resolution"),
          rate("Handoff", conv.handoff_rate, "rate-handoff"),
        ),
      ),
      h(
        "div",
        { class: "grid-2" },
        h(
          "section",
          { class: "card" },
          lineChart({
            title: "Message funnel per day",
            labels: days,
            yLabel: "Messages",
            testid: "chart-funnel",
            series: FUNNEL_SERIES.map((k) => ({ name: k, values: (funnel.days || []).map((d) => d[k] || 0) })),
          }),
          h("p", { class: "muted" }, `In ${number(funnel.totals && funnel.totals.in)} · out ${number(funnel.totals && funnel.totals.out)} · sent ${number(funnel.totals && funnel.totals.sent)}`),
        ),
        h(
          "section",
          { class: "card" },
          barChart({
            title: `Cost by pricing category (${currency})`,
            testid: "chart-cost",
            yLabel: currency,
            items: byCategory.map(([label, value]) => ({ label: label.toLowerCase(), value })),
            format: (v) => money(v, currency),
          }),
          h(
            "p",
            { class: "muted" },
            `Total ${money(cost.totals && cost.totals.cost, currency)} · ${number(cost.totals && cost.totals.billable)} billable messages`,
            cost.totals && cost.totals.unpriced ? ` · ${number(cost.totals.unpriced)} without a rate` : "",
          ),
        ),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Conversations"),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Opened by customers"), h("dd", {}, number((conv.opened_customer || 0) + (conv.opened_free_entry_point || 0))),
          h("dt", {}, "Handoffs"), h("dd", {}, number(conv.handoffs)),
          h("dt", {}, "Resolved by the assistant / agents"), h("dd", {}, `${number(conv.resolved_assistant)} / ${number(conv.resolved_agent)}`),
          h("dt", {}, "First response (assistant / agents)"), h("dd", {}, `${seconds(conv.first_response_seconds && conv.first_response_seconds.assistant)} / ${seconds(conv.first_response_seconds && conv.first_response_seconds.agent)}`),
          h("dt", {}, "Resolution time (assistant / agents)"), h("dd", {}, `${seconds(conv.resolution_seconds && conv.resolution_seconds.assistant)} / ${seconds(conv.resolution_seconds && conv.resolution_seconds.agent)}`),
          h("dt", {}, "Satisfaction"), h("dd", {}, satisfaction(conv.satisfaction)),
        ),
        h("h3", { class: "spaced" }, "Agents"),
        h(
          "div",
          { testid: "agents-table" },
          table(
            [
              { label: "Agent", cell: (a) => a.agent },
              { label: "Resolved", class: "num", cell: (a) => number(a.resolved) },
              { label: "First response", class: "num", cell: (a) => seconds(a.first_response_seconds) },
              { label: "Resolution", class: "num", cell: (a) => seconds(a.resolution_seconds) },
              { label: "Satisfaction", cell: (a) => satisfaction(a.satisfaction) },
            ],
            conversations.agents || [],
            { empty: "No agent activity in this range." },
          ),
        ),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Per template"),
        table(
          [
            { label: "Template", cell: (t) => `${t.template} (${t.language})` },
            ...["sent", "delivered", "read", "failed"].map((k) => ({ label: k, class: "num", cell: (t) => number(t.totals[k]) })),
            { label: "Read rate", class: "num", cell: (t) => percent(t.totals.read_rate) },
            { label: "Cost", class: "num", cell: (t) => money(t.totals.cost, templates.currency || currency) },
          ],
          templates.items || [],
          { empty: "No template messages in this range.", rowAttrs: () => ({ testid: "report-template-row" }) },
        ),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Per campaign"),
        table(
          [
            { label: "Campaign", cell: (c) => h("a", { href: `#/campaigns/${encodeURIComponent(c.campaign_id)}` }, c.campaign_id) },
            ...["sent", "delivered", "read", "replied", "failed"].map((k) => ({ label: k, class: "num", cell: (c) => number(c.totals[k]) })),
            { label: "Reply rate", class: "num", cell: (c) => percent(c.totals.reply_rate) },
            { label: "Cost", class: "num", cell: (c) => money(c.totals.cost, campaigns.currency || currency) },
          ],
          campaigns.items || [],
          { empty: "No campaign messages in this range.", rowAttrs: () => ({ testid: "report-campaign-row" }) },
        ),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Failures by error code"),
        table(
          [
            { label: "Error code", cell: (r) => r[0] },
            { label: "Messages", class: "num", cell: (r) => number(r[1]) },
          ],
          Object.entries((failures.totals && failures.totals.by_code) || {}),
          { empty: "No failed messages in this range." },
        ),
      ),
    );
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!from.value || !to.value || from.value > to.value) {
      showError(new Error("Choose a start day on or before the end day."));
      return;
    }
    busy(apply, load);
  });
  await load();
}
