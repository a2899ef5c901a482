import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The package's layout, checked: folders by role, no import cycle, files of a readable
// size, the LM-job side and the root side apart but for their one interface, a public
// surface chosen name by name, and each Lua script a file that says what it takes.
const src = fileURLToPath(new URL("../src/", import.meta.url));

function list(dir: string, ending: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return list(path, ending);
    return ending.test(name) ? [path] : [];
  });
}

const files = list(src, /\.ts$/);
const name = (file: string) => relative(src, file);

/** Each file's relative imports (type-only ones too), as file names under src/. */
const imports = new Map(
  files.map((file) => {
    const text = readFileSync(file, "utf8");
    const targets = [...text.matchAll(/from\s+"(\.{1,2}\/[^"]+)\.js"/g)].map((match) =>
      name(resolve(dirname(file), `${match[1]}.ts`)),
    );
    return [name(file), targets];
  }),
);

describe("packages/queue's layout", () => {
  it("has no import cycle", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        cycles.push([...path.slice(path.indexOf(file)), file].join(" → "));
        return;
      }
      state.set(file, "open");
      for (const target of imports.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, "done");
    };
    for (const file of imports.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it("keeps every file under about 300 lines", () => {
    const long = files
      .map((file) => ({ file: name(file), lines: readFileSync(file, "utf8").split("\n").length }))
      .filter(({ lines }) => lines > 320);
    expect(long).toEqual([]);
  });

  it("puts files in folders by role", () => {
    const folders = new Set(files.map((file) => name(file).split("/")[0]));
    expect([...folders].sort()).toEqual(
      [
        "analyses",
        "answers",
        "client",
        "documents",
        "errors.ts",
        "index.ts",
        "jobs",
        "llm-job",
        "observing",
        "root-job",
        "sessions",
        "storage",
        "sub-calls",
        "worker",
      ].sort(),
    );
  });

  it("keeps the LM-job side and the root side apart but for the call lane", () => {
    const crossing = [...imports].flatMap(([file, targets]) =>
      targets
        .filter((target) => {
          const from = file.split("/")[0];
          const to = target.split("/")[0];
          if (from === "llm-job")
            return to === "root-job" || (to === "sub-calls" && target !== "sub-calls/call-lane.ts");
          if (from === "root-job" || from === "sub-calls")
            return to === "llm-job" || to === "worker";
          return false;
        })
        .map((target) => `${file} → ${target}`),
    );
    expect(crossing).toEqual([]);
  });

  it("exports public names one by one", () => {
    const index = readFileSync(join(src, "index.ts"), "utf8");
    expect(index).not.toMatch(/export \*/);
  });

  it("has each Lua script in a file opening with the KEYS and ARGV it takes", () => {
    const scripts = list(join(src, "storage/lua"), /\.lua$/).filter(
      (file) => !file.includes("/includes/"),
    );
    expect(scripts.length).toBeGreaterThanOrEqual(8);
    for (const script of scripts) {
      const header = readFileSync(script, "utf8").split("]]")[0] ?? "";
      expect(header.startsWith("--[["), name(script)).toBe(true);
      expect(header, name(script)).toMatch(/KEYS\[1\]/);
      expect(header, name(script)).toMatch(/Output:/);
    }
    // And no script is left in a TypeScript template string.
    for (const file of files)
      expect(readFileSync(file, "utf8"), name(file)).not.toMatch(/redis\.call\(/);
  });
});
