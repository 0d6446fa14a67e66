/**
 * Benchmark: building a revision with seamlab (preprocess + assemble + link,
 * in process) against spawning `gcc -E` + `as` + `ld` for the same files,
 * measured side by side in one run. Prints times and ratios; asserts
 * nothing (timings are not tests).
 *
 *   npx tsx scripts/bench-build.ts [REV…]        (default: v3 linux-6.1 linux-6.12)
 *
 * seamlab is measured three ways:
 *   first   the first build of the revision in this process: kconfig and
 *           generated headers for the tree, header parsing, and for the
 *           first revision also JIT warm-up and the Keystone worker start;
 *   rebuild image cache dropped, other per-process caches warm (what a
 *           second revision or a re-run of a patched file costs);
 *   cached  the same revision again (the per-process image cache).
 * GNU: for each entry-point file, gcc -E with Kbuild's flags and seamlab's
 * generated headers (laid out once, untimed), then as, then ld.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEnvironment, gccInvocation } from '../src/cpp/index.js';
import { buildRevision, clearImageCache } from '../src/image/build.js';
import { KERNEL_STUBS } from '../src/image/stubs.js';
import { resolveRevision } from '../src/intake/revision.js';

const REVS = process.argv.slice(2).length ? process.argv.slice(2) : ['v3', 'linux-6.1', 'linux-6.12'];
const PROFILE = 'default';
const ROUNDS = 5;

const ms = (ns: bigint) => Number(ns) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function time<T>(f: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const r = f();
  return [r, ms(process.hrtime.bigint() - t0)];
}

function run(cmd: string, args: string[], cwd?: string, env?: Record<string, string>): void {
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
}

const defsyms = [...KERNEL_STUBS.keys()].map((n, i) => `--defsym=${n}=0x${(0xffffffff82000000n + BigInt(16 * i)).toString(16)}`);

interface GnuJob {
  cwd: string;
  argv: string[];
  env: Record<string, string>;
  out: string;
  cleanup: () => void;
}

const rows: string[] = [];
let coldDone = false;
for (const spec of REVS) {
  const rev = resolveRevision(spec);
  const files = [...new Set(rev.functions.map((f) => f.sourceFile))].sort();

  // seamlab
  clearImageCache();
  const [, first] = time(() => buildRevision(rev, PROFILE));
  const mark = coldDone ? ' ' : '*';
  coldDone = true;
  const rebuilds: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    clearImageCache();
    rebuilds.push(time(() => buildRevision(rev, PROFILE))[1]);
  }
  const [, cached] = time(() => buildRevision(rev, PROFILE));

  // GNU: lay out trees once (untimed), then time gcc -E + as + ld per file.
  const env = buildEnvironment(rev.files, { profile: PROFILE });
  const work = mkdtempSync(join(tmpdir(), 'seamlab-bench-'));
  const jobs: GnuJob[] = files.map((file, k) => {
    const inv = gccInvocation(env, file);
    return { cwd: inv.cwd, argv: inv.argv, env: inv.env, out: join(work, `f${k}`), cleanup: inv.cleanup };
  });
  const gnuTimes: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      gnuTimes.push(
        time(() => {
          for (const j of jobs) {
            run('gcc', [...j.argv, '-o', `${j.out}.s`], j.cwd, j.env);
            run('as', ['--64', '-o', `${j.out}.o`, `${j.out}.s`]);
            run('ld', ['-z', 'noexecstack', '-Ttext=0xffffffff81000000', ...defsyms, '-o', `${j.out}.elf`, `${j.out}.o`]);
          }
        })[1],
      );
    }
  } finally {
    for (const j of jobs) j.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
  const gnu = median(gnuTimes);
  const rebuild = median(rebuilds);
  rows.push(
    `${spec.padEnd(11)} ${String(files.length).padStart(5)}  ` +
      `${first.toFixed(1).padStart(8)}${mark}  ${rebuild.toFixed(1).padStart(8)}  ${cached.toFixed(3).padStart(7)}  ${gnu.toFixed(1).padStart(9)}  ` +
      `${(first / gnu).toFixed(2).padStart(9)}  ${(rebuild / gnu).toFixed(2).padStart(11)}`,
  );
}
writeFileSync(1, `build: seamlab (in process) vs gcc -E + as + ld (spawned), profile ${PROFILE}, median of ${ROUNDS}, ms\n`);
writeFileSync(1, `revision    files     first    rebuild   cached  gcc+as+ld  first/gnu  rebuild/gnu\n`);
for (const r of rows) writeFileSync(1, r + '\n');
writeFileSync(1, '* first build in the process (JIT warm-up, Keystone worker start). ratio < 1 means seamlab is faster.\n');
process.exit(0);
