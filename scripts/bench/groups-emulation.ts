/**
 * Rows of the emulation groups: SEAMCALL round trips per second (seamlab's
 * batch loop and per-call API; Python + Unicorn; the function run natively;
 * the emulator's own limit — the same loop on libunicorn with C hooks; the
 * batch loop again with the other core busy) and traced instructions per
 * second (seamlab's recorder; a Python per-instruction hook reading the
 * registers; a C hook recording them into a buffer).
 */
import { busyLoop, twoCoresPrefix } from './host.js';
import { guarded, interleaved, row, runWorker, type BenchContext, type Measure } from './context.js';
import type { BenchRow } from './schema.js';

export const SEAMCALL_GROUP = 'SEAMCALL round trips/s — v3 __seamcall, trivial handler';
export const TRACE_GROUP = 'Traced instructions/s — v3 __seamcall in the batch driver loop';

/** One run of a reference program that prints one rate. */
function rate(ctx: BenchContext, cmd: string, args: string[]): { value: number; rssMb: number | null } {
  const r = ctx.runner.ok(cmd, args);
  const v = Number(r.stdout.trim().split('\n').pop());
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${cmd} printed ${JSON.stringify(r.stdout.slice(0, 200))}`);
  return { value: v, rssMb: r.rssMb };
}

/** A reference program as a measure: prepare runs it once (warm-up), each round once more. */
function programMeasure(ctx: BenchContext, id: string, group: string, label: string, program: string | undefined, missing: string | undefined, cmd: (p: string) => [string, string[]], note: string, around?: () => Around): Measure {
  return {
    id, group, label, unit: group === SEAMCALL_GROUP ? 'calls/s' : 'insns/s', note, ...(program ? {} : { missing: missing ?? 'not available' }),
    prepare: () => {
      const [c, a] = cmd(program!);
      rate(ctx, c, a);
      return () => {
        const env = around?.();
        try {
          const [pc, pa] = env?.prefix ? [env.prefix[0], [...env.prefix[1], c, ...a]] : [c, a];
          return rate(ctx, pc, pa);
        } finally {
          env?.stop();
        }
      };
    },
  };
}

/** What runs around a measurement: a command prefix (taskset) and how to stop what was started (the busy loop). */
interface Around { prefix?: [string, string[]]; stop(): void }

/** Another core busy: a busy loop on the last core, the measured process on the last two. */
function otherCoreBusy(ctx: BenchContext): Around {
  const busy = busyLoop(ctx.tools);
  const prefix = twoCoresPrefix(ctx.tools);
  return { ...(prefix ? { prefix } : {}), stop: () => busy.stop() };
}

/** A worker task as a measure: one process per round (its first round untimed inside it), its one sample. */
function workerMeasure(ctx: BenchContext, id: string, group: string, label: string, task: string, args: Record<string, unknown>, note: string, around?: () => Around): Measure {
  return {
    id, group, label, unit: group === SEAMCALL_GROUP ? 'calls/s' : 'insns/s', note,
    prepare: () => () => {
      const env = around?.();
      try {
        const r = runWorker(ctx, task, { ...args, reps: 1 }, env?.prefix);
        return { value: r.samples[0]!, rssMb: r.rssMb };
      } finally {
        env?.stop();
      }
    },
  };
}

const n = (x: number) => x.toLocaleString('en-US');

export function seamcallRows(ctx: BenchContext): BenchRow[] {
  const g = SEAMCALL_GROUP;
  const q = ctx.quick;
  const batchCalls = q ? 100_000 : 300_000;
  const pyLoop = q ? 30_000 : 100_000;
  const pyCall = q ? 10_000 : 30_000;
  const nativeCalls = q ? 50_000 : 200_000;
  const limitCalls = q ? 300_000 : 1_000_000;
  const perCall = q ? 500 : 2_000;
  ctx.log('SEAMCALL round trips: seamlab per-call API');
  // The same calls answered by the user's handler (created and called under a node:vm deadline, src/seam/user-code.ts) and by a script (seamlab's own).
  const percallRow = (id: string, label: string, handler: 'user' | 'script', note: string) => guarded(id, g, label, 'calls/s', ctx, () => {
    const r = runWorker(ctx, 'percall', { calls: perCall, reps: Math.min(ctx.reps, 3), handler });
    return row(id, g, label, 'calls/s', r.samples, r.rssMb, `${n(perCall)} calls per repetition${note}`);
  });
  const percall = percallRow('seamcall.percall', 'seamlab per-call API (openSession().call, each a checked run), a user handler', 'user', '; the handler is created and called under a node:vm deadline (~60 µs each)');
  const percallScript = percallRow('seamcall.percall-script', 'seamlab per-call API, the same answer as a scenario script (no user code)', 'script', '');
  ctx.log(`SEAMCALL round trips: ${ctx.reps} rounds of seamlab batch, Python + Unicorn, native, C + Unicorn, batch with a core busy (interleaved)`);
  const py = ctx.tools.python;
  const busyNote = ctx.tools.taskset ? 'a busy loop pinned to the last core; seamlab on the last two' : 'a busy loop (taskset missing: nothing pinned)';
  const rows = interleaved(ctx, [
    workerMeasure(ctx, 'seamcall.batch', g, 'seamlab batch (Unicorn + TypeScript handler)', 'batch', { calls: batchCalls }, `${n(batchCalls)} calls per repetition`),
    programMeasure(ctx, 'seamcall.python-loop', g, 'Python + Unicorn, driver loop + code hook', ctx.python, ctx.missing.python, (p) => [py!, [p, 'batch', String(pyLoop)]], `${n(pyLoop)} calls per repetition`),
    programMeasure(ctx, 'seamcall.python-percall', g, 'Python + Unicorn, one emu_start per call', ctx.python, ctx.missing.python, (p) => [py!, [p, 'percall', String(pyCall)]], `${n(pyCall)} calls per repetition`),
    programMeasure(ctx, 'seamcall.native', g, 'native + SIGILL/SIGSEGV handler (gcc)', ctx.native, ctx.missing.native, (p) => [p, [String(nativeCalls)]], `${n(nativeCalls)} calls per repetition`),
    programMeasure(ctx, 'seamcall.limit', g, 'limit: C + Unicorn, driver loop + C hook', ctx.unicornLimit, ctx.missing.unicornLimit, (p) => [p, ['seamcall', String(limitCalls)]], `${n(limitCalls)} calls per repetition, no JavaScript`),
    workerMeasure(ctx, 'seamcall.batch-busy', g, 'seamlab batch, another core busy', 'batch', { calls: batchCalls }, busyNote, () => otherCoreBusy(ctx)),
    // The control: what the same busy core does to a harness with no timeout thread and no JavaScript.
    programMeasure(ctx, 'seamcall.python-loop-busy', g, 'Python + Unicorn driver loop, another core busy (control)', ctx.python, ctx.missing.python, (p) => [py!, [p, 'batch', String(pyLoop)]], busyNote, () => otherCoreBusy(ctx)),
  ], ctx.reps);
  return [rows[0]!, percall, percallScript, ...rows.slice(1)];
}

export function traceRows(ctx: BenchContext): BenchRow[] {
  const g = TRACE_GROUP;
  const q = ctx.quick;
  // About a second per repetition, as the Python row takes: shorter rounds would measure the JIT warming up.
  const recCalls = q ? 2_000 : 10_000;
  const pyCalls = q ? 300 : 1_500;
  const cCalls = q ? 20_000 : 100_000;
  const reps = Math.min(ctx.reps, 3);
  ctx.log('traced instructions: recordTrace over every v3 case');
  const record = guarded('trace.record', g, 'seamlab recordTrace, every v3 entry point × scenario (set-up included)', 'insns/s', ctx, () => {
    const r = runWorker(ctx, 'trace-record', { reps });
    return row('trace.record', g, 'seamlab recordTrace, every v3 entry point × scenario (set-up included)', 'insns/s', r.samples, r.rssMb,
      `${Number(r.runs)} runs, ${n(Number(r.instructionsPerRound))} instructions per repetition`);
  });
  ctx.log(`traced instructions: ${reps} rounds of the recorder, Python, C (interleaved)`);
  const rows = interleaved(ctx, [
    workerMeasure(ctx, 'trace.recorder', g, 'seamlab trace recorder, fed as recordTrace feeds it (the native step recorder when built)', 'trace-loop', { calls: recCalls }, `${n(recCalls)} calls per repetition; every step's registers, flags, memory, source`),
    workerMeasure(ctx, 'trace.recorder-js', g, 'seamlab trace recorder, fed by JavaScript hooks (--recorder js)', 'trace-loop', { calls: recCalls, recorder: 'js' }, `${n(recCalls)} calls per repetition`),
    programMeasure(ctx, 'trace.python', g, 'Python + Unicorn, per-instruction hook reading 17 registers', ctx.python, ctx.missing.python, (p) => [ctx.tools.python!, [p, 'trace', String(pyCalls)]], `${n(pyCalls)} calls per repetition`),
    programMeasure(ctx, 'trace.limit', g, 'limit: C + Unicorn, C hook recording 17 registers into a buffer', ctx.unicornLimit, ctx.missing.unicornLimit, (p) => [p, ['trace', String(cCalls)]], `${n(cCalls)} calls per repetition`),
  ], reps);
  return [rows[0]!, rows[1]!, record, ...rows.slice(2)];
}
