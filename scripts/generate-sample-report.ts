/**
 * Regenerates the CLI's bundled sample report and its facts sidecar:
 *
 *   node --import tsx scripts/generate-sample-report.ts [--out DIR]
 *
 * Default DIR is apps/cli/assets. The output is deterministic (seeded, no clock), so
 * running it again must leave `git status` clean; a test checks the committed files.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { generateSampleReport } from "../apps/cli/src/sample-report/generate.js";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { out: { type: "string" } } });
const outDir = resolve(values.out ?? join(here, "..", "apps", "cli", "assets"));

const { text, facts } = generateSampleReport();
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "sample-report.txt"), text);
writeFileSync(join(outDir, "sample-report.facts.json"), `${JSON.stringify(facts, null, 2)}\n`);
process.stdout.write(
  `wrote ${outDir}/sample-report.txt (${facts.bytes} bytes, ${facts.sections.length} sections, ${facts.marker} × ${facts.markerCount})\n`,
);
