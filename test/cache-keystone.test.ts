/**
 * Keystone's answers kept across processes (src/encode/keystone-cache.ts):
 * a second process — or the memo cleared as a new process would find it —
 * encodes known forms without a Keystone round trip and without starting
 * the worker, with the same bytes; only deterministic answers (bytes,
 * rejections) are stored, never timeouts or crashes; a damaged store is
 * ignored; plain clearEncodeMemo() still means "cold".
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeystoneEncoder, KeystoneRequest, KeystoneResult } from '../src/encode/keystone.js';
import { keystoneStore } from '../src/encode/keystone-cache.js';
import { readCheckedFile, writeCheckedFile } from '../src/support/cache.js';
import { clearEncodeMemo, encodeMany, encoderStats, flushEncodeMemo, useKeystone } from '../src/encode/x86.js';
import { hex, resolve } from './support/encode-helpers.js';
import { treePath } from './support/kernel.js';

const tree61 = treePath('linux-6.1');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-cache-ks-'));
const saved = { cache: process.env.SEAMLAB_CACHE, off: process.env.SEAMLAB_NO_DISK_CACHE };
let cache: string;

beforeEach(() => {
  cache = fs.mkdtempSync(path.join(work, 'cache-'));
  process.env.SEAMLAB_CACHE = cache;
  delete process.env.SEAMLAB_NO_DISK_CACHE;
  clearEncodeMemo({ reloadPersistent: true });
});
afterEach(() => {
  useKeystone(undefined);
  if (saved.cache === undefined) delete process.env.SEAMLAB_CACHE;
  else process.env.SEAMLAB_CACHE = saved.cache;
  if (saved.off === undefined) delete process.env.SEAMLAB_NO_DISK_CACHE;
  else process.env.SEAMLAB_NO_DISK_CACHE = saved.off;
  clearEncodeMemo();
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const outcome = (o: ReturnType<typeof encodeMany>[number]) => (o.ok ? hex(o.bytes) : `${o.error.code}: ${o.error.message}`);
const storeFile = () => keystoneStore()!.file;
const storedAnswers = () => (JSON.parse(readCheckedFile(storeFile())!) as { answers: Record<string, unknown> }).answers;

describe('persistent Keystone answers', () => {
  // GNU as 2.40: movq 0x8(%rsi),%r9 = 4c 8b 4e 08; movq 0x80(%rsi),%r8 = 4c 8b 86 80 00 00 00.
  const texts = ['movq 0x8(%rsi), %r9', 'movq 0x80(%rsi), %r8', 'frobnicate %rax'];
  const items = () => texts.map((t) => ({ insn: resolve(t), address: 0n }));

  it('answers a new process from disk: no Keystone round trip, same bytes and errors', () => {
    const calls = encoderStats.keystoneCalls;
    const first = encodeMany(items()).map(outcome);
    expect(encoderStats.keystoneCalls - calls).toBe(1);
    expect(first.slice(0, 2)).toEqual(['4c8b4e08', '4c8b8680000000']);
    expect(first[2]).toMatch(/^ENCODE_REJECTED: /);
    flushEncodeMemo();
    expect(storeFile().startsWith(path.join(cache, 'keystone') + path.sep)).toBe(true);
    expect(Object.keys(storedAnswers())).toHaveLength(3);

    clearEncodeMemo({ reloadPersistent: true });
    const again = encodeMany(items()).map(outcome);
    expect(encoderStats.keystoneCalls - calls).toBe(1);
    expect(again).toEqual(first);
  });

  it('plain clearEncodeMemo() still asks Keystone (cold encoding)', () => {
    encodeMany(items());
    flushEncodeMemo();
    clearEncodeMemo();
    const calls = encoderStats.keystoneCalls;
    encodeMany(items());
    expect(encoderStats.keystoneCalls - calls).toBe(1);
  });

  it('stores bytes and rejections, never timeouts or crashes', () => {
    const seen: string[][] = [];
    const fake = {
      assembleMany(reqs: readonly KeystoneRequest[]): KeystoneResult[] {
        seen.push(reqs.map((r) => r.text));
        return reqs.map((r): KeystoneResult => {
          if (r.text.startsWith('rdtsc')) return { ok: true, bytes: Uint8Array.of(0x0f, 0x31) };
          if (r.text.startsWith('cpuid')) return { ok: false, kind: 'timeout', message: 'did not finish' };
          if (r.text.startsWith('pause')) return { ok: false, kind: 'crash', message: 'Program terminated with exit(1)' };
          return { ok: false, kind: 'rejected', message: 'Invalid mnemonic (KS_ERR_ASM_MNEMONICFAIL)' };
        });
      },
    } as unknown as KeystoneEncoder;
    useKeystone(fake, { persistent: true });
    const out = encodeMany(['rdtsc', 'cpuid', 'pause', 'frobnicate %rax'].map((t) => ({ insn: resolve(t), address: 0n }))).map((o) => (o.ok ? hex(o.bytes) : o.error.code));
    expect(out).toEqual(['0f31', 'ENCODE_KEYSTONE_FAILED', 'ENCODE_KEYSTONE_FAILED', 'ENCODE_REJECTED']);
    flushEncodeMemo();
    const stored = Object.values(storedAnswers());
    expect(stored).toHaveLength(2);
    expect(stored).toContainEqual('0f31');
    expect(stored).toContainEqual({ rejected: 'Invalid mnemonic (KS_ERR_ASM_MNEMONICFAIL)' });

    // A new process asks again for what timed out or crashed, and only for that.
    clearEncodeMemo({ reloadPersistent: true });
    seen.length = 0;
    encodeMany(['rdtsc', 'cpuid', 'pause', 'frobnicate %rax'].map((t) => ({ insn: resolve(t), address: 0n })));
    expect(seen.flat().map((t) => t.split(' ')[0])).toEqual(['cpuid', 'pause']);
  });

  it('a private encoder neither reads nor writes the store', () => {
    encodeMany(items());
    flushEncodeMemo();
    const before = fs.readFileSync(storeFile(), 'utf8');
    const seen: string[] = [];
    useKeystone({ assembleMany: (reqs: readonly KeystoneRequest[]) => reqs.map((r) => (seen.push(r.text), { ok: true, bytes: Uint8Array.of(0x90) })) } as unknown as KeystoneEncoder);
    clearEncodeMemo({ reloadPersistent: true });
    encodeMany([...items(), { insn: resolve('rdtsc'), address: 0n }]);
    expect(seen).toHaveLength(4);
    flushEncodeMemo();
    expect(fs.readFileSync(storeFile(), 'utf8')).toBe(before);
  });

  it('ignores a damaged store and rewrites it', () => {
    encodeMany(items());
    flushEncodeMemo();
    const good = readCheckedFile(storeFile())!;
    const checked = (body: string) => {
      writeCheckedFile(storeFile(), body);
      return fs.readFileSync(storeFile(), 'utf8');
    };
    // One byte of an answer changed (the store holds placeholder texts: 0x5a… stands for any displacement).
    const flipped = (text: string) => {
      expect(text).toContain('"4c8b4e5a"');
      return text.replace('"4c8b4e5a"', '"4c8b4e5b"');
    };
    for (const damaged of ['', good, checked('{"format":2,"keystone":"other","answers":{}}'), checked('{"answers":'), checked(JSON.stringify({ format: 2, keystone: 'x', answers: { 'movq 0x8(%rsi), %r9': 'zz' } })), flipped(checked(good))]) {
      fs.writeFileSync(storeFile(), damaged);
      clearEncodeMemo({ reloadPersistent: true });
      const calls = encoderStats.keystoneCalls;
      expect(encodeMany(items()).map(outcome).slice(0, 2)).toEqual(['4c8b4e08', '4c8b8680000000']);
      expect(encoderStats.keystoneCalls - calls, damaged).toBe(1);
      flushEncodeMemo();
      expect(Object.keys(storedAnswers())).toHaveLength(3);
    }
  });

  it('SEAMLAB_NO_DISK_CACHE=1 writes nothing', () => {
    process.env.SEAMLAB_NO_DISK_CACHE = '1';
    clearEncodeMemo({ reloadPersistent: true });
    encodeMany(items());
    flushEncodeMemo();
    expect(fs.readdirSync(cache)).toEqual([]);
  });
});

describe('a second process building the same file', () => {
  const tsx = path.resolve(import.meta.dirname, '../node_modules/tsx/dist/cli.mjs');
  const child = path.resolve(import.meta.dirname, 'support/cache-child.ts');
  const build = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, [tsx, child, tree61, 'arch/x86/coco/tdx/tdcall.S'], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 16 << 20 });
    if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as { workersStarted: number; keystoneCalls: number; envHits: number; cppHits: number; sections: unknown; symbols: unknown };
  };

  it('starts no Keystone worker and reads the environment from disk; same image as without disk caches', () => {
    const env = { SEAMLAB_CACHE: cache };
    const cold = build(env);
    expect(cold.workersStarted).toBe(1);
    expect(cold.envHits).toBe(0);
    const warm = build(env);
    expect(warm).toMatchObject({ workersStarted: 0, keystoneCalls: 0, envHits: 1, cppHits: 1 });
    const off = build({ ...env, SEAMLAB_NO_DISK_CACHE: '1' });
    expect(off.workersStarted).toBe(1);
    expect(warm.sections).toEqual(cold.sections);
    expect(off.sections).toEqual(cold.sections);
    expect(warm.symbols).toEqual(off.symbols);
  });
});
