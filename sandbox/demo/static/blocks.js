// Block Kit → DOM: header, section (text, fields, accessory), context, divider, image, actions
// (buttons, selects, overflow), rich_text, legacy attachments and uploaded files.
//
// `ctx.onAction({blockId, action, confirm, control})` is called when the reader uses an
// interactive element; the page turns it into a signed block_actions request.

import { appendInline, dateNode, decodeEntities, el, emojify, link, renderMrkdwn } from "./mrkdwn.js";

/** A text object (plain_text or mrkdwn) as DOM nodes. */
export function textObject(obj, ctx) {
  if (!obj || typeof obj !== "object") return document.createTextNode("");
  if (obj.type === "mrkdwn") return renderMrkdwn(obj.text ?? "", ctx);
  const text = String(obj.text ?? "");
  return document.createTextNode(obj.emoji === false ? text : emojify(text));
}

function plainText(obj) {
  if (!obj) return "";
  const text = String(obj.text ?? "");
  return obj.emoji === false ? text : emojify(text);
}

function box(className, obj, ctx) {
  const node = el("div", className);
  node.append(textObject(obj, ctx));
  return node;
}

/** Uploaded files and our own file URLs map to the page's /files/{id}; nothing external loads. */
export function imageSource(url, slackFile) {
  if (slackFile && typeof slackFile === "object") {
    if (typeof slackFile.id === "string") return "/files/" + encodeURIComponent(slackFile.id);
    url = slackFile.url;
  }
  if (typeof url !== "string") return null;
  if (/^\/files\/[A-Za-z0-9]+$/.test(url)) return url;
  const found = /^https?:\/\/[^/]+\/files\/([A-Za-z0-9]+)(?:\/|$)/.exec(url);
  if (found) return "/files/" + found[1];
  if (/^data:image\/(png|jpeg|gif|webp);base64,/.test(url)) return url;
  return null;
}

function image(url, slackFile, alt, className) {
  const src = imageSource(url, slackFile);
  if (src === null) {
    return el("span", "external-image", `🖼 ${alt || "image"} (external images are not loaded in the demo)`);
  }
  const img = el("img", className);
  img.src = src;
  img.alt = alt || "";
  img.loading = "lazy";
  return img;
}

export function renderBlocks(blocks, ctx) {
  const wrap = el("div", "blocks");
  for (const block of blocks) wrap.append(renderBlock(block, ctx));
  return wrap;
}

function renderBlock(block, ctx) {
  switch (block?.type) {
    case "header":
      return el("div", "blk-header", plainText(block.text));
    case "section":
      return section(block, ctx);
    case "context":
      return context(block, ctx);
    case "divider":
      return el("hr", "blk-divider");
    case "image":
      return imageBlock(block);
    case "actions":
      return actions(block, ctx);
    case "rich_text":
      return richText(block, ctx);
    default:
      return el("div", "blk-unknown", `[unsupported block: ${block?.type ?? "?"}]`);
  }
}

function section(block, ctx) {
  const node = el("div", "blk-section");
  const main = el("div", "blk-section-main");
  if (block.text) main.append(box("blk-text", block.text, ctx));
  if (Array.isArray(block.fields)) {
    const grid = el("div", "blk-fields");
    for (const field of block.fields) grid.append(box("blk-field", field, ctx));
    main.append(grid);
  }
  node.append(main);
  if (block.accessory) {
    const side = el("div", "blk-accessory");
    side.append(element(block.accessory, block.block_id, ctx));
    node.append(side);
  }
  return node;
}

function context(block, ctx) {
  const node = el("div", "blk-context");
  for (const item of block.elements ?? []) {
    if (item?.type === "image") {
      node.append(image(item.image_url, item.slack_file, item.alt_text, "ctx-image"));
    } else {
      node.append(box("ctx-text", item, ctx));
    }
  }
  return node;
}

