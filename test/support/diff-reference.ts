/**
 * The straightforward comparison that src/diff/observe.ts and the fuzz
 * engine's bookkeeping (src/diff/fuzz-engine.ts `runRange`) compute by a
 * faster route: every value classified into an eager `{ cls, text }`, the
 * signatures keyed by concatenated strings. This is the code as it stood
 * before the fast path (commit 10abb26), kept as the reference that
 * test/diff-compare.test.ts holds the fast path to, byte for byte.
 */
import { hex } from '../../src/support/format.js';
import { GPR_NAMES, type GprName } from '../../src/support/registers.js';
import { canary } from '../../src/run/plan.js';
import {
  returnText, SEAM_OUTPUT_REGS, type CompareSpec, type LogicalInputs, type ObsValue, type RawDifference, type RunView,
} from '../../src/diff/observe.js';
import { BatchRowView } from '../../src/diff/fuzz-batch.js';
import { CHUNK, chunkCases, signatureKey, type DiffEngine, type RangeResult, type Signature } from '../../src/diff/fuzz-engine.js';
import type { FuzzCase } from '../../src/diff/fuzz-gen.js';

const CANARY_OF = new Map<bigint, GprName>(GPR_NAMES.map((r) => [canary(r), r]));

function literal(v: bigint): ObsValue {
  return { cls: hex(v), text: hex(v) };
}

function classifyInput(v: bigint, slot: number, call: LogicalInputs, view: RunView): ObsValue {
  const reg = GPR_NAMES[slot]!;
  const own = call.inputs[slot];
  if (own !== undefined && own === v) return { cls: 'input', text: `the call's ${reg.toUpperCase()} (${hex(v)})` };
  if (slot === 0 && v === call.leaf) return { cls: 'input', text: `the leaf (${hex(v)})` };
  return classifyOther(v, call, view);
}

function classifyOther(v: bigint, call: LogicalInputs, view: RunView): ObsValue {
  const left = CANARY_OF.get(v);
  if (left) return { cls: `leftover:${left}`, text: `the caller's leftover ${left.toUpperCase()} (${hex(v)})` };
  for (let i = 0; i < 16; i++) {
    const x = call.inputs[i];
    if (x !== undefined && x === v && v > 0xffffn) return { cls: `input:${GPR_NAMES[i]}`, text: `the call's ${GPR_NAMES[i]!.toUpperCase()} input (${hex(v)})` };
  }
  if (v === call.leaf && v > 0xffffn) return { cls: 'leaf', text: `the leaf (${hex(v)})` };
  for (const [lo, hi] of view.pointers) if (v >= lo && v < hi) return { cls: 'pointer:struct', text: `a pointer into the caller's struct (${hex(v)})` };
  return literal(v);
}

function classifyOutput(view: RunView, slot: number, call: LogicalInputs): ObsValue {
  if (!view.outputPresent(slot) || !view.outputWritten(slot)) return { cls: 'not returned', text: 'not returned' };
  const v = view.outputValue(slot);
  const last = view.calls - 1;
  if (last >= 0) {
    if (view.regAfterCall(last, slot) === v) return { cls: `seam-left:${GPR_NAMES[slot]}`, text: `${GPR_NAMES[slot]!.toUpperCase()} as the SEAM call left it (${hex(v)})` };
    for (let i = 0; i < 16; i++) {
      if (i !== 4 && view.regAfterCall(last, i) === v && SEAM_OUTPUT_REGS.includes(GPR_NAMES[i]!)) {
        return { cls: `seam-left:${GPR_NAMES[i]}`, text: `${GPR_NAMES[i]!.toUpperCase()} as the SEAM call left it (${hex(v)})` };
      }
    }
  }
  return classifyOther(v, call, view);
}

function classifyAfter(view: RunView, slot: number): ObsValue {
  const v = view.regOut(slot);
  if (view.seamWrote(v, slot)) return { cls: 'seam', text: `what the SEAM side wrote into ${GPR_NAMES[slot]!.toUpperCase()} (${hex(v)})` };
  return { cls: 'not a SEAM value', text: `not a SEAM value (${hex(v)})` };
}

function classifyReturn(view: RunView, call: LogicalInputs): ObsValue {
  const v = view.returnValue;
  if (v === undefined) return { cls: 'none', text: `none (${view.end.text})` };
  const c = CANARY_OF.get(v);
  if (c) return { cls: `leftover:${c}`, text: `the caller's leftover ${c.toUpperCase()} (${hex(v)})` };
  if (v === call.leaf) return { cls: 'leaf', text: `the leaf (${returnText(v)})` };
  return { cls: hex(v), text: returnText(v) };
}

