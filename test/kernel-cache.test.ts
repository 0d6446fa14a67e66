import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTree, extractTree, inspectTree, KERNEL_PACKAGES, requireTree, sweepStaleTemporaries, TDXCALL_PATH } from '../src/intake/kernel-cache.js';
import { cacheDir, gitBlobId } from '../src/support/cache.js';
import { spawnTiedSync } from '../src/support/tied-process.js';
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

/** A pid no process has: one that existed and was reaped. */
function deadPid(): number {
  const r = spawnSync('bash', ['-c', 'echo $$']);
  return Number(String(r.stdout).trim());
}

/** Polls `f` every 50 ms until it gives a value, for at most 10 s. */
async function until<T>(f: () => T | undefined): Promise<T> {
  const end = Date.now() + 10_000;
  for (;;) {
    const v = f();
    if (v !== undefined || Date.now() > end) return v as T;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether a process runs (a zombie, killed and waiting to be reaped, does not). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('what interrupted setups leave', () => {
  it('sweeps temporaries whose process is gone, and legacy ones unchanged for an hour; keeps the others', () => {
    const cache = fs.mkdtempSync(path.join(tmpCache, 'sweep-'));
    const dead = deadPid();
    const live = process.pid;
    const make = (p: string, file = false) => {
      const full = path.join(cache, p);
      fs.mkdirSync(file ? path.dirname(full) : full, { recursive: true });
      if (file) fs.writeFileSync(full, 'x');
      else fs.writeFileSync(path.join(full, 'Makefile'), 'x');
    };
    const stale = [`trees/.linux-6.1-${dead}-AbC123`, `trees/linux-6.12.old-${dead}`, `debs/.download-${dead}-x1Y2z3`];
    const kept = [`trees/.linux-6.1-${live}-AbC123`, `trees/linux-6.1.old-${live}`, `debs/.download-${live}-x1Y2z3`, 'trees/.linux-6.12-Zz9Yy8', 'trees/linux-6.1', 'debs/.download-q1w2e3'];
    for (const p of [...stale, ...kept]) make(p);
    make(`keystone/keystone-f2-0.9.2-abc.json.${dead}.k3j4.tmp`, true);
    make(`keystone/keystone-f2-0.9.2-abc.json.${live}.k3j4.tmp`, true);
    // A legacy temporary (no pid) whose setup ended long ago: its change time is old (set the clock back for it is not possible, so the hour is moved instead).
    const log: string[] = [];
    expect(sweepStaleTemporaries(cache, (l) => log.push(l)).sort()).toEqual([...stale, `keystone/keystone-f2-0.9.2-abc.json.${dead}.k3j4.tmp`].sort());
    expect(log).toContain(`  removed trees/.linux-6.1-${dead}-AbC123 (its process ${dead} is gone)`);
    for (const p of kept) expect(fs.existsSync(path.join(cache, p)), p).toBe(true);
    expect(fs.existsSync(path.join(cache, `keystone/keystone-f2-0.9.2-abc.json.${live}.k3j4.tmp`))).toBe(true);
    const realNow = Date.now;
    Date.now = () => realNow() + 2 * 3600_000;
    try {
      expect(sweepStaleTemporaries(cache, () => {}).sort()).toEqual(['debs/.download-q1w2e3', 'trees/.linux-6.12-Zz9Yy8']);
    } finally {
      Date.now = realNow;
    }
    expect(fs.existsSync(path.join(cache, 'trees/linux-6.1'))).toBe(true);
  });

  it('a tool run for setup dies with seamlab, even when seamlab is SIGKILLed', async () => {
    // A process standing for seamlab runs `sleep 60 | cat` through spawnTiedSync, and is killed.
    const pidFile = path.join(tmpCache, 'tied-sleep.pid');
    const file = path.join(tmpCache, 'tied-child.mts');
    fs.writeFileSync(file, `import { spawnTiedSync } from ${JSON.stringify(path.resolve(import.meta.dirname, '../src/support/tied-process.ts'))};\nspawnTiedSync('bash', ['-c', 'sleep 60 | cat & echo $(pgrep -x sleep -P $$) > ${pidFile}; wait']);\n`);
    const owner = spawn(process.execPath, ['--import', 'tsx', file], { stdio: 'ignore' });
    const sleepPid = await until(() => {
      const t = fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').trim() : '';
      return /^\d+$/.test(t) ? Number(t) : undefined;
    });
    expect(running(sleepPid)).toBe(true);
    owner.kill('SIGKILL');
    await until(() => (running(sleepPid) ? undefined : true));
    expect(running(sleepPid), 'sleep 60 outlived the killed process').toBe(false);
  });

  it('passes the status, output and errors of what it runs', () => {
    expect(spawnTiedSync('bash', ['-c', 'echo out; echo err >&2; exit 3'])).toEqual({ status: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(spawnTiedSync('no-such-command-seamlab', []).status).toBe(127);
  });
});
