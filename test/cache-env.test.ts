/**
 * The persistent cache of generated build environments and preprocessed
 * files (src/kbuild/env-cache.ts, src/cpp/preprocess-cache.ts): a second
 * process (here: a fresh file system object, which the in-process caches do
 * not know) gets the same results from disk; any change to an input —
 * a Kconfig edit, a file created where the generator found none, a patch
 * layer's content — misses; a damaged entry is rebuilt; $SEAMLAB_CACHE and
 * SEAMLAB_NO_DISK_CACHE are respected; results are the same with and without
 * the cache.
 *
 * Tests that change a tree work on a copy (the cached trees are only read).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { buildEnvironment, preprocess, type CppEnvironment } from '../src/cpp/index.js';
import { envCacheStats } from '../src/kbuild/environment.js';
import { ENV_CACHE_LIMITS, ENV_GENERATOR_VERSION, fsIdentity, inputsUnchanged, pruneEnvCache, RecordingFs } from '../src/kbuild/env-cache.js';
import { cacheDir, readCheckedFile, writeCheckedFile } from '../src/support/cache.js';
import { clearRevisionCache, resolveRevision } from '../src/intake/revision.js';
import { DirFs, OverlayFs } from '../src/support/vfs.js';
import { treePath } from './support/kernel.js';

const realCache = cacheDir();
const tree61 = treePath('linux-6.1');
let work: string;
let cacheA: string;
let full: string | undefined;
/** One whole copy of linux-6.1 for the tests that generate environments from an edited tree (copying takes seconds). */
const fullCopy = (): string => (full ??= treeCopy(tree61));
const savedEnv = { cache: process.env.SEAMLAB_CACHE, off: process.env.SEAMLAB_NO_DISK_CACHE };

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-cache-env-'));
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  cacheA = fs.mkdtempSync(path.join(work, 'cache-'));
  process.env.SEAMLAB_CACHE = cacheA;
  delete process.env.SEAMLAB_NO_DISK_CACHE;
});
afterEach(() => {
  if (savedEnv.cache === undefined) delete process.env.SEAMLAB_CACHE;
  else process.env.SEAMLAB_CACHE = savedEnv.cache;
  if (savedEnv.off === undefined) delete process.env.SEAMLAB_NO_DISK_CACHE;
  else process.env.SEAMLAB_NO_DISK_CACHE = savedEnv.off;
});

const stats = () => ({ ...envCacheStats });
const delta = (before: typeof envCacheStats) => {
  const now = envCacheStats;
  return { envHits: now.envHits - before.envHits, envMisses: now.envMisses - before.envMisses, cppHits: now.cppHits - before.cppHits, cppMisses: now.cppMisses - before.cppMisses };
};

/** Everything an environment hands on, in a comparable form. */
function snapshot(env: CppEnvironment): unknown {
  return {
    generated: [...env.generated],
    config: { ...env.config, values: [...env.config.values], toolchain: env.config.toolchain.describe },
    asmOffsets: { header: env.asmOffsets.header, entries: env.asmOffsets.entries.map((e) => ({ ...e, value: e.value.toString() })), omitted: [...env.asmOffsets.omitted] },
    notes: env.notes,
    flags: env.flagsFor('arch/x86/coco/tdx/tdcall.S'),
  };
}

function entries(dir: string, suffix: string): string[] {
  const d = path.join(dir, 'cpp-env');
  return fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith(suffix)) : [];
}

/**
 * A copy of parts of a tree (all of it when `parts` is empty). A real copy:
 * hard links would change the cached tree's change times, and with them
 * every fingerprint other processes recorded.
 */
