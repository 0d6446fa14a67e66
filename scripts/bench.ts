/**
 * `npm run bench`: one table of seamlab's speed beside what a user would use
 * instead (Python + Unicorn, the function run natively, the GNU toolchain)
 * and beside the emulator's own limit (the same loop on libunicorn with C
 * hooks), written as bench-results.json too (scripts/bench/schema.ts). Each
 * row is the median of several repetitions with min – max and the peak RSS
 * of the measured process; the targets of issue [K] are ratios from the same
 * run. Timings are never tests: nothing here asserts.
 *
 *   npm run bench [-- --reps N] [--quick] [--only GROUP,…] [--out FILE]
 *   groups: seamcall trace golden diff debug cli inproc
 *
 * The reference tools (gcc, binutils, gdb, python3-unicorn) are installed
 * when missing if that needs no password (root, or sudo -n, with apt-get);
 * otherwise the rows that need them say what to install.
 * `npm run bench:readme` then rewrites the README's performance section from
 * the JSON.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatUnicornVersion, unicornLibraryPath, unicornVersion } from '../src/machine/unicorn.js';
import { assembleBatchDriver } from '../src/image/batch-driver.js';
import { buildImage } from '../src/image/build.js';
import { resolveRevision } from '../src/intake/revision.js';
import type { BenchContext } from './bench/context.js';
import { cliRows, inProcessRows } from './bench/groups-cli.js';
import { seamcallRows, traceRows } from './bench/groups-emulation.js';
import { debuggerRows, diffRows, goldenRows } from './bench/groups-tools.js';
import { harnessImage, nativeSource, pythonSource, unicornLimitSource } from './bench/harness.js';
import { compileC, findTools, INSTALL, load1, machineInfo, ProcessRunner, type Tools } from './bench/host.js';
import { formatTable, targets, withRatios } from './bench/report.js';
import { BENCH_FORMAT, BENCH_VERSION, benchResultsSchema, type BenchResults, type BenchRow } from './bench/schema.js';
import { startupGraph } from './bench/startup-graph.js';

const ROOT = resolve(import.meta.dirname, '..');
const GROUPS = ['seamcall', 'trace', 'golden', 'diff', 'debug', 'cli', 'inproc'] as const;

function options(argv: string[]): { reps: number; quick: boolean; only: Set<string>; out: string } {
  const take = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv.splice(i, 2)[1] : undefined;
  };
  const quick = argv.includes('--quick');
  const reps = Number(take('--reps') ?? (quick ? 3 : 5));
  const only = new Set((take('--only') ?? GROUPS.join(',')).split(','));
  const out = resolve(take('--out') ?? join(ROOT, 'bench-results.json'));
  for (const g of only) if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`unknown group ${g} (known: ${GROUPS.join(', ')})`);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer`);
  return { reps, quick, only, out };
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** Installs the missing reference tools when that needs no password; returns what is still missing. */
function ensurePeers(): void {
  const tools = findTools();
  const want: string[] = [];
  if (!tools.gcc) want.push('gcc', 'libc6-dev');
  if (!tools.as || !tools.ld) want.push('binutils');
  if (!tools.gdb) want.push('gdb');
  if (!tools.python) want.push('python3-unicorn');
  if (want.length === 0) return;
  const root = process.getuid?.() === 0;
  const sudo = !root && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  const apt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!apt || (!root && !sudo)) {
    log(`missing reference tools: ${want.join(' ')} — install them (Debian: sudo apt-get install ${want.join(' ')}); their rows say so meanwhile`);
    return;
  }
  const cmd = (args: string[]) => (root ? ['apt-get', args] : ['sudo', ['-n', 'apt-get', ...args]]) as [string, string[]];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing ${want.join(' ')} with apt-get`);
  const install = () => spawnSync(...cmd(['install', '-y', '-qq', '--no-install-recommends', ...want]), { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
  if (!install()) {
    spawnSync(...cmd(['update', '-qq']), { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (!install()) log(`apt-get install ${want.join(' ')} failed; their rows say so`);
  }
}

/** Bundles the worker like dist/ (esbuild), next to node_modules so that its packages resolve. */
async function bundleWorker(): Promise<string> {
  const dir = join(ROOT, 'node_modules', '.cache', 'seamlab-bench');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'worker.mjs');
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(ROOT, 'scripts', 'bench', 'worker.ts')], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node20',
    external: ['koffi', '@alexaltea/keystone-js', '@alexaltea/capstone-js', 'esbuild'],
    banner: { js: "import { createRequire as __seamlabCreateRequire } from 'node:module'; const require = __seamlabCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  return out;
}

/** Compiles the reference programs; what cannot be built is recorded with the reason. */
function referencePrograms(ctx: Omit<BenchContext, 'native' | 'unicornLimit' | 'python'>, tools: Tools): Pick<BenchContext, 'native' | 'unicornLimit' | 'python'> {
  const out: Pick<BenchContext, 'native' | 'unicornLimit' | 'python'> = {};
  const noGcc = `gcc is not installed (${INSTALL.gcc})`;
  if (!tools.gcc) {
    ctx.missing.native = noGcc;
    ctx.missing.unicornLimit = noGcc;
  } else {
    try {
      out.native = compileC(ctx.dir, 'native', nativeSource(ctx.harness));
    } catch (e) {
      ctx.missing.native = `the native harness did not compile: ${(e as Error).message.split('\n')[0]}`;
    }
    const lib = unicornLibraryPath();
    if (!lib) ctx.missing.unicornLimit = `the loaded libunicorn was not found (${INSTALL.libunicorn})`;
    else {
      try {
        out.unicornLimit = compileC(ctx.dir, 'unicorn-limit', unicornLimitSource(ctx.harness), [lib, `-Wl,-rpath,${resolve(lib, '..')}`]);
      } catch (e) {
        ctx.missing.unicornLimit = `the C + Unicorn harness did not compile: ${(e as Error).message.split('\n')[0]}`;
      }
    }
  }
  if (!tools.python) ctx.missing.python = `python3 with Unicorn is not installed (${INSTALL.pythonUnicorn})`;
  else {
    out.python = join(ctx.dir, 'harness.py');
    writeFileSync(out.python, pythonSource(ctx.harness));
  }
  return out;
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  const t0 = performance.now();
  const loadStart = load1();
  const cli = join(ROOT, 'dist', 'seamlab.js');
  if (!existsSync(cli)) {
    log('dist/ is not built: npm run build');
    if (spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) throw new Error('npm run build failed');
  }
  ensurePeers();
  const tools = findTools();
  const dir = mkdtempSync(join(tmpdir(), 'seamlab-bench-'));
  try {
    log('preparing: worker bundle, images, reference programs');
    const rev = resolveRevision('v3');
    const fn = rev.functions.find((f) => f.name === '__seamcall')!;
    const image = buildImage(rev.files, fn.sourceFile, { profile: 'default' }).image;
    const base = {
      root: ROOT, dir, tools, runner: new ProcessRunner(dir, tools.gcc), reps: opts.reps, quick: opts.quick, cli,
      worker: await bundleWorker(), harness: harnessImage(image, fn.name, assembleBatchDriver()), missing: {} as Record<string, string>, log,
    };
    const ctx: BenchContext = { ...base, ...referencePrograms(base, tools) };
    const rows: BenchRow[] = [];
    const on = (g: (typeof GROUPS)[number]) => opts.only.has(g);
    if (on('seamcall')) rows.push(...seamcallRows(ctx));
    if (on('trace')) rows.push(...traceRows(ctx));
    if (on('golden')) rows.push(...goldenRows(ctx));
    if (on('diff')) rows.push(...diffRows(ctx));
    if (on('debug')) rows.push(...(await debuggerRows(ctx)));
    if (on('cli')) rows.push(...cliRows(ctx));
    if (on('inproc')) rows.push(...inProcessRows(ctx));
    const measured = withRatios(rows);
    const g = startupGraph(cli, { dynamic: /\/main-[A-Z0-9]+\.js$/ });
    const results: BenchResults = benchResultsSchema.parse({
      format: BENCH_FORMAT, version: BENCH_VERSION,
      machine: { ...machineInfo(), unicorn: formatUnicornVersion(unicornVersion()), loadStart, loadEnd: load1() },
      repetitions: opts.reps, elapsedSeconds: Math.round((performance.now() - t0) / 100) / 10,
      startup: { files: g.files.length, bytes: g.bytes, packages: g.packages, modules: g.modules.length },
      rows: measured, targets: targets(measured, machineInfo().cores),
    });
    writeFileSync(opts.out, JSON.stringify(results, null, 2) + '\n');
    console.log(formatTable(results));
    log(`wrote ${opts.out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exit(1);
});
