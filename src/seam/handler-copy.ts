/**
 * Fresh copies of a user's handler object, one per run, so that state a
 * handler keeps in its properties (a call counter, a script position) does
 * not carry over from one run to the next. The copy is taken of the object
 * as it was when the scenario was loaded; it keeps the prototype (class
 * methods), copies own properties deeply (arrays, Maps, Sets, Dates, typed
 * arrays, nested objects; cycles kept) and shares functions.
 *
 * State kept in `#private` class fields or in a closure cannot be copied:
 * such handlers should be given as a class (a new instance per run) or a
 * factory.
 */

function copy(v: unknown, seen: Map<object, unknown>): unknown {
  if (typeof v !== 'object' || v === null) return v; // primitives and functions
  const done = seen.get(v);
  if (done !== undefined) return done;
  if (Array.isArray(v)) {
    const a: unknown[] = [];
    seen.set(v, a);
    for (const x of v) a.push(copy(x, seen));
    return a;
  }
  if (v instanceof Map) {
    const m = new Map();
    seen.set(v, m);
    for (const [k, x] of v) m.set(copy(k, seen), copy(x, seen));
    return m;
  }
  if (v instanceof Set) {
    const s = new Set();
    seen.set(v, s);
    for (const x of v) s.add(copy(x, seen));
    return s;
  }
  if (v instanceof Date) return new Date(v.getTime());
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return (v as unknown as { slice(): unknown }).slice();
  const o = Object.create(Object.getPrototypeOf(v) as object | null) as Record<PropertyKey, unknown>;
  seen.set(v, o);
  for (const key of Reflect.ownKeys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, key)!;
    if ('value' in d) d.value = copy(d.value, seen);
    Object.defineProperty(o, key, d);
  }
  return o;
}

/** A function giving a fresh copy of `original` (as it is now) at every call. */
export function freshCopies<T extends object>(original: T): () => T {
  const snapshot = copy(original, new Map()) as T;
  return () => copy(snapshot, new Map()) as T;
}
