/**
 * Robustness corpus, class 7 (issue 18): an interrupted setup. `seamlab
 * setup` SIGKILLed while it extracts a kernel tree (a SIGKILL runs no
 * handler) must leave no `dpkg-deb | tar | xz` running, and the next setup
 * must remove the half-extracted temporary tree and succeed. On a
 * temporary cache holding the .deb, so nothing is downloaded.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectTree, KERNEL_PACKAGES } from '../../src/intake/kernel-cache.js';
import { cacheDir } from '../../src/support/cache.js';
import { CLI } from '../support/cli.js';
import { cacheCopy, expectBounded, groupMembers, runCli, until } from './harness.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-robust-setup-'));
const cache = path.join(work, 'cache');
const trees = path.join(cache, 'trees');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  cacheCopy(cache, cacheDir(), { tree: false });
});

/** The process group of the extraction pipeline: that of the `tar` writing into `dir`. */
function extractionGroup(dir: string): number | undefined {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (!argv.includes(dir) || !argv.some((a) => a === 'tar' || a.endsWith('/tar'))) continue;
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

describe('class 7: setup killed during extraction', () => {
  it('leaves no extraction process running; the next setup removes the temporary tree and succeeds', async () => {
    const setup = spawn(process.execPath, [CLI, 'setup', '--tree', 'linux-6.1'], { env: { ...process.env, SEAMLAB_CACHE: cache }, stdio: 'ignore' });
    const exited = new Promise((r) => setup.once('exit', r));
    // Extracting: the temporary tree has the first members in it and tar is writing.
    const found = await until(() => {
      const tmp = fs.existsSync(trees) ? fs.readdirSync(trees).find((n) => n.startsWith('.linux-6.1-')) : undefined;
      if (tmp === undefined || !fs.existsSync(path.join(trees, tmp, 'arch'))) return undefined;
      const pgid = extractionGroup(path.join(trees, tmp));
      return pgid === undefined ? undefined : { tmp, pgid };
    }, 60_000);
    expect(found, 'setup started extracting').toBeDefined();
    const { tmp, pgid } = found!;
    expect(tmp).toBe(`.linux-6.1-${setup.pid}-${tmp.slice(-6)}`);
    expect(groupMembers(pgid).length).toBeGreaterThanOrEqual(3); // bash, dpkg-deb, tar, tar, xz
    setup.kill('SIGKILL');
    await exited;

    // The pipeline notices within a fraction of a second (its watcher looks every 0.2 s).
    const gone = await until(() => (groupMembers(pgid).length === 0 ? true : undefined), 10_000);
    expect(groupMembers(pgid), 'extraction processes still running after setup was killed').toEqual([]);
    expect(gone).toBe(true);
    expect(fs.readdirSync(trees)).toEqual([tmp]);

    const next = runCli(['setup', '--tree', 'linux-6.1'], { env: { SEAMLAB_CACHE: cache } });
    expectBounded(next);
    expect(next.status, next.stderr).toBe(0);
    const lines = next.stdout.split('\n');
    expect(lines).toContain(`  removed trees/${tmp} (its process ${setup.pid} is gone)`);
    expect(lines.some((l) => l.startsWith('  linux-6.1: ready (linux-source-6.1 '))).toBe(true);
    expect(fs.readdirSync(trees)).toEqual(['linux-6.1']);
    expect(inspectTree(KERNEL_PACKAGES.find((p) => p.name === 'linux-6.1')!, cache, 'full').ok).toBe(true);
  });
});