/** src/diff/observe.ts `compareRuns`, eager. */
export function referenceCompareRuns(a: RunView, b: RunView, call: LogicalInputs, spec: CompareSpec, out: RawDifference[]): void {
  if (a.end.cls !== b.end.cls) out.push({ kind: 'end', group: 'end', a: a.end, b: b.end });
  if (a.returnValue !== b.returnValue) {
    const x = classifyReturn(a, call);
    const y = classifyReturn(b, call);
    if (x.cls !== y.cls) out.push({ kind: 'return', group: 'return', a: x, b: y });
  }
  if (a.calls !== b.calls) out.push({ kind: 'seam.calls', group: 'seam.calls', a: { cls: String(a.calls), text: String(a.calls) }, b: { cls: String(b.calls), text: String(b.calls) } });
  const calls = Math.min(a.calls, b.calls);
  for (let c = 0; c < calls; c++) for (const slot of spec.seamIn) compareIn(a, b, call, c, slot, spec, out);
  if (!a.end.returned || !b.end.returned) return;
  for (const slot of spec.outputs) {
    const pa = a.outputPresent(slot) && a.outputWritten(slot);
    const pb = b.outputPresent(slot) && b.outputWritten(slot);
    if (pa === pb && (!pa || (a.outputValue(slot) === b.outputValue(slot) && leftBy(a, slot) === leftBy(b, slot)))) continue;
    const x = classifyOutput(a, slot, call);
    const y = classifyOutput(b, slot, call);
    if (x.cls !== y.cls) out.push({ kind: `output.${GPR_NAMES[slot]}`, group: 'output', a: x, b: y });
  }
  for (const slot of spec.after) {
    if (a.regOut(slot) === b.regOut(slot)) continue;
    const x = classifyAfter(a, slot);
    const y = classifyAfter(b, slot);
    if (x.cls !== y.cls) out.push({ kind: `after.${GPR_NAMES[slot]}`, group: 'after', a: x, b: y });
  }
  const ca = a.calleeSaved();
  const cb = b.calleeSaved();
  if (ca !== cb) out.push({ kind: 'callee-saved', group: 'callee-saved', a: savedValue(ca), b: savedValue(cb) });
  const sa = a.stack();
  const sb = b.stack();
  if (sa !== sb) out.push({ kind: 'stack', group: 'stack', a: { cls: sa, text: sa }, b: { cls: sb, text: sb } });
  const ma = a.memory();
  const mb = b.memory();
  if (ma !== mb) out.push({ kind: 'memory', group: 'memory', a: { cls: ma, text: ma }, b: { cls: mb, text: mb } });
}

function leftBy(view: RunView, slot: number): bigint | undefined {
  return view.calls > 0 ? view.regAfterCall(view.calls - 1, slot) : undefined;
}

function savedValue(s: string): ObsValue {
  return s ? { cls: `clobbered: ${s}`, text: `clobbered: ${s}` } : { cls: 'preserved', text: 'preserved' };
}

function compareIn(a: RunView, b: RunView, call: LogicalInputs, c: number, slot: number, spec: CompareSpec, out: RawDifference[]): void {
  const va = a.regIn(c, slot);
  const vb = b.regIn(c, slot);
  const da = slot === 0 || spec.deliversA[slot]!;
  const db = slot === 0 || spec.deliversB[slot]!;
  if (va === vb && da === db) return;
  const x = inputValue(a, va, slot, call, da);
  const y = inputValue(b, vb, slot, call, db);
  if (x.cls !== y.cls) out.push({ kind: `seam.in.${GPR_NAMES[slot]}`, group: 'seam.in', call: c, a: x, b: y });
}

function inputValue(view: RunView, v: bigint, slot: number, call: LogicalInputs, delivers: boolean): ObsValue {
  if (delivers) return classifyInput(v, slot, call, view);
  const x = classifyOther(v, { ...call, inputs: call.inputs.map((i, k) => (k === slot ? undefined : i)) }, view);
  if (call.inputs[slot] === undefined) return x;
  const why = view.notPassable(slot) ? 'not passable by this ABI' : 'not loaded by this function (its struct has the field)';
  return { cls: x.cls, text: `${why}; the module got ${x.text}` };
}

function logical(c: FuzzCase): LogicalInputs {
  const inputs = new Array<bigint | undefined>(16).fill(undefined);
  for (const [r, v] of c.inputs) inputs[GPR_NAMES.indexOf(r)] = v;
  return { leaf: c.leaf, inputs };
}

/**
 * `DiffEngine.runRange` with the reference comparison and string-keyed
 * bookkeeping: the engine runs each chunk's rows (its own comparison's
 * results ignored), then the rows are compared here, skipping the rows the
 * engine skips (equal bytes on both sides).
 */
export function referenceRunRange(engine: DiffEngine, first: number, count: number): RangeResult {
  const sigs = new Map<string, Signature>();
  const expected = new Set(engine.config.expected);
  const va = new BatchRowView(engine.a);
  const vb = new BatchRowView(engine.b);
  const sameLayout = engine.a.sameLayout(engine.b);
  let pairs = 0;
  let failing = 0;
  for (let i = first; i < first + count;) {
    const k = Math.floor(i / CHUNK);
    const start = i - k * CHUNK;
    const n = Math.min(CHUNK - start, first + count - i);
    const cases = chunkCases(engine.arb, engine.config.seed, k, start, n);
    engine.runCases(cases, () => {});
    let row = 0;
    const diffs: RawDifference[] = [];
    for (let ci = 0; ci < cases.length; ci++) {
      const call = logical(cases[ci]!);
      for (const variant of engine.variants) {
        if (sameLayout && engine.a.sameRow(engine.b, row)) {
          row++;
          continue;
        }
        va.row = row;
        vb.row = row;
        diffs.length = 0;
        referenceCompareRuns(va, vb, call, engine.config.spec, diffs);
        let unexpected = false;
        for (const d of diffs) {
          const key = signatureKey(variant, d.kind, d.call);
          const s = sigs.get(key);
          if (s) s.count++;
          else sigs.set(key, { cls: variant, kind: d.kind, ...(d.call ? { call: d.call } : {}), count: 1, firstCase: i + ci, variant, a: d.a, b: d.b });
          if (!expected.has(`${variant}\u0000${d.kind}`)) unexpected = true;
        }
        if (diffs.length && unexpected) failing++;
        row++;
      }
    }
    pairs += n * engine.variants.length;
    i += n;
  }
  return { signatures: [...sigs.values()], cases: count, pairs, failingPairs: failing };
}
