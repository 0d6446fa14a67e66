/**
 * Comparing two traces of the same call: where they first differ (step and
 * field, expected vs actual), and whether the source they were recorded
 * from differs (input files by git blob id). Behaviour is the steps and the
 * summary; the header's informative fields (seamlab version, Debian upload)
 * never count as a difference.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Trace, TraceHeader, TraceStep, TraceSummary } from './format.js';

/**
 * What a step did, in the order a divergence is looked for: the source
 * construct it ran and its effects. Where the code sits (address, encoding,
 * branch targets in the disassembly) is layout: one inserted or removed
 * instruction moves everything after it, so layout differences are reported
 * separately and decide only when behaviour agrees everywhere.
 */
const BEHAVIOUR_FIELDS = ['src', 'stmt', 'macros', 'regs', 'flags', 'mem', 'seam', 'fault'] as const satisfies readonly (keyof TraceStep)[];
const LAYOUT_FIELDS = ['rip', 'sym', 'bytes', 'asm'] as const satisfies readonly (keyof TraceStep)[];
const SUMMARY_FIELDS = ['end', 'instructions', 'returnValue', 'returnName', 'outputs', 'checks', 'ok'] as const satisfies readonly (keyof TraceSummary)[];

export type Divergence =
  | { where: 'step'; step: number; field: string; expected: unknown; actual: unknown }
  /** One trace has steps the other lacks. */
  | { where: 'length'; step: number; expectedSteps: number; actualSteps: number }
  | { where: 'summary'; field: string; expected: unknown; actual: unknown };

export interface SourceChange {
  path: string;
  expected?: string;
  actual?: string;
}

export interface TraceComparison {
  /** The first difference: in behaviour if there is one, else in layout. */
  divergence?: Divergence;
  /** The first step whose code layout (address, bytes, disassembly) differs, when it comes before `divergence`. */
  layoutFrom?: { step: number; field: string };
  /** Input files whose blob ids differ (or that one side read and the other did not). */
  sourceChanges: SourceChange[];
  /** Header facts that describe the call and differ (function, profile, scenario, entry registers, labels). */
  headerChanges: { field: string; expected: unknown; actual: unknown }[];
  /** The linked image differs (informative: code the run did not reach may have changed). */
  imageChanged: boolean;
}

export function compareTraces(expected: Trace, actual: Trace): TraceComparison {
  return {
    ...firstDivergence(expected, actual),
    sourceChanges: sourceChanges(expected.header, actual.header),
    headerChanges: headerChanges(expected.header, actual.header),
    imageChanged: expected.header.image.hash !== actual.header.image.hash,
  };
}

function firstDivergence(e: Trace, a: Trace): Pick<TraceComparison, 'divergence' | 'layoutFrom'> {
  const n = Math.min(e.steps.length, a.steps.length);
  let layout: { step: number; field: (typeof LAYOUT_FIELDS)[number] } | undefined;
  const withLayout = (d: Divergence) => ({ divergence: d, ...(layout && layout.step <= (d.where === 'summary' ? n : d.step) ? { layoutFrom: layout } : {}) });
  for (let i = 0; i < n; i++) {
    const es = e.steps[i]!;
    const as = a.steps[i]!;
    for (const f of BEHAVIOUR_FIELDS) {
      if (!isDeepStrictEqual(es[f], as[f])) return withLayout({ where: 'step', step: i, field: f, expected: es[f], actual: as[f] });
    }
    if (!layout) {
      const f = LAYOUT_FIELDS.find((k) => !isDeepStrictEqual(es[k], as[k]));
      if (f) layout = { step: i, field: f };
    }
  }
  if (e.steps.length !== a.steps.length) return withLayout({ where: 'length', step: n, expectedSteps: e.steps.length, actualSteps: a.steps.length });
  for (const f of SUMMARY_FIELDS) {
    if (!isDeepStrictEqual(e.summary[f], a.summary[f])) return withLayout({ where: 'summary', field: f, expected: e.summary[f], actual: a.summary[f] });
  }
  if (layout) {
    const f = layout.field;
    return { divergence: { where: 'step', step: layout.step, field: f, expected: e.steps[layout.step]![f], actual: a.steps[layout.step]![f] } };
  }
  return {};
}

export function sourceChanges(e: TraceHeader, a: TraceHeader): SourceChange[] {
  const before = new Map(e.revision.inputs.map((i) => [i.path, i.blob]));
  const after = new Map(a.revision.inputs.map((i) => [i.path, i.blob]));
  const out: SourceChange[] = [];
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const x = before.get(path);
    const y = after.get(path);
    if (x !== y) out.push({ path, ...(x ? { expected: x } : {}), ...(y ? { actual: y } : {}) });
  }
  return out;
}

function headerChanges(e: TraceHeader, a: TraceHeader): TraceComparison['headerChanges'] {
  const pick = (h: TraceHeader) => ({
    function: h.function, sourceFile: h.sourceFile, profile: h.profile, prototype: h.prototype,
    scenario: h.scenario, entry: h.entry, labels: h.labels, executor: h.executor,
  });
  const pe = pick(e);
  const pa = pick(a);
  return (Object.keys(pe) as (keyof typeof pe)[])
    .filter((k) => !isDeepStrictEqual(pe[k], pa[k]))
    .map((k) => ({ field: k, expected: pe[k], actual: pa[k] }));
}
