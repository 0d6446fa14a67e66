/**
 * One side of a pair running one scenario in single mode (every store
 * recorded, register origins tracked): its observations as a `RunView`, and
 * for each observation the source lines responsible for it — the SEAM call
 * site, the instruction that last wrote a register before the call or
 * before return, the store into an output field, the faulting instruction.
 */
import { EXCEPTION_NAMES } from '../machine/machine.js';
import type { AddressLocation, SourceMap } from '../image/source-map.js';
import { prepareRun, type RunResult } from '../run/run.js';
import type { OriginTracker, RegisterProvenances } from '../run/origins.js';
import type { Scenario } from '../seam/scenario.js';
import type { Outcome } from '../seam/types.js';
import { hexU64 } from '../support/format.js';
import { GPR_NAMES, isGprName, type GprName } from '../support/registers.js';
import type { StoreRecord } from '../machine/run-types.js';
import type { CallPlan } from '../run/plan.js';
import type { DiffSide } from './pairing.js';
import { endInfo, SLOT_OF, type EndInfo, type LogicalInputs, type RunView } from './observe.js';

/** A source line that explains one side's value. */
export interface SourceEvidence {
  address: string;
  symbol?: string;
  file: string;
  line: number;
  /** The statement as assembled. */
  text: string;
  /** GAS macro expansions, innermost first ("TDX_MODULE_CALL at arch/x86/virt/vmx/tdx/seamcall.S:41"). */
  macros: string[];
}

export interface SideEvidence {
  lines: SourceEvidence[];
  note?: string;
}

export function evidenceOf(loc: AddressLocation | undefined, address: bigint): SourceEvidence | undefined {
  if (!loc) return undefined;
  return {
    address: hexU64(address), ...(loc.symbol ? { symbol: loc.symbol } : {}),
    file: loc.location.pos.file, line: loc.location.pos.line, text: loc.text,
    macros: loc.location.gasStack.filter((f) => f.kind === 'macro').map((f) => `${f.name} at ${f.invokedAt.file}:${f.invokedAt.line}`),
  };
}

interface OutputField { written: boolean; value: bigint; address: bigint; size: number }

/** A finished single-mode run of one side, read as observations. */
export class SingleView implements RunView {
  readonly end: EndInfo;
  readonly calls: number;
  readonly returnValue: bigint | undefined;
  readonly pointers: readonly (readonly [bigint, bigint])[];
  private readonly outputs = new Map<number, OutputField>();
  private readonly unpassable: Set<string>;

  constructor(
    readonly result: RunResult, readonly plan: CallPlan, private readonly stores: readonly StoreRecord[],
    private readonly origins: OriginTracker | undefined, private readonly side: DiffSide, private readonly map: SourceMap,
  ) {
    const r = result;
    const fx = r.fixups[0];
    this.end = endInfo(r.end.kind, {
      ...(r.end.kind === 'oops' ? { vector: r.end.vectorName } : {}),
      ...(r.end.kind === 'fault' ? { access: r.end.access } : {}),
      ...(r.end.kind === 'panic' ? { stub: r.end.stub } : {}),
      ...(r.end.kind === 'returned' && fx ? { fixupVector: EXCEPTION_NAMES[fx.vector] ?? String(fx.vector) } : {}),
    });
    this.calls = r.seamCalls.length;
    this.returnValue = r.returnValue;
    this.pointers = plan.params.filter((p) => p.struct).map((p) => [p.struct!.address, p.struct!.address + BigInt(p.struct!.layout.size)] as const);
    for (const o of r.outputs) {
      for (const f of o.fields) {
        if (!isGprName(f.name) || this.outputs.has(SLOT_OF[f.name])) continue;
        this.outputs.set(SLOT_OF[f.name], { written: f.written, value: f.value, address: o.address + BigInt(f.offset), size: f.size });
      }
    }
    this.unpassable = new Set(r.call.unpassable);
  }

  regIn(call: number, slot: number): bigint {
    return this.result.seamCalls[call]!.regsIn[GPR_NAMES[slot]!];
  }

