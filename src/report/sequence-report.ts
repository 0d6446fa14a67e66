/**
 * How sequence runs are shown: a block under the function in the run table
 * (one row per step — a step repeated by `repeat` is one row with its call
 * count — and footnotes for expectations the entry point cannot show its
 * caller), the detailed view (every step, its first and last call, the
 * bytes the SEAM side wrote), the summary's part, and JSON records.
 */
import { hex, hexDump } from '../support/format.js';
import type { RunResult } from '../run/run.js';
import { statusText, type ExpectCheck, type SequenceResult, type SequenceStepResult } from '../run/sequence.js';
import { GUEST_ENV, HOST_ENV, type CpuEnv, type SeamKind } from '../seam/types.js';
import { plural, renderTable, type TableColumn } from './table.js';
import { abiVerdict, outputsText, returnText } from './run-report.js';

const STEP_COLUMNS: TableColumn[] = [
  { header: 'step', minWidth: 4 },
  // The longest leaf names (TDH.SYS.KEY.CONFIG) stay whole.
  { header: 'leaf', minWidth: 18 },
  { header: 'LP', minWidth: 2 },
  { header: 'calls', minWidth: 5 },
  { header: 'returned', minWidth: 11 },
  { header: 'expected', minWidth: 12 },
  { header: 'ABI', minWidth: 4 },
];

/** The step's leaf as a cell: name (or hex), its label, and environment settings other than the LP that differ from the side's default. */
function leafCell(s: SequenceStepResult, kind: SeamKind): string {
  const env = envChanges(s.env, kind);
  return `${s.leafName ?? hex(s.leaf)}${s.label ? ` (${s.label})` : ''}${env ? ` [${env}]` : ''}`;
}

/** "VMX off, CPL 3": what differs from the side's default environment, LP aside. */
export function envChanges(env: CpuEnv, kind: SeamKind): string {
  const base = kind === 'seamcall' ? HOST_ENV : GUEST_ENV;
  const parts: string[] = [];
  if (env.vmx !== base.vmx) parts.push(`VMX ${env.vmx ? 'on' : 'off'}`);
  if (env.seamrr !== base.seamrr) parts.push(`SEAMRR ${env.seamrr ? 'on' : 'off'}`);
  if (env.cpl !== base.cpl) parts.push(`CPL ${env.cpl}`);
  if (env.inTd !== base.inTd) parts.push(env.inTd ? 'inside a TD' : 'outside a TD');
  return parts.join(', ');
}

function valueText(v: bigint | string | undefined, what: string, kind: SeamKind, leaf: bigint): string {
  if (v === undefined) return 'no return';
  if (typeof v === 'string') return v;
  return what === 'status' ? statusText(v, kind, leaf) : hex(v);
}

/** One expectation as the table says it: `status`, `r8=0x40`, `repeat`. */
function checkName(c: ExpectCheck, kind: SeamKind, leaf: bigint): string {
  if (c.what.startsWith('outputs.')) return `${c.what.slice(8)}=${valueText(c.expected, c.what, kind, leaf)}`;
  return c.what;
}

/** The `expected` cell: `ok (status, r8=0x40)`, or what failed (with what was expected) and what could not be seen. */
export function expectedCell(s: SequenceStepResult, kind: SeamKind): string {
  if (s.checks.length === 0) return '-';
  const passed = s.checks.filter((c) => c.status === 'pass');
  if (passed.length === s.checks.length) return `ok (${passed.map((c) => checkName(c, kind, s.leaf)).join(', ')})`;
  const parts: string[] = [];
  // What was returned is in its own column; a failure says what was expected instead.
  for (const c of s.checks.filter((x) => x.status === 'fail')) {
    const exp = valueText(c.expected, c.what, kind, s.leaf);
    if (c.what === 'repeat') parts.push(`FAIL repeat: ${c.detail ?? ''}`);
    else if (c.what.startsWith('outputs.') && c.actual !== undefined) parts.push(`FAIL ${c.what.slice(8)}=${valueText(c.actual, c.what, kind, s.leaf)}, expected ${exp}`);
    else if (c.what.startsWith('outputs.')) parts.push(`FAIL ${c.what.slice(8)}: expected ${exp}`);
    else parts.push(`FAIL ${c.what}: expected ${exp}`);
  }
  const na = s.checks.filter((c) => c.status === 'n/a');
  if (na.length) parts.push(`n/a* ${na.map((c) => (c.what.startsWith('outputs.') ? c.what.slice(8) : c.what)).join(', ')}`);
  if (passed.length) parts.push(`${passed.map((c) => checkName(c, kind, s.leaf)).join(', ')} ok`);
  return parts.join('; ');
}

