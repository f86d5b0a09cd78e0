// The demo page: polls /api/state every second and shows the Slack stand-in's workspace; what the
// reader does (a command, a message, a click, the message shortcut) goes to the demo server, which
// sends it to the app as a signed Slack request.

import { el } from "./mrkdwn.js";
import { configure, nearBottom, renderList } from "./messages.js";
import { closeHome, configureHome, homeIsOpen, refreshHome } from "./home.js";

const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);

const view = {
  data: null,
  etag: null,
  channel: null,
  thread: null, // {channel, ts}
  lastSeen: {}, // channel id → newest ts the reader has seen
  mainCache: new Map(),
  threadCache: new Map(),
  parentCache: new Map(),
  timer: null,
  connected: null,
};

// -- server calls --------------------------------------------------------------------------------

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    answer = {};
  }
  if (!response.ok || answer.ok === false) throw new Error(answer.error || `HTTP ${response.status}`);
  pollSoon();
  return answer;
}

async function poll() {
  clearTimeout(view.timer);
  try {
    const headers = view.etag ? { "If-None-Match": view.etag } : {};
    const response = await fetch("/api/state", { headers, cache: "no-store" });
    if (response.status === 200) {
      view.etag = response.headers.get("ETag");
      view.data = await response.json();
      render();
    } else if (response.status !== 304) {
      throw new Error(`HTTP ${response.status}`);
    }
    await refreshHome();
    setConnected(true);
  } catch {
    setConnected(false);
  } finally {
    view.timer = setTimeout(poll, POLL_MS);
  }
}

function pollSoon() {
  clearTimeout(view.timer);
  view.timer = setTimeout(poll, 50);
}

function setConnected(ok) {
  const foot = $("side-foot");
  foot.classList.toggle("offline", !ok);
  foot.textContent = ok
    ? `Live · updated ${new Date().toLocaleTimeString([], { hour: "numeric", minute: "2-digit", second: "2-digit" })}`
    : "Disconnected: is the demo still running?";
  view.connected = ok;
}

function toast(message) {
  const node = el("div", "toast", message);
  node.setAttribute("role", "alert");
  $("toasts").append(node);
  setTimeout(() => node.remove(), 6000);
}

// -- helpers -------------------------------------------------------------------------------------

function channelById(id) {
  return view.data?.channels.find((c) => c.id === id) ?? null;
}

function ctxFor() {
  const channels = Object.fromEntries((view.data?.channels ?? []).map((c) => [c.id, c]));
  return { users: view.data?.users ?? {}, channels };
}

function latestTs(channel) {
  const visible = channel.messages.filter((m) => !m.ephemeral);
  return visible.length ? visible[visible.length - 1].ts : "0";
}

// -- layout --------------------------------------------------------------------------------------

function renderSidebar() {
  const list = $("channel-list");
  list.replaceChildren();
  for (const channel of view.data.channels) {
    const item = el("li");
    const linkNode = el("button", "channel-link" + (channel.id === view.channel && !homeIsOpen() ? " active" : ""));
    linkNode.type = "button";
    linkNode.dataset.channel = channel.id;
    linkNode.append(el("span", "hash", "#"), el("span", "channel-label", channel.name));
    const unread = channel.messages.filter((m) => !m.ephemeral && m.ts > (view.lastSeen[channel.id] ?? "0")).length;
    if (unread && channel.id !== view.channel) {
      linkNode.classList.add("unread");
      linkNode.append(el("span", "badge", String(unread)));
    }
    linkNode.addEventListener("click", () => selectChannel(channel.id));
    item.append(linkNode);
    list.append(item);
  }
  const agents = $("agent-list");
  agents.replaceChildren();
  for (const agent of view.data.agents) {
    const item = el("li", "agent");
    item.append(el("span", "agent-name", agent.name));
    item.append(el("span", "agent-stats", `${agent.active} active · ${agent.sessions} sessions · ${agent.failed} failed`));
    agents.append(item);
  }
  renderScenarios();
  const pages = $("page-list");
  pages.replaceChildren();
  if (!(view.data.pagerduty ?? []).length) pages.append(el("li", "agent agent-stats", "Nothing paged yet"));
  for (const alert of view.data.pagerduty ?? []) {
    const item = el("li", `agent page page-${alert.status}`);
    item.append(el("span", "agent-name", `${alert.status} · ${alert.severity}`));
    item.append(el("span", "agent-stats", alert.summary));
    pages.append(item);
  }
}

// The scenario steps (a bad deploy, its rollback, calls that stop): a click plays one, and the
// channel that watches its agent opens, where the alert arrives.
function renderScenarios() {
  const list = $("scenario-list");
  list.replaceChildren();
  for (const item of view.data.scenarios ?? []) {
    const row = el("li", "scenario");
    const button = el("button", "scenario-play", item.label);
    button.type = "button";
    button.dataset.scenario = item.name;
    button.disabled = !item.enabled;
    button.title = `${item.agent}: ${item.expect}`;
    button.addEventListener("click", () => playScenario(item, button));
    row.append(button, el("span", "scenario-note", `${item.agent} · ${item.expect}`));
    list.append(row);
  }
}

async function playScenario(item, button) {
  button.disabled = true;
  try {
    const answer = await post("/api/scenario", { name: item.name });
    toast(answer.said);
    const channel = view.data.channels.find((c) => c.watching.includes(item.agent));
    if (channel) selectChannel(channel.id);
  } catch (error) {
    toast(error.message);
    button.disabled = false;
  }
}

