/**
 * `seamlab setup`: what the tool itself needs at run time, installed or
 * checked idempotently; what interrupted setups left in the cache is
 * removed first. scripts/setup runs npm and the bundle build first,
 * then this. Test oracles (gcc, binutils, gdb, chromium) are not installed
 * here: .ci/run installs them. Last, the main job's images are built once, so
 * that the disk caches are warm for the first `seamlab run` (warmDiskCaches).
 */
import { spawnSync } from 'node:child_process';
import { SeamlabError } from '../errors.js';
import { ensureTree, KERNEL_PACKAGES, sweepStaleTemporaries, type EnsureResult, type Log } from '../intake/kernel-cache.js';
import { cacheDir } from '../support/cache.js';
import { formatUnicornVersion, LIBUNICORN_INSTALL_HINTS, loadUnicorn, unicornVersion } from '../machine/unicorn.js';
import { setupRunner } from '../oracle/native-build.js';
import { loadStepRecorder } from '../machine/native-steps.js';
import { loadBatchHooks } from '../machine/native-batch.js';
import { diskCacheEnabled } from '../support/cache.js';
import { MAIN_JOB_REVISION } from './run.js';

function canLoadUnicorn(): boolean {
  try {
    loadUnicorn();
    return true;
  } catch {
    return false;
  }
}

/** Loads libunicorn; as root with apt, installs libunicorn2 first if needed. */
export function ensureUnicorn(log: Log): void {
  if (canLoadUnicorn()) {
    log(`  libunicorn: ok (Unicorn ${formatUnicornVersion(unicornVersion())}, ${loadUnicorn().path})`);
    return;
  }
  if (process.env.SEAMLAB_LIBUNICORN) loadUnicorn(); // throws the precise error for an explicit path
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !hasApt) {
    throw new SeamlabError('UNICORN_MISSING', 'libunicorn.so.2 (Unicorn 2) is not installed', isRoot ? 'install Unicorn 2 with your package manager (see notes), then re-run scripts/setup' : 're-run scripts/setup as root, or install it yourself (see notes)', {
      notes: LIBUNICORN_INSTALL_HINTS,
    });
  }
  log('  libunicorn: installing libunicorn2 with apt-get');
  let r = spawnSync('apt-get', ['install', '-y', 'libunicorn2'], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'] });
    r = spawnSync('apt-get', ['install', '-y', 'libunicorn2'], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  if (r.status !== 0 || !canLoadUnicorn()) {
    throw new SeamlabError('UNICORN_INSTALL_FAILED', 'apt-get install libunicorn2 failed', 'check your apt sources (Debian 12 main carries libunicorn2) and re-run scripts/setup', { notes: LIBUNICORN_INSTALL_HINTS });
  }
  log(`  libunicorn: installed (Unicorn ${formatUnicornVersion(unicornVersion())})`);
}

export interface SetupOptions {
  cache?: string;
  trees?: string[];
  skipUnicorn?: boolean;
  skipRunner?: boolean;
  /** Hash every file of every tree (instead of the quick check by size and modification time). */
  verify?: boolean;
}

export function runSetup(log: Log, opts: SetupOptions = {}): EnsureResult[] {
  const cache = opts.cache ?? cacheDir();
  if (!opts.skipUnicorn) {
    log('[setup] Unicorn');
    ensureUnicorn(log);
  }
  if (!opts.skipRunner) {
    log('[setup] silicon-oracle runner (the system C compiler builds src/oracle/native/runner.c)');
    setupRunner(log, cache);
    log('[setup] native step recorder for traces (the system C compiler builds src/machine/native/step-recorder.c)');
    setupStepRecorder(log);
    log('[setup] native batch helpers for diff campaigns and batch runs (the system C compiler builds src/machine/native/batch-hooks.c)');
    const b = loadBatchHooks();
    log(b.ok ? '  batch helpers: ok' : `  batch helpers: not built (${b.reason}); batches run the portable driver, the same results more slowly`);
  }
  log(`[setup] kernel sources (cache ${cache})`);
  sweepStaleTemporaries(cache, log);
  const wanted = KERNEL_PACKAGES.filter((p) => !opts.trees || opts.trees.includes(p.name));
  return wanted.map((p) => ensureTree(p, cache, log, { verify: opts.verify }));
}

/** Builds the native step recorder now; without it traces are recorded with JavaScript hooks (same traces, slower). */
function setupStepRecorder(log: Log): void {
  try {
    const r = loadStepRecorder();
    log(r.ok ? '  step recorder: ok' : `  step recorder: not built (${r.reason}); traces will use JavaScript hooks, the same traces more slowly`);
  } catch (e) {
    if (!(e instanceof SeamlabError)) throw e;
    log(`  step recorder: not built (${e.message})`);
  }
}

/**
 * Builds the main job's images once, filling the disk caches (the build
 * environment, preprocessed files, Keystone's answers) for this seamlab
 * build, so the first `seamlab run` after setup does not pay for them. A
 * failure here is reported and ignored: the first run fills the caches then.
 */
export async function warmDiskCaches(log: Log): Promise<void> {
  if (!diskCacheEnabled()) return;
  const t = performance.now();
  try {
    const [{ resolveRevision }, { buildRevision }] = await Promise.all([import('../intake/revision.js'), import('../image/build.js')]);
    buildRevision(resolveRevision(MAIN_JOB_REVISION), 'default');
    log(`[setup] disk caches warm: ${MAIN_JOB_REVISION} built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } catch (e) {
    log(`[setup] could not warm the disk caches (${(e instanceof Error ? e.message : String(e)).split('\n')[0]}); the first run fills them`);
  }
}