/** The ABI verdict over a step's calls: the worst of them. */
function abiCell(s: SequenceStepResult): string {
  const calls = s.calls;
  const failed = calls.find((c) => c.checks.some((x) => x.status === 'fail'));
  if (failed) return `FAIL ${failed.checks.filter((x) => x.status === 'fail').map((x) => x.name).join(',')}`;
  if (calls.some((c) => c.checks.some((x) => x.status === 'n/a'))) return 'n/a (no return)';
  return calls.some((c) => c.call.unpassable.length) ? 'ok*' : 'ok';
}

/** What the last call returned, as the step row shows it: the status's name (hex when it has none), or how the call ended. */
function returnedCell(r: RunResult): string {
  if (r.returnValue === undefined) return r.end.kind === 'oops' ? `oops (#${r.end.vectorName})` : r.end.kind;
  return `${statusText(r.returnValue, r.kind, r.call.leaf)}${r.fixups.length ? ' via __ex_table' : ''}`;
}

/** One line about the whole sequence: its size and verdict. */
export function sequenceHeadline(s: SequenceResult): string {
  const failedAt = s.steps.find((x) => !x.ok);
  const verdict = s.ok
    ? 'every step as expected'
    : failedAt ? `step ${failedAt.index + 1} FAILED` : 'FAILED';
  const stopped = s.notRun ? `; stopped after step ${s.steps.length} (${s.steps[s.steps.length - 1]!.calls.at(-1)!.end.kind}), ${plural(s.notRun, 'step')} not run` : '';
  return `${s.scenario.name} (sequence): ${plural(s.steps.length + s.notRun, 'step')}, ${plural(s.calls, 'call')} against one ${s.handler} state; ${verdict}${stopped}`;
}

/**
 * Footnotes for what steps could not check, one per reason with the steps
 * it applies to: `steps 6, 7: __seamcall does not return R8 to its caller: not checked`.
 */
function naNotes(s: SequenceResult): string[] {
  const byReason = new Map<string, number[]>();
  for (const st of s.steps) {
    const na = st.checks.filter((c) => c.status === 'n/a');
    if (!na.length) continue;
    // The repeat's reason says the most (it names the output too); else the outputs' reasons.
    const repeat = na.find((c) => c.what === 'repeat');
    const why = repeat?.detail ?? [...new Set(na.map((c) => c.detail ?? c.what))].join('; ');
    byReason.set(why, [...(byReason.get(why) ?? []), st.index + 1]);
  }
  return [...byReason].map(([why, steps]) => `* ${s.scenario.name} ${steps.length === 1 ? 'step' : 'steps'} ${steps.join(', ')}: ${why}; not checked`);
}

/** The block under a function in the run table. */
export function sequenceTable(s: SequenceResult, fit: (text: string, indent: string) => string[], width?: number): string[] {
  const out = fit(`  ${sequenceHeadline(s)}`, '      ');
  const rows = s.steps.map((st) => [String(st.index + 1), leafCell(st, s.kind), String(st.env.lp), String(st.calls.length), returnedCell(st.calls[st.calls.length - 1]!), expectedCell(st, s.kind), abiCell(st)]);
  out.push(...renderTable(STEP_COLUMNS, rows, { indent: '    ', ...(width !== undefined ? { width } : {}) }));
  for (const n of naNotes(s)) out.push(...fit(`    ${n}`, '      '));
  return out;
}

/** The sequences' part of the summary line, or undefined when there are none. */
export function sequencesSummary(seqs: readonly SequenceResult[]): string | undefined {
  if (seqs.length === 0) return undefined;
  const calls = seqs.reduce((n, s) => n + s.calls, 0);
  const failed = seqs.filter((s) => !s.ok).length;
  const na = seqs.filter((s) => s.steps.some((st) => st.checks.some((c) => c.status === 'n/a'))).length;
  return `${plural(seqs.length, 'sequence')} (${plural(calls, 'call')}): ${failed ? `${failed} FAILED` : 'every step as expected'}${na ? `; ${na} with expectations the entry point cannot show (*)` : ''}`;
}

