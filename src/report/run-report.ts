/**
 * How runs are shown: the main-job table (one row per function × scenario),
 * a detailed single-run report, and JSON (bigints as "0x…" strings).
 */
import { formatLocation } from '../image/source-map.js';
import type { StopReason } from '../machine/machine.js';
import { DISPLAY_ORDER, GPR_NAMES, RFLAGS, type GprName } from '../support/registers.js';
import { canary } from '../run/plan.js';
import type { RunResult, SeamCallResult } from '../run/run.js';
import type { Scenario } from '../seam/scenario.js';
import { type SeamlabError } from '../errors.js';
import { formatPos } from '../support/source-location.js';
import { hex, hexDump } from '../support/format.js';
import { documentHeader, errorObject, jsonText, type AbiVerdict } from './json-schema.js';
import type { CType, Revision, StructLayout } from '../intake/types.js';
import { provenanceJson } from './revision-report.js';
import { plural, renderTable, wrapCell, type TableColumn } from './table.js';
import type { SequenceResult } from '../run/sequence.js';
import { sequenceRecord, sequencesSummary, sequenceTable } from './sequence-report.js';


const CANARY_OF = new Map<bigint, GprName>(GPR_NAMES.map((r) => [canary(r), r]));

/** A value as the table shows it: hex, or "canary(r10)" for a caller register's leftover. */
export function showValue(v: bigint): string {
  const c = CANARY_OF.get(v);
  return c ? `canary(${c})` : v === 0n ? '0' : hex(v);
}

export function flagsText(rflags: bigint): string {
  const names = (['CF', 'PF', 'AF', 'ZF', 'SF', 'OF', 'DF'] as const).filter((f) => (rflags & RFLAGS[f]) !== 0n);
  return names.length ? names.join(' ') : '-';
}

export function outcomeText(c: SeamCallResult | undefined): string {
  if (!c) return 'no SEAM call';
  const o = c.outcome;
  const note = o.note ? ` (${o.note})` : '';
  switch (o.kind) {
    case 'return': return `${c.statusName ?? hex(o.rax)}${note}`;
    case 'vmfailinvalid': return `VMfailInvalid${note}`;
    case 'vmfailvalid': return `VMfailValid${note}`;
    case 'fault': return `#${o.vector}${note}`;
    case 'interrupted': return `interrupted: re-execute${note}`;
  }
}

export function endText(end: StopReason): string {
  switch (end.kind) {
    case 'returned': return 'returned';
    case 'oops': return `oops: #${end.vectorName} at ${formatLocation(end.location, end.address)}`;
    case 'fault': return `fault: ${end.access} of ${end.size} bytes at ${hex(end.address)} by ${formatLocation(end.location, end.rip)}`;
    case 'runaway': return `runaway: ${end.limit === 'time' ? `over ${end.timeLimitMs} ms` : `over ${end.budget} instructions`}`;
    case 'panic': return `panic: called ${end.stub}${end.caller ? ` from ${formatLocation(end.caller.location, end.caller.address)}` : ''}`;
    case 'handler-error': return `handler error: ${end.message}`;
    case 'stopped': return `stopped (uc_err ${end.ucErr}) at ${formatLocation(end.location, end.rip)}`;
    case 'unmodelled': return `unmodelled instruction ${end.mnemonic} at ${formatLocation(end.location, end.address)} (${end.why})`;
  }
}

export function returnText(r: RunResult): string {
  if (r.returnValue === undefined) return r.expectedOops ? `oops (#${(r.end as { vectorName: string }).vectorName}, no __ex_table entry)` : endText(r.end);
  const via = r.fixups.length ? ' via __ex_table' : '';
  return `${hex(r.returnValue)}${r.returnName ? ` ${r.returnName}` : ''}${via}`;
}

