import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateSampleReport } from "../src/sample-report/generate.js";
import { collect, REPO_ROOT } from "./support/run-cli.js";

const ASSETS = join(REPO_ROOT, "apps", "cli", "assets");

function countOf(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

describe("sample report generator", () => {
  const first = generateSampleReport();

  it("is deterministic: two runs give identical text and facts", () => {
    const second = generateSampleReport();
    expect(second.text === first.text).toBe(true);
    expect(second.facts).toEqual(first.facts);
  });

  it("matches the committed assets byte for byte", async () => {
    const text = await readFile(join(ASSETS, "sample-report.txt"), "utf8");
    const facts = JSON.parse(await readFile(join(ASSETS, "sample-report.facts.json"), "utf8"));
    expect(text === first.text, "run: node --import tsx scripts/generate-sample-report.ts").toBe(
      true,
    );
    expect(facts).toEqual(first.facts);
  });

  it("the script reproduces the committed bytes", async () => {
    const out = await mkdtemp(join(tmpdir(), "rlm-report-"));
    try {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "scripts/generate-sample-report.ts", "--out", out],
        { cwd: REPO_ROOT },
      );
      const run = await collect(child, 60_000);
      expect(run.code, run.stderr).toBe(0);
      for (const name of ["sample-report.txt", "sample-report.facts.json"]) {
        const made = await readFile(join(out, name));
        const committed = await readFile(join(ASSETS, name));
        expect(made.equals(committed), name).toBe(true);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it("is a long report (≥ 600 KB) with 10–20 numbered top-level sections", () => {
    const { text, facts } = first;
    expect(Buffer.byteLength(text)).toBeGreaterThanOrEqual(600 * 1024);
    expect(facts.bytes).toBe(Buffer.byteLength(text));
    expect(text.startsWith(`# ${facts.title}\n`)).toBe(true);
    const headings = text.split("\n").filter((line) => line.startsWith("## "));
    expect(headings).toEqual(facts.sections.map((title, i) => `## ${i + 1}. ${title}`));
    expect(facts.sections.length).toBeGreaterThanOrEqual(10);
    expect(facts.sections.length).toBeLessThanOrEqual(20);
    expect(text).not.toMatch(/lorem ipsum/i);
    expect(text).not.toMatch(/undefined|NaN|\[object Object\]/);
  });

  it("plants the marker exactly markerCount times (40–80), across many sections", () => {
    const { text, facts } = first;
    expect(facts.markerCount).toBeGreaterThanOrEqual(40);
    expect(facts.markerCount).toBeLessThanOrEqual(80);
    expect(countOf(text, facts.marker)).toBe(facts.markerCount);
    // Not a prefix of a longer id either, so a substring count and a word count agree.
    expect(text.match(new RegExp(`\\b${facts.marker}\\b`, "g"))?.length).toBe(facts.markerCount);
    const perSection = Object.values(facts.markerBySection).reduce((a, b) => a + b, 0);
    expect(perSection).toBe(facts.markerCount);
    expect(Object.keys(facts.markerBySection).length).toBeGreaterThanOrEqual(10);
  });

  it("has the needle once, on its own line, at the recorded line number", () => {
    const { text, facts } = first;
    expect(countOf(text, facts.needle.line)).toBe(1);
    expect(countOf(text, facts.needle.answer)).toBe(1);
    const lines = text.split("\n");
    expect(lines[facts.needle.lineNumber - 1]).toBe(facts.needle.line);
    expect(facts.needle.line).toContain(facts.needle.answer);
    // The recorded section is the last `##` heading above the needle.
    const above = lines.slice(0, facts.needle.lineNumber).filter((l) => l.startsWith("## "));
    expect(above.at(-1)).toMatch(new RegExp(`^## \\d+\\. ${facts.needle.section}$`));
  });
});
