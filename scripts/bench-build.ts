/**
 * Benchmark: building a revision with seamlab (preprocess + assemble + link)
 * against spawning `gcc -E` + `as` + `ld` for the same files, side by side in
 * one run. Prints times and ratios; asserts nothing (timings are not tests).
 *
 *   npx tsx scripts/bench-build.ts [--rounds N] [REV…]   (default: v3 linux-6.1 linux-6.12)
 *
 * seamlab is measured as a user meets it:
 *   cold, no disk cache   a new Node process (this script bundled with esbuild,
 *                         run with --child) building the revision with
 *                         SEAMLAB_NO_DISK_CACHE=1: Kconfig, generated headers,
 *                         preprocessing, the Keystone worker start — all of it;
 *   cold, warm disk cache the same process with the persistent caches filled
 *                         by an earlier process (env-cache.ts, preprocess-cache.ts,
 *                         keystone-cache.ts): what every run after the first costs;
 *   CLI, warm disk cache  `node dist/seamlab.js build REV` (when dist/ is built):
 *                         the same plus loading the whole CLI bundle;
 *   in-process rebuild    image cache dropped in this process, every other
 *                         per-process cache warm (a second revision, a re-run).
 * Process times include Node's own start (shown as "node -e 0").
 * GNU: for each entry-point file, gcc -E with Kbuild's flags and seamlab's
 * generated headers (laid out once, untimed), then as, then ld.
 */
import { spawnSync } from 'node:child_process';
import { bundleSelf } from './bench-bundle.js';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { buildEnvironment, gccInvocation } from '../src/cpp/index.js';
import { buildRevision, clearImageCache } from '../src/image/build.js';
import { KERNEL_STUBS } from '../src/image/stubs.js';
import { resolveRevision } from '../src/intake/revision.js';

const ROOT = resolve(import.meta.dirname ?? fileURLToPath(new URL('.', import.meta.url)), '..');
const PROFILE = 'default';

if (process.argv[2] === '--child') {
  // One build in a fresh process; prints when the work started and ended (ms since the process started).
  const start = performance.now();
  buildRevision(resolveRevision(process.argv[3]!), PROFILE);
  process.stdout.write(JSON.stringify({ start, end: performance.now() }) + '\n');
  process.exit(0);
}

const argv = process.argv.slice(2);
const roundsAt = argv.indexOf('--rounds');
const ROUNDS = roundsAt >= 0 ? Number(argv.splice(roundsAt, 2)[1]) : 5;
const REVS = argv.length ? argv : ['v3', 'linux-6.1', 'linux-6.12'];

const ms = (ns: bigint) => Number(ns) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function time<T>(f: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const r = f();
  return [r, ms(process.hrtime.bigint() - t0)];
}

function run(cmd: string, args: string[], cwd?: string, env?: Record<string, string>): void {
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

/** Wall time of a spawned process, median of `ROUNDS`. */
function spawnTime(cmd: string, args: string[], env: Record<string, string> = {}): number {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) times.push(time(() => run(cmd, args, ROOT, env))[1]);
  return median(times);
}

/** A --child process: wall time, and the build's own time inside it (its first build in the process). Medians. */
function childTime(spec: string, env: Record<string, string> = {}): { wall: number; build: number } {
  const walls: number[] = [];
  const builds: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [bundle, '--child', spec], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
    walls.push(ms(process.hrtime.bigint() - t0));
    if (r.status !== 0) throw new Error(`bench child failed: ${r.stderr}`);
    const { start, end } = JSON.parse(r.stdout) as { start: number; end: number };
    builds.push(end - start);
  }
  return { wall: median(walls), build: median(builds) };
}

const bundle = await bundleSelf(import.meta.url, 'bench-build');
const cli = join(ROOT, 'dist', 'seamlab.js');
const haveCli = existsSync(cli);

const defsyms = [...KERNEL_STUBS.keys()].map((n, i) => `--defsym=${n}=0x${(0xffffffff82000000n + BigInt(16 * i)).toString(16)}`);
const nodeStart = spawnTime(process.execPath, ['-e', '0']);

