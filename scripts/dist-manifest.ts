// The package.json of a built package's dist/ folder: what `npm pack packages/X/dist`
// packs and a service installs. In the workspace a package's own package.json exports its
// TypeScript sources (tests, tsx and the bundlers read them, never a stale build); the
// dist manifest exports the JavaScript and declarations instead, and lists as
// dependencies the npm packages of the workspace packages bundled into the build, which
// are not published themselves.
import { copyFile, writeFile } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

interface PackageJson {
  name: string;
  version: string;
  description?: string;
  license?: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** Workspace packages (bundled into builds, never published): `@rlm/*`. */
export const WORKSPACE_PACKAGE = /^@rlm\//;

function readPackage(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson;
}

/** The folder of an installed package, found as Node would: node_modules upwards. */
function packageDir(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dirname(dir) === dir) throw new Error(`${name} is not installed above ${from}`);
  }
}

/** How a package is built. */
export interface BuildShape {
  /**
   * True when the build bundles the workspace packages named in its devDependencies
   * (rlm-queue bundles @rlm/core, @rlm/sandbox, @rlm/llm); their npm dependencies are
   * then the built package's own. False: workspace dev dependencies are for its tests.
   */
  bundlesWorkspace: boolean;
}

/**
 * The npm dependencies a build of the package at `dir` needs: its own, plus, when it
 * bundles workspace packages, theirs, transitively. Two different ranges for one
 * dependency are an error: the bundle can only import one.
 */
export function runtimeDependencies(dir: string, shape: BuildShape): Record<string, string> {
  const found: Record<string, string> = {};
  const seen = new Set<string>();
  const visit = (pkgDir: string, root: boolean) => {
    const pkg = readPackage(pkgDir);
    const names = {
      ...pkg.dependencies,
      ...(root && shape.bundlesWorkspace ? pickWorkspace(pkg.devDependencies) : {}),
    };
    for (const [name, range] of Object.entries(names)) {
      if (WORKSPACE_PACKAGE.test(name)) {
        if (!shape.bundlesWorkspace) {
          throw new Error(`${pkg.name} depends on ${name}, which is not published`);
        }
        if (seen.has(name)) continue;
        seen.add(name);
        visit(packageDir(name, pkgDir), false);
      } else if (found[name] !== undefined && found[name] !== range) {
        throw new Error(`${name} is asked for as ${found[name]} and as ${range}: align them`);
      } else {
        found[name] = range;
      }
    }
  };
  visit(dir, true);
  return Object.fromEntries(Object.entries(found).sort(([a], [b]) => a.localeCompare(b)));
}

function pickWorkspace(deps: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(deps).filter(([name]) => WORKSPACE_PACKAGE.test(name)));
}

/**
 * Writes `dist/package.json` (ESM entry `index.js`, declarations `index.d.ts`) and copies
 * the package's README beside it.
 */
export async function writeDistManifest(dir: string, shape: BuildShape): Promise<void> {
  const pkg = readPackage(dir);
  const manifest = {
    name: pkg.name,
    version: pkg.version,
    ...(pkg.description !== undefined ? { description: pkg.description } : {}),
    ...(pkg.license !== undefined ? { license: pkg.license } : {}),
    type: "module",
    ...(pkg.engines !== undefined ? { engines: pkg.engines } : {}),
    exports: { ".": { types: "./index.d.ts", default: "./index.js" } },
    types: "./index.d.ts",
    dependencies: runtimeDependencies(dir, shape),
  };
  await writeFile(join(dir, "dist", "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  if (existsSync(join(dir, "README.md"))) {
    await copyFile(join(dir, "README.md"), join(dir, "dist", "README.md"));
  }
}
