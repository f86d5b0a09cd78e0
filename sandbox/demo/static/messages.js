// Messages as Slack draws them: avatar, author, time, Block Kit or mrkdwn, files, "(edited)",
// "Only visible to you", the thread link and the hover menu with the message shortcut. Confirm
// dialogs guard clicks whose element carries a `confirm` object.

import { el, renderMrkdwn } from "./mrkdwn.js";
import { renderAttachments, renderBlocks, renderFiles } from "./blocks.js";

const $ = (id) => document.getElementById(id);

/** What the page gives this module: {data(), ctx(), post(path, body), toast(text), openThread(channel, ts)}. */
let env = null;

export function configure(environment) {
  env = environment;
}

export function timeOf(ts) {
  return new Date(Number(ts) * 1000).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

export function nearBottom(node) {
  return node.scrollHeight - node.scrollTop - node.clientHeight < 80;
}

// -- confirm dialogs -----------------------------------------------------------------------------

function confirmFirst(confirm) {
  if (!confirm) return Promise.resolve(true);
  const dialog = $("confirm");
  $("confirm-title").textContent = confirm.title?.text ?? "Are you sure?";
  const text = $("confirm-text");
  text.replaceChildren();
  if (confirm.text?.type === "mrkdwn") text.append(renderMrkdwn(confirm.text.text, env.ctx()));
  else text.textContent = confirm.text?.text ?? "";
  const ok = $("confirm-ok");
  const deny = $("confirm-deny");
  ok.textContent = confirm.confirm?.text ?? "OK";
  deny.textContent = confirm.deny?.text ?? "Cancel";
  ok.className = "btn " + (confirm.style === "danger" ? "danger-solid" : "primary");
  return new Promise((resolve) => {
    const finish = (value) => {
      ok.onclick = deny.onclick = dialog.oncancel = null;
      dialog.close();
      resolve(value);
    };
    ok.onclick = () => finish(true);
    deny.onclick = () => finish(false);
    dialog.oncancel = (event) => {
      event.preventDefault();
      finish(false);
    };
    dialog.showModal();
  });
}

// -- messages ------------------------------------------------------------------------------------

function avatar(message, users) {
  const user = users[message.user] ?? { name: message.user ?? "?" };
  const node = el("div", "avatar" + (message.bot ? " bot" : ""), message.bot ? "P" : (user.name?.[0] ?? "?").toUpperCase());
  node.setAttribute("aria-hidden", "true");
  return node;
}

function messageNode(channelId, message, { inThread }) {
  const data = env.data();
  const ctx = env.ctx();
  const user = data.users[message.user] ?? { name: message.user ?? "unknown" };
  const node = el("div", "msg" + (message.bot ? " from-bot" : "") + (message.ephemeral ? " ephemeral" : ""));
  node.dataset.ts = message.ts;
  node.dataset.testid = "message";
  node.append(avatar(message, data.users));

  const main = el("div", "msg-main");
  const meta = el("div", "msg-meta");
  meta.append(el("span", "msg-author", user.name));
  if (message.bot) meta.append(el("span", "app-badge", "APP"));
  const time = el("time", "msg-time", timeOf(message.ts));
  time.dateTime = new Date(Number(message.ts) * 1000).toISOString();
  meta.append(time);
  main.append(meta);
  if (message.ephemeral) main.append(el("div", "ephemeral-note", "👁 Only visible to you"));

  ctx.onAction = ({ blockId, action, confirm, control }) =>
    confirmFirst(confirm).then((ok) => {
      if (!ok) return;
      control.disabled = true;
      control.classList.add("busy");
      env.post("/api/action", { channel: channelId, ts: message.ts, block_id: blockId ?? null, action })
        .catch((error) => env.toast(`That click did not reach the app: ${error.message}`))
        .finally(() => {
          control.disabled = false;
          control.classList.remove("busy");
        });
    });

  const content = el("div", "msg-content");
  if (message.blocks.length) content.append(renderBlocks(message.blocks, ctx));
  else if (message.text) content.append(renderMrkdwn(message.text, ctx));
  if (message.attachments.length) content.append(renderAttachments(message.attachments, ctx));
  if (message.files.length) content.append(renderFiles(message.files));
  if (message.edited) content.append(el("span", "edited", "(edited)"));
  main.append(content);

  const replies = message.replies ?? [];
  if (!inThread && replies.length) {
    const link = el("button", "thread-link", `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`);
    link.type = "button";
    link.addEventListener("click", () => env.openThread(channelId, message.ts));
    const row = el("div", "thread-row");
    row.append(link, el("span", "thread-last", `Last reply ${timeOf(replies[replies.length - 1].ts)}`));
    main.append(row);
  }
  node.append(main);
  if (!message.ephemeral) node.append(hoverActions(channelId, message, inThread));
  return node;
}

function hoverActions(channelId, message, inThread) {
  const bar = el("div", "msg-actions");
  if (!inThread && !message.thread_ts) {
    const reply = el("button", "icon-button", "💬");
    reply.type = "button";
    reply.title = "Reply in thread";
    reply.setAttribute("aria-label", "Reply in thread");
    reply.addEventListener("click", () => env.openThread(channelId, message.ts));
    bar.append(reply);
  }
  const more = el("button", "icon-button", "⋯");
  more.type = "button";
  more.title = "More actions";
  more.setAttribute("aria-label", "More actions");
  more.setAttribute("aria-haspopup", "menu");
  const menu = el("div", "menu hidden");
  menu.setAttribute("role", "menu");
  const lookup = el("button", "menu-item", "Look up Pipecat session");
  lookup.type = "button";
  lookup.setAttribute("role", "menuitem");
  lookup.addEventListener("click", () => {
    menu.classList.add("hidden");
    env.post("/api/shortcut", { channel: channelId, ts: message.ts })
      .catch((error) => env.toast(`The shortcut did not reach the app: ${error.message}`));
  });
  menu.append(el("div", "menu-title", "Shortcuts"), lookup);
  more.addEventListener("click", (event) => {
    event.stopPropagation();
    document.querySelectorAll(".menu").forEach((m) => m !== menu && m.classList.add("hidden"));
    menu.classList.toggle("hidden");
    menu.classList.toggle("up", more.getBoundingClientRect().top > window.innerHeight * 0.6);
  });
  bar.append(more, menu);
  return bar;
}

/** Fill `container` with one node per message, re-using the nodes of unchanged messages. */
export function renderList(container, cache, channelId, messages, options) {
  const scroller = options.scroller ?? container;
  const stick = nearBottom(scroller);
  const seen = new Set();
  const nodes = messages.map((message) => {
    const key = `${channelId}:${message.ts}:${options.inThread ? "t" : "m"}`;
    const signature = JSON.stringify(message);
    seen.add(key);
    const cached = cache.get(key);
    if (cached && cached.signature === signature) return cached.node;
    const node = messageNode(channelId, message, options);
    cache.set(key, { signature, node });
    return node;
  });
  for (const key of cache.keys()) if (!seen.has(key)) cache.delete(key);
  const current = Array.from(container.children);
  if (current.length !== nodes.length || current.some((node, i) => node !== nodes[i])) {
    const top = scroller.scrollTop;
    container.replaceChildren(...nodes);
    scroller.scrollTop = top;
  }
  if (!options.scroller && (stick || options.forceBottom)) scroller.scrollTop = scroller.scrollHeight;
}
