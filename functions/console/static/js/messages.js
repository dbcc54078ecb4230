// A conversation's messages, both directions, as the thread and the customer page show
// them: text only through text nodes (never linkified), delivery state per outbound
// message, inbound media fetched from the cache on demand.
import { api, numberPath } from "./api.js";
import { h } from "./dom.js";
import { timeEl } from "./format.js";

const mediaUrls = new Map(); // sha256 -> {url, mime_type, expires_at}

const STATUS_MARK = {
  read: "✓✓",
  delivered: "✓✓",
  sent: "✓",
  played: "✓✓",
  failed: "!",
};

async function mediaUrl(pnid, sha256) {
  const cached = mediaUrls.get(sha256);
  if (cached && (!cached.expires_at || cached.expires_at - Date.now() / 1000 > 30)) return cached;
  const found = await api.get(numberPath(pnid, "media", sha256));
  mediaUrls.set(sha256, found);
  return found;
}

function isImage(media) {
  return media.kind === "image" || media.kind === "sticker" || String(media.mime_type || "").startsWith("image/");
}

/** The media of an inbound message: an <img> for images, a plain link otherwise. */
function mediaEl(pnid, media) {
  const box = h("div", { class: "media" }, h("span", { class: "muted" }, `Loading ${media.kind || "media"}…`));
  mediaUrl(pnid, media.sha256).then(
    (found) => {
      const label = media.filename || `${media.kind || "file"} (${found.mime_type || media.mime_type || "unknown type"})`;
      const el = isImage(media)
        ? h("img", { src: found.url, alt: media.filename || "Image from the customer", testid: "media", loading: "lazy", referrerpolicy: "no-referrer" })
        : h(
            "a",
            { href: found.url, target: "_blank", rel: "noopener noreferrer", testid: "media", download: media.filename || null },
            `Open ${label}`,
          );
      box.replaceChildren(el);
    },
    (error) => {
      box.replaceChildren(
        h("span", { class: "muted" }, error.status === 404 ? `${media.kind || "Media"} no longer available` : `${media.kind || "Media"} could not be loaded`),
      );
    },
  );
  return box;
}

function who(message) {
  if (message.direction === "in") return "Customer";
  if (message.origin === "agent") return message.agent || "Agent";
  if (message.origin === "bot") return "Assistant";
  return message.origin || "Business";
}

export function messageKey(message) {
  return message.wamid || message.message_id || `${message.direction}:${message.at}:${message.text || ""}`;
}

export function messageEl(pnid, message) {
  const out = message.direction === "out";
  const status = out ? message.status || "unknown" : null;
  const placeholder = !message.text && !message.media && message.type && message.type !== "text" ? `[${message.type}]` : null;
  return h(
    "article",
    {
      class: ["message", out ? "out" : "in"],
      testid: "message",
      dataset: { direction: out ? "out" : "in", status, key: messageKey(message) },
    },
    h(
      "div",
      { class: "bubble" },
      message.media && message.media.sha256 ? mediaEl(pnid, message.media) : null,
      message.text ? h("div", { class: "message-text", testid: "message-text" }, message.text) : null,
      placeholder ? h("div", { class: "muted" }, placeholder) : null,
    ),
    h(
      "div",
      { class: "message-meta" },
      h("span", { class: "who" }, who(message)),
      " · ",
      timeEl(message.at),
      out
        ? h(
            "span",
            { class: `delivery status-${String(status).toLowerCase()}`, title: `Delivery: ${status}` },
            STATUS_MARK[status] ? `${STATUS_MARK[status]} ` : "",
            status,
          )
        : null,
    ),
  );
}

/**
 * Keep `list` showing `messages` (oldest first) without redrawing unchanged ones, so
 * media and scroll position survive polling. Returns whether anything was added.
 */
export function syncMessages(list, pnid, messages) {
  const existing = new Map();
  for (const el of list.querySelectorAll(":scope > [data-testid=message]")) existing.set(el.dataset.key, el);
  let added = false;
  let previous = null;
  for (const message of messages) {
    const key = messageKey(message);
    let el = existing.get(key);
    if (el && (el.dataset.status || null) !== (message.direction === "out" ? message.status || "unknown" : null)) {
      const fresh = messageEl(pnid, message);
      // keep loaded media
      const media = el.querySelector(".media");
      const freshMedia = fresh.querySelector(".media");
      if (media && freshMedia) freshMedia.replaceWith(media);
      el.replaceWith(fresh);
      el = fresh;
    }
    if (!el) {
      el = messageEl(pnid, message);
      added = true;
    }
    existing.delete(key);
    if (previous) {
      if (previous.nextElementSibling !== el) previous.after(el);
    } else if (list.firstElementChild !== el) {
      list.prepend(el);
    }
    previous = el;
  }
  for (const el of existing.values()) el.remove();
  return added;
}
