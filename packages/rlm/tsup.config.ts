import { fileURLToPath } from "node:url";
import { defineConfig } from "tsup";
import {
  runtimeDependencies,
  WORKSPACE_PACKAGE,
  writeDistManifest,
} from "../../scripts/dist-manifest.js";

// rlm-queue as plain JavaScript with declarations in dist/, with the package.json that
// `npm pack packages/rlm/dist` packs. The workspace packages it is made of (@rlm/core,
// @rlm/sandbox, @rlm/llm) are not published: their code and types are bundled in, and
// their npm dependencies (isolated-vm, openai, …) become the package's own, left as imports.
const packageDir = fileURLToPath(new URL(".", import.meta.url));
const shape = { bundlesWorkspace: true };

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  target: "node20",
  platform: "node",
  noExternal: [WORKSPACE_PACKAGE],
  external: Object.keys(runtimeDependencies(packageDir, shape)),
  tsconfig: "tsconfig.build.json",
  dts: { resolve: [WORKSPACE_PACKAGE] },
  clean: true,
  sourcemap: true,
  onSuccess: () => writeDistManifest(packageDir, shape),
});
