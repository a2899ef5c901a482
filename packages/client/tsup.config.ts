import { fileURLToPath } from "node:url";
import { defineConfig } from "tsup";
import { writeDistManifest } from "../../scripts/dist-manifest.js";

// rlm-queue-client as plain JavaScript with declarations in dist/, with the package.json
// that `npm pack packages/client/dist` packs. Its runtime dependencies (openapi-fetch,
// eventsource-parser) stay imports, installed beside it.
const packageDir = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  target: "node20",
  platform: "node",
  dts: true,
  clean: true,
  sourcemap: true,
  onSuccess: () => writeDistManifest(packageDir, { bundlesWorkspace: false }),
});
