import { createHash } from "node:crypto";
import type { Section } from "./document.js";
import { line } from "./document.js";
import { segmentFigures } from "./figures.js";
import { plantMarker } from "./plant.js";
import { Prng } from "./prng.js";
import { REGIONS } from "./regions.js";
import { appendicesSection } from "./sections/appendices.js";
import { financialsSection } from "./sections/financials.js";
import { fleetSection } from "./sections/fleet.js";
import { glanceSection, letterSection } from "./sections/front-matter.js";
import { incidentsSection } from "./sections/incidents.js";
import { operationsSection } from "./sections/operations.js";
import { peopleSection } from "./sections/people.js";
import { risksSection } from "./sections/risks.js";
import { sustainabilitySection } from "./sections/sustainability.js";

/** What the demo and the tests know for certain about the generated report. */
export interface SampleReportFacts {
  title: string;
  seed: string;
  bytes: number;
  lines: number;
  sha256: string;
  /** The planted marker, e.g. `INC-7731`, and its exact number of occurrences. */
  marker: string;
  markerCount: number;
  /** Occurrences of the marker per section title (sections without one are left out). */
  markerBySection: Record<string, number>;
  needle: {
    line: string;
    /** 1-based line number of the needle in the report. */
    lineNumber: number;
    section: string;
    question: string;
    answer: string;
  };
  /** Titles of the `## N. Title` sections, in order, without their numbers. */
  sections: string[];
}

export interface SampleReport {
  text: string;
  facts: SampleReportFacts;
}

export const REPORT_TITLE = "Northwind Logistics — Annual Operations Report 2025";
const SEED = "northwind-2025";
const MARKER_ID = 7731;
const MARKER = `INC-${MARKER_ID}`;
const MARKER_COUNT = 61;
const NEEDLE_SITE = "Rotterdam Maasvlakte Hub";
const NEEDLE = "The vault access code for the Rotterdam hub is 4471-ZETA.";

/**
 * Builds the bundled sample report: a long, realistic annual report of a fictional
 * logistics company with a marker planted exactly `MARKER_COUNT` times and one needle
 * line. Pure and deterministic: the same bytes on every run and machine.
 */
export function generateSampleReport(): SampleReport {
  const root = new Prng(SEED);
  const segments = segmentFigures(root.fork("segments"));
  const sections: Section[] = [
    letterSection(root.fork("letter")),
    glanceSection(root.fork("glance"), segments),
  ];
  for (const region of REGIONS) {
    sections.push(operationsSection(root.fork(region.name), region, sections.length + 1));
  }
  sections.push(fleetSection(root.fork("fleet")));
  sections.push(incidentsSection(root.fork("incidents"), MARKER_ID));
  sections.push(risksSection(root.fork("risks"), sections.length + 1));
  sections.push(sustainabilitySection(root.fork("sustainability"), sections.length + 1));
  sections.push(peopleSection(root.fork("people")));
  sections.push(financialsSection(root.fork("financials"), sections.length + 1, segments));
  sections.push(appendicesSection(root.fork("appendices"), sections.length + 1));

  plantMarker(root.fork("marker"), sections, MARKER, MARKER_COUNT);
  const needleSection = placeNeedle(sections);

  const text = render(sections);
  const markerCount = occurrences(text, MARKER);
  if (markerCount !== MARKER_COUNT) {
    throw new Error(`marker ${MARKER} occurs ${markerCount} times, planted ${MARKER_COUNT}`);
  }
  const lines = text.split("\n");
  const lineNumber = lines.indexOf(NEEDLE) + 1;
  if (lineNumber === 0 || occurrences(text, NEEDLE) !== 1) {
    throw new Error("the needle line must occur exactly once, on a line of its own");
  }
  const markerBySection: Record<string, number> = {};
  sections.forEach((section, index) => {
    const count = occurrences(renderSection(section, index), MARKER);
    if (count > 0) markerBySection[section.title] = count;
  });
  return {
    text,
    facts: {
      title: REPORT_TITLE,
      seed: SEED,
      bytes: Buffer.byteLength(text, "utf8"),
      lines: lines.length,
      sha256: createHash("sha256").update(text, "utf8").digest("hex"),
      marker: MARKER,
      markerCount,
      markerBySection,
      needle: {
        line: NEEDLE,
        lineNumber,
        section: needleSection,
        question: "What is the vault access code for the Rotterdam hub?",
        answer: "4471-ZETA",
      },
      sections: sections.map((section) => section.title),
    },
  };
}

/** Puts the needle on a line of its own inside the Rotterdam site's subsection. */
function placeNeedle(sections: Section[]): string {
  for (const section of sections) {
    const start = section.blocks.findIndex(
      (block) => block.kind === "heading" && block.text.endsWith(NEEDLE_SITE),
    );
    if (start === -1) continue;
    const log = section.blocks.findIndex(
      (block, index) => index > start && block.text === "Monthly log:",
    );
    section.blocks.splice(log === -1 ? start + 1 : log, 0, line(NEEDLE));
    return section.title;
  }
  throw new Error(`no subsection for ${NEEDLE_SITE}`);
}

function renderSection(section: Section, index: number): string {
  return [`## ${index + 1}. ${section.title}`, ...section.blocks.map((b) => b.text)].join("\n\n");
}

function render(sections: readonly Section[]): string {
  const front = [
    `# ${REPORT_TITLE}`,
    "Fiscal year ended 31 December 2025. Northwind Logistics N.V., Rotterdam. All figures unaudited unless stated.",
  ];
  return `${[...front, ...sections.map(renderSection)].join("\n\n")}\n`;
}

function occurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) {
    count++;
  }
  return count;
}
