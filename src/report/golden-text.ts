/**
 * How a golden check reads: one line per golden, and for a mismatch the
 * first divergence — step and field, expected vs actual, the source line and
 * macro expansion there, and the steps just before it — which is also the
 * message of the `toMatchGoldenTrace` matcher.
 */
import type { TraceComparison } from '../trace/compare.js';
import type { Trace } from '../trace/format.js';
import { columnsFor, renderStep, type TextStyle } from './trace-text.js';

const CONTEXT_STEPS = 3;

function show(v: unknown): string {
  return v === undefined ? '(absent)' : JSON.stringify(v);
}

/** The first-divergence report of `actual` against `expected` (empty when they agree). */
export function renderDivergence(expected: Trace, actual: Trace, cmp: TraceComparison, style: TextStyle): string[] {
  const out: string[] = [];
  for (const h of cmp.headerChanges) out.push(`  ${h.field} differs: expected ${show(h.expected)}, actual ${show(h.actual)}`);
  const d = cmp.divergence;
  if (d) {
    if (d.where === 'summary') {
      out.push(`  the steps agree; the summary differs in ${d.field}:`, `    expected: ${show(d.expected)}`, `    actual:   ${show(d.actual)}`);
    } else {
      const at = d.step;
      if (d.where === 'length') {
        out.push(`  first divergence at step ${at}: expected ${d.expectedSteps} steps, actual ${d.actualSteps}`);
      } else {
        out.push(`  first divergence at step ${at}, field ${d.field}:`, `    expected: ${show(d.expected)}`, `    actual:   ${show(d.actual)}`);
      }
      if (cmp.layoutFrom && cmp.layoutFrom.step < at) out.push(`  (the code layout differs from step ${cmp.layoutFrom.step} on: ${cmp.layoutFrom.field} — instructions moved; behaviour agrees until step ${at})`);
      const here = actual.steps[at] ?? expected.steps[at];
      if (here?.src) out.push(`  at ${here.src}${here.stmt ? `: ${here.stmt}` : ''}${(here.macros ?? []).map((m) => `\n    in ${m}`).join('')}`);
      const cols = columnsFor(actual.steps);
      const from = Math.max(0, at - CONTEXT_STEPS);
      if (at > 0 || actual.steps[at]) out.push('  actual steps up to it:');
      for (let i = from; i <= at && i < actual.steps.length; i++) {
        out.push(...renderStep(actual.steps[i]!, cols, style).map((l, k) => `${k === 0 && i === at ? '  > ' : '    '}${l}`));
      }
    }
  }
  if (cmp.imageChanged && (d || cmp.headerChanges.length)) out.push('  the linked image differs too (its hash)');
  if (cmp.sourceChanges.length) {
    out.push(`  ${cmp.sourceChanges.length} input file(s) differ from the recording (by git blob id):`);
    for (const c of cmp.sourceChanges.slice(0, 8)) out.push(`    ${c.path}: ${c.expected?.slice(0, 12) ?? '(not read)'} → ${c.actual?.slice(0, 12) ?? '(not read)'}`);
    if (cmp.sourceChanges.length > 8) out.push(`    … ${cmp.sourceChanges.length - 8} more`);
  }
  return out;
}
