/**
 * Differential batch mode: both sides of a pair run many logical calls in
 * one emulation each, with the asm/diff-driver.S loop (every row its own
 * registers, every register recorded after the call). A row is read back
 * as a `RunView`, so the comparison is the one single runs use
 * (src/diff/observe.ts).
 *
 * Two ways to run a batch, with the same rows as a result
 * (test/diff-native-batch.test.ts): with the native helpers
 * (src/machine/native/batch-hooks.c) a C hook stores the registers after
 * each call and C hooks at the traps answer from the caller's ScriptTable,
 * so no JavaScript runs while the rows execute; without them (no C
 * compiler) the driver stores the registers itself and serve() below
 * answers each trap in JavaScript.
 *
 * At each trap the answer comes from the row's script (or the row's CPU
 * environment faults first), records the registers the SEAM side was given,
 * and poisons the row's in/out structs: the function has read its inputs by
 * then, so whatever field is not poison afterwards was written after the
 * call — which is what "an output was returned" means, even when the value
 * written equals the input. A fault with no exception-table entry (an oops)
 * does not end the batch: the row is marked and answered VMfailInvalid so
 * the function returns, and its results are not used.
 *
 * Limits (single runs do not have them): stores outside the row's structs
 * are seen only in a guard after each struct; stores into the caller frame
 * are not seen. Counterexamples are re-run in single mode before they are
 * reported.
 */
import { assembleDriver } from '../image/batch-driver.js';
import { EXCEPTION_NAMES, exceptionFixup, Machine, type RunEnd } from '../machine/machine.js';
import { SLOT, SLOT_IDS } from '../machine/register-file.js';
import { loadBatchHooks, RowCapture, ScriptedTraps } from '../machine/native-batch.js';
import { RECORDED_CALLS, SERVED_BY_ENVIRONMENT, TrapState, type ScriptTable } from '../machine/script-table.js';
import { ENTRY_RFLAGS, OUTPUT_POISON, canary, planCall, type ParamPlan } from '../run/plan.js';
import { functionAddress } from '../run/run.js';
import { VECTOR_NUMBER, type CpuEnv, type Outcome, type SeamCall } from '../seam/types.js';
import { PAGE_SIZE, pageAlignUp } from '../support/memory.js';
import { GPR_NAMES, RFLAGS, isGprName, type GprName } from '../support/registers.js';
import { endInfo, type EndInfo, type LogicalInputs, type RunView } from './observe.js';
import type { EntryFunction } from '../intake/types.js';
import type { Image } from '../image/types.js';

/** What a batch needs of a side (plain data: a worker gets it by structured clone). */
export interface BatchSide {
  label: string;
  image: Image;
  fn: Pick<EntryFunction, 'name' | 'kind' | 'abi'>;
}

export const DIFF_DRIVER_FILE = 'asm/diff-driver.S';
export const DIFF_DRIVER_SYMBOL = 'seamlab_diff_batch';
/** Where the driver's call returns to: the native capture hook's site. */
const DIFF_CAPTURE_SYMBOL = 'seamlab_diff_capture';
/** What the capture hook stores at ROW_OUT: the 16 GPRs in encoding order, then RFLAGS (the row's layout; the register file's first 17 slots). */
const CAPTURE_REG_IDS = SLOT_IDS.slice(0, SLOT.rflags + 1);

/** Row layout (asm/diff-driver.S). */
const ROW_IN = 0;
const ROW_IN_FLAGS = 128;
const ROW_OUT = 136;
const ROW_OUT_FLAGS = 264;
const ROW_HEADER = 272;
/** Control block (asm/diff-driver.S), at the start of caller memory. */
const CTL_ROW = 0;
const CTL_LEFT = 1;
const CTL_FN = 2;
const CTL_STRIDE = 3;
const CTL_CALL_RSP = 5;
const TABLE = 64;

