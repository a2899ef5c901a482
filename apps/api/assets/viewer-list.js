// The list page's script: every few seconds it fetches this same page and swaps in its
// table, so the list refreshes by itself without losing the scroll position. The HTML
// comes from our own server (same origin, escaped there) and is parsed inert by
// DOMParser, which runs no script.
(() => {
  "use strict";
  const REFRESH_MS = 3000;
  const list = document.getElementById("list");
  const refreshed = document.getElementById("refreshed");

  async function refresh() {
    if (!document.hidden) {
      try {
        const response = await fetch(location.href, {
          cache: "no-store",
          credentials: "same-origin",
          headers: { accept: "text/html" },
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.getElementById("list");
        if (fresh) list.replaceChildren(...fresh.childNodes);
        refreshed.textContent = `newest first · refreshed ${new Date().toLocaleTimeString()}`;
      } catch (error) {
        refreshed.textContent = `cannot refresh (${error instanceof Error ? error.message : error})`;
      }
    }
    setTimeout(refresh, REFRESH_MS);
  }

  setTimeout(refresh, REFRESH_MS);
})();
