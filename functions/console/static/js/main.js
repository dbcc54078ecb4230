// The console's entry: sign in, learn who we are and our numbers, draw the shell,
// then hand each hash route to its page module.
import { ensureSignedIn, signOut } from "./auth.js";
import { h, mount } from "./dom.js";
import { reload, route, start } from "./router.js";
import { chooseNumber, loadSession, numberLabel, session } from "./session.js";
import { clearError, setErrorRegion, showError } from "./ui.js";

route("/inbox", "inbox", () => import("./inbox.js"));
route("/inbox/:wa_id", "inbox", () => import("./inbox.js"));
route("/customers", "customers", () => import("./customer.js"));
route("/customers/:wa_id", "customers", () => import("./customer.js"));
route("/campaigns", "campaigns", () => import("./campaigns.js"));
route("/campaigns/new", "campaigns", () => import("./campaigns.js"));
route("/campaigns/:id", "campaigns", () => import("./campaigns.js"));
route("/templates", "templates", () => import("./templates.js"));
route("/analytics", "analytics", () => import("./analytics.js"));
route("/settings", "settings", () => import("./settings.js"));

const NAV = [
  ["inbox", "Inbox"],
  ["customers", "Customers"],
  ["campaigns", "Campaigns"],
  ["templates", "Templates"],
  ["analytics", "Analytics"],
  ["settings", "Settings"],
];

let cleanups = [];
let generation = 0;

function leave() {
  for (const fn of cleanups.splice(0)) {
    try {
      fn();
    } catch {
      /* a page's cleanup never blocks navigation */
    }
  }
}

function shell() {
  const nav = document.getElementById("nav");
  const toggle = document.getElementById("nav-toggle");
  mount(
    nav,
    h(
      "ul",
      {},
      NAV.map(([key, label]) =>
        h("li", {}, h("a", { href: `#/${key}`, testid: `nav-${key}`, dataset: { route: key } }, label)),
      ),
    ),
  );
  toggle.addEventListener("click", () => {
    const open = document.body.classList.toggle("nav-open");
    toggle.setAttribute("aria-expanded", String(open));
  });
  nav.addEventListener("click", (e) => {
    if (e.target.closest("a")) {
      document.body.classList.remove("nav-open");
      toggle.setAttribute("aria-expanded", "false");
    }
  });

  const select = document.getElementById("number-select");
  mount(
    select,
    session.numbers.length
      ? session.numbers.map((n) =>
          h("option", { value: n.phone_number_id, selected: n.phone_number_id === session.pnid }, numberLabel(n)),
        )
      : h("option", { value: "" }, "No numbers"),
  );
  select.disabled = session.numbers.length === 0;
  select.addEventListener("change", () => {
    chooseNumber(select.value);
    reload();
  });

  document.getElementById("signed-in-as").textContent = session.name || "signed in";
  document.getElementById("sign-out").addEventListener("click", () => signOut());
}

async function show(found) {
  leave();
  clearError();
  const mine = ++generation;
  document.querySelectorAll("#nav a").forEach((a) => {
    if (a.dataset.route === found.name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  const view = document.getElementById("view");
  view.replaceChildren();
  view.dataset.route = found.name;
  const ctx = {
    params: found.params,
    path: found.path,
    pnid: session.pnid,
    session,
    view,
    alive: () => mine === generation,
    onLeave: (fn) => cleanups.push(fn),
  };
  try {
    const page = await found.load();
    if (!ctx.alive()) return;
    if (!session.pnid) {
      mount(view, h("p", { class: "notice" }, "No business number is available to you."));
      return;
    }
    await page.render(ctx);
  } catch (error) {
    if (ctx.alive()) showError(error);
  }
}

async function boot() {
  setErrorRegion(document.getElementById("errors"));
  try {
    await ensureSignedIn();
    await loadSession();
  } catch (error) {
    document.body.classList.remove("booting");
    showError(error);
    return;
  }
  shell();
  document.body.classList.remove("booting");
  start(show);
}

boot();
