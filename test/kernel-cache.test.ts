import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTree, extractTree, inspectTree, KERNEL_PACKAGES, requireTree, TDXCALL_PATH } from '../src/intake/kernel-cache.js';
import { cacheDir, gitBlobId } from '../src/support/cache.js';
import { SeamlabError } from '../src/errors.js';

const realCache = cacheDir();
const pkg = KERNEL_PACKAGES.find((p) => p.name === 'linux-6.1')!;
const tmpCache = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-cache-test-'));
afterAll(() => fs.rmSync(tmpCache, { recursive: true, force: true }));

/** Reuse the .deb scripts/setup downloaded, so this test needs no network. */
function seedDebs(): void {
  const from = path.join(realCache, 'debs');
  const debs = fs.readdirSync(from).filter((f) => f.startsWith(`${pkg.package}_`));
  expect(debs.length, `run scripts/setup first (no ${pkg.package} .deb in ${from})`).toBeGreaterThan(0);
  fs.mkdirSync(path.join(tmpCache, 'debs'), { recursive: true });
  for (const d of debs) {
    const dest = path.join(tmpCache, 'debs', d);
    if (!fs.existsSync(dest)) fs.copyFileSync(path.join(from, d), dest);
  }
}

describe('git blob ids', () => {
  it('match git hash-object', () => {
    expect(gitBlobId(Buffer.from('hello\n'))).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
    expect(gitBlobId(Buffer.alloc(0))).toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
  });
});

describe('kernel tree cache', () => {
  const log: string[] = [];
  const logger = (l: string) => log.push(l);

  it('extracts a tree, verifies tdxcall.S and writes a manifest', () => {
    seedDebs();
    const r = ensureTree(pkg, tmpCache, logger);
    expect(r.action).toBe('extracted');
    expect(r.manifest.tdxcallBlob).toBe('49a54356ae9925d7f53621696ec8ebc551d8fd18');
    expect(r.manifest.version).toMatch(/^6\.1\./);
    const st = inspectTree(pkg, tmpCache);
    expect(st.ok).toBe(true);
    for (const f of ['arch/x86/coco/tdx/tdcall.S', 'arch/x86/include/asm/tdx.h', 'include/linux/linkage.h', 'arch/x86/kernel/asm-offsets.c']) {
      expect(fs.existsSync(path.join(st.dir, f)), f).toBe(true);
    }
    // Only the temporary extraction folders' parent remains: no half trees next to it.
    expect(fs.readdirSync(path.join(tmpCache, 'trees'))).toEqual(['linux-6.1']);
  });

  it('re-running is a no-op', () => {
    const dir = inspectTree(pkg, tmpCache).dir;
    const before = fs.statSync(path.join(dir, TDXCALL_PATH));
    const r = ensureTree(pkg, tmpCache, logger);
    expect(r.action).toBe('kept');
    const after = fs.statSync(path.join(dir, TDXCALL_PATH));
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it('detects a corrupted tree (wrong blob id), refuses it, and rebuilds it', () => {
    const dir = inspectTree(pkg, tmpCache).dir;
    fs.appendFileSync(path.join(dir, TDXCALL_PATH), '\n/* local edit */\n');
    const st = inspectTree(pkg, tmpCache);
    expect(st).toMatchObject({ ok: false, reason: 'blob-mismatch' });
    expect(() => requireTree('linux-6.1', tmpCache)).toThrow(SeamlabError);
    const r = ensureTree(pkg, tmpCache, logger);
    expect(r.action).toBe('rebuilt');
    expect(inspectTree(pkg, tmpCache).ok).toBe(true);
    expect(gitBlobId(fs.readFileSync(path.join(dir, TDXCALL_PATH)))).toBe(pkg.tdxcallBlob);
    expect(fs.readdirSync(path.join(tmpCache, 'trees'))).toEqual(['linux-6.1']);
  });

  it('a failed extraction leaves neither a half tree nor a damaged old tree', () => {
    const bad = path.join(tmpCache, 'truncated.deb');
    const good = fs.readdirSync(path.join(tmpCache, 'debs')).find((f) => f.startsWith(pkg.package))!;
    const fd = fs.openSync(path.join(tmpCache, 'debs', good), 'r');
    const buf = Buffer.alloc(4 << 20);
    fs.readSync(fd, buf, 0, buf.length, 0);
    fs.closeSync(fd);
    fs.writeFileSync(bad, buf);
    expect(() => extractTree(pkg, bad, tmpCache, logger)).toThrow(SeamlabError);
    expect(fs.readdirSync(path.join(tmpCache, 'trees'))).toEqual(['linux-6.1']);
    expect(inspectTree(pkg, tmpCache).ok).toBe(true);
  });

  it('seamlab setup on the real cache only checks (no download, no extraction)', () => {
    const r = spawnSync(process.execPath, ['dist/seamlab.js', 'setup'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/linux-6\.1: ok \(linux-source-6\.1 /);
    expect(r.stdout).toMatch(/linux-6\.12: ok \(linux-source-6\.12 /);
    expect(r.stdout).not.toMatch(/apt-get download|extracting/);
  });
});