interface Row {
  spec: string;
  files: number;
  gnu: number;
  coldNoCache: { wall: number; build: number };
  coldWarm: { wall: number; build: number };
  cli?: number;
  rebuild: number;
}
const rows: Row[] = [];
for (const spec of REVS) {
  const rev = resolveRevision(spec);
  const files = [...new Set(rev.functions.map((f) => f.sourceFile))].sort();

  // GNU: lay out trees once (untimed), then time gcc -E + as + ld per file.
  const env = buildEnvironment(rev.files, { profile: PROFILE });
  const work = mkdtempSync(join(tmpdir(), 'seamlab-bench-'));
  const jobs = files.map((file, k) => ({ ...gccInvocation(env, file), out: join(work, `f${k}`) }));
  const gnuTimes: number[] = [];
  try {
    for (let i = 0; i <= ROUNDS; i++) {
      const [, t] = time(() => {
        for (const j of jobs) {
          run('gcc', [...j.argv, '-o', `${j.out}.s`], j.cwd, j.env);
          run('as', ['--64', '-o', `${j.out}.o`, `${j.out}.s`]);
          run('ld', ['-z', 'noexecstack', '-Ttext=0xffffffff81000000', ...defsyms, '-o', `${j.out}.elf`, `${j.out}.o`]);
        }
      });
      if (i > 0) gnuTimes.push(t); // the first round warms the page cache
    }
  } finally {
    for (const j of jobs) j.cleanup();
    rmSync(work, { recursive: true, force: true });
  }

  // seamlab in new processes.
  const coldNoCache = childTime(spec, { SEAMLAB_NO_DISK_CACHE: '1' });
  run(process.execPath, [bundle, '--child', spec]); // fills the disk caches for this bundle
  const coldWarm = childTime(spec);
  let cliTime: number | undefined;
  if (haveCli) {
    run(process.execPath, [cli, 'build', spec]);
    cliTime = spawnTime(process.execPath, [cli, 'build', spec]);
  }

  // seamlab in this process, everything but the image cache warm.
  buildRevision(rev, PROFILE);
  const rebuilds: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    clearImageCache();
    rebuilds.push(time(() => buildRevision(rev, PROFILE))[1]);
  }
  rows.push({ spec, files: files.length, gnu: median(gnuTimes), coldNoCache, coldWarm, cli: cliTime, rebuild: median(rebuilds) });
}

const f1 = (n: number) => n.toFixed(1).padStart(7);
const r2 = (n: number, d: number) => `${(n / d).toFixed(2)}×`.padStart(7);
const out: string[] = [];
out.push(`build: seamlab vs gcc -E + as + ld (spawned per file), profile ${PROFILE}, median of ${ROUNDS}, ms; node ${process.version}, \`node -e 0\` takes ${nodeStart.toFixed(1)} ms`);
out.push('');
out.push('                        |  cold process, no disk cache   |  cold process, warm disk cache |  CLI, warm disk    |  in-process');
out.push('revision   files    GNU |  process  ratio   build  ratio |  process  ratio   build  ratio |  process  ratio   |  rebuild  ratio');
for (const r of rows) {
  const cli = r.cli === undefined ? `${'-'.padStart(7)}  ${'-'.padStart(6)}` : `${f1(r.cli)} ${r2(r.cli, r.gnu)}`;
  out.push(
    `${r.spec.padEnd(10)} ${String(r.files).padStart(5)} ${f1(r.gnu)} | ` +
      `${f1(r.coldNoCache.wall)} ${r2(r.coldNoCache.wall, r.gnu)} ${f1(r.coldNoCache.build)} ${r2(r.coldNoCache.build, r.gnu)} | ` +
      `${f1(r.coldWarm.wall)} ${r2(r.coldWarm.wall, r.gnu)} ${f1(r.coldWarm.build)} ${r2(r.coldWarm.build, r.gnu)} | ` +
      `${cli}   | ${f1(r.rebuild)} ${r2(r.rebuild, r.gnu)}`,
  );
}
out.push('');
out.push('GNU = gcc -E + as + ld spawned per file. ratio = seamlab / GNU (below 1× seamlab is faster).');
out.push('process = wall time of a new `node` process (this script bundled as dist/ is, --child) building the revision, Node start included;');
out.push('build = the same process\'s build alone (its first build: resolve, environment, preprocess, assemble, link) after its modules loaded.');
out.push(`CLI = node dist/seamlab.js build${haveCli ? '' : ' (dist/ not built: run npm run build)'} (loads the whole CLI). Disk caches: $SEAMLAB_CACHE; SEAMLAB_NO_DISK_CACHE=1 turns them off.`);
writeFileSync(1, out.join('\n') + '\n');
process.exit(0);
