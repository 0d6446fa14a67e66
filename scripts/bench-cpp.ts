/**
 * Preprocessing speed: seamlab's cpp vs spawning `gcc -E`, side by side, on
 * all TDX assembly of each built-in revision.
 *
 *   npx tsx scripts/bench-cpp.ts [--runs N] [--profile P]
 *
 * For each revision it measures, over N rounds (median):
 * - gcc:      spawning `gcc -E -P` once per TDX .S file, with the same
 *             generated headers and Kbuild flags (laid out once, not timed);
 * - seamlab:  preprocess() of the same files in this process, with the
 *             environment (autoconf.h, asm-offsets.h …) already built — the
 *             situation of every run after the first for a revision;
 * - env:      building that environment once (Kconfig, Makefiles,
 *             asm-offsets from the struct definitions), reported separately
 *             and added in the "first run" ratio.
 * It prints the ratios seamlab/gcc; below 1 means seamlab is faster.
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { buildEnvironment, gccTree, preprocess } from '../src/cpp/index.js';
import { clearRevisionCache, resolveRevision } from '../src/intake/revision.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const runs = Number(arg('--runs', '15'));
const profile = arg('--profile', 'default');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const gccVersion = spawnSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).stdout.trim();
if (!gccVersion) {
  console.error('bench-cpp: gcc is not installed; nothing to compare with');
  process.exit(1);
}
console.log(`seamlab cpp vs gcc ${gccVersion} -E, profile ${profile}, median of ${runs} rounds (node ${process.version})`);
console.log('');
console.log('revision     files  gcc -E (ms)  seamlab (ms)  ratio   env build (ms)  first-run ratio');

for (const spec of ['v3', 'linux-6.1', 'linux-6.12']) {
  clearRevisionCache();
  const rev = resolveRevision(spec);
  const files = [...new Set(rev.functions.map((f) => f.sourceFile))].sort();

  const t0 = performance.now();
  const env = buildEnvironment(rev.files, { profile });
  const envMs = performance.now() - t0;

  const tree = gccTree(env, files);
  const gccTimes: number[] = [];
  const ourTimes: number[] = [];
  try {
    // One untimed round each, so both sides start warm (page cache, JIT).
    for (const f of files) spawnSync('gcc', tree.argv(f), { cwd: tree.cwd, env: { ...process.env, ...tree.env }, stdio: 'ignore' });
    for (const f of files) preprocess(rev.files, f, { profile });
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      for (const f of files) {
        const g = spawnSync('gcc', tree.argv(f), { cwd: tree.cwd, env: { ...process.env, ...tree.env }, encoding: 'utf8', maxBuffer: 64 << 20 });
        if (g.status !== 0) throw new Error(`gcc failed on ${f}: ${g.stderr}`);
      }
      gccTimes.push(performance.now() - t);
      t = performance.now();
      for (const f of files) preprocess(rev.files, f, { profile });
      ourTimes.push(performance.now() - t);
    }
  } finally {
    tree.cleanup();
  }
  const g = median(gccTimes);
  const o = median(ourTimes);
  console.log(
    `${spec.padEnd(12)} ${String(files.length).padStart(5)}  ${g.toFixed(1).padStart(11)}  ${o.toFixed(1).padStart(12)}  ${(o / g).toFixed(2).padStart(5)}   ${envMs.toFixed(0).padStart(14)}  ${((o + envMs) / g).toFixed(2).padStart(15)}`,
  );
}
