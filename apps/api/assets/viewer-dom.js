// Shared helpers of the trajectory viewer's client script. The viewer's files are joined
// into one inline script (viewer-assets.ts) in this order: dom, model, timeline, calls,
// details, steps, main; each adds its part to `rlm`. Everything the page shows from the
// data goes through text nodes or attributes, never innerHTML: queries, documents and
// model output are untrusted.
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- used by the files joined after it
const rlm = (() => {
  "use strict";

  /** An element with attributes (false/null/undefined skipped) and children (text or nodes). */
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = String(value);
      else if (name === "style") node.style.cssText = String(value);
      else if (name.startsWith("on") && typeof value === "function") {
        node.addEventListener(name.slice(2), value);
      } else node.setAttribute(name, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.append(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** Replaces a node's children, skipping empty ones as `el` does (a null would print "null"). */
  function fill(node, ...children) {
    const kept = children
      .flat(Infinity)
      .filter((c) => c !== undefined && c !== null && c !== false);
    node.replaceChildren(
      ...kept.map((c) => (typeof c === "object" ? c : document.createTextNode(String(c)))),
    );
    return node;
  }

  function number(value) {
    return typeof value === "number" ? value.toLocaleString("en") : "–";
  }

  /** 12 ms, 1.4 s, 2 min 5 s. */
  function duration(ms) {
    if (typeof ms !== "number" || !Number.isFinite(ms)) return "–";
    if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
    return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
  }

  /** $0.0123; "no price" for a model without one. */
  function cost(usd) {
    if (usd === null) return "no price";
    if (typeof usd !== "number") return "–";
    if (usd === 0) return "$0";
    return `$${usd < 0.01 ? usd.toFixed(5) : usd < 1 ? usd.toFixed(4) : usd.toFixed(2)}`;
  }

  /** 12.3k, 1.2M. */
  function compact(value) {
    if (typeof value !== "number") return "–";
    if (value < 1000) return String(value);
    if (value < 1e6) return `${(value / 1000).toFixed(value < 1e4 ? 1 : 0)}k`;
    return `${(value / 1e6).toFixed(1)}M`;
  }

  function tokens(usage) {
    if (!usage) return "–";
    return `${compact(usage.inputTokens)} in · ${compact(usage.outputTokens)} out`;
  }

  /** One line, at most `max` characters. */
  function shorten(text, max) {
    const line = String(text || "")
      .replace(/\s+/g, " ")
      .trim();
    return line.length > max ? `${line.slice(0, max)}…` : line;
  }

  /** The first non-empty line, shortened. */
  function firstLine(text, max) {
    const line = String(text || "")
      .split("\n")
      .find((part) => part.trim() !== "");
    return shorten(line || "", max);
  }

  /** 12,000–24,000 */
  function range(slice) {
    return slice ? `${number(slice.start)}–${number(slice.end)}` : "";
  }

  /** A CSS class made only of letters, digits and dashes. */
  function token(text) {
    return String(text).replace(/[^a-z0-9-]/gi, "");
  }

  function badge(text, kind) {
    return el("span", { class: `badge status-${token(kind)}` }, text);
  }

  function pre(text, className) {
    return el("pre", { class: className }, text);
  }

  /** Text with every occurrence of `needle` (case-insensitive) wrapped in <mark>. */
  function highlighted(text, needle) {
    const value = String(text || "");
    if (!needle) return [value];
    const parts = [];
    const lower = value.toLowerCase();
    let at = 0;
    for (let found = lower.indexOf(needle, at); found !== -1; found = lower.indexOf(needle, at)) {
      parts.push(
        value.slice(at, found),
        el("mark", null, value.slice(found, found + needle.length)),
      );
      at = found + needle.length;
    }
    parts.push(value.slice(at));
    return parts;
  }

  /** Copies text to the clipboard; falls back to a selected textarea off secure contexts. */
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return;
    }
    const area = el("textarea", { class: "offscreen", readonly: "" }, text);
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }

  return {
    el,
    fill,
    number,
    duration,
    cost,
    compact,
    tokens,
    shorten,
    firstLine,
    range,
    token,
    badge,
    pre,
    highlighted,
    copyText,
  };
})();
