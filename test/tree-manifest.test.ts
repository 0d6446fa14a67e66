/**
 * Cached kernel trees are checked against the manifest setup records at
 * extraction (src/intake/tree-manifest.ts): every file a build reads
 * (DirFs with the tree's expectation), every entry for doctor and setup
 * (size and times, hashing what changed), every file's blob id for
 * `setup --verify`. One byte changed in a header other than tdxcall.S makes
 * build and run refuse with the file named and the fix; doctor and
 * `setup --verify` report it; setup repairs it.
 *
 * Everything here works on a temporary copy of the cache (the tree and its
 * .deb); the real cache is only read.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectTree, KERNEL_PACKAGES, requireTree, TDXCALL_PATH } from '../src/intake/kernel-cache.js';
import { ENTRIES_FILE, listingDigest, MANIFEST_FILE, readManifest, treeExpectation, verifyTreeEntries } from '../src/intake/tree-manifest.js';
import { cacheDir, gitBlobId } from '../src/support/cache.js';
import { DirFs, entryKind } from '../src/support/vfs.js';
import { seamlab } from './support/cli.js';

const pkg = KERNEL_PACKAGES.find((p) => p.name === 'linux-6.1')!;
const realTree = requireTree('linux-6.1', cacheDir()).dir;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-tree-manifest-'));
const cache = path.join(work, 'cache');
const tree = path.join(cache, 'trees', 'linux-6.1');
const env = { SEAMLAB_CACHE: cache };
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A header every v3 build reads (tdcall.S and tdxcall.S include it), and what git says its blob id is. */
const HEADER = 'arch/x86/include/asm/frame.h';
let headerBlob: string;

beforeAll(() => {
  fs.mkdirSync(path.join(cache, 'trees'), { recursive: true });
  // cp -a: same times, so the copy's reads mostly take the hashing path (new change times) — also exercised here.
  const r = spawnSync('cp', ['-a', realTree, tree]);
  expect(r.status, String(r.stderr)).toBe(0);
  const debs = path.join(cacheDir(), 'debs');
  fs.mkdirSync(path.join(cache, 'debs'));
  for (const d of fs.readdirSync(debs).filter((f) => f.startsWith(`${pkg.package}_`) && f.endsWith('.deb'))) fs.copyFileSync(path.join(debs, d), path.join(cache, 'debs', d));
  const git = spawnSync('git', ['hash-object', path.join(realTree, HEADER)], { encoding: 'utf8' });
  expect(git.status, 'git hash-object (the blob-id oracle)').toBe(0);
  headerBlob = git.stdout.trim();
});

/** Changes one byte of a tree file (a fresh copy of the file's content, as an editor would write it), optionally keeping its size and modification time. */
function damage(p: string, opts: { keepTimes?: boolean } = {}): string {
  const file = path.join(tree, p);
  const st = fs.statSync(file);
  const buf = fs.readFileSync(file);
  const i = buf.indexOf('FRAME_BEGIN');
  expect(i).toBeGreaterThan(0);
  buf[i]! ^= 1;
  fs.writeFileSync(file, buf);
  if (opts.keepTimes) fs.utimesSync(file, st.atime, st.mtime);
  return gitBlobId(buf);
}

/** The one error line of a refusal, with the temporary directory named as $CACHE. */
const errorLines = (stderr: string) => stderr.replaceAll(cache, '$CACHE').trimEnd().split('\n');

describe('the manifest recorded at extraction', () => {
  it('holds every entry of the tree with git blob ids', () => {
    const read = readManifest(tree);
    expect(read.ok).toBe(true);
    const m = read.ok ? read.manifest : undefined!;
    // The fields older seamlab versions read are still there, so they accept a tree this one extracted.
    expect(m).toMatchObject({ format: 2, name: 'linux-6.1', package: 'linux-source-6.1', tdxcallBlob: pkg.tdxcallBlob, members: ['Makefile', 'arch/x86', 'include', 'scripts', '*Kconfig*'] });
    expect(m.list.get(TDXCALL_PATH)?.[4]).toBe('49a54356ae9925d7f53621696ec8ebc551d8fd18');
    expect(m.list.get(HEADER)?.[4]).toBe(headerBlob);
    const x86 = fs.readdirSync(path.join(tree, 'arch/x86'), { withFileTypes: true }).map((e) => ({ name: e.name, kind: entryKind(e) }));
    expect(m.list.get('arch/x86')).toEqual(['d', listingDigest(x86)]);
    expect(m.list.get('include/dt-bindings/input/linux-event-codes.h')).toEqual(['l', '../../uapi/linux/input-event-codes.h']);
    const find = spawnSync('find', ['.', '-mindepth', '1', '!', '-name', MANIFEST_FILE, '!', '-name', ENTRIES_FILE], { cwd: tree, encoding: 'utf8', maxBuffer: 16 << 20 });
    // Every entry, and the root's listing.
    expect(m.list.size).toBe(find.stdout.trim().split('\n').length + 1);
    expect(verifyTreeEntries(tree, m, { full: true })).toEqual([]);
  });
});

