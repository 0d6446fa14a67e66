/**
 * Rows of the tool groups: the golden-trace check of every fixture (in
 * process and as `seamlab golden check`), differential pairs per second
 * (`seamlab diff`, when it is built), and the debugger's latency as GNU gdb
 * sees it over `seamlab debug --gdb` (a `stepi` round trip; a
 * `reverse-stepi` at step 100 of a 200-step run, replayed from the start).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { guarded, guardedAsync, row, runWorker, subdir, unavailable, type BenchContext } from './context.js';
import { INSTALL, tryRun } from './host.js';
import type { BenchRow } from './schema.js';

export const GOLDEN_GROUP = 'Golden traces — every fixture re-recorded and compared';
export const DIFF_GROUP = 'Differential pairs/s — seamlab diff';
export const DEBUG_GROUP = 'Debugger latency — GNU gdb over seamlab debug --gdb';

export function goldenRows(ctx: BenchContext): BenchRow[] {
  const g = GOLDEN_GROUP;
  const reps = Math.min(ctx.reps, 3);
  ctx.log('golden check: in process');
  const inProcess = guarded('golden.inprocess', g, 'checkGoldens() in process', 'ms', ctx, () => {
    const r = runWorker(ctx, 'golden', { reps });
    return row('golden.inprocess', g, 'checkGoldens() in process', 'ms', r.samples, r.rssMb, `${Number(r.cases)} goldens`);
  });
  ctx.log('golden check: CLI');
  const cli = guarded('golden.cli', g, 'seamlab golden check (a new process)', 'ms', ctx, () => {
    const samples: number[] = [];
    let rss: number | null = null;
    for (let i = 0; i < reps; i++) {
      const r = ctx.runner.ok(process.execPath, [ctx.cli, 'golden', 'check'], { cwd: ctx.root });
      samples.push(r.wallMs);
      if (r.rssMb !== null) rss = Math.max(rss ?? 0, r.rssMb);
    }
    return row('golden.cli', g, 'seamlab golden check (a new process)', 'ms', samples, rss);
  });
  return [inProcess, cli];
}

/**
 * Differential pairs per second of `seamlab diff --fuzz` (issue [G]), on one
 * core and with --jobs = cores, for a revision against itself (rows compared
 * as bytes: the regression check) and for v3's `__seamcall` against 6.12's
 * `__seamcall_ret` (every row differs and is classified). A pair is one
 * generated call under one outcome class run on both sides and compared.
 */
export function diffRows(ctx: BenchContext): BenchRow[] {
  const g = DIFF_GROUP;
  const jobs = os.cpus().length;
  // The issue's own campaign size: long enough that worker threads started cold (each resolves both revisions
  // and creates its machines, ~0.5 s) are a small part of the --jobs row, as in a real campaign.
  const cases = ctx.quick ? 5_000 : 100_000;
  // A command the CLI has is listed in its --help (an unknown one's --help prints the program's help, exit 0).
  const built = /^ {2}diff\b/m.test(tryRun(process.execPath, [ctx.cli, '--help']) ?? '');
  const pairs = [
    { id: 'diff.self', what: 'linux-6.12 __seamcall_ret ↔ itself', a: 'linux-6.12', fa: '__seamcall_ret', b: 'linux-6.12', fb: '__seamcall_ret' },
    { id: 'diff.abi', what: 'v3 __seamcall ↔ linux-6.12 __seamcall_ret', a: 'v3', fa: '__seamcall', b: 'linux-6.12', fb: '__seamcall_ret' },
  ];
  const rows: BenchRow[] = [];
  for (const p of pairs) {
    const l1 = `seamlab diff --fuzz, 1 job: ${p.what}`;
    const lj = `seamlab diff --fuzz, --jobs ${jobs} (this thread and ${jobs - 1} worker${jobs - 1 === 1 ? '' : 's'} started cold): ${p.what}`;
    if (!built) {
      rows.push(unavailable(`${p.id}.jobs1`, g, l1, 'pairs/s', 'not available: seamlab diff not built yet'), unavailable(`${p.id}.jobs`, g, lj, 'pairs/s', 'not available: seamlab diff not built yet'));
      continue;
    }
    ctx.log(`differential pairs: ${p.what}`);
    let extra: { jobsSamples: number[]; rssMb: number } | undefined;
    rows.push(guarded(`${p.id}.jobs1`, g, l1, 'pairs/s', ctx, () => {
      const r = runWorker(ctx, 'diff', { a: p.a, fa: p.fa, b: p.b, fb: p.fb, cases, jobs, reps: Math.min(ctx.reps, 2) });
      extra = { jobsSamples: r.jobsSamples as number[], rssMb: r.rssMb };
      return row(`${p.id}.jobs1`, g, l1, 'pairs/s', r.samples, r.rssMb, `${cases.toLocaleString('en-US')} cases per repetition, warm`);
    }));
    rows.push(extra ? row(`${p.id}.jobs`, g, lj, 'pairs/s', extra.jobsSamples, extra.rssMb, `the same cases across ${jobs} threads, as seamlab diff --jobs ${jobs} runs them`) : unavailable(`${p.id}.jobs`, g, lj, 'pairs/s', rows.at(-1)!.reason ?? 'failed'));
  }
  return rows;
}