const GUARD = 16;
const GUARD_BYTE = 0xa5;
const POISON32 = OUTPUT_POISON * 0x01010101;
const GUARD32 = GUARD_BYTE * 0x01010101;
/** Instructions a row may take before it is a runaway (the kernel functions take under 100). */
export const ROW_BUDGET = 20_000;

const ABORTED: Outcome = { kind: 'vmfailinvalid', note: 'row ended in an oops' };
const CALLEE_SAVED_SLOTS = ['rbx', 'rbp', 'r12', 'r13', 'r14', 'r15'].map((r) => GPR_NAMES.indexOf(r as GprName));

/** One row's call: the logical inputs, the script of answers and the CPU environment. */
export interface RowCall {
  call: LogicalInputs;
  /** The answers, as the CPU applies them (src/seam/env.ts asCpuApplies), applied as they are by both ways of serving. */
  script: readonly Outcome[];
  env: CpuEnv;
  /** What the CPU environment raises before any handler (src/seam/env.ts `environmentFault(kind, env)`), decided once. */
  envFault: Outcome | undefined;
}

interface StructSlot {
  /** Offset in the row. */
  offset: number;
  size: number;
  outputOnly: boolean;
  /** GPR-named 8-byte fields: slot and offset in the struct. */
  fields: { slot: number; offset: number }[];
}

interface ParamSlot {
  /** The System V register the parameter is passed in (a GPR slot). */
  reg: number;
  role: ParamPlan['role'];
  carries?: number;
  struct?: number;
}

const endCache = new Map<string, EndInfo>();
function cachedEnd(kind: string, opts: Parameters<typeof endInfo>[1] = {}): EndInfo {
  const k = `${kind}\u0000${opts.vector ?? ''}\u0000${opts.fixupVector ?? ''}\u0000${opts.access ?? ''}\u0000${opts.stub ?? ''}`;
  let e = endCache.get(k);
  if (!e) endCache.set(k, (e = endInfo(kind, opts)));
  return e;
}
const RETURNED = cachedEnd('returned');
const OOPS: EndInfo[] = [];
const FIXED: EndInfo[] = [];
for (let v = 0; v < 32; v++) {
  OOPS[v] = cachedEnd('oops', { vector: EXCEPTION_NAMES[v] ?? String(v) });
  FIXED[v] = cachedEnd('returned', { fixupVector: EXCEPTION_NAMES[v] ?? String(v) });
}

/** One side's batch machine, table layout and per-row results. */
export class SideBatch {
  readonly machine: Machine;
  /** The native hook that stores each row's registers after the call (undefined: the driver stores them). */
  private readonly capture: RowCapture | undefined;
  readonly stride: number;
  readonly capacity: number;
  private readonly q: BigUint64Array;
  /** The caller memory as 32-bit words: the row pointer's low half without BigInt arithmetic (caller memory is below 4 GiB). */
  private readonly u32: Uint32Array;
  private readonly table32: number;
  private readonly bytes: Buffer;
  private readonly base: bigint;
  private readonly table: bigint;
  private readonly entry: bigint;
  private readonly driverStart: bigint;
  private readonly structs: StructSlot[] = [];
  private readonly params: ParamSlot[] = [];
  private readonly canaries = new BigUint64Array(16);
  private readonly passable = new Array<boolean>(16).fill(false);
  /** Output field of each register (offset in the row), or -1. */
  readonly outputAt = new Int32Array(16).fill(-1);
  private readonly outputOnlyAt = new Array<boolean>(16).fill(false);
  private readonly structTemplate: Uint8Array;
  private readonly structStart: number;
  private readonly structEnd: number;

