import type { SampleReportFacts } from "../sample-report/generate.js";

/** One of the demo's analyses, with a check of its answer against the report's facts. */
export interface DemoAnalysis {
  name: string;
  query: string;
  /** What the right answer must contain, for the closing summary. */
  expected: string;
  check(answer: string): boolean;
}

/**
 * The three analyses the demo runs over the sample report: an exact count across the
 * whole document (map-reduce with parallel sub-calls), a needle question, and a summary
 * that must name every section.
 */
export function demoAnalyses(facts: SampleReportFacts): DemoAnalysis[] {
  return [
    {
      name: "count",
      query: `How many times does the incident code "${facts.marker}" appear in the report?`,
      expected: String(facts.markerCount),
      check: (answer) => integersIn(answer).includes(facts.markerCount),
    },
    {
      name: "needle",
      query: `What is the "vault access code" for the Rotterdam hub?`,
      expected: facts.needle.answer,
      check: (answer) => answer.includes(facts.needle.answer),
    },
    {
      name: "summary",
      query: "Summarize the report, naming every section.",
      expected: `all ${facts.sections.length} section titles`,
      check: (answer) => missingSections(answer, facts).length === 0,
    },
  ];
}

/** Section titles the answer does not name (case and dash style ignored). */
export function missingSections(answer: string, facts: SampleReportFacts): string[] {
  const haystack = normalize(answer);
  return facts.sections.filter((title) => !haystack.includes(normalize(title)));
}

function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/[‐-―-]+/g, "-")
    .replace(/\s+/g, " ");
}

function integersIn(text: string): number[] {
  return (text.match(/\d[\d,]*/g) ?? []).map((digits) => Number(digits.replace(/,/g, "")));
}
