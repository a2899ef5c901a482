import { readFileSync } from "node:fs";
import { LuaScript } from "./lua-script.js";

/**
 * Every Lua script of the package, one `.lua` file each in `storage/lua/` (each opens
 * with the KEYS and ARGV it takes), read once when the package loads.
 */
export const luaScripts = {
  admitCall: load("admit-call"),
  analysisCreate: load("analysis-create"),
  analysisProgress: load("analysis-progress"),
  analysisTransition: load("analysis-transition"),
  contextTouch: load("context-touch"),
  journalPut: load("journal-put"),
} as const;

function load(name: string): LuaScript {
  return new LuaScript(name, readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), "utf8"));
}
