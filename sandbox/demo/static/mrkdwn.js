// Slack mrkdwn → DOM nodes. Text only ever becomes Text nodes (never innerHTML), so whatever a
// message carries, the page shows it as text: `&lt;script&gt;` reads as "<script>".
//
// Supported: *bold*, _italic_, ~strike~, `code`, ```code blocks```, > quotes, <url|label> links
// (http, https and mailto only), <@user>, <#channel>, <!here>, <!subteam^ID|@handle>,
// <!date^ts^format|fallback> (shown in the reader's time zone, fallback as a tooltip),
// the entities &amp; &lt; &gt; and a few :emoji: names.

const ENTITIES = { amp: "&", lt: "<", gt: ">" };

export function decodeEntities(text) {
  return String(text).replace(/&(amp|lt|gt);/g, (_, name) => ENTITIES[name]);
}

const EMOJI = {
  white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", warning: "⚠️", rotating_light: "🚨",
  red_circle: "🔴", large_green_circle: "🟢", large_yellow_circle: "🟡", white_circle: "⚪",
  stopwatch: "⏱️", mag: "🔍", bell: "🔔", no_bell: "🔕", eyes: "👀", fire: "🔥", tada: "🎉",
  hourglass: "⌛", hourglass_flowing_sand: "⏳", information_source: "ℹ️", zzz: "💤",
  chart_with_upwards_trend: "📈", bar_chart: "📊", page_facing_up: "📄", wave: "👋",
  telephone_receiver: "📞", robot_face: "🤖", pushpin: "📌", arrows_counterclockwise: "🔄",
  speech_balloon: "💬", thumbsup: "👍", "+1": "👍", ok_hand: "👌", sos: "🆘", snowflake: "❄️",
  mute: "🔇", loud_sound: "🔊", heavy_plus_sign: "➕", heavy_minus_sign: "➖", no_entry: "⛔",
  construction: "🚧", satellite: "📡", electric_plug: "🔌", broken_heart: "💔", clock3: "🕒",
  large_blue_circle: "🔵", question: "❓", exclamation: "❗", memo: "📝", link: "🔗",
  bulb: "💡", arrow_down: "⬇️", arrow_up: "⬆️", large_orange_circle: "🟠", newspaper: "📰", pager: "📟",
  repeat: "🔁",
};

