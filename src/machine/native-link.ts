/**
 * Building seamlab's own C hooks (src/machine/native/) against the
 * libunicorn this process loaded, so that the hooks and the binding call
 * the same library: one home for finding it and for the reason a build
 * cannot be used (src/support/native-build.ts compiles and caches).
 */
import { buildNative, type NativeTarget } from '../support/native-build.js';
import { unicornLibraryPath } from './unicorn.js';

/** The shared library of `target(libunicorn)`, built if needed; else why not. */
export function buildAgainstUnicorn(target: (libunicorn: string) => NativeTarget): { ok: true; path: string } | { ok: false; reason: string } {
  const libunicorn = unicornLibraryPath();
  if (!libunicorn) return { ok: false, reason: 'the loaded libunicorn was not found in /proc/self/maps' };
  const b = buildNative(target(libunicorn));
  if (!b.ok) return { ok: false, reason: `${b.message}${b.notes.length ? `: ${b.notes.join(' / ')}` : ''}` };
  return { ok: true, path: b.path };
}