describe('a cached tree with one byte changed in a header', () => {
  it('build and run refuse with the file named and the fix, also over warm disk caches', () => {
    // Warm: the cpp-env entries recorded the intact header.
    expect(seamlab(['build', 'v3'], env).status).toBe(0);
    const blob = damage(HEADER);
    const expected = [
      `${HEADER}:1: error: cached kernel tree linux-6.1 is damaged: ${HEADER} differs from what setup extracted (blob ${blob}, expected ${headerBlob}) [KERNEL_TREE_DAMAGED]`,
      '  note: tree: $CACHE/trees/linux-6.1',
      '  hint: run scripts/setup: it re-extracts the tree from the .deb kept in the cache',
    ];
    for (const args of [['build', 'v3'], ['run'], ['build', 'linux-6.1', '--file', 'arch/x86/coco/tdx/tdcall.S']]) {
      const r = seamlab(args, env);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(errorLines(r.stderr)).toEqual(expected);
    }
  });

  it('doctor reports it; setup --verify reports and repairs it', () => {
    const doctor = seamlab(['doctor'], env);
    expect(doctor.status).toBe(1);
    const line = doctor.stdout.split('\n').find((l) => l.includes('linux-6.1'))!;
    expect(line.replaceAll(cache, '$CACHE')).toMatch(new RegExp(`^FAIL linux-6\\.1 +\\$CACHE/trees/linux-6\\.1 is damaged: ${HEADER} differs from what setup extracted \\(blob [0-9a-f]{40}, expected ${headerBlob}\\) +-> run scripts/setup$`));
    const setup = seamlab(['setup', '--tree', 'linux-6.1', '--verify'], env);
    expect(setup.status, setup.stderr).toBe(0);
    expect(setup.stdout).toContain(`linux-6.1: cached tree is invalid (${tree} is damaged: ${HEADER} differs from what setup extracted`);
    expect(setup.stdout).toMatch(/linux-6\.1: ready \(linux-source-6\.1 /);
    expect(gitBlobId(fs.readFileSync(path.join(tree, HEADER)))).toBe(headerBlob);
    expect(seamlab(['build', 'v3'], env).status).toBe(0);
    expect(fs.readdirSync(path.join(cache, 'trees'))).toEqual(['linux-6.1']);
  });

  it('a change that restores the modification time is still caught by build, doctor and setup (the change time moved)', () => {
    damage(HEADER, { keepTimes: true });
    const r = seamlab(['build', 'v3'], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${HEADER} differs from what setup extracted`);
    expect(inspectTree(pkg, cache, 'quick')).toMatchObject({ ok: false, reason: 'damaged' });
    const setup = seamlab(['setup', '--tree', 'linux-6.1'], env);
    expect(setup.status, setup.stderr).toBe(0);
    expect(setup.stdout).toContain(`${HEADER} differs from what setup extracted`);
    expect(inspectTree(pkg, cache, 'full').ok).toBe(true);
    expect(seamlab(['build', 'v3'], env).status).toBe(0);
  });
});

describe('reads checked against the manifest', () => {
  /** A DirFs over the temporary tree, checking reads as a built-in revision's does. */
  const checked = () => {
    const read = readManifest(tree);
    if (!read.ok) throw new Error(read.detail);
    return new DirFs(tree, { expect: treeExpectation(read.manifest, tree) });
  };
  const undo: (() => void)[] = [];
  const restore = () => {
    while (undo.length) undo.pop()!();
  };

  it('an intact tree reads as without checks', () => {
    const plain = new DirFs(tree);
    const fs1 = checked();
    for (const p of [HEADER, TDXCALL_PATH, 'include/dt-bindings/input/linux-event-codes.h', 'no/such/file.h']) expect(fs1.readFile(p), p).toBe(plain.readFile(p));
    expect(fs1.listDir('arch/x86/include/asm')).toEqual(plain.listDir('arch/x86/include/asm'));
    expect(fs1.listDir('')).toEqual(plain.listDir(''));
    expect(fs1.exists('include/linux/linkage.h')).toBe(true);
    expect(fs1.isDirectory('arch/x86')).toBe(true);
  });

  it('refuses a file added, a file missing, a file replaced by a directory, and a link retargeted', () => {
    try {
      const extra = path.join(tree, 'include/linux/seamlab-extra.h');
      fs.writeFileSync(extra, '#define SEAMLAB 1\n');
      undo.push(() => fs.rmSync(extra));
      expect(() => checked().listDir('include/linux')).toThrow('include/linux/seamlab-extra.h is not part of the extracted tree');
      expect(() => checked().readFile('include/linux/seamlab-extra.h')).toThrow('include/linux/seamlab-extra.h is not part of the extracted tree');
      expect(() => checked().exists('include/linux/seamlab-extra.h')).toThrow('is not part of the extracted tree');

      const linkage = path.join(tree, 'include/linux/linkage.h');
      fs.renameSync(linkage, `${linkage}.moved`);
      undo.push(() => fs.renameSync(`${linkage}.moved`, linkage));
      expect(() => checked().readFile('include/linux/linkage.h')).toThrow('include/linux/linkage.h is missing');
      expect(() => checked().exists('include/linux/linkage.h')).toThrow('include/linux/linkage.h is missing');

      const link = path.join(tree, 'include/dt-bindings/input/linux-event-codes.h');
      fs.rmSync(link);
      fs.symlinkSync('../../linux/linkage.h', link);
      undo.push(() => {
        fs.rmSync(link);
        fs.symlinkSync('../../uapi/linux/input-event-codes.h', link);
      });
      expect(() => checked().readFile('include/dt-bindings/input/linux-event-codes.h')).toThrow('links to ../../linux/linkage.h, expected ../../uapi/linux/input-event-codes.h');

      const tdx = path.join(tree, 'arch/x86/include/asm/tdx.h');
      fs.renameSync(tdx, `${tdx}.moved`);
      fs.mkdirSync(tdx);
      undo.push(() => {
        fs.rmdirSync(tdx);
        fs.renameSync(`${tdx}.moved`, tdx);
      });
      expect(() => checked().isDirectory('arch/x86/include/asm/tdx.h')).toThrow('arch/x86/include/asm/tdx.h is a directory, expected a file');

      const read = readManifest(tree);
      const problems = verifyTreeEntries(tree, read.ok ? read.manifest : undefined!).map((p) => `${p.path} ${p.problem}`);
      expect(problems).toEqual([
        'arch/x86/include/asm/tdx.h is a directory, expected a file',
        'arch/x86/include/asm/tdx.h.moved is not part of the extracted tree',
        'include/dt-bindings/input/linux-event-codes.h links to ../../linux/linkage.h, expected ../../uapi/linux/input-event-codes.h',
        'include/linux/linkage.h is missing',
        'include/linux/linkage.h.moved is not part of the extracted tree',
        'include/linux/seamlab-extra.h is not part of the extracted tree',
      ]);
    } finally {
      restore();
    }
    expect(inspectTree(pkg, cache, 'quick').ok).toBe(true);
  });
});

describe('a tree extracted by an older seamlab', () => {
  it('is stale: builds refuse with the setup hint, doctor says so; setup checks it against the kept .deb and keeps it (same inodes) with a new manifest', () => {
    // What seamlab wrote before manifests recorded every entry.
    const read = readManifest(tree);
    const m = read.ok ? read.manifest : undefined!;
    fs.writeFileSync(path.join(tree, MANIFEST_FILE), JSON.stringify({ name: m.name, package: m.package, version: m.version, deb: m.deb, tdxcallBlob: m.tdxcallBlob, members: m.members }, null, 2) + '\n');
    fs.rmSync(path.join(tree, ENTRIES_FILE));
    expect(inspectTree(pkg, cache)).toMatchObject({ ok: false, reason: 'stale-manifest' });
    const r = seamlab(['build', 'v3'], env);
    expect(r.status).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      'error: kernel tree linux-6.1 is not usable: $CACHE/trees/linux-6.1 was extracted by an older seamlab (manifest format 1; this seamlab checks reads against format 2, with every file\'s blob id) [TREE_NOT_READY]',
      '  note: cache: $CACHE (set SEAMLAB_CACHE to use another)',
      '  hint: run scripts/setup: it re-extracts the tree from the .deb kept in the cache (downloading it if it is not there)',
    ]);
    expect(seamlab(['doctor'], env).stdout).toContain('was extracted by an older seamlab');
    const inode = fs.statSync(path.join(tree, HEADER)).ino;
    const setup = seamlab(['setup', '--tree', 'linux-6.1'], env);
    expect(setup.status, setup.stderr).toBe(0);
    expect(setup.stdout).toContain('using downloaded');
    expect(setup.stdout).not.toContain('apt-get download');
    expect(setup.stdout).toContain('linux-6.1: the cached tree holds exactly what the package does; kept, with a new manifest');
    expect(fs.statSync(path.join(tree, HEADER)).ino).toBe(inode);
    expect(fs.readdirSync(path.join(cache, 'trees'))).toEqual(['linux-6.1']);
    expect(inspectTree(pkg, cache, 'full').ok).toBe(true);
    expect(seamlab(['build', 'v3'], env).status).toBe(0);
  });

  it('with other content and a stale manifest: setup replaces it', () => {
    const read = readManifest(tree);
    const m = read.ok ? read.manifest : undefined!;
    fs.writeFileSync(path.join(tree, MANIFEST_FILE), JSON.stringify({ name: m.name, package: m.package, version: m.version, deb: m.deb, tdxcallBlob: m.tdxcallBlob, members: m.members }, null, 2) + '\n');
    fs.appendFileSync(path.join(tree, 'include/linux/linkage.h'), '\n');
    const setup = seamlab(['setup', '--tree', 'linux-6.1'], env);
    expect(setup.status, setup.stderr).toBe(0);
    expect(setup.stdout).toContain('linux-6.1: the cached tree differs from the package (include/linux/linkage.h differs from the package); replacing it');
    expect(inspectTree(pkg, cache, 'full').ok).toBe(true);
    expect(fs.readdirSync(path.join(cache, 'trees'))).toEqual(['linux-6.1']);
  });
});
