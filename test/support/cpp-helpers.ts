/**
 * Helpers for the preprocessor tests: an in-memory tree, seamlab's cpp on
 * it, and gcc -E on the same files written to a temporary directory.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ReadonlyFs } from '../../src/support/vfs.js';
import { normalizeTreePath } from '../../src/support/vfs.js';
import { Preprocessor, type CppConfig, type CppRun } from '../../src/cpp/preprocessor.js';
import { GCC_ASM_PREDEFINES } from '../../src/kbuild/predefined.js';
import { hasCommand } from './oracles.js';

export class MemFs implements ReadonlyFs {
  private readonly files = new Map<string, string>();
  constructor(files: Record<string, string>) {
    for (const [k, v] of Object.entries(files)) this.files.set(normalizeTreePath(k)!, v);
  }
  readFile(p: string): string | undefined {
    const k = normalizeTreePath(p);
    return k === undefined ? undefined : this.files.get(k);
  }
  exists(p: string): boolean {
    return this.readFile(p) !== undefined || this.isDirectory(p);
  }
  isDirectory(p: string): boolean {
    const k = normalizeTreePath(p);
    if (k === undefined) return false;
    if (k === '') return true;
    for (const f of this.files.keys()) if (f.startsWith(k + '/')) return true;
    return false;
  }
  listDir(p: string): string[] | undefined {
    const k = normalizeTreePath(p);
    if (k === undefined || !this.isDirectory(k)) return undefined;
    const pre = k === '' ? '' : k + '/';
    return [...new Set([...this.files.keys()].filter((f) => f.startsWith(pre)).map((f) => f.slice(pre.length).split('/')[0]!))].sort();
  }
  describe(p: string): string {
    return `mem:${p}`;
  }
  entries(): [string, string][] {
    return [...this.files];
  }
}

export interface MiniOptions {
  includeDirs?: string[];
  forced?: string[];
  defines?: string;
  mode?: 'asm' | 'c';
}

export function miniConfig(o: MiniOptions = {}): CppConfig {
  const dirs = (o.includeDirs ?? []).map((d) => ({ spelled: d }));
  return {
    mode: o.mode ?? 'asm',
    chain: { dirs, bracketStart: 0 },
    forcedIncludes: o.forced ?? [],
    predefines: (o.mode === 'c' ? '' : GCC_ASM_PREDEFINES) + (o.defines ?? ''),
    sourceDateEpoch: 0,
  };
}

/** seamlab's cpp on an in-memory tree. */
export function cpp(files: Record<string, string>, main = 'main.S', o: MiniOptions = {}): CppRun {
  return new Preprocessor(new MemFs(files), miniConfig(o)).run(main);
}

export const HAVE_GCC = hasCommand('gcc');

/** gcc -E -P on the same files (written to a temp dir); returns stdout, or throws with stderr. */
export function gccE(files: Record<string, string>, main = 'main.S', o: MiniOptions = {}): { status: number; stdout: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-cpp-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      const p = path.join(dir, name);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, text);
    }
    const args = ['-E', '-P', '-nostdinc', '-m64', '-fno-PIE', '-x', o.mode === 'c' ? 'c' : 'assembler-with-cpp'];
    for (const d of o.includeDirs ?? []) args.push(`-I${d}`);
    for (const f of o.forced ?? []) args.push('-include', f);
    if (o.defines) {
      for (const line of o.defines.split('\n')) {
        const m = /^#define (\S+)(?: (.*))?$/.exec(line);
        if (m) args.push(`-D${m[1]}=${m[2] ?? ''}`);
      }
    }
    args.push(main);
    const r = spawnSync('gcc', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '0', LC_ALL: 'C' } });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** gcc -E -P output compared token-for-token: whitespace runs collapsed, blank lines dropped. */
export function normalizeOutput(text: string | string[]): string[] {
  const lines = Array.isArray(text) ? text : text.split('\n');
  return lines.map((l) => l.replace(/\s+/g, ' ').trim()).filter((l) => l !== '');
}
