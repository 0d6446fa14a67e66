/**
 * A damaged disk-cache entry is a miss, never an answer: every entry of
 * seamlab's own caches (cpp environments, Kbuild flags and preprocessed
 * files in cpp-env/, Keystone's answers in keystone/) carries the digest of
 * its content, checked on every lookup (support/cache.ts readCheckedFile).
 *
 * Each kind of entry is damaged in turn — one byte flipped where it would
 * change the build (a register number, a CONFIG value, an include
 * directory, an instruction's bytes), truncated, or written by another
 * seamlab version — and a new process builds the same file again: its image
 * must be the one a build without disk caches makes, the damaged kind must
 * have missed, and the entry must have been rewritten.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckedFile, writeCheckedFile } from '../src/support/cache.js';
import { treePath } from './support/kernel.js';

const tree61 = treePath('linux-6.1');
const FILE = 'arch/x86/coco/tdx/tdcall.S';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-cache-integrity-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface ChildResult { workersStarted: number; keystoneCalls: number; envHits: number; flagsHits: number; cppHits: number; sections: unknown; symbols: unknown }

const tsx = path.resolve(import.meta.dirname, '../node_modules/tsx/dist/cli.mjs');
const child = path.resolve(import.meta.dirname, 'support/cache-child.ts');

/** Builds FILE of linux-6.1 in a new process with the given cache directory. */
function build(cache: string, env: Record<string, string> = {}): ChildResult {
  const r = spawnSync(process.execPath, [tsx, child, tree61, FILE], { encoding: 'utf8', env: { ...process.env, SEAMLAB_CACHE: cache, ...env }, maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildResult;
}

const image = (r: ChildResult) => ({ sections: r.sections, symbols: r.symbols });

type Kind = 'env' | 'flags' | 'cpp' | 'keystone';

/** The one entry of a kind in a cache directory (one file built: one of each). */
function entryOf(cache: string, kind: Kind): string {
  const dir = path.join(cache, kind === 'keystone' ? 'keystone' : 'cpp-env');
  const names = fs.readdirSync(dir).filter((n) => (kind === 'keystone' ? n.endsWith('.json') : n.endsWith(`.${kind}.json`)));
  expect(names, `${kind} entries in ${dir}`).toHaveLength(1);
  return path.join(dir, names[0]!);
}

/**
 * Where one flipped byte changes what the entry says, not just its shape:
 * the low bit of the named character of the first occurrence of `text`
 * after the entry's result begins.
 */
const TARGETS: Record<Kind, { text: string; at: number; why: string }> = {
  // autoconf.h of the environment: CONFIG_X86_64 1 → 0.
  env: { text: '#define CONFIG_X86_64 1', at: 22, why: 'a CONFIG value' },
  // The first include directory: ./arch/x86/include → ./arch/y86/include.
  flags: { text: '"./arch/x86/include"', at: 8, why: 'an include directory' },
  // A preprocessed line: %r12 → %r13.
  cpp: { text: '%r12', at: 3, why: 'a register in the output' },
  // Keystone's bytes for push %r12: 4154 → 5154.
  keystone: { text: '"push %r12":"4154"', at: 13, why: "an instruction's bytes" },
};

function flipTarget(file: string, kind: Kind): void {
  const buf = fs.readFileSync(file);
  const text = buf.toString('latin1');
  const start = kind === 'keystone' ? text.indexOf('"answers":') : text.indexOf('"result":');
  expect(start, `${kind}: result in ${file}`).toBeGreaterThan(0);
  const { text: needle, at } = TARGETS[kind];
  const i = text.indexOf(needle, start);
  expect(i, `${kind}: ${JSON.stringify(needle)} in ${file}`).toBeGreaterThan(0);
  buf[i + at]! ^= 1;
  fs.writeFileSync(file, buf);
}

const hitsOf = (r: ChildResult, kind: Kind): number => (kind === 'env' ? r.envHits : kind === 'flags' ? r.flagsHits : kind === 'cpp' ? r.cppHits : r.workersStarted === 0 ? 1 : 0);

describe('damaged disk-cache entries', () => {
  let clean: ReturnType<typeof image>;
  let warm: string;
  const original = new Map<Kind, Buffer>();

  beforeAll(() => {
    clean = image(build(path.join(work, 'off'), { SEAMLAB_NO_DISK_CACHE: '1' }));
    warm = path.join(work, 'warm');
    const cold = build(warm);
    expect(image(cold)).toEqual(clean);
    for (const kind of ['env', 'flags', 'cpp', 'keystone'] as const) original.set(kind, fs.readFileSync(entryOf(warm, kind)));
    const hit = build(warm);
    expect(hit).toMatchObject({ envHits: 1, flagsHits: 1, cppHits: 1, workersStarted: 0, keystoneCalls: 0 });
  });

  /** A fresh copy of the warm cache directory. */
  const warmCopy = (name: string): string => {
    const dest = path.join(work, name);
    fs.cpSync(warm, dest, { recursive: true });
    return dest;
  };

  for (const kind of ['env', 'flags', 'cpp', 'keystone'] as const) {
    it(`${kind}: one byte flipped in ${TARGETS[kind].why} is a miss; the image is the clean build's and the entry is rewritten`, () => {
      const cache = warmCopy(`flip-${kind}`);
      const file = entryOf(cache, kind);
      flipTarget(file, kind);
      const r = build(cache);
      expect(image(r)).toEqual(clean);
      expect(hitsOf(r, kind), `${kind} must miss`).toBe(0);
      const rewritten = fs.readFileSync(entryOf(cache, kind));
      if (kind === 'keystone') {
        // Rewritten by the merge in flush(): the same answers (their order is the order they were asked in).
        expect(JSON.parse(readCheckedFile(file)!)).toEqual(JSON.parse(readCheckedFile(entryOf(warm, kind))!));
      } else {
        expect(rewritten.equals(original.get(kind)!), `${kind} entry rewritten as the original`).toBe(true);
      }
      // And used again by the next process.
      expect(hitsOf(build(cache), kind)).toBe(1);
    });
  }

  it('truncated entries of every kind are misses and are rewritten', () => {
    const cache = warmCopy('truncated');
    for (const kind of ['env', 'flags', 'cpp', 'keystone'] as const) {
      const file = entryOf(cache, kind);
      const buf = fs.readFileSync(file);
      fs.writeFileSync(file, buf.subarray(0, buf.length - 2));
    }
    const r = build(cache);
    expect(image(r)).toEqual(clean);
    expect(r).toMatchObject({ envHits: 0, flagsHits: 0, cppHits: 0, workersStarted: 1 });
    for (const kind of ['env', 'flags', 'cpp'] as const) expect(fs.readFileSync(entryOf(cache, kind)).equals(original.get(kind)!), kind).toBe(true);
    expect(readCheckedFile(entryOf(cache, 'keystone'))).toBeDefined();
  });

  it('entries written by another seamlab version (another format, intact digest; or the format without a digest) are misses and are rewritten', () => {
    for (const variant of ['other-format', 'no-digest'] as const) {
      const cache = warmCopy(`version-${variant}`);
      for (const kind of ['env', 'flags', 'cpp', 'keystone'] as const) {
        const file = entryOf(cache, kind);
        const body = readCheckedFile(file)!;
        expect(body).toMatch(/^\{"format":2,/);
        if (variant === 'other-format') writeCheckedFile(file, body.replace(/^\{"format":2,/, '{"format":3,'));
        else fs.writeFileSync(file, body.replace(/^\{"format":2,/, '{"format":1,'));
      }
      const r = build(cache);
      expect(image(r)).toEqual(clean);
      expect(r, variant).toMatchObject({ envHits: 0, flagsHits: 0, cppHits: 0, workersStarted: 1 });
      for (const kind of ['env', 'flags', 'cpp'] as const) expect(fs.readFileSync(entryOf(cache, kind)).equals(original.get(kind)!), `${variant} ${kind}`).toBe(true);
      expect(JSON.parse(readCheckedFile(entryOf(cache, 'keystone'))!)).toMatchObject({ format: 2 });
    }
  });
});

describe('checked cache files', () => {
  it('read back what was written; any one byte flipped, any truncation or extension reads as absent', () => {
    const file = path.join(work, 'checked.json');
    const body = JSON.stringify({ format: 2, text: 'ünïcode and \\ escapes\n', n: [1, 2, 3] }) + '\n';
    expect(writeCheckedFile(file, body)).toBe(true);
    expect(readCheckedFile(file)).toBe(body);
    const good = fs.readFileSync(file);
    for (let i = 0; i < good.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Buffer.from(good);
        bad[i]! ^= bit;
        fs.writeFileSync(file, bad);
        expect(readCheckedFile(file), `byte ${i} ^ ${bit}`).toBeUndefined();
      }
    }
    for (let n = 0; n < good.length; n++) {
      fs.writeFileSync(file, good.subarray(0, n));
      expect(readCheckedFile(file), `first ${n} bytes`).toBeUndefined();
    }
    fs.writeFileSync(file, Buffer.concat([good, Buffer.from('\n')]));
    expect(readCheckedFile(file)).toBeUndefined();
    expect(readCheckedFile(path.join(work, 'missing.json'))).toBeUndefined();
  });
});
