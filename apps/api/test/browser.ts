import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

/** Debian's chromium, as `.ci/run` installs it (`apt-get install chromium`). */
export const CHROMIUM_PATH = process.env.RLM_CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Where the browser tests save their screenshots: `docs/screenshots/` (committed, named
 * in the README) when `RLM_UPDATE_SCREENSHOTS=1`, else a temporary folder, so a test run
 * does not rewrite tracked files.
 */
export const SCREENSHOT_DIR =
  process.env.RLM_UPDATE_SCREENSHOTS === "1"
    ? new URL("../../../docs/screenshots/", import.meta.url).pathname
    : join(tmpdir(), "rlm-screenshots");

/**
 * Chromium, headless, with nothing running in the background that would reach the
 * network (our machines are offline): no component updates, sync or field trials.
 * A missing chromium fails the test file with what to do, rather than skipping it.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no chromium at ${CHROMIUM_PATH}: install it (apt-get install -y chromium) or set RLM_CHROMIUM_PATH`,
    );
  }
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** Saves a screenshot of the page under `SCREENSHOT_DIR`; returns its path. */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage, animations: "disabled" });
  return path;
}

/** Collects what a page does wrong: script errors, and requests that leave `origin`. */
export function watchPage(page: Page, origin: string) {
  const errors: string[] = [];
  const foreign: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith("data:")) foreign.push(url);
  });
  return { errors, foreign };
}