  // Per-row results of the last run: what the traps recorded (written by the native scripted traps or by serve()), and how rows ended.
  rows = 0;
  private readonly state: TrapState;
  readonly calls: Int32Array;
  readonly seamIn: BigUint64Array;
  /** Byte views for copying and comparing without BigInt allocations. */
  readonly seamInBytes: Buffer;
  private readonly regBytes: Uint8Array;
  /** Unicorn counts instructions (for the per-row budget) only after a row ran away on time: counting costs ~15%. */
  private counting = false;
  /** Per row and recorded call: the step of the row's script served, or SERVED_BY_ENVIRONMENT. */
  readonly served: Int8Array;
  readonly oops: Int8Array;
  readonly fixup: Int8Array;
  readonly ends: (EndInfo | undefined)[];
  private scripts: RowCall[] = [];
  /** Native traps answering from the caller's script table (undefined: serve() answers in JavaScript). */
  private readonly traps: ScriptedTraps | undefined;

  /**
   * `table`: a script table the caller encodes every row into before run()
   * (shared by both sides of a pair); with it, and the native helpers built,
   * the SEAM calls are answered natively. Without, serve() answers them.
   */
  constructor(readonly side: BatchSide, capacity: number, table?: ScriptTable) {
    this.capacity = capacity;
    const probe = new Machine(side.image, { mode: 'batch' });
    let plan;
    try {
      plan = planCall(probe, side.fn.abi, functionAddress(side.image, side.fn.name), { leaf: 0n, inputs: {} });
    } finally {
      probe.close();
    }
    let off = ROW_HEADER;
    const structIndex = new Map<ParamPlan, number>();
    for (const p of plan.params) {
      if (!p.struct) continue;
      off = Math.ceil(off / 16) * 16;
      const layout = p.struct.layout;
      const fields = layout.fields.filter((f) => isGprName(f.name) && f.size === 8).map((f) => ({ slot: GPR_NAMES.indexOf(f.name as GprName), offset: f.offset }));
      structIndex.set(p, this.structs.length);
      this.structs.push({ offset: off, size: layout.size, outputOnly: p.struct.outputOnly, fields });
      for (const f of fields) {
        if (this.outputAt[f.slot]! < 0) {
          this.outputAt[f.slot] = off + f.offset;
          this.outputOnlyAt[f.slot] = p.struct.outputOnly;
        }
        if (!p.struct.outputOnly) this.passable[f.slot] = true;
      }
      off += Math.ceil(layout.size / 8) * 8 + GUARD;
    }
    this.structStart = ROW_HEADER;
    this.structEnd = off;
    this.stride = Math.ceil(off / 16) * 16;
    for (const p of plan.params) {
      const reg = GPR_NAMES.indexOf(p.register);
      const carries = p.carries ? GPR_NAMES.indexOf(p.carries) : undefined;
      if (carries !== undefined) this.passable[carries] = true;
      this.params.push({ reg, role: p.role, ...(carries !== undefined ? { carries } : {}), ...(structIndex.has(p) ? { struct: structIndex.get(p)! } : {}) });
    }
    GPR_NAMES.forEach((r, i) => { this.canaries[i] = canary(r); });
    // The struct area of a row before inputs: output-only structs poisoned, in/out ones zero (a C initialiser), guards.
    const tpl = new Uint8Array(this.structEnd - this.structStart);
    for (const s of this.structs) {
      const o = s.offset - this.structStart;
      if (s.outputOnly) tpl.fill(OUTPUT_POISON, o, o + s.size);
      tpl.fill(GUARD_BYTE, o + Math.ceil(s.size / 8) * 8, o + Math.ceil(s.size / 8) * 8 + GUARD);
    }
    this.structTemplate = tpl;

    const callerSize = pageAlignUp(Math.max(PAGE_SIZE, TABLE + capacity * this.stride + PAGE_SIZE));
    const probeLayout = new Machine(side.image, { mode: 'batch' });
    const callerBase = probeLayout.layout.callerBase;
    probeLayout.close();
    const native = loadBatchHooks().ok;
    const nativeTraps = native && table !== undefined;
    const driver = assembleDriver(DIFF_DRIVER_FILE, DIFF_DRIVER_SYMBOL, `\t.set DIFF_CTL, 0x${callerBase.toString(16)}\n\t.set DIFF_NATIVE, ${native ? 1 : 0}\n`);
    this.machine = new Machine(side.image, { mode: 'batch', driver: driver.bytes, layout: { callerSize }, traps: nativeTraps ? 'native' : 'js' });
    this.machine.uc.longRuns = true;
    this.state = new TrapState(capacity);
    if (nativeTraps) {
      const sites = this.machine.sites.map((site) => {
        const e = exceptionFixup(side.image, site.address);
        return { address: site.address, ...(e ? { fixup: { address: e.fixup, type: e.type } } : {}) };
      });
      const poison = this.structs.filter((st) => !st.outputOnly).map((st) => [st.offset, st.size] as const);
      this.traps = ScriptedTraps.attach(this.machine.uc, sites, this.machine.caller, this.machine.layout.callerBase, TABLE, this.stride, table, this.state, poison, OUTPUT_POISON);
      if (!this.traps) {
        this.machine.close();
        throw new Error('the native scripted traps could not be installed');
      }
    }
    if (native) {
      const at = this.machine.layout.driver + BigInt(driver.globals[DIFF_CAPTURE_SYMBOL]!);
      this.capture = RowCapture.attach(this.machine.uc, at, this.machine.caller, this.machine.layout.callerBase, ROW_OUT, CAPTURE_REG_IDS);
      if (!this.capture) {
        this.machine.close();
        throw new Error('the native row capture hook could not be installed');
      }
    }
    this.bytes = this.machine.caller;
    this.q = new BigUint64Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length / 8);
    this.base = this.machine.layout.callerBase;
    this.table = this.base + BigInt(TABLE);
    this.u32 = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length / 4);
    this.table32 = Number(this.table);
    if (this.base + BigInt(this.bytes.length) > 0xffffffffn) throw new Error('the diff batch needs caller memory below 4 GiB');
    this.entry = functionAddress(side.image, side.fn.name);
    this.driverStart = this.machine.layout.driver + BigInt(driver.entry);
    this.calls = this.state.calls;
    this.seamIn = this.state.seamIn;
    this.seamInBytes = Buffer.from(this.seamIn.buffer, this.seamIn.byteOffset, this.seamIn.byteLength);
    const regs = this.machine.regs.values;
    this.regBytes = new Uint8Array(regs.buffer, regs.byteOffset, 128);
    this.served = this.state.served;
    this.oops = this.state.oops;
    this.fixup = this.state.fixup;
    this.ends = new Array<EndInfo | undefined>(capacity).fill(undefined);
  }

  close(): void {
    this.capture?.detach();
    this.traps?.detach();
    this.machine.close();
  }

  notPassable(slot: number): boolean {
    return !this.passable[slot];
  }

  rowOffset(row: number): number {
    return TABLE + row * this.stride;
  }

  /** The caller memory of the row's structs (for the "pointer" class). */
  rowPointers(row: number): [bigint, bigint] {
    const o = BigInt(this.rowOffset(row));
    return [this.base + o + BigInt(this.structStart), this.base + o + BigInt(this.structEnd)];
  }

  /** Lays out row `row` for `rc`. */
  fill(row: number, rc: RowCall): void {
    const off = this.rowOffset(row);
    const qi = off / 8;
    const q = this.q;
    q.set(this.canaries, qi + ROW_IN / 8);
    q[qi + ROW_IN_FLAGS / 8] = ENTRY_RFLAGS;
    this.bytes.set(this.structTemplate, off + this.structStart);
    const inputs = rc.call.inputs;
    for (const p of this.params) {
      let v = 0n;
      if (p.role === 'leaf') v = rc.call.leaf;
      else if (p.role === 'register' && p.carries !== undefined) v = inputs[p.carries] ?? 0n;
      else if (p.struct !== undefined) {
        // The struct's address, below 4 GiB: written as two 32-bit halves (no BigInt made per row).
        this.u32[(qi + p.reg) * 2] = this.table32 - TABLE + off + this.structs[p.struct]!.offset;
        this.u32[(qi + p.reg) * 2 + 1] = 0;
        continue;
      }
      q[qi + p.reg] = v;
    }
    for (const s of this.structs) {
      if (s.outputOnly) continue;
      for (const f of s.fields) {
        const v = inputs[f.slot];
        if (v !== undefined) q[(off + s.offset + f.offset) / 8] = v;
      }
    }
    this.scripts[row] = rc;
    this.calls[row] = 0;
    this.oops[row] = 0;
    this.fixup[row] = 0;
    this.ends[row] = undefined;
  }

  /** The SEAM side of row `row`'s next call: the CPU environment, then the row's script. */
  private serve(call: SeamCall): Outcome {
    const row = (this.u32[CTL_ROW * 2]! - this.table32) / this.stride;
    // After an oops the row's results are not used: further calls are not counted (a single run ends at the oops).
    if (this.oops[row]) return ABORTED;
    const k = this.calls[row]!++;
    const rc = this.scripts[row]!;
    const step = rc.envFault ? SERVED_BY_ENVIRONMENT : Math.min(k, rc.script.length - 1);
    const o = rc.envFault ?? rc.script[step]!;
    if (k < RECORDED_CALLS) {
      this.seamInBytes.set(this.regBytes, (row * RECORDED_CALLS + k) * 128);
      this.served[row * RECORDED_CALLS + k] = step;
    }
    if (o.kind === 'fault') {
      const vector = VECTOR_NUMBER[o.vector];
      if (!exceptionFixup(this.machine.image, call.rip)) {
        this.oops[row] = vector;
        return ABORTED;
      }
      this.fixup[row] = vector;
    }
    // Inputs are read: poison the in/out structs, so that any field not poison afterwards was written after the call.
    const off = this.rowOffset(row);
    for (const s of this.structs) if (!s.outputOnly) this.bytes.fill(OUTPUT_POISON, off + s.offset, off + s.offset + s.size);
    return o;
  }

  /**
   * Runs rows 0..rows-1 (filled before). Rows whose run ended abnormally get
   * that end; the rest continue. Without instruction counting, a runaway row
   * is caught by the time limit; from then on every row has a budget.
   */
  run(rows: number, timeLimitMs = 20_000): void {
    this.rows = rows;
    const q = this.q;
    q[CTL_ROW] = this.table;
    q[CTL_LEFT] = BigInt(rows);
    q[CTL_FN] = this.entry;
    q[CTL_STRIDE] = BigInt(this.stride);
    q[CTL_CALL_RSP] = this.machine.entryRsp;
    const serve = (call: SeamCall) => this.serve(call);
    // The driver returns to the sentinel (the return address at the entry RSP) when the table is done.
    const m = this.machine;
    const sentinel = Buffer.alloc(8);
    sentinel.writeBigUInt64LE(m.layout.sentinel);
    m.stack.set(sentinel, Number(m.entryRsp - m.layout.stackBase));
    for (;;) {
      const left = Number(q[CTL_LEFT]);
      if (left === 0) return;
      const v = this.machine.regs.values;
      v[SLOT.rsp] = this.machine.entryRsp;
      v[SLOT.rip] = this.driverStart;
      v[SLOT.rflags] = ENTRY_RFLAGS;
      this.machine.regs.write();
      const r = this.machine.run({
        entry: this.driverStart, serve, handlerName: 'fuzz', env: this.scripts[0]!.env,
        budget: this.counting ? left * ROW_BUDGET : 0, timeLimitMs,
      });
      if (r.stop.kind === 'returned') return;
      if (r.stop.kind === 'runaway') this.counting = true;
      const row = Number(q[CTL_ROW] - this.table) / this.stride;
      if (q[CTL_LEFT] === 0n || row >= rows) throw new Error(`the diff driver ended ${r.stop.kind} outside a row`);
      this.ends[row] = endOf(r.stop);
      q[CTL_ROW] = q[CTL_ROW] + BigInt(this.stride);
      q[CTL_LEFT] = q[CTL_LEFT] - 1n;
    }
  }

  // ---- reading a row (BatchRowView) ----------------------------------------

  endOf(row: number): EndInfo {
    const o = this.oops[row]!;
    if (o) return OOPS[o]!;
    const e = this.ends[row];
    if (e) return e;
    const f = this.fixup[row]!;
    return f ? FIXED[f]! : RETURNED;
  }

  regIn(row: number, call: number, slot: number): bigint {
    return call < RECORDED_CALLS ? this.seamIn[(row * RECORDED_CALLS + call) * 16 + slot]! : 0n;
  }

  outcome(row: number, call: number): Outcome | undefined {
    if (call >= RECORDED_CALLS || call >= this.calls[row]!) return undefined;
    const rc = this.scripts[row]!;
    const step = this.served[row * RECORDED_CALLS + call]!;
    return step === SERVED_BY_ENVIRONMENT ? rc.envFault : rc.script[step];
  }

  regOut(row: number, slot: number): bigint {
    return this.q[(this.rowOffset(row) + ROW_OUT) / 8 + slot]!;
  }

  field(row: number, slot: number): bigint {
    return this.q[(this.rowOffset(row) + this.outputAt[slot]!) / 8]!;
  }

  fieldWritten(row: number, slot: number): boolean {
    const at = this.outputAt[slot]!;
    if (at < 0) return false;
    const w = (this.rowOffset(row) + at) / 4;
    // With no SEAM call the in/out structs were never poisoned: a change from the input is a store.
    if (!this.outputOnlyAt[slot] && this.calls[row] === 0) return this.q[w / 2] !== (this.scripts[row]!.call.inputs[slot] ?? 0n);
    return this.u32[w] !== POISON32 || this.u32[w + 1] !== POISON32;
  }

  calleeSaved(row: number): string {
    // Compared as 32-bit halves: no BigInt made per register and row.
    const o = (this.rowOffset(row) + ROW_OUT) / 4;
    const i = (this.rowOffset(row) + ROW_IN) / 4;
    const u = this.u32;
    let out = '';
    for (const s of CALLEE_SAVED_SLOTS) {
      if (u[o + 2 * s] !== u[i + 2 * s] || u[o + 2 * s + 1] !== u[i + 2 * s + 1]) out += (out ? ' ' : '') + GPR_NAMES[s];
    }
    return out;
  }

  stack(row: number): string {
    const off = this.rowOffset(row) / 8;
    const u = this.u32;
    const r = (off + ROW_OUT / 8 + SLOT.rsp) * 2;
    const df = (u[(off + ROW_OUT_FLAGS / 8) * 2]! & Number(RFLAGS.DF)) !== 0;
    if (!df && u[r] === u[CTL_CALL_RSP * 2] && u[r + 1] === u[CTL_CALL_RSP * 2 + 1]) return 'balanced';
    const rsp = this.q[off + ROW_OUT / 8 + SLOT.rsp]!;
    const want = this.q[CTL_CALL_RSP]!;
    // Single runs measure RSP against entry + 8 (after the return address is popped): the same as the driver's RSP at the call.
    const bad = [rsp !== want ? `RSP off by ${rsp - want}` : '', df ? 'DF set' : ''].filter(Boolean);
    return bad.length ? bad.join(', ') : 'balanced';
  }

  memory(row: number): string {
    const off = this.rowOffset(row);
    for (const s of this.structs) {
      const g = (off + s.offset + Math.ceil(s.size / 8) * 8) / 4;
      for (let k = 0; k < GUARD / 4; k++) if (this.u32[g + k] !== GUARD32) return 'stores outside the stack and the structs passed';
    }
    return 'clean';
  }

  /** The caller memory (row table) as bytes, for comparing two sides' rows. */
  get memoryBytes(): Buffer {
    return this.bytes;
  }

  /** Whether another side lays rows out the same way (same stride and structs): rows then compare as bytes. */
  sameLayout(o: SideBatch): boolean {
    return this.stride === o.stride && JSON.stringify(this.structs) === JSON.stringify(o.structs) && this.passable.join() === o.passable.join();
  }

  /** Row `row` of this side and of `o` (same layout) hold the same bytes: registers, structs, SEAM inputs and ends. */
  sameRow(o: SideBatch, row: number): boolean {
    if (this.calls[row] !== o.calls[row] || this.oops[row] !== o.oops[row] || this.fixup[row] !== o.fixup[row] || this.ends[row] !== o.ends[row]) return false;
    const off = this.rowOffset(row);
    if (this.bytes.compare(o.bytes, off + ROW_OUT, off + this.stride, off + ROW_OUT, off + this.stride) !== 0) return false;
    const n = Math.min(this.calls[row]!, RECORDED_CALLS);
    const s0 = row * RECORDED_CALLS * 128;
    if (n && this.seamInBytes.compare(o.seamInBytes, s0, s0 + n * 128, s0, s0 + n * 128) !== 0) return false;
    for (let c = 0; c < n; c++) if (this.served[row * RECORDED_CALLS + c] !== o.served[row * RECORDED_CALLS + c]) return false;
    return true;
  }

  script(row: number): RowCall {
    return this.scripts[row]!;
  }
}

