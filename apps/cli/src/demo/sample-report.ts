import { readFile } from "node:fs/promises";
import type { SampleReportFacts } from "../sample-report/generate.js";

/** The bundled report and the facts the generator recorded about it. */
export interface BundledReport {
  text: string;
  facts: SampleReportFacts;
}

const ASSETS = new URL("../../assets/", import.meta.url);

/** Loads `apps/cli/assets/sample-report.txt` and its facts sidecar. */
export async function loadSampleReport(): Promise<BundledReport> {
  const [text, facts] = await Promise.all([
    readFile(new URL("sample-report.txt", ASSETS), "utf8"),
    readFile(new URL("sample-report.facts.json", ASSETS), "utf8"),
  ]);
  return { text, facts: JSON.parse(facts) as SampleReportFacts };
}
