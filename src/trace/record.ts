/**
 * Recording a trace of one run: plan the scenario's call for an entry point
 * (src/run), attach a `TraceRecorder`, run to the end, and describe the
 * result — a header that identifies what ran (revision inputs by git blob
 * id, scenario and image hashes, the registers at entry), the steps, and a
 * summary of what the C caller saw.
 *
 * The run executes on Unicorn, or (`on: 'silicon'`) on the host CPU,
 * single-stepped by the silicon oracle's runner and told to the same
 * recorder step by step (src/oracle/replay.ts): one format, one recorder,
 * the header's `executor` saying which.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDisassembler } from '../encode/capstone.js';
import { buildImage } from '../image/build.js';
import type { AddressLocation } from '../image/source-map.js';
import type { Image } from '../image/types.js';
import type { EntryFunction, Revision } from '../intake/types.js';
import { prepareRun, type PreparedRun } from '../run/run.js';
import type { SiliconSession } from '../oracle/silicon.js';
import { DEFAULT_TIME_LIMIT_MS } from '../support/limits.js';
import { Machine } from '../machine/machine.js';
import type { RunResult } from '../run/run.js';
import type { Scenario, ScenarioCase } from '../seam/scenario.js';
import { gitBlobId } from '../support/cache.js';
import { hexU64 } from '../support/format.js';
import { packageRoot } from '../support/package-root.js';
import { TRACE_FORMAT, TRACE_VERSION, type Trace, type TraceHeader, type TraceStep, type TraceSummary } from './format.js';
import { TraceRecorder } from './recorder.js';
import { loadStepRecorder } from '../machine/native-steps.js';
import { SeamlabError } from '../errors.js';

export interface TraceRequest {
  revision: Revision;
  /** The entry point, by name or as discovered. */
  fn: string | EntryFunction;
  scenario: Scenario;
  profile?: string;
  /** A prebuilt image of the function's file (default: built now, cached per process). */
  image?: Image;
  /** With `image`: the revision's files it was built from (the header lists them by blob id); default: those the build of the function's file reads. */
  sourceReads?: readonly string[];
  budget?: number;
  timeLimitMs?: number;
  /**
   * How instructions are captured: 'native' (C hooks, src/machine/native-steps.ts),
   * 'js' (JavaScript hooks), or 'auto' (native when it can be built and
   * loaded — it needs a C compiler — else JavaScript). Both give the same trace.
   */
  recorder?: 'native' | 'js' | 'auto';
  /**
   * Machines to reuse, one per image (many traces of one image — goldens —
   * pay for a Unicorn engine and its translation cache once). Filled here;
   * the caller closes them. Unicorn only.
   */
  machines?: Map<Image, Machine>;
  /** Where the run executes: seamlab's Unicorn machine (default), or this CPU, single-stepped under ptrace. */
  on?: TraceExecutor;
  /**
   * On silicon: the runner to use (default: one started for this trace with
   * `open`, by default SiliconSession.open), and the test knob that flips
   * RFLAGS bits after one step.
   */
  silicon?: { session?: SiliconSession; open?: () => SiliconSession; flip?: { step: number; mask: bigint } };
}

export type TraceExecutor = TraceHeader['executor'];

/** Which recorder `recordTrace` uses for `choice` (and why not the native one, when it cannot). */
export function traceRecorder(choice: TraceRequest['recorder'] = 'auto'): { recorder: 'native' | 'js'; reason?: string } {
  if (choice === 'js') return { recorder: 'js' };
  const r = loadStepRecorder();
  if (r.ok) return { recorder: 'native' };
  if (choice === 'native') throw new SeamlabError('TRACE_NO_NATIVE_RECORDER', `the native step recorder is not available: ${r.reason}`, 'install a C compiler (Debian: apt-get install gcc), or record with --recorder js');
  return { recorder: 'js', reason: r.reason };
}

/** Streaming: the header before the first instruction runs, then each step as it completes. */
export interface TraceStream {
  header?(h: TraceHeader): void;
  step(s: TraceStep): void;
}

