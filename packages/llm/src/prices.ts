/** Prices of one model in US dollars per one million tokens. */
export interface ModelPrice {
  input: number;
  /** Price of input tokens served from the prompt cache; the input price when omitted. */
  cachedInput?: number;
  output: number;
}

/** Prices by model id. A key also prices dated variants of it (`gpt-4o-2024-08-06`). */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** The token counts a cost is computed from. */
export interface BillableUsage {
  inputTokens: number;
  outputTokens: number;
  /** Part of `inputTokens` served from the prompt cache. */
  cachedInputTokens: number;
}

/**
 * OpenAI's list prices (standard tier, USD per 1M tokens) for common chat models. Prices
 * change: pass `prices` to the client to override or extend this table.
 */
export const DEFAULT_PRICES: PriceTable = Object.freeze({
  "gpt-5": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5-mini": { input: 0.25, cachedInput: 0.025, output: 2 },
  "gpt-5-nano": { input: 0.05, cachedInput: 0.005, output: 0.4 },
  "gpt-5-chat-latest": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5-pro": { input: 15, output: 120 },
  "gpt-5.1": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-4.1": { input: 2, cachedInput: 0.5, output: 8 },
  "gpt-4.1-mini": { input: 0.4, cachedInput: 0.1, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, cachedInput: 0.025, output: 0.4 },
  "gpt-4o": { input: 2.5, cachedInput: 1.25, output: 10 },
  // The first gpt-4o snapshot kept its launch price.
  "gpt-4o-2024-05-13": { input: 5, output: 15 },
  "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6 },
  "chatgpt-4o-latest": { input: 5, output: 15 },
  "gpt-4-turbo": { input: 10, output: 30 },
  "gpt-4": { input: 30, output: 60 },
  // Turbo previews carry a gpt-4 name but the turbo price.
  "gpt-4-1106-preview": { input: 10, output: 30 },
  "gpt-4-0125-preview": { input: 10, output: 30 },
  "gpt-4-32k": { input: 60, output: 120 },
  "gpt-3.5-turbo": { input: 0.5, output: 1.5 },
  o1: { input: 15, cachedInput: 7.5, output: 60 },
  "o1-mini": { input: 1.1, cachedInput: 0.55, output: 4.4 },
  "o1-pro": { input: 150, output: 600 },
  o3: { input: 2, cachedInput: 0.5, output: 8 },
  "o3-mini": { input: 1.1, cachedInput: 0.55, output: 4.4 },
  "o3-pro": { input: 20, output: 80 },
  "o4-mini": { input: 1.1, cachedInput: 0.275, output: 4.4 },
});

/**
 * The price of `model`: an exact entry, else the longest entry `key` such that the model is
 * `key` followed by `-…` (so `gpt-4o-mini-2024-07-18` is priced as `gpt-4o-mini`, while
 * `gpt-5.2` is not mistaken for `gpt-5`). Case-insensitive. `undefined` when unknown.
 */
export function priceFor(
  model: string,
  table: PriceTable = DEFAULT_PRICES,
): ModelPrice | undefined {
  const wanted = model.toLowerCase();
  let best: { length: number; price: ModelPrice } | undefined;
  for (const [key, price] of Object.entries(table)) {
    const candidate = key.toLowerCase();
    const matches =
      wanted === candidate || (wanted.startsWith(candidate) && wanted[candidate.length] === "-");
    if (!matches) continue;
    if (wanted === candidate) return price;
    if (best === undefined || candidate.length > best.length) {
      best = { length: candidate.length, price };
    }
  }
  return best?.price;
}

/**
 * The cost in US dollars of `usage` on `model`, or `null` when the model has no known price.
 * Cached input tokens are billed at the cached rate, the rest of the input at the input rate.
 */
export function computeCost(
  usage: BillableUsage,
  model: string,
  table: PriceTable = DEFAULT_PRICES,
): number | null {
  const price = priceFor(model, table);
  return price === undefined ? null : costAt(usage, price);
}

/** The cost in US dollars of `usage` at `price`. */
function costAt(usage: BillableUsage, price: ModelPrice): number {
  // A provider may report more cached tokens than input tokens; never bill negative input.
  const cached = Math.min(Math.max(0, usage.cachedInputTokens), usage.inputTokens);
  const uncached = usage.inputTokens - cached;
  const cachedRate = price.cachedInput ?? price.input;
  return (uncached * price.input + cached * cachedRate + usage.outputTokens * price.output) / 1e6;
}

/**
 * {@link computeCost} over a table that never changes, with each model's price looked up
 * once. Why: `priceFor` scans the whole table, and a model client prices every call (a
 * fan-out prices hundreds at once, on the path that starts the next call).
 */
export function cachedCostFunction(
  table: PriceTable,
): (usage: BillableUsage, model: string) => number | null {
  const prices = new Map<string, ModelPrice | undefined>();
  return (usage, model) => {
    let price = prices.get(model);
    if (price === undefined && !prices.has(model)) {
      price = priceFor(model, table);
      // Bounded: a server could report a new model name on every call.
      if (prices.size >= 256) prices.clear();
      prices.set(model, price);
    }
    return price === undefined ? null : costAt(usage, price);
  };
}