function renderChannel(forceBottom = false) {
  const channel = channelById(view.channel);
  if (!channel) return;
  $("channel-name").textContent = `# ${channel.name}`;
  const topic = $("channel-topic");
  topic.textContent = channel.topic;
  if (channel.watching.length) topic.textContent += `  ·  Watching: ${channel.watching.join(", ")}`;
  $("composer-input").placeholder = `Message #${channel.name}, or type /session help`;
  renderList($("messages"), view.mainCache, channel.id, channel.messages, { inThread: false, forceBottom });
  view.lastSeen[channel.id] = latestTs(channel);
}

function renderThread(forceBottom = false) {
  const pane = $("thread");
  const open = view.thread && channelById(view.thread.channel);
  const parent = open && open.messages.find((m) => m.ts === view.thread.ts);
  if (!parent) {
    pane.classList.add("hidden");
    view.thread = null;
    return;
  }
  pane.classList.remove("hidden");
  $("thread-channel").textContent = `# ${open.name}`;
  const { replies = [], ...head } = parent;
  const scroller = $("thread-body");
  const stick = forceBottom || nearBottom(scroller);
  renderList($("thread-parent"), view.parentCache, open.id, [head], { inThread: true, scroller });
  $("thread-count").textContent = replies.length ? `${replies.length} ${replies.length === 1 ? "reply" : "replies"}` : "No replies yet";
  renderList($("thread-replies"), view.threadCache, open.id, replies, { inThread: true, scroller });
  if (stick) scroller.scrollTop = scroller.scrollHeight;
}

function render() {
  if (!view.data) return;
  if (!channelById(view.channel)) {
    const fromHash = decodeURIComponent(location.hash.slice(1));
    view.channel = channelById(fromHash) ? fromHash : view.data.channels[0]?.id;
    for (const channel of view.data.channels) view.lastSeen[channel.id] ??= latestTs(channel);
    renderChannel(true);
  } else {
    renderChannel();
  }
  renderThread();
  renderSidebar();
  renderHints();
}

function selectChannel(id) {
  if (closeHome()) renderChannel(true);
  if (id === view.channel) return;
  view.channel = id;
  history.replaceState(null, "", "#" + encodeURIComponent(id));
  view.thread = null;
  renderChannel(true);
  renderThread();
  renderSidebar();
  renderHints();
  $("composer-input").focus();
}

function openThread(channelId, ts) {
  view.thread = { channel: channelId, ts };
  renderThread(true);
  $("thread-input").focus();
}

function renderHints() {
  const hints = $("hints");
  const channel = channelById(view.channel);
  const agent = channel?.watching[0] ?? view.data.agents[0]?.name ?? "voice-bot";
  const suggestions = [`/session list ${agent} errors`, `/session stats ${agent} 1h`, "/session watches", "/session help"];
  const key = suggestions.join("|");
  if (hints.dataset.key === key) return;
  hints.dataset.key = key;
  hints.replaceChildren(el("span", "hints-label", "Try:"));
  for (const text of suggestions) {
    const chip = el("button", "hint", text);
    chip.type = "button";
    chip.addEventListener("click", () => {
      const input = $("composer-input");
      input.value = text;
      input.focus();
    });
    hints.append(chip);
  }
}

// -- composing -----------------------------------------------------------------------------------

async function send(text, threadTs) {
  const trimmed = text.trim();
  if (!trimmed) return true;
  try {
    if (trimmed.startsWith("/")) {
      await post("/api/command", { channel: view.channel, text: trimmed });
    } else {
      await post("/api/message", { channel: threadTs ? view.thread.channel : view.channel, text, thread_ts: threadTs ?? null });
    }
    return true;
  } catch (error) {
    toast(error.message);
    return false;
  }
}

function wireComposer(formId, inputId, threadTs) {
  const form = $(formId);
  const input = $(inputId);
  const submit = async () => {
    const text = input.value;
    input.value = "";
    if (!(await send(text, threadTs()))) input.value = text;
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
}

// Keep a scroller pinned to the bottom while images above its end finish loading.
for (const scroller of [$("messages"), $("thread-body")]) {
  scroller.dataset.stick = "1";
  scroller.addEventListener("scroll", () => {
    scroller.dataset.stick = nearBottom(scroller) ? "1" : "0";
  });
}
document.addEventListener("load", (event) => {
  const scroller = event.target instanceof HTMLImageElement ? event.target.closest(".messages, .thread-body") : null;
  if (scroller && scroller.dataset.stick === "1") scroller.scrollTop = scroller.scrollHeight;
}, true);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") document.querySelectorAll(".menu").forEach((m) => m.classList.add("hidden"));
});
document.addEventListener("click", () => document.querySelectorAll(".menu").forEach((m) => m.classList.add("hidden")));
$("thread-close").addEventListener("click", () => {
  view.thread = null;
  renderThread();
});
configure({ data: () => view.data, ctx: ctxFor, post, toast, openThread });
configureHome({ post, toast, ctx: ctxFor, onOpen: renderSidebar });
wireComposer("composer", "composer-input", () => null);
wireComposer("thread-composer", "thread-input", () => view.thread?.ts ?? null);
poll();