function treeCopy(src: string, parts: string[] = []): string {
  const dest = fs.mkdtempSync(path.join(work, 'tree-'));
  const r = parts.length ? spawnSync('cp', ['-r', '--parents', ...parts, dest], { cwd: src, encoding: 'utf8' }) : spawnSync('cp', ['-r', `${src}/.`, dest], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cp failed: ${r.stderr}`);
  return dest;
}

/** Replaces a file with a new inode (as editors that write a new file and rename it do). */
function replaceFile(file: string, text: string): void {
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, text);
}

describe('generated environment on disk', () => {
  it('misses, then hits for a new file system object of the same tree, with the same result', () => {
    const before = stats();
    const cold = buildEnvironment(new DirFs(tree61));
    expect(delta(before)).toMatchObject({ envHits: 0, envMisses: 1 });
    expect(entries(cacheA, '.env.json')).toHaveLength(1);
    const warm = buildEnvironment(new DirFs(tree61));
    expect(delta(before)).toMatchObject({ envHits: 1, envMisses: 1 });
    expect(snapshot(warm)).toEqual(snapshot(cold));
    // The hit carries what autoconf.h must say for the default profile on 6.1 (facts: TDX guest, no host option).
    expect(warm.generated.get('include/generated/autoconf.h')).toContain('#define CONFIG_INTEL_TDX_GUEST 1');
    expect(warm.asmOffsets.entries.find((e) => e.name === 'TDX_MODULE_rcx')?.value).toBe(0n);
  });

  it('keys by profile and .config: another configuration is another entry', () => {
    buildEnvironment(new DirFs(tree61), { profile: 'default' });
    const before = stats();
    const sls = buildEnvironment(new DirFs(tree61), { profile: 'sls' });
    expect(delta(before)).toMatchObject({ envHits: 0, envMisses: 1 });
    expect(sls.generated.get('include/generated/autoconf.h')).toContain('#define CONFIG_SLS 1');
    expect(entries(cacheA, '.env.json')).toHaveLength(2);
  });

  it('misses when a Kconfig file changes, and when a file appears where the generator found none', () => {
    const copy = fullCopy();
    // The copy's files are new: with the racy window they would change from content to metadata fingerprints mid-test.
    DirFs.racyMs = 0;
    onTestFinished(() => {
      DirFs.racyMs = 3000;
    });
    const first = buildEnvironment(new DirFs(copy));
    let before = stats();
    buildEnvironment(new DirFs(copy));
    expect(delta(before)).toMatchObject({ envHits: 1, envMisses: 0 });

    // A Kconfig edit: a new option that defaults to y must reach autoconf.h.
    const kconfig = path.join(copy, 'arch/x86/Kconfig');
    replaceFile(kconfig, fs.readFileSync(kconfig, 'utf8') + '\nconfig SEAMLAB_CACHE_PROBE\n\tdef_bool y\n');
    before = stats();
    const edited = buildEnvironment(new DirFs(copy));
    expect(delta(before)).toMatchObject({ envHits: 0, envMisses: 1 });
    expect(edited.generated.get('include/generated/autoconf.h')).toContain('#define CONFIG_SEAMLAB_CACHE_PROBE 1');
    expect(first.generated.get('include/generated/autoconf.h')).not.toContain('SEAMLAB_CACHE_PROBE');

    // A mandatory asm-generic header x86 lacks gets a generated wrapper; creating it in the tree removes the wrapper.
    const archKbuild = fs.readFileSync(path.join(copy, 'arch/x86/include/asm/Kbuild'), 'utf8');
    const wrapper = [...edited.generated.keys()].find((p) => p.startsWith('arch/x86/include/generated/asm/') && !archKbuild.includes(path.basename(p)));
    expect(wrapper, 'a wrapper made for a mandatory-y header').toBeDefined();
    fs.writeFileSync(path.join(copy, 'arch/x86/include/asm', path.basename(wrapper!)), '/* seamlab test */\n');
    before = stats();
    const created = buildEnvironment(new DirFs(copy));
    expect(delta(before)).toMatchObject({ envHits: 0, envMisses: 1 });
    expect(created.generated.has(wrapper!)).toBe(false);
  });

  it('misses when a patch layer changes a file’s content (same paths, other text)', () => {
    const base = new DirFs(tree61);
    const layer = (extra: string) => {
      const o = new OverlayFs(base, 'patches');
      o.set('arch/x86/Kconfig', base.readFile('arch/x86/Kconfig')! + extra);
      return o;
    };
    const a = buildEnvironment(layer('\nconfig SEAMLAB_PATCH_A\n\tdef_bool y\n'));
    let before = stats();
    buildEnvironment(layer('\nconfig SEAMLAB_PATCH_A\n\tdef_bool y\n'));
    expect(delta(before)).toMatchObject({ envHits: 1, envMisses: 0 });
    before = stats();
    const b = buildEnvironment(layer('\nconfig SEAMLAB_PATCH_B\n\tdef_bool y\n'));
    expect(delta(before)).toMatchObject({ envHits: 0, envMisses: 1 });
    expect(a.generated.get('include/generated/autoconf.h')).toContain('CONFIG_SEAMLAB_PATCH_A 1');
    expect(b.generated.get('include/generated/autoconf.h')).toContain('CONFIG_SEAMLAB_PATCH_B 1');
    expect(b.generated.get('include/generated/autoconf.h')).not.toContain('SEAMLAB_PATCH_A');
  });

  it('ignores and rewrites damaged entries', () => {
    const good = snapshot(buildEnvironment(new DirFs(tree61)));
    const [file] = entries(cacheA, '.env.json');
    const full = path.join(cacheA, 'cpp-env', file!);
    const stored = fs.readFileSync(full, 'utf8');
    const text = readCheckedFile(full)!;
    const parsed = JSON.parse(text) as { result: { generated: unknown } };
    // Intact digests over bad content (another shape, another format), and damaged or missing digests over good content.
    const checked = (body: string) => {
      writeCheckedFile(full, body);
      return fs.readFileSync(full, 'utf8');
    };
    for (const damaged of ['', 'not json', text, stored.slice(0, stored.length >> 1), stored.replace('CONFIG_X86_64 1', 'CONFIG_X86_64 0'), checked('not json'), checked(JSON.stringify({ ...parsed, result: { ...parsed.result, generated: 'x' } })), checked(JSON.stringify({ ...parsed, format: 999 }))]) {
      fs.writeFileSync(full, damaged);
      const before = stats();
      const env = buildEnvironment(new DirFs(tree61));
      expect(delta(before)).toMatchObject({ envHits: 0, envMisses: 1 });
      expect(snapshot(env)).toEqual(good);
      // Rewritten as it was.
      expect(fs.readFileSync(full, 'utf8')).toBe(stored);
    }
  });

  it('writes under $SEAMLAB_CACHE, and nothing with SEAMLAB_NO_DISK_CACHE=1', () => {
    buildEnvironment(new DirFs(tree61));
    expect(entries(cacheA, '.env.json')).toHaveLength(1);
    const cacheB = fs.mkdtempSync(path.join(work, 'cache-b-'));
    process.env.SEAMLAB_CACHE = cacheB;
    const before = stats();
    buildEnvironment(new DirFs(tree61));
    expect(delta(before)).toMatchObject({ envHits: 0, envMisses: 1 });
    expect(entries(cacheB, '.env.json')).toHaveLength(1);
    const cacheC = fs.mkdtempSync(path.join(work, 'cache-c-'));
    process.env.SEAMLAB_CACHE = cacheC;
    process.env.SEAMLAB_NO_DISK_CACHE = '1';
    buildEnvironment(new DirFs(tree61));
    preprocess(new DirFs(tree61), 'arch/x86/coco/tdx/tdcall.S');
    expect(fs.readdirSync(cacheC)).toEqual([]);
  });

  it('stays within its size and count bounds, deleting the entries written longest ago', () => {
    const dir = path.join(cacheA, 'cpp-env');
    fs.mkdirSync(dir, { recursive: true });
    const saved = { ...ENV_CACHE_LIMITS };
    try {
      ENV_CACHE_LIMITS.maxEntries = 4;
      const t = Date.now() / 1000;
      for (let k = 0; k < 6; k++) {
        const f = path.join(dir, `e${k}.env.json`);
        fs.writeFileSync(f, '{}');
        fs.utimesSync(f, t - 600 + k, t - 600 + k);
      }
      fs.writeFileSync(path.join(dir, 'old.json.1.x.tmp'), '');
      fs.utimesSync(path.join(dir, 'old.json.1.x.tmp'), t - 7200, t - 7200);
      fs.writeFileSync(path.join(dir, 'new.json.2.y.tmp'), '');
      pruneEnvCache(dir);
      expect(fs.readdirSync(dir).sort()).toEqual(['e3.env.json', 'e4.env.json', 'e5.env.json', 'new.json.2.y.tmp']);
      ENV_CACHE_LIMITS.maxEntries = 1000;
      ENV_CACHE_LIMITS.maxBytes = 1;
      pruneEnvCache(dir);
      expect(fs.readdirSync(dir)).toEqual(['new.json.2.y.tmp']);
    } finally {
      Object.assign(ENV_CACHE_LIMITS, saved);
    }
  });

  it('identifies file systems by tree and layer paths, and only those it can fingerprint', () => {
    const d = new DirFs(tree61);
    expect(fsIdentity(d)).toBe(`dir:${path.resolve(tree61)}`);
    const o = new OverlayFs(d, 'patches');
    o.set('a/b.S', 'x');
    o.delete('c.h');
    expect(fsIdentity(o)).toContain('"a/b.S"');
    expect(fsIdentity(o)).toContain('"c.h"');
    const mem = { readFile: () => undefined, exists: () => false, isDirectory: () => false, listDir: () => undefined, describe: (p: string) => p };
    expect(fsIdentity(mem)).toBeUndefined();
    expect(fsIdentity(new OverlayFs(mem))).toBeUndefined();
    expect(ENV_GENERATOR_VERSION).toBeGreaterThanOrEqual(1);
  });
});

describe('recorded inputs', () => {
  it('records fingerprints, missing files, existence tests and listings, and detects each kind of change', () => {
    const copy = treeCopy(tree61, ['Makefile', 'arch/x86/include']);
    const rec = new RecordingFs(new DirFs(copy));
    rec.readFile('Makefile');
    rec.readFile('no/such/file');
    rec.exists('arch/x86/include/asm/tdx.h');
    rec.isDirectory('arch/x86/include');
    rec.listDir('arch/x86/include/asm');
    const inputs = rec.inputs();
    expect(inputs.map((i) => i[0])).toEqual(['f', 'f', 'e', 'd', 'l']);
    expect(inputs[1]).toEqual(['f', 'no/such/file', null]);
    expect(inputsUnchanged(new DirFs(copy), inputs)).toBe(true);

    replaceFile(path.join(copy, 'Makefile'), fs.readFileSync(path.join(copy, 'Makefile'), 'utf8') + '\n');
    expect(inputsUnchanged(new DirFs(copy), inputs)).toBe(false);
    const rec2 = new RecordingFs(new DirFs(copy));
    rec2.readFile('Makefile');
    rec2.readFile('no/such/file');
    rec2.listDir('arch/x86/include/asm');
    const inputs2 = rec2.inputs();
    fs.mkdirSync(path.join(copy, 'no/such'), { recursive: true });
    fs.writeFileSync(path.join(copy, 'no/such/file'), 'now here\n');
    expect(inputsUnchanged(new DirFs(copy), inputs2)).toBe(false);
    fs.rmSync(path.join(copy, 'no'), { recursive: true });
    expect(inputsUnchanged(new DirFs(copy), inputs2)).toBe(true);
    fs.writeFileSync(path.join(copy, 'arch/x86/include/asm/seamlab-new.h'), '\n');
    expect(inputsUnchanged(new DirFs(copy), inputs2)).toBe(false);
  });

  it('fingerprints an unchanged file the same in every DirFs, and a rewritten one differently', () => {
    const f = 'arch/x86/virt/vmx/tdx/tdxcall.S';
    const copy = treeCopy(tree61, ['Makefile', f]);
    const a = new DirFs(copy).fingerprint(f);
    expect(a).toBeDefined();
    expect(new DirFs(copy).fingerprint(f)).toBe(a);
    // Same size, one byte different, written just now: still detected.
    const text = fs.readFileSync(path.join(copy, f), 'utf8');
    replaceFile(path.join(copy, f), text.replace('TDX_MODULE_CALL', 'TDX_MODULE_CALM'));
    expect(new DirFs(copy).fingerprint(f)).not.toBe(a);
    expect(new DirFs(copy).fingerprint('arch/x86')).toBeUndefined();
    // Overlay files by content, the rest as the base says.
    const o = new OverlayFs(new DirFs(copy));
    o.set('x.S', 'one');
    const o2 = new OverlayFs(new DirFs(copy));
    o2.set('x.S', 'two');
    expect(o.fingerprint('x.S')).not.toBe(o2.fingerprint('x.S'));
    expect(o.fingerprint('Makefile')).toBe(new DirFs(copy).fingerprint('Makefile'));
    o.delete('Makefile');
    expect(o.fingerprint('Makefile')).toBeUndefined();
  });
});

describe('metadata fingerprints and the directories above a file', () => {
  /** Lets the file-system clock (coarse, a few ms) move on between making a tree and changing it. */
  const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  const file = 'arch/x86/include/asm/tdx.h';

  beforeEach(() => {
    // Files of a fresh copy count as just modified (content fingerprints); these tests want the metadata forms.
    DirFs.racyMs = 0;
  });
  afterEach(() => {
    DirFs.racyMs = 3000;
  });

  it('fingerprints by metadata, recording every directory above the file’s directory', () => {
    const copy = treeCopy(tree61, ['arch/x86/include']);
    const rec = new RecordingFs(new DirFs(copy));
    rec.readFile(file);
    const inputs = rec.inputs();
    expect(inputs.map(([op, p]) => `${op} ${p}`)).toEqual(['D ', 'D arch', 'D arch/x86', 'D arch/x86/include', `f ${file}`]);
    expect(inputs[4]![2]).toMatch(/^s:/);
    expect(inputsUnchanged(new DirFs(copy), inputs)).toBe(true);
  });

  it('misses when a directory above the file is moved out of the tree and linked back (same files, now outside)', () => {
    const copy = treeCopy(tree61, ['arch/x86/include']);
    const rec = new RecordingFs(new DirFs(copy));
    expect(rec.readFile(file)).toContain('TDX');
    const inputs = rec.inputs();
    pause(30);
    const outside = fs.mkdtempSync(path.join(work, 'outside-'));
    fs.renameSync(path.join(copy, 'arch/x86/include'), path.join(outside, 'include'));
    fs.symlinkSync(path.join(outside, 'include'), path.join(copy, 'arch/x86/include'));
    // The file is the same inode as before, but DirFs no longer reads it: the tree's link leaves the tree.
    expect(new DirFs(copy).readFile(file)).toBeUndefined();
    expect(inputsUnchanged(new DirFs(copy), inputs)).toBe(false);
  });

  it('misses when the file’s own directory is replaced by a link to a copy', () => {
    const copy = treeCopy(tree61, ['arch/x86/include']);
    const rec = new RecordingFs(new DirFs(copy));
    rec.readFile(file);
    const inputs = rec.inputs();
    pause(30);
    const asm = path.join(copy, 'arch/x86/include/asm');
    fs.renameSync(asm, path.join(copy, 'arch/x86/include/asm-real'));
    fs.symlinkSync('asm-real', asm);
    expect(inputsUnchanged(new DirFs(copy), inputs)).toBe(false);
  });

  it('reads through a linked directory inside the tree: resolved form, valid again in a new DirFs, misses when retargeted', () => {
    const copy = treeCopy(tree61, ['arch/x86/include']);
    fs.symlinkSync('asm', path.join(copy, 'arch/x86/include/asm-link'));
    // With racyMs = 0 a directory changed in the same millisecond as its lstat is still racy (recorded as a
    // listing digest, checked later as inode and times: a miss): let the millisecond pass first.
    pause(5);
    const rec = new RecordingFs(new DirFs(copy));
    rec.readFile('arch/x86/include/asm-link/tdx.h');
    const inputs = rec.inputs();
    expect(inputs.find(([op]) => op === 'f')![2]).toMatch(/^p:/);
    expect(inputs.map(([op, p]) => `${op} ${p}`)).toContain('D arch/x86/include/asm-link');
    expect(inputsUnchanged(new DirFs(copy), inputs)).toBe(true);
    pause(30);
    fs.mkdirSync(path.join(copy, 'other'));
    fs.writeFileSync(path.join(copy, 'other/tdx.h'), '/* other */\n');
    fs.rmSync(path.join(copy, 'arch/x86/include/asm-link'));
    fs.symlinkSync('../../../other', path.join(copy, 'arch/x86/include/asm-link'));
    expect(inputsUnchanged(new DirFs(copy), inputs)).toBe(false);
  });

  it('a file replaced in place under the same name (new inode) misses; an untouched sibling still validates', () => {
    const copy = treeCopy(tree61, ['arch/x86/include']);
    const rec = new RecordingFs(new DirFs(copy));
    rec.readFile(file);
    const sibling = new RecordingFs(new DirFs(copy));
    sibling.readFile('arch/x86/include/asm/frame.h');
    const inputs = rec.inputs();
    const siblingInputs = sibling.inputs();
    pause(30);
    replaceFile(path.join(copy, file), fs.readFileSync(path.join(copy, file), 'utf8'));
    expect(inputsUnchanged(new DirFs(copy), inputs)).toBe(false);
    expect(inputsUnchanged(new DirFs(copy), siblingInputs)).toBe(true);
  });
});

describe('preprocessed files on disk', () => {
  const specs = ['v3', 'linux-6.12'] as const;

  /** Every TDX entry-point file of each revision, preprocessed in a fresh revision object. */
  function preprocessAll(): string {
    clearRevisionCache();
    const out: unknown[] = [];
    for (const spec of specs) {
      const rev = resolveRevision(spec, { cache: realCache });
      for (const file of [...new Set(rev.functions.map((f) => f.sourceFile))].sort()) out.push(preprocess(rev.files, file));
    }
    return JSON.stringify(out);
  }

  it('gives the same lines, source map and warnings without the cache, cold and warm', () => {
    process.env.SEAMLAB_NO_DISK_CACHE = '1';
    const plain = preprocessAll();
    delete process.env.SEAMLAB_NO_DISK_CACHE;
    let before = stats();
    const cold = preprocessAll();
    expect(delta(before)).toMatchObject({ cppHits: 0, cppMisses: 4 });
    before = stats();
    const warm = preprocessAll();
    expect(delta(before)).toMatchObject({ envHits: 2, envMisses: 0, cppHits: 4, cppMisses: 0 });
    expect(cold).toBe(plain);
    expect(warm).toBe(plain);
  });

  it('misses when an included header changes', () => {
    const copy = fullCopy();
    DirFs.racyMs = 0;
    onTestFinished(() => {
      DirFs.racyMs = 3000;
    });
    const file = 'arch/x86/coco/tdx/tdcall.S';
    const first = preprocess(new DirFs(copy), file);
    let before = stats();
    preprocess(new DirFs(copy), file);
    expect(delta(before)).toMatchObject({ cppHits: 1, cppMisses: 0 });
    // tdcall.S includes <asm/frame.h>, whose assembler part (.macro FRAME_BEGIN) reaches the output.
    const header = path.join(copy, 'arch/x86/include/asm/frame.h');
    const text = fs.readFileSync(header, 'utf8');
    expect(text).toContain('.macro FRAME_BEGIN\n');
    replaceFile(header, text.replace('.macro FRAME_BEGIN\n', '.macro FRAME_BEGIN seamlab_probe=1\n'));
    before = stats();
    const edited = preprocess(new DirFs(copy), file);
    expect(delta(before)).toMatchObject({ cppHits: 0, cppMisses: 1 });
    expect(first.lines.join('\n')).not.toContain('seamlab_probe');
    expect(edited.lines.join('\n')).toContain('seamlab_probe');
  });
});
