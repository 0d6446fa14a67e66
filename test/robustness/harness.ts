/**
 * The robustness corpus's harness (issue 18, item 10). The corpus holds,
 * per class of bad input or bad circumstance and per front end, a case
 * with the exact outcome expected, and checks on every case what must hold
 * whatever the input:
 * - no internal error (exit 70 and a stack trace are seamlab bugs);
 * - a refusal is a user error: non-zero exit, `file:line: error: … [CODE]`
 *   when it comes from a file, and a one-line `hint:`;
 * - bounded time (LIMITS.ms) and memory (the V8 heap capped at
 *   LIMITS.heapMb: going over ends the process, which fails the case);
 * - nothing written but the requested outputs (snapshot() before and after);
 * - the cache still correct afterwards (the cases run `seamlab setup`/
 *   `doctor`/a build after the bad input).
 *
 * One file per class: cache.test.ts (class 1, silently wrong answers from
 * the cache), user-errors.test.ts (2, stack traces for errors the user
 * caused), hangs.test.ts (3), header-numbers.test.ts (4, numbers in
 * headers), silent-exit.test.ts (5), emulation.test.ts (6, emulation that
 * lies), interrupted-setup.test.ts (7), messages.test.ts (8, misleading
 * messages), code-in-scenarios.test.ts (9); front-ends.test.ts has a bad
 * input for each front end (patch/mbox reader, .config, cpp, gas, scenario
 * loader, gdb packets, DAP messages), and fuzz.test.ts fuzzes them.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect } from 'vitest';
import { CLI } from '../support/cli.js';

export const LIMITS = { ms: 120_000, heapMb: 512 };

export interface CaseRun { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }

/** Runs the bundled CLI within LIMITS. */
export function runCli(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): CaseRun {
  const t = Date.now();
  const r = spawnSync(process.execPath, [`--max-old-space-size=${LIMITS.heapMb}`, CLI, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: LIMITS.ms,
    maxBuffer: 64 << 20,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t };
}

/** The invariants of every case: finished in time, on its own (no signal), no internal error. */
export function expectBounded(r: CaseRun): void {
  expect(r.signal, `ended by ${r.signal} after ${r.ms} ms (time limit ${LIMITS.ms} ms, heap ${LIMITS.heapMb} MB)`).toBeNull();
  expect(r.status).not.toBe(70);
  expect(r.stderr).not.toMatch(/internal error|^\s+at .*:\d+:\d+\)?$/m);
}

/**
 * A refusal: bounded, exit 1, a positioned (when `positioned`) error with
 * its code and a hint, and exactly the expected stderr once `replace` has
 * put placeholders for temporary paths.
 */
export function expectRefusal(r: CaseRun, expected: string[], opts: { replace?: [string, string][]; positioned?: boolean } = {}): void {
  expectBounded(r);
  // A refusal is a user error: exit 2 (src/cli/exit-codes.ts).
  expect(r.status).toBe(2);
  let text = r.stderr;
  for (const [from, to] of opts.replace ?? []) text = text.replaceAll(from, to);
  const lines = text.trimEnd().split('\n');
  // Positioned: `file:line: error: …`, or (scenario files, whose messages carry the field's position) `error: file:line:col: …`.
  expect(lines[0]).toMatch(opts.positioned === false ? /^error: .* \[[A-Z][A-Z0-9_]+\]$/ : /^([^\s:]+:\d+(:\d+)?: error: |error: [^\s:]+:\d+:\d+: ).* \[[A-Z][A-Z0-9_]+\]$/);
  expect(lines.filter((l) => l.startsWith('  hint: '))).toHaveLength(1);
  expect(lines).toEqual(expected);
}

/** Every path under `dir` with its type, size and modification time: equal before and after means nothing was written. */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      const st = fs.lstatSync(path.join(dir, p));
      out.push(`${p} ${e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : 'f'} ${st.size} ${st.mtimeMs} ${st.ino}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk('');
  return out.sort();
}

/** A temporary directory holding `files` (path → text), for a case's inputs and its working directory. */
export function caseDir(prefix: string, files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `seamlab-robust-${prefix}-`));
  for (const [p, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), text);
  }
  return dir;
}

/**
 * A test file's maker of case directories (caseDir with `prefix`): each one
 * it makes is removed after the file's tests.
 */
export function caseDirs(prefix: string): (files?: Record<string, string>) => string {
  const made: string[] = [];
  afterAll(() => {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  });
  return (files = {}) => {
    const d = caseDir(prefix, files);
    made.push(d);
    return d;
  };
}

/** Whether a process runs (a zombie, dead and waiting to be reaped, does not). */
export function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The pids of the running processes in a process group. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so fields are counted from the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** Polls `f` every 50 ms until it gives a value, for at most `ms`. */
export async function until<T>(f: () => T | undefined, ms = 30_000): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A temporary cache holding a copy of the real cache's linux-6.1 tree (same
 * times) and its .deb, so that nothing is downloaded and the real cache is
 * only read. `tree: false` copies the .deb only.
 */
export function cacheCopy(dest: string, realCache: string, opts: { tree?: boolean } = {}): void {
  fs.mkdirSync(path.join(dest, 'debs'), { recursive: true });
  const debs = path.join(realCache, 'debs');
  const found = fs.readdirSync(debs).filter((f) => f.startsWith('linux-source-6.1_') && f.endsWith('.deb'));
  expect(found.length, `run scripts/setup first (no linux-source-6.1 .deb in ${debs})`).toBeGreaterThan(0);
  for (const d of found) fs.copyFileSync(path.join(debs, d), path.join(dest, 'debs', d));
  if (opts.tree !== false) {
    fs.mkdirSync(path.join(dest, 'trees'));
    const r = spawnSync('cp', ['-a', path.join(realCache, 'trees', 'linux-6.1'), path.join(dest, 'trees', 'linux-6.1')]);
    expect(r.status, String(r.stderr)).toBe(0);
  }
}
