/**
 * How runs are shown: the main-job table (one row per function × scenario),
 * a detailed single-run report, and JSON (bigints as "0x…" strings).
 */
import { formatLocation } from '../machine/source-map.js';
import type { StopReason } from '../machine/machine.js';
import { DISPLAY_ORDER, GPR_NAMES, RFLAGS, type GprName } from '../support/registers.js';
import { canary } from '../run/harness.js';
import type { RunResult, SeamCallResult } from '../run/run.js';
import { hex } from '../support/format.js';


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

/** The main-job table, one block per function. */
export function formatTable(results: RunResult[]): string {
  const out: string[] = [];
  const byFn = new Map<string, RunResult[]>();
  for (const r of results) {
    const k = `${r.revision}\u0000${r.function}`;
    byFn.set(k, [...(byFn.get(k) ?? []), r]);
  }
  for (const rs of byFn.values()) {
    const f = rs[0]!;
    out.push(`${f.revision} ${f.function} — ${f.prototype}  [${f.sourceFile}, profile ${f.profile}]`);
    const rows = rs.map((r) => [r.scenario.name, r.call.leafName ?? hex(r.call.leaf), outcomeText(r.seamCalls[0]), returnText(r), outputsText(r), checksText(r)]);
    const head = ['scenario', 'leaf', 'module answered', 'RAX returned', 'outputs', 'ABI'];
    const widths = head.map((h, i) => Math.min(i === 4 ? 200 : 60, Math.max(h.length, ...rows.map((row) => row[i]!.length))));
    const line = (cells: string[]) => '  ' + cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]!))).join('  ').trimEnd();
    out.push(line(head));
    for (const row of rows) out.push(line(row));
    out.push('');
  }
  out.push(summaryLine(results));
  return out.join('\n');
}

export function summaryLine(results: RunResult[]): string {
  const failedChecks = results.filter((r) => r.checks.some((c) => c.status === 'fail')).length;
  const ends = new Map<string, number>();
  for (const r of results) {
    const k = r.expectedOops ? 'oops (injected fault, no fixup)' : r.end.kind;
    ends.set(k, (ends.get(k) ?? 0) + 1);
  }
  const endList = [...ends.entries()].map(([k, n]) => `${n} ${k}`).join(', ');
  return `${results.length} runs: ${endList}; ABI checks ${failedChecks ? `FAILED in ${failedChecks} runs` : 'passed in every run that returned'}`;
}

const REG_ORDER = DISPLAY_ORDER;

/** Everything about one run, for `seamlab run … --fn X --scenario Y`. */
export function formatDetails(r: RunResult): string {
  const out: string[] = [];
  out.push(`${r.revision} ${r.function} × ${r.scenario.name} (${r.scenario.summary})`);
  out.push(`  prototype   ${r.prototype}`);
  out.push(`  source      ${r.sourceFile}, profile ${r.profile}`);
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
    for (const w of c.memWrites) out.push(`    handler wrote ${w.length} bytes of physical memory at ${hex(w.address)}`);
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

/** JSON.stringify with bigints as "0x…" strings and handler errors as messages. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (k, v) => {
    if (typeof v === 'bigint') return hex(v);
    if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
    if (k === 'error' && v instanceof Error) return v.message;
    return v;
  }, 2);
}
