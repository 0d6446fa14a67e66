/**
 * The benchmark's in-process measurements, each in a process of its own so
 * that its peak RSS is its own and no JIT or cache state leaks from one row
 * into the next. scripts/bench.ts bundles this file with esbuild (as dist/ is
 * bundled) and runs `node worker.mjs TASK JSON-ARGS`; the task prints one
 * JSON line: `{ samples, rssMb, ... }` — samples in the row's unit.
 */
import { loadDisassembler } from '../../src/encode/capstone.js';
import { assembleBatchDriver } from '../../src/image/batch-driver.js';
import { buildImage, clearImageCache } from '../../src/image/build.js';
import { resolveRevision } from '../../src/intake/revision.js';
import { preprocess } from '../../src/cpp/index.js';
import { runBatch } from '../../src/run/batch.js';
import { runJob } from '../../src/run/main-job.js';
import { notApplicable } from '../../src/run/run.js';
import { openSession } from '../../src/run/session.js';
import { BUILTIN_SCENARIOS } from '../../src/seam/builtin-scenarios.js';
import { HOST_ENV, type Outcome, type SeamHandler } from '../../src/seam/types.js';
import { checkGoldens } from '../../src/trace/golden.js';
import { recordTrace, traceRecorder } from '../../src/trace/record.js';
import { TraceRecorder } from '../../src/trace/recorder.js';
import { DifferenceCollector } from '../../src/diff/collect.js';
import { DiffEngine, mergeRanges } from '../../src/diff/fuzz-engine.js';
import { engineConfig } from '../../src/diff/fuzz.js';
import { preparePair } from '../../src/diff/matrix.js';
import { resolvePairs } from '../../src/diff/pairing.js';
import { runWorkers } from '../../src/diff/workers.js';

/** The benchmark's call: v3 `__seamcall(TDH.SYS.RD, …)`, answered TDX_SUCCESS by a handler that does nothing else. */
export const BENCH_REVISION = 'v3';
export const BENCH_FUNCTION = '__seamcall';
const CALL = { leaf: 34n, inputs: { rdx: 0x9100000100000008n } };
const SUCCESS: Outcome = { kind: 'return', rax: 0n };
const TRIVIAL: SeamHandler = { name: 'trivial', handle: () => SUCCESS };

interface Args {
  calls?: number;
  reps?: number;
  revision?: string;
  /** diff: the pair (revision and entry point of each side), cases per repetition, worker threads. */
  a?: string;
  fa?: string;
  b?: string;
  fb?: string;
  cases?: number;
  jobs?: number;
  /** trace-loop: feed the recorder as recordTrace would ('auto') or with JavaScript hooks ('js'). */
  recorder?: 'auto' | 'js';
  /** percall: the trivial handler as user code (created and called under a deadline) or as a script answer (seamlab's own). */
  handler?: 'user' | 'script';
}

function setup() {
  const rev = resolveRevision(BENCH_REVISION);
  const fn = rev.functions.find((f) => f.name === BENCH_FUNCTION)!;
  const image = buildImage(rev.files, fn.sourceFile, { profile: 'default' }).image;
  return { rev, fn, image, driver: assembleBatchDriver() };
}

function rssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Throughput of `reps` timed rounds of `size`, after a warm-up round a tenth as big (the JIT settles in it). */
function rounds(reps: number, size: number, once: (size: number) => { count: number; ms: number }): number[] {
  once(Math.max(1, Math.ceil(size / 10)));
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const r = once(size);
    out.push((r.count / r.ms) * 1000);
  }
  return out;
}