/** Records a trace; with `stream`, records go there as they are known and the returned trace has no steps. */
export async function recordTrace(req: TraceRequest, stream?: TraceStream): Promise<Trace> {
  const disasm = await loadDisassembler();
  const fn = typeof req.fn === 'string' ? findFunction(req.revision, req.fn) : req.fn;
  const profile = req.profile ?? 'default';
  const executor = req.on ?? 'unicorn';
  // The build (cached per process) also says which files it read; a given image is what runs.
  const built = req.image && req.sourceReads ? undefined : buildImage(req.revision.files, fn.sourceFile, { profile });
  const image = req.image ?? built!.image;
  const reads = req.image && req.sourceReads ? req.sourceReads : built!.source.reads ?? [];
  // On silicon the machine only holds the plan and, step by step, the CPU's state: no native recording.
  const mode = executor === 'unicorn' && traceRecorder(req.recorder).recorder === 'native' ? 'recorded' : 'single';
  let machine = executor === 'unicorn' ? req.machines?.get(image) : undefined;
  if (executor === 'unicorn' && req.machines && (!machine || machine.mode !== mode)) {
    machine?.close();
    machine = new Machine(image, { mode, observeReads: true });
    req.machines.set(image, machine);
  }
  // The CPU's runner first: a host that cannot single-step says so before anything is written.
  const cpu = executor === 'silicon' ? await siliconExecutor(req) : undefined;
  let prepared: PreparedRun | undefined;
  try {
    prepared = prepareRun(image, fn, req.scenario, {
      revision: req.revision.name, profile, observeReads: true, mode, ...(machine ? { machine } : {}),
      ...(req.budget !== undefined ? { budget: req.budget } : {}),
      ...(req.timeLimitMs !== undefined ? { timeLimitMs: req.timeLimitMs } : {}),
    });
    // An image the CPU cannot run where it would have to (an absolute reference into itself) is refused before the header goes out.
    cpu?.session.relocation(image);
    const steps: TraceStep[] = [];
    const recorder = new TraceRecorder(prepared.machine, prepared.plan, disasm, stream ? (s) => stream.step(s) : (s) => steps.push(s));
    if (!cpu) prepared.execution.observe(recorder);
    const header: TraceHeader = {
      type: 'header', format: TRACE_FORMAT, version: TRACE_VERSION, seamlab: seamlabVersion(), executor,
      revision: revisionIdentity(req.revision, reads),
      function: fn.name, sourceFile: fn.sourceFile, profile, prototype: fn.abi.prototype,
      scenario: { name: req.scenario.name, hash: scenarioHash(req.scenario.cases[fn.kind]!) },
      image: { hash: imageHash(image) },
      entry: { regs: Object.fromEntries(Object.entries(recorder.entry).map(([k, v]) => [k, hexU64(v)])) },
      labels: prepared.plan.labels.map((l) => ({ address: hexU64(l.address), size: l.size, name: l.name })),
    };
    stream?.header?.(header);
    const result = cpu
      ? cpu.runOnSilicon(prepared, {
        session: cpu.session, observers: [recorder], disassembler: disasm, timeLimitMs: req.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS,
        ...(req.budget !== undefined ? { budget: req.budget } : {}), ...(req.silicon?.flip ? { flip: req.silicon.flip } : {}),
      })
      : prepared.complete();
    return { header, steps, summary: summarize(result) };
  } finally {
    prepared?.close();
    if (cpu?.owned) cpu.session.close();
  }
}

/**
 * The CPU side of a silicon trace: the oracle's runner (the caller's, or one
 * started now). Loaded only when asked for. A host that cannot single-step
 * a child is a user error that says why and how else to trace.
 */