/** The scenario of the 200-step run: every TDCALL answered "interrupted", so the guest re-executes it until the budget. */
const LOOP_SCENARIO = `name: bench-tdcall-loop
summary: every TDCALL interrupted and re-executed (a run as long as its budget)
tdcall:
  call: { leaf: TDG.VP.INFO }
  handler:
    script:
      - interrupted
`;

/** gdb's side: times each stepi, then one reverse-stepi, and prints them as JSON. */
const GDB_SCRIPT = `import json, time
import gdb
gdb.execute('set pagination off')
steps = []
for i in range(100):
    t = time.perf_counter(); gdb.execute('stepi', to_string=True); steps.append((time.perf_counter() - t) * 1000)
t = time.perf_counter(); gdb.execute('reverse-stepi', to_string=True); rev = (time.perf_counter() - t) * 1000
print('SEAMLAB-BENCH ' + json.dumps({'stepi': steps, 'reverse': rev}))
gdb.execute('kill')
`;

interface GdbSession { stepi: number[]; reverse: number; rss: number | null }

/** One `seamlab debug --gdb` session on the 200-step run, driven by gdb's Python. */
async function gdbSession(ctx: BenchContext, dir: string): Promise<GdbSession> {
  const scenario = join(dir, 'loop.yaml');
  const script = join(dir, 'bench-gdb.py');
  writeFileSync(scenario, LOOP_SCENARIO);
  writeFileSync(script, GDB_SCRIPT);
  const elf = join(dir, 'loop.elf');
  const measured = ctx.runner.measured(join(dir, 'stub.stat'));
  const [cmd, ...pre] = [...measured.prefix, process.execPath];
  const stub = spawn(cmd, [...pre, ctx.cli, 'debug', 'v3', '--fn', '__tdx_module_call', '--scenario', scenario, '--budget', '200', '--gdb', '0', '--elf', elf], { cwd: ctx.root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  stub.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => stub.on('exit', (code) => resolve(code)));
  try {
    const port = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`seamlab debug --gdb did not listen within 60 s: ${err}`)), 60_000);
      stub.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      stub.on('exit', (code) => reject(new Error(`seamlab debug exited ${code}: ${err}`)));
    });
    const r = ctx.runner.run('gdb', ['-batch', '-nx', elf, '-ex', `target remote 127.0.0.1:${port}`, '-x', script], { cwd: dir });
    const line = r.stdout.split('\n').find((l) => l.startsWith('SEAMLAB-BENCH '));
    if (!line) throw new Error(`gdb printed no timings (exit ${r.status}): ${(r.stderr || r.stdout).trim().slice(-1500)}`);
    const t = JSON.parse(line.slice('SEAMLAB-BENCH '.length)) as { stepi: number[]; reverse: number };
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    return { stepi: t.stepi, reverse: t.reverse, rss: measured.rssMb() };
  } finally {
    stub.kill('SIGKILL');
  }
}

export async function debuggerRows(ctx: BenchContext): Promise<BenchRow[]> {
  const g = DEBUG_GROUP;
  const stepLabel = 'gdb stepi round trip (100 per session)';
  const revLabel = 'gdb reverse-stepi at step 100 of a 200-step run';
  if (!ctx.tools.gdb) return [unavailable('debug.stepi', g, stepLabel, 'ms', `gdb is not installed (${INSTALL.gdb})`), unavailable('debug.reverse-stepi', g, revLabel, 'ms', `gdb is not installed (${INSTALL.gdb})`)];
  if (!ctx.tools.gdbPython) {
    const why = 'this gdb has no Python (the rows time each command from inside gdb); Debian\'s gdb has it';
    return [unavailable('debug.stepi', g, stepLabel, 'ms', why), unavailable('debug.reverse-stepi', g, revLabel, 'ms', why)];
  }
  ctx.log('debugger: gdb sessions');
  const sessions: GdbSession[] = [];
  let failure: BenchRow[] | undefined;
  const first = await guardedAsync('debug.stepi', g, stepLabel, 'ms', ctx, async () => {
    for (let i = 0; i < Math.min(ctx.reps, 3); i++) sessions.push(await gdbSession(ctx, subdir(ctx, `gdb-${i}`)));
    return row('debug.stepi', g, stepLabel, 'ms', sessions.flatMap((s) => s.stepi), peak(sessions),
      `${sessions.length} sessions; v3 __tdx_module_call, every TDCALL interrupted, --budget 200`);
  });
  if (first.status !== 'ok') failure = [first, unavailable('debug.reverse-stepi', g, revLabel, 'ms', first.reason ?? 'failed')];
  return failure ?? [first, row('debug.reverse-stepi', g, revLabel, 'ms', sessions.map((s) => s.reverse), peak(sessions), 'replayed from the start to step 99')];
}

/** The stub's peak RSS over the sessions. */
function peak(sessions: GdbSession[]): number | null {
  const v = sessions.map((s) => s.rss).filter((x): x is number => x !== null);
  return v.length ? Math.max(...v) : null;
}
