/**
 * The little native code seamlab has (our own C files under src/, no
 * third-party code) is compiled on the user's machine with the system C
 * compiler, once, into $SEAMLAB_CACHE/native/<hash>/ — the hash covers the
 * source, the compiler command, the flags and what is linked, so a changed
 * source or compiler builds a new file next to the old one, and a build
 * interrupted half way is never used (it is written under a temporary name
 * and renamed). `seamlab setup` builds everything ahead of time; a missing
 * build is made on first use. Callers decide what a failure means (the
 * silicon oracle refuses to run; traces fall back to JavaScript hooks).
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir } from './cache.js';
import { packageRoot } from './package-root.js';

export interface NativeTarget {
  /** What the build is called: the executable's name, or the library's (`lib<name>.so`). */
  name: string;
  /** The C source, relative to the package root. */
  source: string;
  /** 'shared' for a library loaded with koffi, 'executable' for a helper program. */
  kind: 'shared' | 'executable';
  cflags: readonly string[];
  /** Arguments after the source (libraries to link). */
  link?: readonly string[];
}

export type NativeBuild =
  | { ok: true; path: string; compiled: boolean }
  | { ok: false; problem: 'no-compiler' | 'compile-failed' | 'no-source'; message: string; notes: string[] };

/** The compiler: $CC, else `cc`. */
export function compilerCommand(): string {
  return process.env.CC || 'cc';
}

/** Where `target`'s build for the current source and compiler lives (built or not); undefined when the source is missing. */
export function nativeBuildPath(target: NativeTarget, cache = cacheDir()): string | undefined {
  let source: Buffer;
  try {
    source = fs.readFileSync(path.join(packageRoot(), target.source));
  } catch {
    return undefined;
  }
  const flags = [...target.cflags, ...(target.kind === 'shared' ? ['-shared', '-fPIC'] : [])];
  const h = createHash('sha256').update(source).update(`\0${compilerCommand()}\0${flags.join(' ')}\0${(target.link ?? []).join(' ')}`).digest('hex').slice(0, 16);
  return path.join(cache, 'native', h, target.kind === 'shared' ? `lib${target.name}.so` : target.name);
}

/** Compiles `target` unless its cached build exists. Never throws for a missing compiler or a failed compile: says so. */
export function buildNative(target: NativeTarget, opts: { cache?: string; log?: (line: string) => void } = {}): NativeBuild {
  const out = nativeBuildPath(target, opts.cache);
  if (!out) return { ok: false, problem: 'no-source', message: `cannot read ${target.source}`, notes: [] };
  if (fs.existsSync(out)) return { ok: true, path: out, compiled: false };
  const cc = compilerCommand();
  opts.log?.(`compiling ${target.source} with ${cc}`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const flags = [...target.cflags, ...(target.kind === 'shared' ? ['-shared', '-fPIC'] : [])];
  const r = spawnSync(cc, [...flags, '-o', tmp, path.join(packageRoot(), target.source), ...(target.link ?? [])], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    return r.error
      ? { ok: false, problem: 'no-compiler', message: `cannot run the C compiler ${cc}: ${r.error.message}`, notes: [] }
      : { ok: false, problem: 'compile-failed', message: `${cc} could not compile ${target.source}`, notes: (r.stderr || r.stdout).trim().split('\n').slice(0, 12) };
  }
  fs.renameSync(tmp, out);
  return { ok: true, path: out, compiled: true };
}
