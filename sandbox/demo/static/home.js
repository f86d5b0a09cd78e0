// The App Home tab: opening it sends app_home_opened to the app (through the demo server), and the
// view the app publishes with views.publish is fetched from the Slack stand-in and rendered here.

import { el } from "./mrkdwn.js";
import { renderBlocks } from "./blocks.js";

const $ = (id) => document.getElementById(id);
const home = { open: false, shown: null, env: null };

export function homeIsOpen() {
  return home.open;
}

export function configureHome(env) {
  home.env = env;
  $("home-link").addEventListener("click", openHome);
}

async function openHome() {
  home.open = true;
  $("channel").classList.add("hidden");
  $("thread").classList.add("hidden");
  $("home").classList.remove("hidden");
  $("home-link").classList.add("active");
  home.env.onOpen?.();
  try {
    await home.env.post("/api/home/open", {});
  } catch (error) {
    home.env.toast(`The app did not take app_home_opened: ${error.message}`);
  }
  await refreshHome();
}

export function closeHome() {
  if (!home.open) return false;
  home.open = false;
  $("home").classList.add("hidden");
  $("channel").classList.remove("hidden");
  $("home-link").classList.remove("active");
  return true;
}

export async function refreshHome() {
  if (!home.open) return;
  const response = await fetch("/api/home", { cache: "no-store" });
  if (!response.ok) return;
  const { view } = await response.json();
  const key = JSON.stringify(view);
  if (key === home.shown) return;
  home.shown = key;
  const body = $("home-body");
  if (!view) {
    body.replaceChildren(el("div", "home-empty", "Waiting for the app to publish the Home tab…"));
    return;
  }
  const ctx = { ...home.env.ctx() };
  ctx.onAction = ({ blockId, action, control }) => {
    control.disabled = true;
    home.env
      .post("/api/home/action", { block_id: blockId ?? null, action })
      .then(() => setTimeout(refreshHome, 150))
      .catch((error) => home.env.toast(`That click did not reach the app: ${error.message}`))
      .finally(() => (control.disabled = false));
  };
  body.replaceChildren(renderBlocks(view.blocks ?? [], ctx));
  body.scrollTop = 0;
}