export function emojify(text) {
  return String(text).replace(/:([a-z0-9_+-]+):/g, (match, name) => EMOJI[name] ?? match);
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function textNode(raw) {
  return document.createTextNode(emojify(decodeEntities(raw)));
}

/** Render mrkdwn into a DocumentFragment. `ctx.users` / `ctx.channels` name mentions. */
export function renderMrkdwn(text, ctx = {}) {
  const frag = document.createDocumentFragment();
  const source = String(text ?? "");
  const fence = /```([\s\S]*?)```/g;
  let last = 0;
  let match;
  while ((match = fence.exec(source)) !== null) {
    appendLines(frag, source.slice(last, match.index).replace(/\n$/, ""), ctx);
    const pre = el("pre", "code-block");
    pre.textContent = decodeEntities(match[1].replace(/^\n/, "").replace(/\n$/, ""));
    frag.append(pre);
    last = fence.lastIndex;
    if (source[last] === "\n") last += 1;
  }
  appendLines(frag, source.slice(last), ctx);
  return frag;
}

function appendLines(parent, text, ctx) {
  if (!text) return;
  let quote = null;
  let previous = null; // "line" | "quote"
  for (const line of text.split("\n")) {
    const quoted = /^(?:&gt;|>) ?(.*)$/.exec(line);
    if (quoted) {
      if (quote === null) {
        quote = el("blockquote", "quote");
        parent.append(quote);
      } else {
        quote.append(el("br"));
      }
      appendInline(quote, quoted[1], ctx);
      previous = "quote";
      continue;
    }
    quote = null;
    if (previous === "line") parent.append(el("br"));
    appendInline(parent, line, ctx);
    previous = "line";
  }
}

// Earliest match wins; code and <…> are terminal, emphasis nests.
const INLINE = [
  ["code", /`([^`\n]+)`/g],
  ["angle", /<([^<>\n]+)>/g],
  ["strong", /(?<![\p{L}\p{N}_*])\*(?=\S)([^*\n]*?\S)\*(?![\p{L}\p{N}_*])/gu],
  ["em", /(?<![\p{L}\p{N}_])_(?=\S)([^_\n]*?\S)_(?![\p{L}\p{N}_])/gu],
  ["del", /(?<![\p{L}\p{N}_~])~(?=\S)([^~\n]*?\S)~(?![\p{L}\p{N}_~])/gu],
];

export function appendInline(parent, text, ctx = {}) {
  let pos = 0;
  while (pos < text.length) {
    let best = null;
    for (const [kind, pattern] of INLINE) {
      pattern.lastIndex = pos;
      const found = pattern.exec(text);
      if (found && (best === null || found.index < best.found.index)) best = { kind, found };
    }
    if (best === null) break;
    if (best.found.index > pos) parent.append(textNode(text.slice(pos, best.found.index)));
    parent.append(renderToken(best.kind, best.found[1], ctx));
    pos = best.found.index + best.found[0].length;
  }
  if (pos < text.length) parent.append(textNode(text.slice(pos)));
}

function renderToken(kind, inner, ctx) {
  if (kind === "code") return el("code", "inline-code", decodeEntities(inner));
  if (kind === "angle") return renderAngle(inner, ctx);
  const node = el(kind);
  appendInline(node, inner, ctx);
  return node;
}

export function safeUrl(url) {
  return /^(https?:\/\/|mailto:)/i.test(url) ? url : null;
}

export function link(url, label) {
  const href = safeUrl(url);
  if (href === null) return document.createTextNode(label || url);
  const a = el("a", "link", label || url);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

function mention(text, className = "mention") {
  return el("span", className, text);
}

function renderAngle(content, ctx) {
  if (content.startsWith("!date^")) return renderDateToken(content);
  const bar = content.indexOf("|");
  const target = bar >= 0 ? content.slice(0, bar) : content;
  const label = decodeEntities(bar >= 0 ? content.slice(bar + 1) : "");
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return mention("@" + (ctx.users?.[id]?.name ?? (label || id)));
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return mention("#" + (label || ctx.channels?.[id]?.name || id), "mention channel-mention");
  }
  if (target.startsWith("!")) {
    const special = target.slice(1);
    if (["here", "channel", "everyone"].includes(special)) return mention("@" + special, "mention broadcast");
    if (special.startsWith("subteam^")) return mention(label || "@" + special.slice(8));
    return document.createTextNode(label || special);
  }
  return link(decodeEntities(target), label);
}

// -- dates ---------------------------------------------------------------------------------------

function ordinal(n) {
  const suffixes = ["th", "st", "nd", "rd"];
  const v = n % 100;
  return n + (suffixes[(v - 20) % 10] || suffixes[v] || suffixes[0]);
}

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

function pretty(date, plain) {
  const today = new Date();
  const shifted = (days) => new Date(today.getFullYear(), today.getMonth(), today.getDate() + days);
  if (sameDay(date, today)) return "Today";
  if (sameDay(date, shifted(-1))) return "Yesterday";
  if (sameDay(date, shifted(1))) return "Tomorrow";
  return plain;
}

function ago(date) {
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  const abs = Math.abs(seconds);
  const [value, unit] = abs < 60 ? [abs, "second"] : abs < 3600 ? [Math.round(abs / 60), "minute"]
    : abs < 86400 ? [Math.round(abs / 3600), "hour"] : [Math.round(abs / 86400), "day"];
  const words = `${value} ${unit}${value === 1 ? "" : "s"}`;
  return seconds >= 0 ? `${words} ago` : `in ${words}`;
}

export function formatSlackDate(date, format) {
  const part = (options) => date.toLocaleString("en-US", options);
  const month = part({ month: "long" });
  const monthShort = part({ month: "short" });
  const weekday = part({ weekday: "long" });
  const day = date.getDate();
  const year = date.getFullYear();
  const pad = (n) => String(n).padStart(2, "0");
  const plain = {
    date_num: `${year}-${pad(date.getMonth() + 1)}-${pad(day)}`,
    date: `${month} ${ordinal(day)}, ${year}`,
    date_short: `${monthShort} ${day}, ${year}`,
    date_long: `${weekday}, ${month} ${ordinal(day)}, ${year}`,
    time: part({ hour: "numeric", minute: "2-digit" }),
    time_secs: part({ hour: "numeric", minute: "2-digit", second: "2-digit" }),
  };
  const tokens = {
    ...plain,
    date_pretty: pretty(date, plain.date),
    date_short_pretty: pretty(date, plain.date_short),
    date_long_pretty: pretty(date, plain.date_long),
    ago: ago(date),
  };
  return format.replace(/\{([a-z_]+)\}/g, (match, name) => tokens[name] ?? match);
}

export function dateNode(seconds, format, fallback, url) {
  const date = new Date(seconds * 1000);
  if (!Number.isFinite(seconds) || Number.isNaN(date.getTime())) {
    return document.createTextNode(fallback);
  }
  const node = el("time", "slack-date", formatSlackDate(date, format));
  node.dateTime = date.toISOString();
  node.title = fallback;
  return url ? wrapLink(node, url) : node;
}

function wrapLink(node, url) {
  const href = safeUrl(url);
  if (href === null) return node;
  const a = el("a", "link");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  a.append(node);
  return a;
}

function renderDateToken(content) {
  const bar = content.indexOf("|");
  const head = bar >= 0 ? content.slice(0, bar) : content;
  const fallback = decodeEntities(bar >= 0 ? content.slice(bar + 1) : head);
  const [, ts, format = "{date_short_pretty} {time}", url] = head.split("^");
  const seconds = Number(ts);
  if (!/^-?\d+$/.test(ts ?? "")) return document.createTextNode(fallback);
  return dateNode(seconds, decodeEntities(format), fallback, url ? decodeEntities(url) : null);
}
