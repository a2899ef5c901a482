import { readFileSync } from "node:fs";
import { LuaScript } from "./lua-script.js";

/**
 * Every Lua script of the package, one `.lua` file each in `storage/lua/` (each opens
 * with the KEYS and ARGV it takes, and may include shared pieces from `lua/includes/`),
 * read once when the package loads.
 */
export const luaScripts = {
  admitCall: load("admit-call"),
  analysisProgress: load("analysis-progress"),
  analysisReport: load("analysis-report"),
  analysisTransition: load("analysis-transition"),
  contextTouch: load("context-touch"),
  journalAnswers: load("journal-answers"),
  journalPut: load("journal-put"),
  recordCreate: load("record-create"),
  sessionAppend: load("session-append"),
  sessionEnd: load("session-end"),
} as const;

function load(name: string): LuaScript {
  return new LuaScript(name, withIncludes(read(`${name}.lua`)));
}

/** Pieces shared by several scripts: a `--- @include "name"` line stands for `includes/name.lua`. */
function withIncludes(source: string): string {
  return source.replace(/^--- @include "([\w-]+)"$/gm, (_line, name: string) =>
    read(`includes/${name}.lua`),
  );
}

function read(path: string): string {
  return readFileSync(new URL(`./lua/${path}`, import.meta.url), "utf8");
}
