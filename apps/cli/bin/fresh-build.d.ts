/**
 * The built entry of the CLI in `cliDir` (a `file:` URL of apps/cli/) as a path, or
 * undefined when there is no build or a file it was made from is newer than it (or gone).
 */
export function freshBuild(cliDir: URL): string | undefined;
