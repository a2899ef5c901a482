/**
 * Deterministic test documents: report-like text of a given size with a marker planted
 * an exact number of times, a needle line, and `##` section headings.
 */
export interface TestDocument {
  text: string;
  marker: string;
  markerCount: number;
  needle: string;
  sections: string[];
}

const WORDS = [
  "shipment",
  "warehouse",
  "throughput",
  "carrier",
  "delay",
  "audit",
  "invoice",
  "route",
  "capacity",
  "forecast",
  "customs",
  "pallet",
  "dock",
  "manifest",
  "quarterly",
  "variance",
];

function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeDocument(options: {
  chars: number;
  markerCount: number;
  sections?: number;
  seed?: number;
  marker?: string;
  needle?: string;
}): TestDocument {
  const random = prng(options.seed ?? 7);
  const marker = options.marker ?? "INC-7731";
  const needle = options.needle ?? "The vault access code for the Rotterdam hub is 4471-ZETA.";
  const sectionCount = options.sections ?? 8;
  const sections = Array.from(
    { length: sectionCount },
    (_, index) => `Region ${index + 1} Operations`,
  );
  const perSection = Math.floor(options.chars / sectionCount);
  const lines: string[] = [];
  for (const [index, title] of sections.entries()) {
    lines.push(`## ${title}`);
    let size = 0;
    while (size < perSection) {
      const words = Array.from({ length: 12 }, () => WORDS[Math.floor(random() * WORDS.length)]);
      const line = `The ${words.join(" ")} figures for unit ${index}-${lines.length} were reviewed.`;
      lines.push(line);
      size += line.length + 1;
    }
  }
  // Plant the marker in distinct lines spread over the document, then the needle.
  const bodyLines = lines
    .map((line, index) => ({ line, index }))
    .filter(({ line }) => !line.startsWith("## "));
  const stride = Math.floor(bodyLines.length / (options.markerCount + 2));
  for (let count = 0; count < options.markerCount; count += 1) {
    const target = bodyLines[(count + 1) * stride];
    if (!target) throw new Error("document too small for the markers");
    lines[target.index] = `${lines[target.index]} Ticket ${marker} was escalated.`;
  }
  const needleTarget = bodyLines[Math.floor(bodyLines.length * 0.61)];
  if (!needleTarget) throw new Error("document too small for the needle");
  lines.splice(needleTarget.index + 1, 0, needle);
  return { text: lines.join("\n"), marker, markerCount: options.markerCount, needle, sections };
}

/** Maximum number of intervals open at the same instant. */
export function maxOverlap(
  intervals: Array<{ startedAt: number; endedAt: number | null }>,
): number {
  const points = intervals.flatMap(({ startedAt, endedAt }) => [
    { at: startedAt, delta: 1 },
    // A request still open counts as open until the end.
    { at: endedAt ?? Number.POSITIVE_INFINITY, delta: -1 },
  ]);
  // Ends before starts at the same instant: touching intervals do not overlap.
  points.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let most = 0;
  for (const point of points) {
    open += point.delta;
    most = Math.max(most, open);
  }
  return most;
}