function endOf(stop: RunEnd): EndInfo {
  switch (stop.kind) {
    case 'oops': return cachedEnd('oops', { vector: stop.vectorName });
    case 'fault': return cachedEnd('fault', { access: stop.access });
    case 'panic': return cachedEnd('panic', { stub: stop.stub });
    default: return cachedEnd(stop.kind);
  }
}

/** A row of a side's last batch, read as observations (one object, moved from row to row). */
export class BatchRowView implements RunView {
  row = 0;
  constructor(private readonly b: SideBatch) {}

  get end(): EndInfo { return this.b.endOf(this.row); }
  get calls(): number { return this.b.calls[this.row]!; }
  regIn(call: number, slot: number): bigint { return this.b.regIn(this.row, call, slot); }
  regAfterCall(call: number, slot: number): bigint {
    const o = this.b.outcome(this.row, call);
    const v = this.b.regIn(this.row, call, slot);
    if (!o || o.kind !== 'return') return v;
    if (slot === 0) return o.rax;
    const regs: Partial<Record<GprName, bigint>> | undefined = o.regs; // RSP and RAX are no OutputReg: read as absent
    return regs?.[GPR_NAMES[slot]!] ?? v;
  }
  seamWrote(value: bigint, slot: number): boolean {
    const n = Math.min(this.b.calls[this.row]!, RECORDED_CALLS);
    const reg = GPR_NAMES[slot]!;
    for (let c = 0; c < n; c++) {
      const o = this.b.outcome(this.row, c);
      if (o?.kind !== 'return') continue;
      const regs: Partial<Record<GprName, bigint>> | undefined = o.regs;
      if (slot === 0 ? o.rax === value : regs?.[reg] === value) return true;
    }
    return false;
  }
  get returnValue(): bigint | undefined { return this.end.returned ? this.b.regOut(this.row, 0) : undefined; }
  outputPresent(slot: number): boolean { return this.b.outputAt[slot]! >= 0; }
  outputWritten(slot: number): boolean { return this.b.fieldWritten(this.row, slot); }
  outputValue(slot: number): bigint { return this.b.field(this.row, slot); }
  regOut(slot: number): bigint { return this.b.regOut(this.row, slot); }
  calleeSaved(): string { return this.b.calleeSaved(this.row); }
  stack(): string { return this.b.stack(this.row); }
  memory(): string { return this.b.memory(this.row); }
  get pointers(): readonly (readonly [bigint, bigint])[] { return [this.b.rowPointers(this.row)]; }
  notPassable(slot: number): boolean { return this.b.notPassable(slot); }
}