async function siliconExecutor(req: TraceRequest): Promise<{ session: SiliconSession; owned: boolean; runOnSilicon: typeof import('../oracle/replay.js').runOnSilicon }> {
  const [{ runOnSilicon }, { SiliconSession }] = await Promise.all([import('../oracle/replay.js'), import('../oracle/silicon.js')]);
  if (req.silicon?.session) return { session: req.silicon.session, owned: false, runOnSilicon };
  try {
    return { session: (req.silicon?.open ?? (() => SiliconSession.open()))(), owned: true, runOnSilicon };
  } catch (e) {
    if (!(e instanceof SeamlabError)) throw e;
    throw new SeamlabError('TRACE_NO_SILICON', `cannot trace on this CPU (${e.code}): ${e.message}`, `${e.hint}; or trace on Unicorn (leave out --on silicon)`, { cause: e, notes: e.notes });
  }
}

function findFunction(rev: Revision, name: string): EntryFunction {
  const f = rev.functions.find((x) => x.name === name);
  if (!f) throw new Error(`${rev.name} has no entry point ${name}`);
  return f;
}

let versionCache: string | undefined;

export function seamlabVersion(): string {
  versionCache ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return versionCache;
}

/** What identifies the source: every file of the revision the preprocessor read, by git blob id. */
function revisionIdentity(rev: Revision, reads: readonly string[]): TraceHeader['revision'] {
  const inputs = [...new Set(reads)].sort().flatMap((path) => {
    const text = rev.files.readFile(path);
    return text === undefined ? [] : [{ path, blob: gitBlobId(Buffer.from(text, 'utf8')) }];
  });
  const base = rev.provenance.base;
  return {
    spec: rev.provenance.spec,
    ...(base.kind === 'builtin' ? { package: base.package, packageVersion: base.version } : {}),
    patches: rev.provenance.patches.map((p) => ({ source: p.source, ...(p.subject ? { subject: p.subject } : {}) })),
    inputs,
  };
}

/** sha256 of a scenario case, with bigints as hex and user code by its label. */
export function scenarioHash(c: ScenarioCase): string {
  const json = JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? hexU64(v) : typeof v === 'function' ? `[function ${(v as { name?: string }).name ?? ''}]` : v));
  return createHash('sha256').update(json).digest('hex');
}

/** sha256 of what runs: sections with their addresses, symbols, exception table. */
export function imageHash(image: Image): string {
  const h = createHash('sha256');
  for (const s of image.sections) {
    h.update(`${s.name}\0${hexU64(s.address)}\0${s.bytes.length}\0`);
    h.update(s.bytes);
  }
  for (const s of image.symbols) h.update(`${s.name}\0${hexU64(s.address)}\0${s.size}\0${s.type}\0${s.binding}\n`);
  for (const e of image.extable) h.update(`${hexU64(e.insn)}\0${hexU64(e.fixup)}\0${e.typeWord}\n`);
  return h.digest('hex');
}

function summarize(r: RunResult): TraceSummary {
  return {
    type: 'summary',
    end: endRecord(r.end),
    instructions: r.instructions,
    ...(r.returnValue !== undefined ? { returnValue: hexU64(r.returnValue) } : {}),
    ...(r.returnName ? { returnName: r.returnName } : {}),
    outputs: r.outputs.map((o) => ({ param: o.param, struct: o.struct, fields: o.fields.map((f) => ({ name: f.name, value: hexU64(f.value), written: f.written })) })),
    checks: r.checks.map((c) => ({ name: c.name, status: c.status, detail: c.detail })),
    ok: r.ok,
  };
}

/** How the run ended, as JSON: bigints in hex, source locations as file:line, no error objects. */
function endRecord(end: RunResult['end']): TraceSummary['end'] {
  return JSON.parse(JSON.stringify(end, (k, v: unknown) => {
    if (typeof v === 'bigint') return hexU64(v);
    if (k === 'error') return undefined;
    if (k === 'location' && v && typeof v === 'object') {
      // An AddressLocation: its statement's file:line.
      const { pos } = (v as AddressLocation).location;
      return `${pos.file}:${pos.line}`;
    }
    return v;
  })) as TraceSummary['end'];
}