export function outputsText(r: RunResult): string {
  const parts: string[] = [];
  for (const o of r.outputs) {
    const written = o.fields.filter((f) => f.written);
    parts.push(`${o.param}: ${written.length ? written.map((f) => `${f.name}=${showValue(f.value)}`).join(' ') : 'untouched'}`);
  }
  for (const p of r.call.params) if (p.role === 'null') parts.push(`${p.name}: NULL`);
  return parts.join('; ') || '-';
}

export function checksText(r: RunResult): string {
  const failed = r.checks.filter((c) => c.status === 'fail');
  if (failed.length) return `FAIL ${failed.map((c) => c.name).join(',')}`;
  return r.checks.some((c) => c.status === 'n/a') ? 'n/a (no return)' : 'ok';
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** The ABI column: `ok*` when the checks passed but the ABI could not carry some of the scenario's inputs. */
export function abiVerdict(r: RunResult): AbiVerdict {
  if (r.checks.some((c) => c.status === 'fail')) return 'FAIL';
  if (r.checks.some((c) => c.status === 'n/a')) return 'n/a';
  return r.call.unpassable.length ? 'ok*' : 'ok';
}

/** The ABI column's text (`n/a` says why). */
function abiText(r: RunResult): string {
  const v = abiVerdict(r);
  return v === 'FAIL' ? checksText(r) : v === 'n/a' ? 'n/a (no return)' : v;
}

/** A function × scenario pair the job did not run, and why. */
export interface SkippedPair { function: string; scenario: string; reason: string }

/** A source file that did not build: its entry points were not run. */
export interface FailedFile { file: string; functions: string[]; error: SeamlabError }

export interface TableReportOptions {
  /** Fit lines into this many columns (a terminal); undefined = full width. */
  width?: number;
  skipped?: SkippedPair[];
  failed?: FailedFile[];
  /** Sequence runs, shown under their function after its single-call rows. */
  sequences?: SequenceResult[];
}

/** A line wrapped to the width: its own leading spaces kept, continuation lines indented by `indent`. */
function fitLine(text: string, width: number | undefined, indent: string): string[] {
  if (width === undefined) return [text];
  const lead = /^ */.exec(text)![0];
  const lines = wrapCell(text.slice(lead.length), Math.max(8, width - Math.max(lead.length, indent.length)));
  return lines.map((l, k) => (k === 0 ? lead : indent) + l);
}

const TABLE_COLUMNS: TableColumn[] = [
  { header: 'scenario', minWidth: 8 },
  { header: 'leaf', minWidth: 10 },
  { header: 'module answered', minWidth: 12 },
  { header: 'RAX returned', minWidth: 18 },
  { header: 'outputs', minWidth: 14 },
  { header: 'ABI', minWidth: 4 },
];

/** "profile default", or ".config FILE" for a run built from the user's .config. */
function configText(profile: string): string {
  return profile.startsWith('.config ') ? profile : `profile ${profile}`;
}

/** `seamlab scenarios`: name, the sides it has a case for (or the side of its sequence), summary. */
export function formatScenarioList(scenarios: readonly Scenario[], width?: number): string {
  const side = (s: Scenario) => (s.sequence
    ? `${s.sequence.kind === 'seamcall' ? 'host' : 'guest'} sequence`
    : [s.cases.seamcall ? 'host' : '', s.cases.tdcall ? 'guest' : ''].filter(Boolean).join('+'));
  const rows = scenarios.map((s) => [s.name, side(s), s.summary]);
  return renderTable([{ header: 'scenario' }, { header: 'side', minWidth: 10 }, { header: 'summary', minWidth: 20 }], rows, width === undefined ? {} : { width }).join('\n');
}

/** The main-job table: one block per function, footnotes for `ok*` rows, what was skipped or did not build, a summary. */
export function formatTable(results: RunResult[], opts: TableReportOptions = {}): string {
  const { width } = opts;
  const out: string[] = [];
  const byFn = new Map<string, { runs: RunResult[]; sequences: SequenceResult[] }>();
  const block = (x: { revision: string; function: string }) => {
    const k = `${x.revision}\u0000${x.function}`;
    let b = byFn.get(k);
    if (!b) byFn.set(k, b = { runs: [], sequences: [] });
    return b;
  };
  for (const r of results) block(r).runs.push(r);
  for (const s of opts.sequences ?? []) block(s).sequences.push(s);
  for (const { runs: rs, sequences } of byFn.values()) {
    const f = rs[0] ?? sequences[0]!;
    out.push(...fitLine(`${f.revision} ${f.function} — ${f.prototype}  [${f.sourceFile}, ${configText(f.profile)}]`, width, '    '));
    if (rs.length) {
      const rows = rs.map((r) => [r.scenario.name, r.call.leafName ?? hex(r.call.leaf), outcomeText(r.seamCalls[0]), returnText(r), outputsText(r), abiText(r)]);
      out.push(...renderTable(TABLE_COLUMNS, rows, { indent: '  ', ...(width !== undefined ? { width } : {}) }));
    }
    for (const r of rs.filter((x) => abiVerdict(x) === 'ok*')) {
      const regs = r.call.unpassable.map((g) => g.toUpperCase()).join(' ');
      out.push(...fitLine(`  * ${r.scenario.name}: this ABI cannot pass the scenario's ${regs}; the ${r.kind === 'seamcall' ? 'TDX module' : 'VMM'} saw the caller's leftover values there, so those inputs were not tested (--details shows them)`, width, '    '));
    }
    for (const s of sequences) out.push(...sequenceTable(s, (text, indent) => fitLine(text, width, indent), width));
    out.push('');
  }
  out.push(...jobFooter(results, opts));
  return out.join('\n');
}

/** What follows the runs (table or details): the skipped pairs and why, the files that did not build, the summary. */
export function jobFooter(results: RunResult[], opts: TableReportOptions = {}): string[] {
  const { width } = opts;
  const out: string[] = [];
  const skipped = opts.skipped ?? [];
  if (skipped.length) {
    out.push(`skipped (the scenario does not apply): ${plural(skipped.length, 'pair')}`);
    const groups = new Map<string, string[]>();
    for (const s of skipped) {
      const k = `${s.function}\u0000${s.reason}`;
      groups.set(k, [...(groups.get(k) ?? []), s.scenario]);
    }
    for (const [k, scs] of groups) {
      const [fn, reason] = k.split('\u0000') as [string, string];
      out.push(...fitLine(`  ${fn} × ${scs.join(', ')}: ${reason}`, width, '      '));
    }
    out.push('');
  }
  for (const f of opts.failed ?? []) {
    out.push(...fitLine(`not built: ${f.file} (${f.functions.join(', ')} not run): ${f.error.where ? `${formatPos(f.error.where.pos)}: ` : ''}${f.error.message} [${f.error.code}]`, width, '    '));
    out.push(...fitLine(`  hint: ${f.error.hint}`, width, '    '));
  }
  if (opts.failed?.length) out.push('');
  out.push(...fitLine(summaryLine(results, opts.failed, opts.sequences), width, '  '));
  return out;
}

export function summaryLine(results: RunResult[], failed: FailedFile[] = [], sequences: readonly SequenceResult[] = []): string {
  const failedChecks = results.filter((r) => r.checks.some((c) => c.status === 'fail')).length;
  const ends = new Map<string, number>();
  for (const r of results) {
    const k = r.expectedOops ? 'oops (injected fault, no fixup)' : r.end.kind;
    ends.set(k, (ends.get(k) ?? 0) + 1);
  }
  const endList = [...ends.entries()].map(([k, n]) => `${n} ${k}`).join(', ');
  const starred = results.filter((r) => abiVerdict(r) === 'ok*').length;
  const parts: string[] = [];
  if (results.length || !sequences.length) {
    parts.push(`${plural(results.length, 'run')}${results.length ? `: ${endList}` : ''}`);
    parts.push(`ABI checks ${failedChecks ? `FAILED in ${plural(failedChecks, 'run')}` : results.length ? 'passed in every run that returned' : 'not run'}`);
  }
  if (starred) parts.push(`${plural(starred, 'run')} ok* (inputs the ABI could not carry)`);
  const seq = sequencesSummary(sequences);
  if (seq) parts.push(seq);
  if (failed.length) parts.push(`${plural(failed.length, 'file')} did not build`);
  return parts.join('; ');
}

const REG_ORDER = DISPLAY_ORDER;

/** Everything about one run, for `seamlab run … --fn X --scenario Y`. */
export function formatDetails(r: RunResult): string {
  const out: string[] = [];
  out.push(`${r.revision} ${r.function} × ${r.scenario.name} (${r.scenario.summary})`);
  out.push(`  prototype   ${r.prototype}`);
  out.push(`  source      ${r.sourceFile}, ${configText(r.profile)}`);
  out.push(`  environment VMX ${r.env.vmx ? 'on' : 'off'}, SEAMRR ${r.env.seamrr ? 'enabled' : 'disabled'}, CPL ${r.env.cpl}, ${r.env.inTd ? 'inside a TD' : 'host'}, LP ${r.env.lp}; handler ${r.handler}`);
  out.push(`  call        ${r.call.leafName ?? '?'} (RAX ${hex(r.call.leaf)})`);
  for (const p of r.call.params) {
    const what = p.role === 'leaf' ? 'leaf → RAX' : p.role === 'register' ? `→ ${p.carries?.toUpperCase()}` : p.role === 'struct' ? `struct ${p.struct!.layout.name} (in/out)` : p.role === 'output-struct' ? `struct ${p.struct!.layout.name} (output)` : p.note ?? p.role;
    out.push(`    ${pad(p.name, 6)} ${pad(p.register.toUpperCase(), 4)} ${pad(showValue(p.value), 20)} ${what}`);
  }
  if (r.call.unpassable.length) out.push(`    not passable by this ABI (caller's value reaches the module): ${r.call.unpassable.join(' ')}`);
  for (const c of r.seamCalls) {
    out.push(`  ${c.kind.toUpperCase()} #${c.index} at ${formatLocation(c.location, c.address)}`);
    out.push(`    in : ${REG_ORDER.filter((g) => g !== 'rsp').map((g) => `${g}=${showValue(c.regsIn[g])}`).join(' ')}; flags ${flagsText(c.rflagsIn)}`);
    out.push(`    answer: ${outcomeText(c)}`);
    if (c.path === 'exception-table') {
      const fx = r.fixups[0];
      out.push(`    exception table: #${c.outcome.kind === 'fault' ? c.outcome.vector : '?'} at ${hex(c.address)} → fixup ${fx ? hex(fx.fixup) : '?'} with RAX = trap number (ex_handler_fault)`);
      if (fx?.fixupLocation) out.push(`    fixup: ${formatLocation(fx.fixupLocation)}`);
    } else if (c.path === 'oops') {
      out.push('    no exception-table entry: the kernel would oops here');
    }
    const changed = REG_ORDER.filter((g) => c.regsOut[g] !== c.regsIn[g]);
    out.push(`    out: ${changed.length ? changed.map((g) => `${g}=${showValue(c.regsOut[g])}`).join(' ') : 'no register changed'}; flags ${flagsText(c.rflagsOut)}; rip → ${hex(c.ripOut)}`);
    for (const w of c.memWrites) {
      out.push(`    handler wrote ${w.length} bytes of physical memory at ${hex(w.address)}:`);
      for (const l of hexDump(w.bytes)) out.push(`      ${l}`);
    }
  }
  out.push(`  end         ${endText(r.end)}${r.expectedOops ? ' (the scenario injected this fault)' : ''}`);
  if (r.end.kind === 'runaway') for (const t of r.end.last) out.push(`    ${formatLocation(t.location, t.address)}`);
  if (r.returnValue !== undefined) out.push(`  returned    ${returnText(r)}`);
  for (const o of r.outputs) {
    out.push(`  *${o.param} (struct ${o.struct} at ${hex(o.address)}):`);
    for (const f of o.fields) out.push(`    ${pad(f.name, 4)} @${pad(String(f.offset), 3)} ${pad(showValue(f.value), 22)} ${f.written ? 'written' : 'not written'}`);
  }
  if (r.end.kind === 'returned') {
    out.push(`  registers   ${REG_ORDER.map((g) => `${g}=${showValue(r.registersOut[g])}`).join(' ')}`);
  }
  out.push(`  ABI checks`);
  for (const c of r.checks) out.push(`    ${pad(c.status, 5)} ${pad(c.name, 14)} ${c.detail}`);
  out.push(`  ${r.instructions} instructions; ${r.ok ? 'ok' : 'NOT OK'}`);
  return out.join('\n');
}

/** JSON text with bigints as "0x…" strings (kept for callers of the earlier name; see jsonText). */
export const toJson = jsonText;

/** A C type for JSON: nested struct layouts become references by name (the layouts are listed once). */
function typeRef(t: CType, into: Map<string, unknown>): unknown {
  switch (t.kind) {
    case 'struct':
      addLayout(t.layout, into);
      return { kind: 'struct', name: t.layout.name };
    case 'pointer':
      return { kind: 'pointer', spelled: t.spelled, to: typeRef(t.to, into) };
    case 'array':
      return { kind: 'array', length: t.length, of: typeRef(t.of, into) };
    default:
      return t;
  }
}

function addLayout(l: StructLayout, into: Map<string, unknown>): void {
  if (into.has(l.name)) return;
  into.set(l.name, null); // reserve: a struct may point to itself
  into.set(l.name, {
    name: l.name, size: l.size, align: l.align, ...(l.isUnion ? { isUnion: true } : {}), definedAt: l.definedAt,
    fields: l.fields.map((f) => ({ name: f.name, offset: f.offset, size: f.size, type: typeRef(f.type, into) })),
  });
}

/** One run for JSON: the revision is given once per document and struct layouts by name. */
export function runRecord(r: RunResult, structs: Map<string, unknown>): Record<string, unknown> {
  const { revision: _revision, call, ...rest } = r;
  const params = call.params.map((p) => {
    if (!p.struct) return p;
    addLayout(p.struct.layout, structs);
    const { layout, ...placement } = p.struct;
    return { ...p, struct: { name: layout.name, ...placement } };
  });
  return { ...rest, call: { ...call, params }, abi: abiVerdict(r), inputsNotCarried: [...call.unpassable] };
}

export interface RunDocumentInput {
  revision: Revision;
  profile: string;
  config?: string;
  results: RunResult[];
  /** Sequence runs (each call a run record). */
  sequences?: SequenceResult[];
  skipped: SkippedPair[];
  failed: FailedFile[];
  /** The job's exit status says it failed (an ABI check, a bad end, a sequence step, or with --strict any oops). */
  jobFailed: boolean;
}

/** `seamlab run --json`: provenance and struct layouts once, then one record per run. */
export function runDocument(d: RunDocumentInput): Record<string, unknown> {
  const structs = new Map<string, unknown>();
  const runs = d.results.map((r) => runRecord(r, structs));
  const sequences = (d.sequences ?? []).map((s) => sequenceRecord(s, (r) => runRecord(r, structs)));
  const ends: Record<string, number> = {};
  for (const r of d.results) {
    const k = r.expectedOops ? 'oops (injected fault, no fixup)' : r.end.kind;
    ends[k] = (ends[k] ?? 0) + 1;
  }
  return {
    ...documentHeader('run'),
    revision: { name: d.revision.name, provenance: provenanceJson(d.revision.provenance) },
    profile: d.profile,
    ...(d.config !== undefined ? { config: d.config } : {}),
    structs: Object.fromEntries([...structs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    runs,
    sequences,
    skipped: d.skipped,
    failed: d.failed.map((f) => ({ file: f.file, functions: f.functions, error: errorObject(f.error) })),
    summary: { runs: d.results.length, sequences: sequences.length, failed: d.jobFailed, ends },
  };
}
