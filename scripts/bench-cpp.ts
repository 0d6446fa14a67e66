/**
 * Preprocessing speed: seamlab's cpp vs spawning `gcc -E`, side by side, on
 * all TDX assembly of each built-in revision. Prints times and ratios;
 * asserts nothing (timings are not tests).
 *
 *   npx tsx scripts/bench-cpp.ts [--rounds N] [--profile P] [REV…]   (default: v3 linux-6.1 linux-6.12)
 *
 * For each revision, medians of N rounds:
 * - gcc -E:   spawning `gcc -E -P` once per TDX .S file, with the same
 *             generated headers and Kbuild flags (laid out once, not timed);
 * - cold process, no disk cache: a new Node process (this script bundled with
 *             esbuild, run with --child) preprocessing every file with
 *             SEAMLAB_NO_DISK_CACHE=1 — Kconfig, asm-offsets.h and the rest of
 *             the environment included;
 * - cold process, warm disk cache: the same with the persistent caches
 *             (src/kbuild/env-cache.ts, preprocess-cache.ts) filled by an earlier
 *             process — every run after the first;
 * - CLI:      `node dist/seamlab.js cpp REV FILE` per file, summed (when dist/
 *             is built), warm disk cache;
 * - in process: preprocess() of the same files with the environment already
 *             built, disk caches off — the preprocessor's own speed.
 * Process times include Node's own start (shown as "node -e 0").
 */
import { spawnSync } from 'node:child_process';
import { bundleSelf } from './bench-bundle.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { buildEnvironment, gccTree, preprocess } from '../src/cpp/index.js';
import { clearRevisionCache, resolveRevision } from '../src/intake/revision.js';

const ROOT = resolve(import.meta.dirname ?? fileURLToPath(new URL('.', import.meta.url)), '..');

const tdxFiles = (spec: string): string[] => [...new Set(resolveRevision(spec).functions.map((f) => f.sourceFile))].sort();

if (process.argv[2] === '--child') {
  // Preprocesses every TDX file of a revision in a fresh process; prints when the work started and ended.
  const [spec, profile] = process.argv.slice(3) as [string, string];
  const start = performance.now();
  const rev = resolveRevision(spec);
  for (const f of tdxFiles(spec)) preprocess(rev.files, f, { profile });
  process.stdout.write(JSON.stringify({ start, end: performance.now() }) + '\n');
  process.exit(0);
}

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv.splice(i, 2)[1]! : dflt;
};
const ROUNDS = Number(opt('--rounds', '7'));
const PROFILE = opt('--profile', 'default');
const REVS = argv.length ? argv : ['v3', 'linux-6.1', 'linux-6.12'];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const now = () => performance.now();

const gccVersion = spawnSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).stdout?.trim();
if (!gccVersion) {
  console.error('bench-cpp: gcc is not installed; nothing to compare with');
  process.exit(1);
}

function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd = ROOT): string {
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const bundle = await bundleSelf(import.meta.url, 'bench-cpp');
const cli = join(ROOT, 'dist', 'seamlab.js');
const haveCli = existsSync(cli);

/** Median wall time of `ROUNDS` runs of `f`. */
function timed(f: () => void): number {
  const ts: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = now();
    f();
    ts.push(now() - t);
  }
  return median(ts);
}

/** A --child process: wall time and its preprocessing time alone (medians). */
function child(spec: string, env: Record<string, string>): { wall: number; work: number } {
  const walls: number[] = [];
  const works: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = now();
    const out = run(process.execPath, [bundle, '--child', spec, PROFILE], env);
    walls.push(now() - t);
    const { start, end } = JSON.parse(out) as { start: number; end: number };
    works.push(end - start);
  }
  return { wall: median(walls), work: median(works) };
}

const nodeStart = timed(() => run(process.execPath, ['-e', '0']));
const rows: string[] = [];
const f1 = (n: number) => n.toFixed(1).padStart(7);
const r2 = (n: number, d: number) => `${(n / d).toFixed(2)}×`.padStart(7);

for (const spec of REVS) {
  const files = tdxFiles(spec);

  // gcc -E on the same generated headers and flags (laid out once).
  const env = buildEnvironment(resolveRevision(spec).files, { profile: PROFILE });
  const tree = gccTree(env, files);
  let gcc: number;
  try {
    const once = () => {
      for (const f of files) run('gcc', tree.argv(f), tree.env, tree.cwd);
    };
    once(); // page cache
    gcc = timed(once);
  } finally {
    tree.cleanup();
  }

  const coldNoCache = child(spec, { SEAMLAB_NO_DISK_CACHE: '1' });
  run(process.execPath, [bundle, '--child', spec, PROFILE]); // fills the disk caches for this bundle
  const coldWarm = child(spec, {});
  let cliTime: number | undefined;
  if (haveCli) {
    const once = () => {
      for (const f of files) run(process.execPath, [cli, 'cpp', spec, f, '--profile', PROFILE]);
    };
    once();
    cliTime = timed(once);
  }

  // In process, environment built, disk caches off: the preprocessor itself.
  process.env.SEAMLAB_NO_DISK_CACHE = '1';
  clearRevisionCache();
  const rev = resolveRevision(spec);
  for (const f of files) preprocess(rev.files, f, { profile: PROFILE });
  const inProcess = timed(() => {
    for (const f of files) preprocess(rev.files, f, { profile: PROFILE });
  });
  delete process.env.SEAMLAB_NO_DISK_CACHE;
  clearRevisionCache();

  const cliCols = cliTime === undefined ? `${'-'.padStart(7)} ${'-'.padStart(7)}` : `${f1(cliTime)} ${r2(cliTime, gcc)}`;
  rows.push(
    `${spec.padEnd(10)} ${String(files.length).padStart(5)} ${f1(gcc)} | ` +
      `${f1(coldNoCache.wall)} ${r2(coldNoCache.wall, gcc)} ${f1(coldNoCache.work)} ${r2(coldNoCache.work, gcc)} | ` +
      `${f1(coldWarm.wall)} ${r2(coldWarm.wall, gcc)} ${f1(coldWarm.work)} ${r2(coldWarm.work, gcc)} | ` +
      `${cliCols} | ${f1(inProcess)} ${r2(inProcess, gcc)}`,
  );
}

console.log(`seamlab cpp vs gcc ${gccVersion} -E (spawned per file), profile ${PROFILE}, median of ${ROUNDS}, ms; node ${process.version}, \`node -e 0\` takes ${nodeStart.toFixed(1)} ms`);
console.log('');
console.log('                        |  cold process, no disk cache   |  cold process, warm disk cache |  CLI, warm disk  |  in process');
console.log('revision   files gcc -E |  process  ratio    work  ratio |  process  ratio    work  ratio |  process  ratio |  preproc  ratio');
for (const r of rows) console.log(r);
console.log('');
console.log('ratio = seamlab / gcc -E (below 1× seamlab is faster). process = wall time of a new `node` process (this script bundled, --child)');
console.log('preprocessing every file, Node start included; work = that process\'s own work (resolve the revision, environment, preprocess).');
console.log(`CLI = one \`node dist/seamlab.js cpp REV FILE\` per file, summed${haveCli ? '' : ' (dist/ not built: run npm run build)'}. in process = preprocess() with the environment built, disk caches off.`);
process.exit(0);