/** Each task's result (awaited when it is a promise), written as JSON; a synchronous task just returns it. */
const TASKS: Record<string, (a: Args) => Record<string, unknown> | Promise<Record<string, unknown>>> = {
  /** SEAMCALL round trips/s in batch mode. */
  batch(a) {
    const { fn, image, driver } = setup();
    const samples = rounds(a.reps!, a.calls!, (rows) => {
      const r = runBatch(image, fn, driver, { rows, call: CALL, handler: TRIVIAL, env: HOST_ENV });
      if (r.stop.kind !== 'returned' || r.seamCalls !== rows) throw new Error(`batch ended ${r.stop.kind} after ${r.seamCalls} calls`);
      return { count: r.seamCalls, ms: r.elapsedMs };
    });
    return { samples };
  },

  /** SEAMCALL round trips/s through the library's per-call API: every call a whole checked run. */
  async percall(a) {
    // User code runs under a node:vm deadline (src/seam/user-code.ts), created once per run and called once per
    // SEAM call; a script answer is seamlab's own code and is not.
    const handler = a.handler === 'script' ? { script: [SUCCESS] } : { custom: 'trivial', create: () => TRIVIAL };
    const session = await openSession(BENCH_REVISION, { handler });
    try {
      const samples = rounds(a.reps!, a.calls!, (calls) => {
        const t = performance.now();
        for (let i = 0; i < calls; i++) {
          const r = session.call(BENCH_FUNCTION, { leaf: CALL.leaf, rdx: CALL.inputs.rdx });
          if (r.status !== 0n) throw new Error(`call ${i} returned ${r.status}`);
        }
        return { count: calls, ms: performance.now() - t };
      });
      return { samples };
    } finally {
      session.close();
    }
  },

  /**
   * Traced instructions/s: the trace recorder (src/trace/recorder.ts) watching
   * the batch loop, steps counted and dropped — fed as recordTrace feeds it
   * (the native step recorder when it can be built: traceRecorder()), or by
   * JavaScript hooks.
   */
  async 'trace-loop'(a) {
    const { fn, image, driver } = setup();
    const disasm = await loadDisassembler();
    const chosen = a.recorder === 'js' ? { recorder: 'js' as const } : traceRecorder('auto');
    const observeMode = chosen.recorder === 'native' ? 'recorded' as const : 'single' as const;
    let steps = 0;
    const samples = rounds(a.reps!, a.calls!, (rows) => {
      steps = 0;
      const t = performance.now();
      const r = runBatch(image, fn, driver, {
        rows, call: CALL, handler: TRIVIAL, env: HOST_ENV, observeReads: true, observeMode,
        observe: (machine, plan) => [new TraceRecorder(machine, plan, disasm, () => { steps++; })],
      });
      const ms = performance.now() - t;
      if (r.stop.kind !== 'returned') throw new Error(`traced batch ended ${r.stop.kind}`);
      return { count: steps, ms };
    });
    return { samples, instructionsPerRound: steps, recorder: chosen.recorder };
  },

  /** recordTrace end to end over every v3 entry point × built-in single-call scenario (each a short run with its own set-up). */
  async 'trace-record'(a) {
    const rev = resolveRevision(BENCH_REVISION);
    const cases = rev.functions.flatMap((fn) => BUILTIN_SCENARIOS.filter((s) => !s.sequence && !notApplicable(s, fn)).map((scenario) => ({ fn, scenario })));
    let insns = 0;
    // recordTrace is async (it awaits the disassembler): one warm-up round, then the timed ones.
    const out: number[] = [];
    for (let i = 0; i <= a.reps!; i++) {
      insns = 0;
      const t = performance.now();
      for (const c of cases) insns += (await recordTrace({ revision: rev, fn: c.fn, scenario: c.scenario }, { step: () => {} })).summary.instructions;
      const ms = performance.now() - t;
      if (i > 0) out.push((insns / ms) * 1000);
    }
    return { samples: out, runs: cases.length, instructionsPerRound: insns };
  },

  /**
   * Differential pairs/s of `seamlab diff --fuzz`'s engine (src/diff): in this
   * thread, warm; and on `jobs` threads — this one and `jobs - 1` workers
   * started cold (worker start, image transfer and machine set-up included) —
   * as `seamlab diff --jobs` runs them.
   */
  async diff(a) {
    await loadDisassembler();
    const pair = resolvePairs(a.a!, resolveRevision(a.a!), a.b!, resolveRevision(a.b!), [{ a: { spec: a.a!, fn: a.fa! }, b: { spec: a.b!, fn: a.fb! } }])[0]!;
    const prepared = preparePair(pair);
    const config = engineConfig(prepared, 1, new DifferenceCollector(prepared.label, undefined));
    const engine = new DiffEngine(config);
    const one: number[] = [];
    const many: number[] = [];
    let pairs = 0;
    try {
      engine.runRange(0, 2048);
      for (let i = 0; i < a.reps!; i++) {
        let t = performance.now();
        pairs = engine.runRange(0, a.cases!).pairs;
        one.push((pairs / (performance.now() - t)) * 1000);
        t = performance.now();
        const r = mergeRanges(await runWorkers(config, 0, a.cases!, a.jobs!, undefined, engine));
        if (r.pairs !== pairs) throw new Error(`workers ran ${r.pairs} pairs, one thread ${pairs}`);
        many.push((pairs / (performance.now() - t)) * 1000);
      }
    } finally {
      engine.close();
    }
    return { samples: one, jobsSamples: many, pairs };
  },

  /** checkGoldens() of every fixture, ms. */
  async golden(a) {
    const out: number[] = [];
    let cases = 0;
    for (let i = 0; i < a.reps!; i++) {
      const t = performance.now();
      const results = await checkGoldens();
      out.push(performance.now() - t);
      const bad = results.filter((r) => r.status !== 'ok');
      if (bad.length) throw new Error(`${bad.length} goldens do not match (${bad[0]!.case.file}): run seamlab golden check`);
      cases = results.length;
    }
    return { samples: out, cases };
  },

  /** The main job in this process with the images built, ms (the run itself: what `seamlab run` adds to a build). */
  'main-job'(a) {
    const rev = resolveRevision(BENCH_REVISION);
    runJob(rev, {});
    const out: number[] = [];
    for (let i = 0; i < a.reps!; i++) {
      const t = performance.now();
      runJob(rev, {});
      out.push(performance.now() - t);
    }
    return { samples: out };
  },

  /** Rebuilding every entry-point file of a revision in this process (image cache dropped, everything else warm), ms. */
  rebuild(a) {
    const rev = resolveRevision(a.revision ?? BENCH_REVISION);
    const files = [...new Set(rev.functions.map((f) => f.sourceFile))];
    const once = () => { for (const f of files) buildImage(rev.files, f, { profile: 'default' }); };
    once();
    const out: number[] = [];
    for (let i = 0; i < a.reps!; i++) {
      clearImageCache();
      const t = performance.now();
      once();
      out.push(performance.now() - t);
    }
    return { samples: out, files: files.length };
  },

  /** Preprocessing every entry-point file of a revision in this process, environment built, disk caches off, ms. */
  preprocess(a) {
    process.env.SEAMLAB_NO_DISK_CACHE = '1';
    const rev = resolveRevision(a.revision ?? BENCH_REVISION);
    const files = [...new Set(rev.functions.map((f) => f.sourceFile))];
    const once = () => { for (const f of files) preprocess(rev.files, f, { profile: 'default' }); };
    once();
    const out: number[] = [];
    for (let i = 0; i < a.reps!; i++) {
      const t = performance.now();
      once();
      out.push(performance.now() - t);
    }
    return { samples: out, files: files.length };
  },
};

const [task, json] = process.argv.slice(2);
const run = task ? TASKS[task] : undefined;
if (!run) {
  process.stderr.write(`worker: unknown task ${task} (known: ${Object.keys(TASKS).join(', ')})\n`);
  process.exit(2);
}
// A synchronous task's throw goes to the same handler as an async one's rejection.
Promise.resolve().then(() => run(JSON.parse(json ?? '{}') as Args)).then((r) => {
  process.stdout.write(JSON.stringify({ ...r, rssMb: rssMb() }) + '\n');
  process.exit(0);
}, (e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
