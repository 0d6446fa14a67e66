/**
 * Robustness corpus, class 1 (issue 18): silently wrong answers from the
 * cache. A cache changed by one byte must never change what seamlab says:
 * - a cached kernel header: `seamlab run` refuses, naming the file and the
 *   fix, and writes nothing; with the file restored the run is as before;
 * - a preprocessed file in cpp-env/ (a register changed: the run would
 *   report a callee-saved failure that is not there): the entry is a miss,
 *   the run prints what a run without disk caches prints.
 * Everything runs on a temporary copy of the cache (harness.ts cacheCopy).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest, verifyTreeEntries } from '../../src/intake/tree-manifest.js';
import { cacheDir, readCheckedFile } from '../../src/support/cache.js';
import { treePath } from '../support/kernel.js';
import { cacheCopy, expectBounded, expectRefusal, runCli, snapshot } from './harness.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-robust-cache-'));
const cache = path.join(work, 'cache');
const cwd = path.join(work, 'cwd');
const env = { SEAMLAB_CACHE: cache };
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  treePath('linux-6.1'); // the real cache is set up (or the setup hint)
  cacheCopy(cache, cacheDir());
  fs.mkdirSync(cwd);
});

describe('class 1: a cache changed by one byte', () => {
  it('a cached kernel header: run refuses with the file named and the fix, and writes nothing', () => {
    const header = 'arch/x86/include/asm/frame.h';
    const file = path.join(cache, 'trees/linux-6.1', header);
    const good = fs.readFileSync(file);
    const bad = Buffer.from(good);
    bad[bad.indexOf('.macro FRAME_BEGIN') + 7]! ^= 1; // FRAME_BEGIN → GRAME_BEGIN
    fs.writeFileSync(file, bad);
    const trees = snapshot(path.join(cache, 'trees'));

    const r = runCli(['run'], { env, cwd });
    expectRefusal(
      r,
      [
        // Blob ids as `git hash-object` gives them for the file as shipped and as damaged.
        `${header}:1: error: cached kernel tree linux-6.1 is damaged: ${header} differs from what setup extracted (blob c9351183acb646abcf350994893d969bdc382236, expected fb42659f6e98860112320225f4bc84e44f43c620) [KERNEL_TREE_DAMAGED]`,
        '  note: tree: $CACHE/trees/linux-6.1',
        '  hint: run scripts/setup: it re-extracts the tree from the .deb kept in the cache',
      ],
      { replace: [[cache, '$CACHE']] },
    );
    expect(r.stdout).toBe('');
    expect(snapshot(path.join(cache, 'trees'))).toEqual(trees);
    expect(fs.readdirSync(cwd)).toEqual([]);

    // The cache afterwards: nothing changed but the damaged file (setup repairs it: test/tree-manifest.test.ts).
    const read = readManifest(path.join(cache, 'trees/linux-6.1'));
    expect(read.ok).toBe(true);
    expect(verifyTreeEntries(path.join(cache, 'trees/linux-6.1'), read.ok ? read.manifest : undefined!, { full: true }).map((p) => p.path)).toEqual([header]);
    fs.writeFileSync(file, good);
    const again = runCli(['run'], { env, cwd });
    expectBounded(again);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/^18 runs: 14 returned, 4 oops \(injected fault, no fixup\); ABI checks passed in every run that returned; 1 run ok\* \(inputs the ABI could not carry\); 2 sequences \(273 calls\): every step as expected\n$/m);
  });

  it('a preprocessed file in the disk cache: the damaged entry is a miss; the run prints what a run without disk caches prints', () => {
    const clean = runCli(['run'], { env: { ...env, SEAMLAB_NO_DISK_CACHE: '1' }, cwd });
    expectBounded(clean);
    expect(clean.status).toBe(0);
    expect(runCli(['run'], { env, cwd }).stdout).toBe(clean.stdout); // warm
    const dir = path.join(cache, 'cpp-env');
    let damaged = 0;
    for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.cpp.json'))) {
      const file = path.join(dir, name);
      const buf = fs.readFileSync(file);
      const at = buf.indexOf('%r12', buf.indexOf('"result":'));
      if (at < 0) continue;
      buf[at + 3]! ^= 1; // %r12 → %r13 in the preprocessed text
      fs.writeFileSync(file, buf);
      damaged++;
    }
    expect(damaged).toBeGreaterThan(0);
    const r = runCli(['run'], { env, cwd });
    expectBounded(r);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(clean.stdout);
    // Rewritten: every entry reads back intact.
    for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.cpp.json'))) expect(readCheckedFile(path.join(dir, name)), name).toBeDefined();
    expect(fs.readdirSync(cwd)).toEqual([]);
  });
});