  regAfterCall(call: number, slot: number): bigint {
    return this.result.seamCalls[call]!.regsOut[GPR_NAMES[slot]!];
  }

  seamWrote(value: bigint, slot: number): boolean {
    return seamWroteIn(this.result.seamCalls.map((c) => c.outcome), value, slot);
  }

  outputPresent(slot: number): boolean {
    return this.outputs.has(slot);
  }

  outputWritten(slot: number): boolean {
    return this.outputs.get(slot)?.written ?? false;
  }

  outputValue(slot: number): bigint {
    return this.outputs.get(slot)?.value ?? 0n;
  }

  regOut(slot: number): bigint {
    return this.result.registersOut[GPR_NAMES[slot]!];
  }

  calleeSaved(): string {
    const c = this.result.checks.find((x) => x.name === 'callee-saved');
    if (c?.status !== 'fail') return '';
    return (['rbx', 'rbp', 'r12', 'r13', 'r14', 'r15'] as const).filter((g) => this.result.registersOut[g] !== this.plan.initialRegs[g]).join(' ');
  }

  stack(): string {
    const rsp = this.result.checks.find((x) => x.name === 'rsp');
    const df = this.result.checks.find((x) => x.name === 'df');
    const bad = [rsp?.status === 'fail' ? `RSP off by ${this.result.registersOut.rsp - (this.plan.entryRsp + 8n)}` : '', df?.status === 'fail' ? 'DF set' : ''].filter(Boolean);
    return bad.length ? bad.join(', ') : 'balanced';
  }

  memory(): string {
    const bad = this.result.checks.filter((x) => (x.name === 'stack-writes' || x.name === 'memory-writes') && x.status === 'fail').map((x) => x.name === 'stack-writes' ? 'stores into the caller frame' : 'stores outside the stack and the structs passed');
    return bad.length ? bad.join(', ') : 'clean';
  }

  notPassable(slot: number): boolean {
    return this.unpassable.has(GPR_NAMES[slot]!);
  }

  /** The source lines that explain this side's value of an observation. */
  evidence(kind: string, call = 0): SideEvidence {
    const at = (address: bigint) => evidenceOf(this.locate(address), address);
    const lines = (addrs: bigint[]) => addrs.flatMap((a) => { const e = at(a); return e ? [e] : []; });
    const r = this.result;
    if (kind === 'end') {
      const e = r.end;
      if (e.kind === 'oops') return { lines: lines([e.address]), note: e.cause };
      if (e.kind === 'fault') return { lines: lines([e.rip]) };
      if (e.kind === 'returned' && r.fixups.length) return { lines: lines(r.fixups.flatMap((f) => [f.address, f.fixup])), note: 'faulting instruction, then the fixup' };
      if (e.kind === 'runaway') return { lines: lines(e.last.slice(-3).map((t) => t.address)) };
      return { lines: [] };
    }
    if (kind === 'seam.calls') return { lines: lines([...new Set(r.seamCalls.map((c) => c.address))]) };
    if (kind === 'return') return r.returnValue === undefined ? { lines: [], note: 'did not return' } : this.writerOf('rax', this.origins?.snapshot());
    if (kind.startsWith('seam.in.')) {
      const reg = kind.slice('seam.in.'.length) as GprName;
      const ev = this.writerOf(reg, this.origins?.atCall(call), 'before the call');
      const site = r.seamCalls[call];
      const passNote = r.call.unpassable.includes(reg) ? `${reg.toUpperCase()} is not passable by ${this.side.fn.abi.prototype.replace(/;$/, '')}` : undefined;
      return { lines: [...ev.lines, ...(site ? lines([site.address]) : [])], ...(passNote || ev.note ? { note: [passNote, ev.note].filter(Boolean).join('; ') } : {}) };
    }
    if (kind.startsWith('output.')) {
      const f = this.outputs.get(SLOT_OF[kind.slice('output.'.length) as GprName]);
      if (!f) return { lines: [], note: 'no struct field for this register' };
      const st = this.stores.filter((s) => s.address < f.address + BigInt(f.size) && s.address + BigInt(s.size) > f.address);
      return st.length ? { lines: lines([...new Set(st.map((s) => s.rip))]) } : { lines: [], note: 'no store into the field' };
    }
    if (kind.startsWith('after.')) return this.writerOf(kind.slice('after.'.length) as GprName, this.origins?.snapshot(), 'before return');
    if (kind === 'callee-saved') {
      const regs = this.calleeSaved().split(' ').filter(Boolean) as GprName[];
      const snap = this.origins?.snapshot();
      return { lines: regs.flatMap((g) => this.writerOf(g, snap).lines) };
    }
    const check = r.checks.filter((c) => (kind === 'stack' ? ['rsp', 'df'] : ['stack-writes', 'memory-writes']).includes(c.name) && c.status === 'fail');
    return { lines: [], ...(check.length ? { note: check.map((c) => c.detail).join('; ') } : {}) };
  }