function callLine(r: RunResult, n: number): string[] {
  const c = r.seamCalls[r.seamCalls.length - 1];
  const answered = c ? (c.outcome.kind === 'return' ? c.statusName ?? hex(c.outcome.rax) : c.outcome.kind === 'fault' ? `#${c.outcome.vector}` : c.outcome.kind) : 'no SEAM call';
  const verdict = abiVerdict(r);
  const abi = verdict === 'FAIL' ? `FAIL ${r.checks.filter((x) => x.status === 'fail').map((x) => x.name).join(',')}` : verdict;
  const lines = [`    call ${n}: module answered ${answered}; returned ${returnText(r)}; ${outputsText(r)}; ABI ${abi}; ${r.instructions} instructions`];
  for (const sc of r.seamCalls) {
    for (const w of sc.memWrites) {
      lines.push(`      the SEAM side wrote ${w.length} bytes of physical memory at ${hex(w.address)}:`);
      for (const l of hexDump(w.bytes)) lines.push(`        ${l}`);
    }
  }
  return lines;
}

/** `    FAIL  status: expected TDX_SUCCESS, got TDX_SYS_LP_INIT_NOT_PENDING`. */
function checkLine(c: ExpectCheck, step: SequenceStepResult, kind: SeamKind): string {
  const what = c.what.startsWith('outputs.') ? c.what.slice(8).toUpperCase() : c.what;
  const val = (v: bigint | string | undefined) => valueText(v, c.what, kind, step.leaf);
  const r = step.repeat;
  const exp = c.what === 'repeat' && r ? `called again while ${r.while.toUpperCase()} < ${val(r.below)} (at most ${r.max} calls)` : `expected ${val(c.expected)}`;
  const act = c.actual !== undefined ? `, got ${val(c.actual)}` : '';
  return `    ${(c.status === 'pass' ? 'ok' : c.status === 'fail' ? 'FAIL' : c.status).padEnd(5)} ${what}: ${exp}${act}${c.detail ? ` (${c.detail})` : ''}`;
}

/** Everything about one sequence run, for `seamlab run … --details`: each step's first and last call, its expectations. */
export function formatSequenceDetails(s: SequenceResult): string {
  const out: string[] = [];
  out.push(`${s.revision} ${s.function} × ${s.scenario.name} (${s.scenario.summary})`);
  out.push(`  prototype   ${s.prototype}`);
  out.push(`  source      ${s.sourceFile}, ${s.profile.startsWith('.config ') ? s.profile : `profile ${s.profile}`}`);
  out.push(`  handler     ${s.handler}: one state for every call`);
  for (const st of s.steps) {
    const env = envChanges(st.env, s.kind);
    out.push(`  step ${st.index + 1}: ${st.leafName ?? hex(st.leaf)}${st.label ? ` (${st.label})` : ''} on LP ${st.env.lp}${env ? `, ${env}` : ''} — ${plural(st.calls.length, 'call')}`);
    const shown = st.calls.length <= 2 ? st.calls.map((c, i) => [c, i] as const) : [[st.calls[0]!, 0] as const, [st.calls[st.calls.length - 1]!, st.calls.length - 1] as const];
    shown.forEach(([c, i], k) => {
      if (k === 1 && st.calls.length > 2) out.push(`    … calls 2–${st.calls.length - 1} not shown (--json has every call)`);
      out.push(...callLine(c, i + 1));
    });
    for (const c of st.checks) out.push(checkLine(c, st, s.kind));
  }
  if (s.notRun) out.push(`  ${plural(s.notRun, 'step')} not run: the last call did not return (${s.steps[s.steps.length - 1]!.calls.at(-1)!.end.kind})`);
  out.push(`  ${plural(s.steps.length, 'step')}, ${plural(s.calls, 'call')}; ${s.ok ? 'ok' : 'NOT OK'}`);
  return out.join('\n');
}

/** One sequence for JSON: every call as a run record (struct layouts by name, given once per document). */
export function sequenceRecord(s: SequenceResult, runRecord: (r: RunResult) => Record<string, unknown>): Record<string, unknown> {
  const { revision: _revision, steps, ...rest } = s;
  return { ...rest, steps: steps.map((st) => ({ ...st, calls: st.calls.map(runRecord) })) };
}
