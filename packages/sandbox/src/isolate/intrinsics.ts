/**
 * Intrinsics captured when the runtime boots, before any of the model's code runs.
 *
 * The model's code shares this realm and may replace `JSON`, `Array.prototype.join`,
 * `Object.keys` or `Promise.prototype.then`; the runtime only ever calls these captured
 * copies, so a cell that breaks a builtin cannot break printing, sub-calls or answers for
 * later cells. Methods are "uncurried" (`stringSlice(text, 0, 3)`), so no lookup on a
 * (possibly polluted) prototype happens at call time.
 */

type Uncurried<This, Args extends unknown[], Result> = (self: This, ...args: Args) => Result;

const callOf = Function.prototype.call;
// `uncurryThis(method)(self, ...args)` is `method.call(self, ...args)`, without a lookup.
const uncurryThis = (callOf.bind as (this: unknown, thisArg: unknown) => unknown).bind(
  callOf,
) as unknown as <This, Args extends unknown[], Result>(
  method: (this: This, ...args: Args) => Result,
) => Uncurried<This, Args, Result>;

export const ReflectApply = Reflect.apply;
export const ReflectConstruct = Reflect.construct;
export const ObjectCreate = Object.create;
export const ObjectKeys = Object.keys;
export const ObjectGetOwnPropertyNames = Object.getOwnPropertyNames;
export const ObjectDefineProperty = Object.defineProperty;
export const ObjectGetPrototypeOf = Object.getPrototypeOf;
export const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
export const ObjectPrototype = Object.prototype;
export const ArrayIsArray = Array.isArray;
export const StringCtor = String;
export const ErrorCtor = Error;
export const TypeErrorCtor = TypeError;
export const RangeErrorCtor = RangeError;
export const RegExpCtor = RegExp;
export const MapCtor = Map;
export const SetCtor = Set;
export const WeakMapCtor = WeakMap;
export const RealDate = Date;
export const PromiseCtor = Promise;
export const MathObject = Math;
export const JsonStringify = JSON.stringify;
export const JsonParse = JSON.parse;
export const globalObject = globalThis;
export const indirectEval = globalThis.eval;

export const stringSlice = uncurryThis(String.prototype.slice) as (
  text: string,
  start?: number,
  end?: number,
) => string;
export const stringStartsWith = uncurryThis(String.prototype.startsWith) as (
  text: string,
  search: string,
  position?: number,
) => boolean;
export const stringIndexOf = uncurryThis(String.prototype.indexOf) as (
  text: string,
  search: string,
  position?: number,
) => number;
export const stringTrim = uncurryThis(String.prototype.trim) as (text: string) => string;
export const regExpExec = uncurryThis(RegExp.prototype.exec) as (
  pattern: RegExp,
  text: string,
) => RegExpExecArray | null;
export const regExpToString = uncurryThis(RegExp.prototype.toString) as (pattern: RegExp) => string;
export const dateGetTime = uncurryThis(Date.prototype.getTime) as (date: Date) => number;
export const dateToISOString = uncurryThis(Date.prototype.toISOString) as (date: Date) => string;
export const dateToString = uncurryThis(Date.prototype.toString) as (date: Date) => string;
export const mapForEach = uncurryThis(Map.prototype.forEach) as (
  map: Map<unknown, unknown>,
  callback: (value: unknown, key: unknown) => void,
) => void;
export const mapSize = uncurryThis(
  ObjectGetOwnPropertyDescriptor(Map.prototype, "size")!.get as (
    this: Map<unknown, unknown>,
  ) => number,
);
export const setForEach = uncurryThis(Set.prototype.forEach) as (
  set: Set<unknown>,
  callback: (value: unknown) => void,
) => void;
export const setSize = uncurryThis(
  ObjectGetOwnPropertyDescriptor(Set.prototype, "size")!.get as (this: Set<unknown>) => number,
);
export const setAdd = uncurryThis(Set.prototype.add) as (set: Set<unknown>, value: unknown) => void;
export const setHas = uncurryThis(Set.prototype.has) as (
  set: Set<unknown>,
  value: unknown,
) => boolean;
export const setDelete = uncurryThis(Set.prototype.delete) as (
  set: Set<unknown>,
  value: unknown,
) => boolean;
export const weakMapGet = uncurryThis(WeakMap.prototype.get) as (
  map: WeakMap<object, unknown>,
  key: object,
) => unknown;
export const weakMapSet = uncurryThis(WeakMap.prototype.set) as (
  map: WeakMap<object, unknown>,
  key: object,
  value: unknown,
) => void;
export const promiseThen = uncurryThis(Promise.prototype.then) as <T>(
  promise: Promise<T>,
  onFulfilled: (value: T) => unknown,
  onRejected: (reason: unknown) => unknown,
) => Promise<unknown>;
export const arrayPush = uncurryThis(Array.prototype.push) as <T>(array: T[], item: T) => number;

/**
 * An object with no prototype holding `entries`: isolated-vm reads transfer options by
 * property lookup, and `Object.prototype` pollution must not add options.
 */
export function bareObject<T extends object>(entries: T): T {
  const result = ObjectCreate(null) as T;
  const keys = ObjectKeys(entries) as Array<keyof T>;
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    result[key] = entries[key];
  }
  return result;
}
