/**
 * The little native code seamlab has (C files under src/, no third-party
 * code) is compiled on the user's machine with the system C compiler, once,
 * into $SEAMLAB_CACHE/native/<name>-<hash>/ — the hash covers the source,
 * the flags and the compiler's version, so a changed source or compiler
 * rebuilds, and a build interrupted half way is never used (it is written to
 * a temporary name and renamed). `seamlab setup` builds everything ahead of
 * time; a missing build is made on first use. Without a C compiler the
 * callers fall back to their JavaScript paths and say so.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir } from './cache.js';
import { packageRoot } from './package-root.js';

export interface NativeTarget {
  /** Short name, e.g. "step-recorder". */
  name: string;
  /** The C source, relative to the package root. */
  source: string;
  /** 'shared' for a library loaded with koffi, 'executable' for a helper program. */
  kind: 'shared' | 'executable';
  /** Extra arguments after the source (libraries to link). */
  link?: () => string[];
}

export type NativeBuild = { ok: true; path: string; built: boolean } | { ok: false; reason: string };

const CC = () => process.env.CC || 'cc';

function compilerVersion(): string | undefined {
  const r = spawnSync(CC(), ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0] : undefined;
}

/** Builds `target` if its cached build is missing or stale; never throws. */
export function buildNative(target: NativeTarget): NativeBuild {
  let source: string;
  try {
    source = fs.readFileSync(path.join(packageRoot(), target.source), 'utf8');
  } catch (e) {
    return { ok: false, reason: `cannot read ${target.source}: ${(e as Error).message}` };
  }
  const cc = compilerVersion();
  if (!cc) return { ok: false, reason: `no C compiler (${CC()}) found; install gcc (Debian: apt-get install gcc) or set CC` };
  const link = target.link?.() ?? [];
  const flags = ['-O2', '-Wall', ...(target.kind === 'shared' ? ['-shared', '-fPIC'] : [])];
  const hash = createHash('sha256').update(`${source}\0${cc}\0${flags.join(' ')}\0${link.join(' ')}`).digest('hex').slice(0, 16);
  const dir = path.join(cacheDir(), 'native', `${target.name}-${hash}`);
  const out = path.join(dir, target.kind === 'shared' ? `lib${target.name}.so` : target.name);
  if (fs.existsSync(out)) return { ok: true, path: out, built: false };
  fs.mkdirSync(dir, { recursive: true });
  const src = path.join(dir, path.basename(target.source));
  const tmp = `${out}.${process.pid}.tmp`;
  fs.writeFileSync(src, source);
  const r = spawnSync(CC(), [...flags, '-o', tmp, src, ...link], { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    return { ok: false, reason: `${CC()} failed on ${target.source}: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(0, 3).join(' / ')}` };
  }
  fs.renameSync(tmp, out);
  return { ok: true, path: out, built: true };
}
