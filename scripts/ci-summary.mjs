// Reads vitest's JSON report and prints the plain line CI reads: "N passed, N failed".
// A run that crashed before writing its report counts as one failure.
import { readFileSync } from "node:fs";

const [reportPath, statusText = "1", staticFailuresText = "0"] = process.argv.slice(2);
const status = Number(statusText);
let passed = 0;
let failed = 0;
try {
  const report = JSON.parse(readFileSync(reportPath, "utf8"));
  passed = report.numPassedTests ?? 0;
  failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTests ?? 0);
  // A test file that failed to load has no tests but is a failure.
  for (const file of report.testResults ?? []) {
    if (file.status === "failed" && (file.assertionResults ?? []).length === 0) failed += 1;
  }
} catch {
  failed = Math.max(failed, 1);
}
if (status !== 0 && failed === 0) failed = 1;
// Typecheck and lint, run before the tests, count as one failure each.
failed += Number(staticFailuresText) || 0;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
