/**
 * Rows of the CLI group: whole processes as a user meets them — `node -e 0`,
 * `seamlab --version`, `--help`, `run` (the main job), `build v3`, `cpp v3
 * seamcall.S`, each with warm disk caches and with SEAMLAB_NO_DISK_CACHE=1 —
 * beside the GNU toolchain doing the same files (`gcc -E` + `as` + `ld` with
 * Kbuild's flags on seamlab's generated headers, as test/support/image-oracle.ts
 * and src/cpp/gcc.ts invoke them); and the same work inside a warm process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildEnvironment, gccInvocation } from '../../src/cpp/index.js';
import { KERNEL_STUBS } from '../../src/image/stubs.js';
import { resolveRevision } from '../../src/intake/revision.js';
import { guarded, interleaved, row, runWorker, type BenchContext, type Measure } from './context.js';
import { INSTALL } from './host.js';
import type { BenchRow } from './schema.js';

export const CLI_GROUP = 'CLI — whole processes, wall time';
export const IN_PROCESS_GROUP = 'In a warm process — the same work without process start-up';

const CPP_FILE = 'arch/x86/virt/vmx/tdx/seamcall.S';
const NO_DISK_CACHE = { ...process.env, SEAMLAB_NO_DISK_CACHE: '1' };

/** A whole `node …` process, wall time (prepare runs it once untimed: page and disk caches warm). */
function processMeasure(ctx: BenchContext, id: string, label: string, args: string[], env: NodeJS.ProcessEnv = process.env, note?: string): Measure {
  return {
    id, group: CLI_GROUP, label, unit: 'ms', ...(note ? { note } : {}),
    prepare: () => {
      ctx.runner.ok(process.execPath, args, { cwd: ctx.root, env });
      return () => {
        const r = ctx.runner.ok(process.execPath, args, { cwd: ctx.root, env });
        return { value: r.wallMs, rssMb: r.rssMb };
      };
    },
  };
}

interface GnuJob { argv: string[]; cwd: string; env: Record<string, string>; out: string; cleanup(): void }

/** gcc -E (+ as + ld) of `files` with Kbuild's flags, the trees laid out once (untimed); a repetition sums the processes' wall times. */
function gnuMeasure(ctx: BenchContext, id: string, group: string, label: string, files: string[], link: boolean): Measure {
  const missing = !ctx.tools.gcc ? `gcc is not installed (${INSTALL.gcc})` : link && !(ctx.tools.as && ctx.tools.ld) ? `as/ld are not installed (${INSTALL.binutils})` : undefined;
  let work: string | undefined;
  let jobs: GnuJob[] = [];
  return {
    id, group, label, unit: 'ms', note: `${files.length} file${files.length === 1 ? '' : 's'}, ${link ? 3 * files.length : files.length} processes`, ...(missing ? { missing } : {}),
    prepare: () => {
      const rev = resolveRevision('v3');
      const env = buildEnvironment(rev.files, { profile: 'default' });
      work = mkdtempSync(join(ctx.dir, 'gnu-'));
      jobs = files.map((file, k) => ({ ...gccInvocation(env, file), out: join(work!, `f${k}`) }));
      const defsyms = [...KERNEL_STUBS.keys()].map((n, i) => `--defsym=${n}=0x${(0xffffffff82000000n + BigInt(16 * i)).toString(16)}`);
      const once = () => {
        let ms = 0;
        let rss: number | null = null;
        const add = (r: { wallMs: number; rssMb: number | null }) => {
          ms += r.wallMs;
          if (r.rssMb !== null) rss = Math.max(rss ?? 0, r.rssMb);
        };
        for (const j of jobs) {
          add(ctx.runner.ok('gcc', [...j.argv, '-o', `${j.out}.s`], { cwd: j.cwd, env: { ...process.env, ...j.env } }));
          if (!link) continue;
          add(ctx.runner.ok('as', ['--64', '-o', `${j.out}.o`, `${j.out}.s`]));
          add(ctx.runner.ok('ld', ['-z', 'noexecstack', '-Ttext=0xffffffff81000000', ...defsyms, '-o', `${j.out}.elf`, `${j.out}.o`]));
        }
        return { value: ms, rssMb: rss };
      };
      once();
      return once;
    },
    cleanup: () => {
      for (const j of jobs) j.cleanup();
      if (work) rmSync(work, { recursive: true, force: true });
    },
  };
}

export function cliRows(ctx: BenchContext): BenchRow[] {
  const rev = resolveRevision('v3');
  const files = [...new Set(rev.functions.map((f) => f.sourceFile))].sort();
  const cli = ctx.cli;
  ctx.log(`CLI: ${ctx.reps} rounds of every command (interleaved, so that the ratios see the same load)`);
  return interleaved(ctx, [
    processMeasure(ctx, 'cli.node', 'node -e 0', ['-e', '0']),
    processMeasure(ctx, 'cli.version', 'seamlab --version', [cli, '--version']),
    processMeasure(ctx, 'cli.help', 'seamlab --help', [cli, '--help']),
    processMeasure(ctx, 'cli.run', 'seamlab run (main job), warm disk cache', [cli, 'run']),
    processMeasure(ctx, 'cli.run-nocache', 'seamlab run, no disk cache (a first run)', [cli, 'run'], NO_DISK_CACHE),
    processMeasure(ctx, 'cli.build', 'seamlab build v3, warm disk cache', [cli, 'build', 'v3'], process.env, `${files.length} files`),
    processMeasure(ctx, 'cli.build-nocache', 'seamlab build v3, no disk cache', [cli, 'build', 'v3'], NO_DISK_CACHE),
    gnuMeasure(ctx, 'gnu.build', CLI_GROUP, 'GNU: gcc -E + as + ld, the same files', files, true),
    processMeasure(ctx, 'cli.cpp', 'seamlab cpp v3 seamcall.S, warm disk cache', [cli, 'cpp', 'v3', CPP_FILE]),
    processMeasure(ctx, 'cli.cpp-nocache', 'seamlab cpp v3 seamcall.S, no disk cache', [cli, 'cpp', 'v3', CPP_FILE], NO_DISK_CACHE),
    gnuMeasure(ctx, 'gnu.cpp', CLI_GROUP, 'GNU: gcc -E seamcall.S', [CPP_FILE], false),
  ], ctx.reps);
}

export function inProcessRows(ctx: BenchContext): BenchRow[] {
  const g = IN_PROCESS_GROUP;
  const rev = resolveRevision('v3');
  const files = [...new Set(rev.functions.map((f) => f.sourceFile))].sort();
  ctx.log('in process: main job, rebuild, preprocess');
  const worker = (id: string, label: string, task: string, note: (r: Record<string, unknown>) => string) => guarded(id, g, label, 'ms', ctx, () => {
    const r = runWorker(ctx, task, { reps: ctx.reps });
    return row(id, g, label, 'ms', r.samples, r.rssMb, note(r));
  });
  return [
    worker('inproc.main-job', 'the main job, images built', 'main-job', () => 'every v3 entry point × built-in scenario and sequence'),
    worker('inproc.rebuild', 'rebuild v3 (image cache dropped, the rest warm)', 'rebuild', (r) => `${Number(r.files)} files`),
    worker('inproc.preprocess', 'preprocess v3 (environment built, no disk cache)', 'preprocess', (r) => `${Number(r.files)} files`),
    ...interleaved(ctx, [gnuMeasure(ctx, 'gnu.cpp-all', g, 'GNU: gcc -E of the same files', files, false)], ctx.reps),
  ];
}
