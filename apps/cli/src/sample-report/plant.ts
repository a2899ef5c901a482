import type { Block, Section } from "./document.js";
import { monthName } from "./format.js";
import type { Prng } from "./prng.js";
import { FIRST_NAMES, LAST_NAMES } from "./vocabulary.js";

type MarkerSentence = (rng: Prng, marker: string) => string;

/** Sentences that mention the marker exactly once, phrased like incident cross-references. */
const MARKER_SENTENCES: readonly MarkerSentence[] = [
  (rng, m) =>
    `Dispatch logged another recurrence of ${m}, the intermittent telematics dropout on reefer trailers, in ${monthName(rng.int(0, 11))}.`,
  (rng, m) =>
    `Root-cause work on ${m} continued, with ${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)} coordinating the review with fleet engineering.`,
  (rng, m) =>
    `Handheld scanners were affected by ${m} for roughly ${rng.int(2, 19)} hours before the firmware rollback.`,
  (rng, m) =>
    `The team reported symptoms matching ${m} in ${monthName(rng.int(0, 11))} and applied the interim workaround from the central service desk.`,
  (_rng, m) =>
    `Customer-facing impact from ${m} was limited, but the ticket stays open until the supplier ships a permanent fix.`,
  (rng, m) =>
    `A post-incident review referenced ${m} as a contributing factor in ${rng.int(2, 9)} late departures.`,
  (_rng, m) =>
    `Temperature data gaps traced to ${m} were back-filled from the trailers' local loggers, so no product had to be quarantined.`,
  (rng, m) =>
    `Auditors sampled ${rng.int(3, 12)} shipments touched by ${m} and found the manual fallback procedure had been followed.`,
];

/**
 * Appends one marker sentence to each of `count` distinct paragraphs: first one in every
 * section that has a paragraph (so the marker is spread across the report), the rest at
 * random among the remaining paragraphs. Mutates the blocks in place.
 */
export function plantMarker(rng: Prng, sections: Section[], marker: string, count: number): void {
  const bySection = sections.map((section) =>
    section.blocks.filter((block) => block.kind === "paragraph"),
  );
  const chosen = new Set<Block>();
  for (const paragraphs of bySection) {
    if (chosen.size < count && paragraphs.length > 0) chosen.add(rng.pick(paragraphs));
  }
  const rest = bySection.flat().filter((block) => !chosen.has(block));
  for (const block of rng.sample(rest, count - chosen.size)) chosen.add(block);
  if (chosen.size !== count) throw new Error(`only ${chosen.size} paragraphs to plant ${count}`);
  for (const block of chosen) {
    block.text = `${block.text} ${rng.pick(MARKER_SENTENCES)(rng, marker)}`;
  }
}
