import type { Prng } from "./prng.js";
import { FIRST_NAMES, LAST_NAMES } from "./vocabulary.js";

/**
 * A block of a section. Only `paragraph` blocks receive planted marker sentences, so
 * tables and lists keep their shape.
 */
export interface Block {
  kind: "paragraph" | "table" | "list" | "heading" | "line";
  text: string;
}

/** One top-level `## N. Title` section. */
export interface Section {
  title: string;
  blocks: Block[];
}

export const paragraph = (text: string): Block => ({ kind: "paragraph", text });
export const table = (text: string): Block => ({ kind: "table", text });
export const list = (items: readonly string[]): Block => ({
  kind: "list",
  text: items.map((item) => `- ${item}`).join("\n"),
});
export const heading = (text: string): Block => ({ kind: "heading", text: `### ${text}` });
export const line = (text: string): Block => ({ kind: "line", text });

/** A sentence template: gets the section's random stream and its own scope. */
export type Sentence<S> = (scope: S & { rng: Prng }) => string;

/** Joins `count` distinct sentences drawn from `pool` into one paragraph. */
export function compose<S>(scope: S & { rng: Prng }, pool: readonly Sentence<S>[], count: number) {
  return scope.rng
    .sample(pool, count)
    .map((sentence) => sentence(scope))
    .join(" ");
}

export function person(rng: Prng): string {
  return `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`;
}
