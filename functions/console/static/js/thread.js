// One conversation: both directions with delivery state, take / assign / release /
// resolve, a free-form reply while the customer service window is open (canned
// responses by `/keyword`), a template picker once it has closed, the assistant's
// suggested answer, private notes and labels. Polled; typed text is never redrawn.
import { api, numberPath } from "./api.js";
import { h, mount } from "./dom.js";
import { duration, nowSeconds, timeEl } from "./format.js";
import { syncMessages, messageKey } from "./messages.js";
import { poll } from "./poll.js";
import { href } from "./router.js";
import { templatePicker, componentsOf } from "./templatepicker.js";
import { badge, busy, showError } from "./ui.js";

const PLACEHOLDER = /(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})/g;

function windowOf(detail) {
  if (detail.window && typeof detail.window === "object") {
    return { open: Boolean(detail.window.open), closes_at: detail.window.closes_at || null };
  }
  return { open: Boolean(detail.window_open), closes_at: detail.window_expires_at || null };
}

function cannedParams(text) {
  return [...new Set([...String(text).matchAll(PLACEHOLDER)].map((m) => m[1]))];
}

function splitLabels(value) {
  return [...new Set(value.split(",").map((s) => s.trim()).filter(Boolean))];
}

export async function renderThread(ctx, pane, waId) {
  const base = numberPath(ctx.pnid, "conversations", waId);
  let detail = null;
  let older = []; // pages loaded with `before`
  let latest = [];
  let nextBefore = null;
  let olderLoaded = false;
  let windowOpen = null;
  let cannedList = null;
  let templates = null;

  // ------------------------------------------------------------ skeleton
  const title = h("h2", { class: "thread-title" });
  const subtitle = h("div", { class: "thread-sub" });
  const stateBox = h("span", { class: "thread-state" });
  const windowBox = h("span", { class: "window-state", testid: "window-state" });
  const takeBtn = h("button", { type: "button", class: "btn btn-primary", testid: "take" }, "Take over");
  const releaseBtn = h("button", { type: "button", class: "btn", testid: "release" }, "Release to bot");
  const resolveBtn = h("button", { type: "button", class: "btn", testid: "resolve" }, "Resolve");
  const assignSelect = h("select", { testid: "assign-select", "aria-label": "Assign to" }, h("option", { value: "" }, "Assign to…"));
  const suggestionBox = h("div", { class: "suggestion-slot" });
  const messagesBox = h("div", { class: "messages", role: "log", "aria-label": "Messages", "aria-live": "polite" });
  const olderBtn = h("button", { type: "button", class: "btn btn-quiet older", hidden: true }, "Load older messages");
  const composer = h("div", { class: "composer" });
  const notesList = h("ul", { class: "notes" });
  const noteText = h("textarea", { testid: "note-text", rows: "2", maxlength: "4096", placeholder: "A private note for colleagues (never sent)", "aria-label": "New note" });
  const noteAdd = h("button", { type: "button", class: "btn", testid: "note-add" }, "Add note");
  const labelsInput = h("input", { type: "text", testid: "labels-input", placeholder: "vip, billing", "aria-label": "Labels (comma separated)" });
  const labelsSave = h("button", { type: "button", class: "btn", testid: "labels-save" }, "Save labels");
  let labelsDirty = false;

  mount(
    pane,
    h(
      "div",
      { class: "thread" },
      h(
        "header",
        { class: "thread-head" },
        h("a", { class: "back", href: "#/inbox" }, "← Inbox"),
        h("div", { class: "thread-who" }, title, subtitle),
        h("div", { class: "thread-status" }, stateBox, windowBox),
        h("div", { class: "thread-actions" }, takeBtn, releaseBtn, resolveBtn, assignSelect),
      ),
      suggestionBox,
      h("div", { class: "messages-wrap" }, olderBtn, messagesBox),
      composer,
      h(
        "aside",
        { class: "thread-side" },
        h(
          "section",
          { class: "side-block" },
          h("h3", {}, "Labels"),
          h("div", { class: "inline-form" }, labelsInput, labelsSave),
        ),
        h(
          "section",
          { class: "side-block" },
          h("h3", {}, "Notes"),
          h("div", { class: "note-form" }, noteText, noteAdd),
          notesList,
        ),
      ),
    ),
  );

  // ------------------------------------------------------------ drawing
  function drawHeader() {
    const name = detail.profile_name || `+${waId}`;
    title.textContent = name;
    mount(
      subtitle,
      detail.profile_name ? h("span", { class: "muted" }, `+${waId}`) : null,
      h("a", { href: href("customers", waId), class: "customer-link" }, "Customer profile"),
    );
    mount(
      stateBox,
      badge(detail.state, "state"),
      detail.assignee ? h("span", { class: "assignee" }, ` with ${detail.assignee}`) : null,
      detail.waiting_since
        ? h("span", { class: "waiting-time" }, ` waiting ${duration(nowSeconds() - detail.waiting_since)}`)
        : null,
    );
    const win = windowOf(detail);
    windowBox.className = `window-state ${win.open ? "open" : "closed"}`;
    mount(
      windowBox,
      win.open
        ? [
            "Window open",
            win.closes_at ? [" · closes ", timeEl(win.closes_at)] : null,
          ]
        : "Window closed · templates only",
    );
    const mine = detail.assignee && detail.assignee === ctx.session.name;
    takeBtn.hidden = Boolean(mine) && detail.state === "assigned";
    releaseBtn.hidden = !(detail.state === "assigned" || detail.state === "handoff");
    resolveBtn.hidden = detail.state === "resolved" || detail.state === "bot";
    if (!labelsDirty && document.activeElement !== labelsInput) {
      labelsInput.value = (detail.labels || []).join(", ");
    }
    if (document.activeElement !== assignSelect) assignSelect.value = "";
  }

  function drawSuggestion() {
    const s = detail.suggestion;
    if (!s || !s.text) {
      suggestionBox.replaceChildren();
      return;
    }
    const current = suggestionBox.firstElementChild;
    if (current && current.dataset.at === String(s.at)) return;
    mount(
      suggestionBox,
      h(
        "section",
        { class: "suggestion", testid: "suggestion", dataset: { at: s.at }, "aria-label": "Suggested answer" },
        h(
          "div",
          { class: "suggestion-head" },
          h("strong", {}, "Assistant's suggestion"),
          s.confidence !== undefined && s.confidence !== null
            ? h("span", { class: "muted" }, ` · confidence ${Math.round(s.confidence * 100)} %`)
            : null,
        ),
        h("p", { class: "suggestion-text" }, s.text),
        h(
          "button",
          {
            type: "button",
            class: "btn",
            testid: "use-suggestion",
            onClick: () => {
              const box = composer.querySelector("[data-testid=reply-text]");
              if (box) {
                box.value = s.text;
                box.dispatchEvent(new Event("input"));
                box.focus();
              } else {
                showError(new Error("The window is closed: only a template can be sent now."));
              }
            },
          },
          "Use",
        ),
      ),
    );
  }

  function drawMessages() {
    const seen = new Set();
    const all = [];
    for (const m of [...latest, ...older]) {
      const k = messageKey(m);
      if (!seen.has(k)) {
        seen.add(k);
        all.push(m);
      }
    }
    all.sort((a, b) => (a.at || 0) - (b.at || 0));
    const nearBottom = messagesBox.scrollHeight - messagesBox.scrollTop - messagesBox.clientHeight < 80;
    const added = syncMessages(messagesBox, ctx.pnid, all);
    if (!all.length) {
      if (!messagesBox.querySelector(".empty")) messagesBox.append(h("p", { class: "empty" }, "No messages yet."));
    } else {
      messagesBox.querySelector(".empty")?.remove();
    }
    if (added && nearBottom) messagesBox.scrollTop = messagesBox.scrollHeight;
    olderBtn.hidden = !nextBefore;
  }

  // ------------------------------------------------------------ composer
  async function sendReply(body, button, after) {
    await busy(button, async () => {
      await api.post(`${base}/reply`, { ...body, idempotency_key: crypto.randomUUID() });
      after && after();
      await refresh();
    });
  }

  let cannedLoading = null;
  function loadCanned() {
    if (cannedList !== null) return Promise.resolve(cannedList);
    if (!cannedLoading) {
      cannedLoading = api.get(numberPath(ctx.pnid, "canned-responses")).then(
        (answer) => (cannedList = answer.items || []),
        (error) => {
          cannedLoading = null;
          showError(error);
          return [];
        },
      );
    }
    return cannedLoading;
  }

  function replyComposer() {
    const text = h("textarea", {
      testid: "reply-text",
      rows: "3",
      maxlength: "4096",
      placeholder: "Write a reply… (type / for canned responses)",
      "aria-label": "Reply",
    });
    const send = h("button", { type: "button", class: "btn btn-primary", testid: "reply-send" }, "Send");
    const offers = h("ul", { class: "canned-offers", role: "listbox", "aria-label": "Canned responses", hidden: true });
    const cannedBox = h("div", { class: "canned-chosen" });
    let chosen = null;
    const paramValues = {};

    function choose(item) {
      chosen = item;
      text.value = `/${item.name}`;
      offers.hidden = true;
      for (const k of Object.keys(paramValues)) delete paramValues[k];
      const params = cannedParams(item.text);
      mount(
        cannedBox,
        h(
          "div",
          { class: "canned-preview", testid: "canned-preview" },
          h("div", {}, h("strong", {}, `Canned response /${item.name}`)),
          h("p", { class: "muted pre" }, item.text),
          params.map((p) => {
            const id = `cp-${p}`;
            return h(
              "div",
              { class: "field" },
              h("label", { for: id }, `{${p}}`),
              h("input", { id, type: "text", testid: "canned-param", dataset: { name: p }, maxlength: "1024", onInput: (e) => (paramValues[p] = e.target.value) }),
            );
          }),
        ),
      );
    }

    function match(value) {
      const m = /^\/([A-Za-z0-9_.-]*)$/.exec(value.trim());
      return m ? m[1] : null;
    }

    async function offer() {
      const keyword = match(text.value);
      if (chosen && text.value.trim() !== `/${chosen.name}`) {
        chosen = null;
        cannedBox.replaceChildren();
      }
      if (keyword === null) {
        offers.hidden = true;
        return;
      }
      await loadCanned();
      if (match(text.value) !== keyword) return; // typed on meanwhile
      const found = cannedList.filter((c) => c.name.toLowerCase().startsWith(keyword.toLowerCase()));
      mount(
        offers,
        found.length
          ? found.map((c) =>
              h(
                "li",
                {},
                h(
                  "button",
                  { type: "button", class: "canned-offer", testid: "canned-option", dataset: { name: c.name }, onClick: () => choose(c) },
                  h("strong", {}, `/${c.name}`),
                  h("span", { class: "muted" }, ` ${c.text.length > 80 ? `${c.text.slice(0, 80)}…` : c.text}`),
                ),
              ),
            )
          : h("li", { class: "muted" }, "No canned response starts with that."),
      );
      offers.hidden = chosen !== null;
    }

    text.addEventListener("input", offer);
    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        send.click();
      } else if (e.key === "Enter" && !offers.hidden) {
        const first = offers.querySelector("button");
        if (first) {
          e.preventDefault();
          first.click();
        }
      } else if (e.key === "Escape") {
        offers.hidden = true;
      }
    });

    send.addEventListener("click", async () => {
      const value = text.value.trim();
      if (!value) return;
      const keyword = match(value);
      let item = chosen;
      if (!item && keyword) await loadCanned();
      if (!item && keyword && cannedList) item = cannedList.find((c) => c.name === keyword) || null;
      const body = item
        ? { canned: item.name, ...(Object.keys(paramValues).length ? { params: { ...paramValues } } : {}) }
        : { text: text.value };
      await sendReply(body, send, () => {
        text.value = "";
        chosen = null;
        cannedBox.replaceChildren();
        offers.hidden = true;
      });
    });

    return h(
      "div",
      { class: "reply" },
      h("div", { class: "reply-box" }, text, offers),
      cannedBox,
      h("div", { class: "reply-actions" }, h("small", { class: "muted" }, "Ctrl+Enter sends"), send),
    );
  }

  function templateComposer() {
    const box = h("div", { class: "reply template-reply" }, h("p", { class: "muted" }, "Loading templates…"));
    const load = templates
      ? Promise.resolve(templates)
      : api.get(numberPath(ctx.pnid, "templates"), { status: "APPROVED", limit: 200 }).then((answer) => {
          templates = (answer.items || []).filter((t) => String(t.status || "").toUpperCase() === "APPROVED");
          return templates;
        });
    load.then(
      (list) => {
        const picker = templatePicker(list);
        const send = h("button", { type: "button", class: "btn btn-primary", testid: "template-send" }, "Send template");
        send.addEventListener("click", async () => {
          const chosen = picker.value();
          if (!chosen) {
            showError(new Error("Choose a template first."));
            return;
          }
          if (chosen.missing.length) {
            showError(new Error(`Fill in: ${chosen.missing.join(", ")}`));
            return;
          }
          const template = { name: chosen.template.name, language: chosen.template.language };
          const components = componentsOf(chosen.template, chosen.values);
          if (components.length) template.components = components;
          await sendReply({ template }, send, () => picker.reset());
        });
        mount(
          box,
          h("p", { class: "muted" }, "The customer has not written in the last 24 hours: only an approved template can be sent."),
          picker.el,
          h("div", { class: "reply-actions" }, send),
        );
      },
      (error) => {
        mount(box, h("p", { class: "muted" }, "Templates could not be loaded."));
        showError(error);
      },
    );
    return box;
  }

  function drawComposer() {
    const open = windowOf(detail).open;
    if (open === windowOpen) return;
    windowOpen = open;
    mount(composer, open ? replyComposer() : templateComposer());
  }

  // ------------------------------------------------------------ data
  async function refresh() {
    try {
      const answer = await api.get(base, { limit: 50 });
      if (!ctx.alive()) return;
      detail = answer;
      latest = answer.messages || [];
      if (!olderLoaded) nextBefore = answer.next_before || null;
      drawHeader();
      drawSuggestion();
      drawMessages();
      drawComposer();
    } catch (error) {
      if (!ctx.alive()) return;
      if (!detail) {
        mount(pane, h("div", { class: "placeholder" }, h("a", { class: "back", href: "#/inbox" }, "← Inbox"), h("p", {}, error.status === 404 ? "No conversation with this customer." : "The conversation could not be loaded.")));
      }
      showError(error);
      throw error;
    }
  }

  async function refreshNotes() {
    const answer = await api.get(`${base}/notes`);
    if (!ctx.alive()) return;
    const items = answer.items || [];
    mount(
      notesList,
      items.length
        ? items.map((n) =>
            h(
              "li",
              { class: "note", testid: "note" },
              h("p", { class: "pre" }, n.text),
              h("small", { class: "muted" }, `${n.author || "someone"} · `, timeEl(n.at)),
            ),
          )
        : h("li", { class: "muted" }, "No notes yet."),
    );
  }

  async function loadAgents() {
    try {
      const answer = await api.get("/v1/agents");
      const names = (answer.items || []).map((a) => a.name).filter(Boolean);
      if (ctx.session.name && !names.includes(ctx.session.name)) names.unshift(ctx.session.name);
      assignSelect.append(...names.map((n) => h("option", { value: n }, n)));
    } catch {
      if (ctx.session.name) assignSelect.append(h("option", { value: ctx.session.name }, ctx.session.name));
    }
  }

  async function act(button, path, body) {
    await busy(button, async () => {
      await api.post(`${base}/${path}`, body);
      await refresh();
    });
  }

  takeBtn.addEventListener("click", () => act(takeBtn, "take"));
  releaseBtn.addEventListener("click", () => act(releaseBtn, "release"));
  resolveBtn.addEventListener("click", () => act(resolveBtn, "resolve"));
  assignSelect.addEventListener("change", () => {
    const agent = assignSelect.value;
    if (agent) act(assignSelect, "assign", { agent });
  });
  olderBtn.addEventListener("click", () =>
    busy(olderBtn, async () => {
      const answer = await api.get(base, { limit: 50, before: nextBefore });
      older = [...older, ...(answer.messages || [])];
      nextBefore = answer.next_before || null;
      olderLoaded = true;
      const top = messagesBox.scrollHeight - messagesBox.scrollTop;
      drawMessages();
      messagesBox.scrollTop = messagesBox.scrollHeight - top;
    }),
  );
  noteAdd.addEventListener("click", () => {
    const value = noteText.value.trim();
    if (!value) return;
    busy(noteAdd, async () => {
      await api.post(`${base}/notes`, { text: value });
      noteText.value = "";
      await refreshNotes();
    });
  });
  labelsInput.addEventListener("input", () => (labelsDirty = true));
  labelsSave.addEventListener("click", () =>
    busy(labelsSave, async () => {
      const wanted = splitLabels(labelsInput.value);
      const had = (detail && detail.labels) || [];
      const add = wanted.filter((l) => !had.includes(l));
      const remove = had.filter((l) => !wanted.includes(l));
      const answer = await api.put(`${base}/labels`, { add, remove });
      if (detail) detail.labels = answer.labels || wanted;
      labelsDirty = false;
      labelsInput.value = (detail.labels || []).join(", ");
    }),
  );

  mount(messagesBox, h("p", { class: "loading" }, "Loading…"));
  try {
    await refresh();
  } catch {
    return;
  }
  messagesBox.querySelector(".loading")?.remove();
  messagesBox.scrollTop = messagesBox.scrollHeight;
  loadAgents();
  refreshNotes().catch((error) => showError(error));
  ctx.onLeave(
    poll(async () => {
      await refresh();
      await refreshNotes();
    }, 3000),
  );
}