  private locate(address: bigint): AddressLocation | undefined {
    return this.map.locate(address);
  }

  private writerOf(reg: GprName, snap: RegisterProvenances | undefined, when = ''): SideEvidence {
    if (!snap) return { lines: [], note: 'register origins not tracked' };
    const p = snap[reg];
    if (p.writer === undefined) return { lines: [], note: `the function does not write ${reg.toUpperCase()}${when ? ` ${when}` : ''}: the caller's value` };
    const e = evidenceOf(this.locate(p.writer), p.writer);
    return { lines: e ? [e] : [] };
  }
}

/** Whether an outcome in the list wrote `value` into register `slot` (RAX: its status). */
export function seamWroteIn(outcomes: readonly Outcome[], value: bigint, slot: number): boolean {
  const reg = GPR_NAMES[slot]!;
  for (const o of outcomes) {
    if (o.kind !== 'return') continue;
    const regs: Partial<Record<GprName, bigint>> | undefined = o.regs; // RSP is no OutputReg: read as absent
    if (slot === 0 ? o.rax === value : regs?.[reg] === value) return true;
  }
  return false;
}

/** The logical call as both sides were given it: inputs by slot (physical buffers as the addresses the plan chose). */
export function logicalInputs(scenario: Scenario, kind: 'seamcall' | 'tdcall', plan: CallPlan): LogicalInputs {
  const c = scenario.cases[kind]!;
  const inputs = new Array<bigint | undefined>(16).fill(undefined);
  for (const [reg, v] of Object.entries(c.call.inputs) as [GprName, unknown][]) {
    if (typeof v === 'bigint') inputs[SLOT_OF[reg]] = v;
    else {
      const ph = plan.phys.find((p) => p.register === reg);
      if (ph) inputs[SLOT_OF[reg]] = ph.address + BigInt((v as { offset?: number }).offset ?? 0);
    }
  }
  return { leaf: c.call.leaf, inputs };
}

export interface SingleRun {
  view: SingleView;
  result: RunResult;
  call: LogicalInputs;
}

/** Runs `scenario` on one side in single mode (register origins tracked when Capstone is loaded). */
export function runSingle(side: DiffSide, scenario: Scenario, opts: { budget?: number; timeLimitMs?: number } = {}): SingleRun {
  const prepared = prepareRun(side.image, side.fn, scenario, {
    revision: side.spec, observeReads: true,
    ...(opts.budget !== undefined ? { budget: opts.budget } : {}),
    ...(opts.timeLimitMs !== undefined ? { timeLimitMs: opts.timeLimitMs } : {}),
  });
  try {
    const result = prepared.complete();
    const stores = prepared.execution.summary().stores;
    const view = new SingleView(result, prepared.plan, stores, prepared.origins, side, prepared.machine.map);
    return { view, result, call: logicalInputs(scenario, side.fn.kind, prepared.plan) };
  } finally {
    prepared.close();
  }
}