function imageBlock(block) {
  const node = el("figure", "blk-image");
  if (block.title) node.append(el("figcaption", "blk-image-title", plainText(block.title)));
  node.append(image(block.image_url, block.slack_file, block.alt_text, "blk-image-img"));
  return node;
}

function actions(block, ctx) {
  const node = el("div", "blk-actions");
  for (const item of block.elements ?? []) node.append(element(item, block.block_id, ctx));
  return node;
}

function element(item, blockId, ctx) {
  switch (item?.type) {
    case "button":
      return button(item, blockId, ctx);
    case "static_select":
    case "overflow":
      return select(item, blockId, ctx);
    case "image":
      return image(item.image_url, item.slack_file, item.alt_text, "accessory-image");
    default:
      return el("span", "blk-unknown", `[unsupported element: ${item?.type ?? "?"}]`);
  }
}

function button(item, blockId, ctx) {
  const style = item.style === "primary" || item.style === "danger" ? " " + item.style : "";
  const node = el("button", "btn" + style, plainText(item.text));
  node.type = "button";
  node.dataset.actionId = item.action_id ?? "";
  node.addEventListener("click", () => {
    if (typeof item.url === "string" && /^https?:\/\//.test(item.url)) window.open(item.url, "_blank", "noopener");
    const action = { type: "button", action_id: item.action_id, text: item.text };
    if (item.value !== undefined) action.value = item.value;
    if (item.style) action.style = item.style;
    ctx.onAction?.({ blockId, action, confirm: item.confirm, control: node });
  });
  return node;
}

function optionsOf(item) {
  const groups = item.option_groups ?? [{ options: item.options ?? [] }];
  return groups.flatMap((group) => group.options ?? []);
}

function select(item, blockId, ctx) {
  const node = el("select", item.type === "overflow" ? "overflow" : "select");
  const options = optionsOf(item);
  node.append(el("option", "", item.type === "overflow" ? "⋯" : plainText(item.placeholder) || "Select…"));
  options.forEach((option, index) => {
    const choice = el("option", "", plainText(option.text));
    choice.value = String(index);
    node.append(choice);
  });
  node.setAttribute("aria-label", item.type === "overflow" ? "More options" : plainText(item.placeholder) || "Select");
  node.addEventListener("change", () => {
    const option = options[Number(node.value)];
    node.selectedIndex = item.type === "overflow" ? 0 : node.selectedIndex;
    if (!option) return;
    const action = { type: item.type, action_id: item.action_id, selected_option: option };
    ctx.onAction?.({ blockId, action, confirm: item.confirm, control: node });
  });
  return node;
}

// -- rich_text (what people's messages carry) -----------------------------------------------------

function richText(block, ctx) {
  const node = el("div", "blk-rich");
  for (const part of block.elements ?? []) node.append(richPart(part, ctx));
  return node;
}

function richPart(part, ctx) {
  switch (part?.type) {
    case "rich_text_section":
      return richInline(el("div", "rich-section"), part.elements, ctx);
    case "rich_text_preformatted":
      return richInline(el("pre", "code-block"), part.elements, ctx);
    case "rich_text_quote":
      return richInline(el("blockquote", "quote"), part.elements, ctx);
    case "rich_text_list": {
      const list = el(part.style === "ordered" ? "ol" : "ul", "rich-list");
      for (const item of part.elements ?? []) list.append(richInline(el("li"), item.elements, ctx));
      return list;
    }
    default:
      return el("div", "blk-unknown", `[unsupported rich text: ${part?.type ?? "?"}]`);
  }
}

function styled(node, style) {
  let out = node;
  if (style?.code) out = wrap("code", "inline-code", out);
  if (style?.strike) out = wrap("del", "", out);
  if (style?.italic) out = wrap("em", "", out);
  if (style?.bold) out = wrap("strong", "", out);
  return out;
}

function wrap(tag, className, child) {
  const node = el(tag, className);
  node.append(child);
  return node;
}

function richInline(parent, elements, ctx) {
  for (const item of elements ?? []) {
    let node;
    switch (item?.type) {
      case "text":
        node = document.createTextNode(String(item.text ?? ""));
        break;
      case "link":
        node = link(String(item.url ?? ""), item.text ? String(item.text) : "");
        break;
      case "user":
        node = el("span", "mention", "@" + (ctx.users?.[item.user_id]?.name ?? item.user_id));
        break;
      case "channel":
        node = el("span", "mention", "#" + (ctx.channels?.[item.channel_id]?.name ?? item.channel_id));
        break;
      case "usergroup":
        node = el("span", "mention", "@" + item.usergroup_id);
        break;
      case "broadcast":
        node = el("span", "mention broadcast", "@" + item.range);
        break;
      case "emoji":
        node = document.createTextNode(emojiChar(item));
        break;
      case "date":
        node = dateNode(Number(item.timestamp), String(item.format ?? "{date_short_pretty}"), String(item.fallback ?? ""));
        break;
      default:
        node = document.createTextNode("");
    }
    parent.append(styled(node, item?.style));
  }
  return parent;
}

function emojiChar(item) {
  if (typeof item.unicode === "string" && /^[0-9a-f]+(-[0-9a-f]+)*$/i.test(item.unicode)) {
    return String.fromCodePoint(...item.unicode.split("-").map((hex) => parseInt(hex, 16)));
  }
  return emojify(`:${item.name}:`);
}

// -- legacy attachments and files ----------------------------------------------------------------

const COLORS = { good: "#2eb67d", warning: "#ecb22e", danger: "#e01e5a" };

export function renderAttachments(attachments, ctx) {
  const wrapNode = el("div", "attachments");
  for (const att of attachments) {
    const node = el("div", "attachment");
    const color = COLORS[att.color] ?? (/^#?[0-9a-f]{6}$/i.test(att.color ?? "") ? "#" + att.color.replace("#", "") : null);
    if (color) node.style.borderLeftColor = color;
    if (att.pretext) node.append(box("att-pretext", { type: "mrkdwn", text: att.pretext }, ctx));
    if (att.author_name) node.append(el("div", "att-author", decodeEntities(att.author_name)));
    if (att.title) {
      const title = el("div", "att-title");
      title.append(att.title_link ? link(att.title_link, decodeEntities(att.title)) : document.createTextNode(decodeEntities(att.title)));
      node.append(title);
    }
    if (att.text) node.append(box("att-text", { type: "mrkdwn", text: att.text }, ctx));
    if (Array.isArray(att.fields) && att.fields.length) {
      const grid = el("div", "blk-fields");
      for (const field of att.fields) {
        const cell = el("div", "blk-field");
        const title = el("strong", "", decodeEntities(field.title ?? ""));
        cell.append(title, el("br"));
        appendInline(cell, String(field.value ?? ""), ctx);
        grid.append(cell);
      }
      node.append(grid);
    }
    if (Array.isArray(att.blocks)) node.append(renderBlocks(att.blocks, ctx));
    if (att.image_url) node.append(image(att.image_url, null, att.fallback, "blk-image-img"));
    if (att.footer) node.append(el("div", "att-footer", decodeEntities(att.footer)));
    wrapNode.append(node);
  }
  return wrapNode;
}

export function renderFiles(files) {
  const wrapNode = el("div", "files");
  for (const file of files) {
    const title = file.title || file.name || "file";
    if (typeof file.mimetype === "string" && file.mimetype.startsWith("image/")) {
      const figure = el("figure", "file-image");
      figure.append(el("figcaption", "file-title", title));
      const img = el("img", "file-img");
      img.src = "/files/" + encodeURIComponent(file.id);
      img.alt = file.alt || title;
      figure.append(img);
      wrapNode.append(figure);
    } else {
      const card = el("a", "file-card", `📄 ${title}`);
      card.href = "/files/" + encodeURIComponent(file.id);
      card.download = file.name || "file";
      wrapNode.append(card);
    }
  }
  return wrapNode;
}
