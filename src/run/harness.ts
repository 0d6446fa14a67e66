/**
 * The System V AMD64 harness, driven only by the function's ABI description
 * (no per-function code): it places a logical SEAM call's inputs into the
 * argument registers and structs the prototype has, fills every other
 * register with a distinct canary, pushes a return-address sentinel, and
 * afterwards checks what the C caller relies on (System V psABI §3.2):
 * callee-saved registers preserved, RSP back to entry + 8, DF clear, no
 * stores at or above the entry RSP, and stores outside the stack only into
 * the structs the caller passed.
 */
import type { AbiParam, CType, FunctionAbi, StructLayout } from '../intake/types.js';
import type { Machine, MachineRun, Regs, StoreRecord } from '../machine/machine.js';
import { SLOT } from '../machine/register-file.js';
import { formatLocation } from '../image/source-map.js';
import { GPR_NAMES, RFLAGS, type GprName } from '../machine/unicorn-consts.js';
import type { InputValue, LogicalCall, PhysBuffer } from '../seam/scenario.js';
import { SeamlabError } from '../errors.js';
import { hex } from '../support/format.js';

export const CALLEE_SAVED: readonly GprName[] = ['rbx', 'rbp', 'r12', 'r13', 'r14', 'r15'];

/** A distinct, recognisable value per register: 0xCAFE000i_C0DE000i for GPR i. */
export function canary(reg: GprName): bigint {
  const i = BigInt(GPR_NAMES.indexOf(reg));
  return 0xcafe000000000000n | (i << 32n) | 0xc0de0000n | i;
}

/** Byte written over output-only structs before the call, so unwritten fields stand out. */
export const OUTPUT_POISON = 0x5a;

/**
 * RFLAGS at entry: IF and every arithmetic status flag set (the caller left
 * them so), DF clear as the ABI requires. Bit 1 is always 1.
 */
export const ENTRY_RFLAGS = 0x2n | RFLAGS.IF | RFLAGS.CF | RFLAGS.PF | RFLAGS.AF | RFLAGS.ZF | RFLAGS.SF | RFLAGS.OF;

export type ParamRole = 'leaf' | 'register' | 'struct' | 'output-struct' | 'null' | 'unused';

export interface StructPlacement {
  layout: StructLayout;
  address: bigint;
  /** Output-only (an `out` pointer) rather than in/out arguments. */
  outputOnly: boolean;
  /** The struct's bytes at the call. */
  initial: Uint8Array;
}

export interface ParamPlan {
  name: string;
  register: GprName;
  value: bigint;
  role: ParamRole;
  /** For 'register': the SEAM register this parameter carries (by name). */
  carries?: GprName;
  struct?: StructPlacement;
  note?: string;
}

export interface PhysPlacement {
  register: GprName;
  address: bigint;
  size: number;
}

export interface CallPlan {
  entry: bigint;
  entryRsp: bigint;
  params: ParamPlan[];
  /** Every GPR at entry. */
  initialRegs: Regs;
  entryRflags: bigint;
  phys: PhysPlacement[];
  /** Inputs the scenario gives that this ABI cannot pass (the register keeps its canary). */
  unpassable: GprName[];
}

export type CheckStatus = 'pass' | 'fail' | 'n/a';

export interface AbiCheck {
  name: 'callee-saved' | 'rsp' | 'df' | 'stack-writes' | 'memory-writes';
  status: CheckStatus;
  detail: string;
}

export interface OutputField {
  name: string;
  offset: number;
  size: number;
  value: bigint;
  /** What the field held when the function was called (inputs, or the poison of an output-only struct). */
  initial: bigint;
  /** The function stored into this field during the run. */
  written: boolean;
}

export interface OutputStruct {
  param: string;
  struct: string;
  address: bigint;
  outputOnly: boolean;
  fields: OutputField[];
}

function isRegName(n: string): n is GprName {
  return (GPR_NAMES as readonly string[]).includes(n);
}

function structOf(t: CType): StructLayout | undefined {
  return t.kind === 'pointer' && t.to.kind === 'struct' ? t.to.layout : undefined;
}

/** An `out`/`output` parameter or a `*_output` struct is written only; anything else (e.g. `args`) is in/out. */
export function isOutputOnly(p: AbiParam): boolean {
  const layout = structOf(p.type);
  return /^(out|output)$/.test(p.name) || (layout !== undefined && /_output$/.test(layout.name));
}

export function hasOutputPointer(abi: FunctionAbi): boolean {
  return abi.params.some((p) => structOf(p.type) !== undefined && isOutputOnly(p));
}

/** Which parameter carries the leaf (RAX): the first integer parameter not named after a register. */
function leafParam(abi: FunctionAbi): AbiParam | undefined {
  return abi.params.find((p) => p.type.kind === 'int' && !isRegName(p.name));
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/**
 * Lays the call out in the machine: physical buffers, structs in the caller
 * area, registers (canaries everywhere first), the sentinel return address.
 */
export function planCall(machine: Machine, abi: FunctionAbi, entry: bigint, call: LogicalCall): CallPlan {
  machine.reset();
  const regs = {} as Regs;
  for (const r of GPR_NAMES) regs[r] = canary(r);

  // Physical buffers first: their addresses are inputs like any other value.
  const phys: PhysPlacement[] = [];
  let physOff = 0;
  const inputs = new Map<GprName, bigint>();
  for (const [reg, v] of Object.entries(call.inputs) as [GprName, InputValue][]) {
    if (typeof v === 'bigint') {
      inputs.set(reg, v);
      continue;
    }
    const b = v as PhysBuffer;
    physOff = align(physOff, b.align ?? 8);
    if (physOff + b.phys > machine.phys.size) {
      throw new SeamlabError('SCENARIO_PHYS_TOO_BIG', `physical buffers for ${reg} need ${physOff + b.phys} bytes; the area has ${machine.phys.size}`, 'use smaller buffers');
    }
    const fill = b.fill ?? 0;
    for (let i = 0; i < b.phys; i++) machine.phys.buffer[physOff + i] = fill === 'pattern' ? i & 0xff : fill;
    const address = machine.phys.base + BigInt(physOff);
    phys.push({ register: reg, address, size: b.phys });
    inputs.set(reg, address + BigInt(b.offset ?? 0));
    physOff += b.phys;
  }

  const used = new Set<GprName>();
  const params: ParamPlan[] = [];
  const leaf = leafParam(abi);
  let callerOff = 0;
  for (const p of abi.params) {
    const register = p.register as GprName;
    if (p === leaf) {
      params.push({ name: p.name, register, value: call.leaf, role: 'leaf' });
      continue;
    }
    const layout = structOf(p.type);
    if (layout) {
      const outputOnly = isOutputOnly(p);
      if (outputOnly && call.nullOutput) {
        params.push({ name: p.name, register, value: 0n, role: 'null', note: 'NULL output pointer' });
        continue;
      }
      callerOff = align(callerOff, Math.max(layout.align, 8));
      if (callerOff + layout.size > machine.caller.length) {
        throw new SeamlabError('ABI_STRUCT_TOO_BIG', `struct ${layout.name} (${layout.size} bytes) does not fit the caller area`, 'this is a seamlab limit; report it');
      }
      const address = machine.layout.callerBase + BigInt(callerOff);
      if (outputOnly) machine.caller.fill(OUTPUT_POISON, callerOff, callerOff + layout.size);
      else {
        for (const f of layout.fields) {
          if (!isRegName(f.name)) continue;
          const v = inputs.get(f.name);
          if (v !== undefined) {
            writeField(machine.caller, callerOff + f.offset, f.size, v);
            used.add(f.name);
          }
        }
      }
      const initial = Uint8Array.from(machine.caller.subarray(callerOff, callerOff + layout.size));
      params.push({ name: p.name, register, value: address, role: outputOnly ? 'output-struct' : 'struct', struct: { layout, address, outputOnly, initial } });
      callerOff += layout.size;
      continue;
    }
    if (p.type.kind === 'int' && isRegName(p.name)) {
      const v = inputs.get(p.name) ?? 0n;
      if (inputs.has(p.name)) used.add(p.name);
      params.push({ name: p.name, register, value: v, role: 'register', carries: p.name });
      continue;
    }
    params.push({ name: p.name, register, value: 0n, role: 'unused', note: 'no SEAM register of this name; passed 0' });
  }
  for (const pp of params) regs[pp.register] = pp.value;

  const entryRsp = machine.entryRsp;
  regs.rsp = entryRsp;
  const sentinel = Buffer.alloc(8);
  sentinel.writeBigUInt64LE(machine.layout.sentinel);
  machine.stack.set(sentinel, Number(entryRsp - machine.layout.stackBase));

  const v = machine.regs.values;
  GPR_NAMES.forEach((r, i) => { v[i] = regs[r]; });
  v[SLOT.rflags] = ENTRY_RFLAGS;
  v[SLOT.rip] = entry;
  machine.regs.write();

  const unpassable = [...inputs.keys()].filter((r) => !used.has(r)).sort();
  return { entry, entryRsp, params, initialRegs: regs, entryRflags: ENTRY_RFLAGS, phys, unpassable };
}

function writeField(buf: Buffer, off: number, size: number, v: bigint): void {
  for (let i = 0; i < size; i++) buf[off + i] = Number((v >> BigInt(8 * i)) & 0xffn);
}

function readField(buf: Uint8Array, off: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[off + i]!);
  return v;
}


export interface HarnessOutcome {
  checks: AbiCheck[];
  returnValue?: bigint;
  outputs: OutputStruct[];
  regsOut: Regs;
  rflagsOut: bigint;
}

/** Reads the result back and runs the ABI checks. */
export function checkCall(machine: Machine, plan: CallPlan, run: MachineRun): HarnessOutcome {
  machine.regs.read();
  const v = machine.regs.values;
  const regsOut = {} as Regs;
  GPR_NAMES.forEach((r, i) => { regsOut[r] = v[i]!; });
  const rflagsOut = v[SLOT.rflags]!;
  const returned = run.stop.kind === 'returned';
  const checks: AbiCheck[] = [];

  if (returned) {
    const bad = CALLEE_SAVED.filter((r) => regsOut[r] !== plan.initialRegs[r]);
    checks.push({
      name: 'callee-saved', status: bad.length ? 'fail' : 'pass',
      detail: bad.length ? bad.map((r) => `${r} ${hex(plan.initialRegs[r])} → ${hex(regsOut[r])}`).join(', ') : 'rbx rbp r12–r15 preserved',
    });
    const want = plan.entryRsp + 8n;
    checks.push({ name: 'rsp', status: regsOut.rsp === want ? 'pass' : 'fail', detail: regsOut.rsp === want ? 'entry + 8' : `${hex(regsOut.rsp)}, expected ${hex(want)}` });
    const df = (rflagsOut & RFLAGS.DF) !== 0n;
    checks.push({ name: 'df', status: df ? 'fail' : 'pass', detail: df ? 'DF set on return' : 'clear' });
  } else {
    for (const name of ['callee-saved', 'rsp', 'df'] as const) checks.push({ name, status: 'n/a', detail: `the function did not return (${run.stop.kind})` });
  }

  const structs = plan.params.filter((p) => p.struct).map((p) => ({ p, s: p.struct!, end: p.struct!.address + BigInt(p.struct!.layout.size) }));
  const stackLo = machine.layout.stackBase;
  const stackHi = stackLo + BigInt(machine.stack.length);
  const aboveEntry: StoreRecord[] = [];
  const stray: StoreRecord[] = [];
  for (const st of run.stores) {
    const end = st.address + BigInt(st.size);
    if (st.address >= stackLo && st.address < stackHi) {
      if (end > plan.entryRsp) aboveEntry.push(st);
    } else if (!structs.some((x) => st.address >= x.s.address && end <= x.end)) {
      stray.push(st);
    }
  }
  const describe = (st: StoreRecord) => `${st.size} bytes at ${hex(st.address)}${machine.regionName(st.address) ? ` (${machine.regionName(st.address)})` : ''} by ${formatLocation(machine.map.locate(st.rip), st.rip)}`;
  const unseen = run.storesDropped ? ` (the first ${run.stores.length} stores; ${run.storesDropped} more were not recorded)` : '';
  const list = (xs: StoreRecord[]) => xs.slice(0, 8).map(describe).join('; ') + (xs.length > 8 ? `; … ${xs.length - 8} more` : '');
  checks.push({ name: 'stack-writes', status: aboveEntry.length ? 'fail' : 'pass', detail: (aboveEntry.length ? list(aboveEntry) : 'only below the entry RSP') + unseen });
  checks.push({ name: 'memory-writes', status: stray.length ? 'fail' : 'pass', detail: (stray.length ? list(stray) : 'only into the structs passed') + unseen });

  const outputs: OutputStruct[] = structs.map(({ p, s }) => {
    const base = Number(s.address - machine.layout.callerBase);
    return {
      param: p.name, struct: s.layout.name, address: s.address, outputOnly: s.outputOnly,
      fields: s.layout.fields.map((f) => {
        const lo = s.address + BigInt(f.offset);
        const hi = lo + BigInt(f.size);
        return {
          name: f.name, offset: f.offset, size: f.size,
          value: readField(machine.caller, base + f.offset, f.size),
          initial: readField(s.initial, f.offset, f.size),
          written: run.stores.some((st) => st.address < hi && st.address + BigInt(st.size) > lo),
        };
      }),
    };
  });

  return { checks, ...(returned ? { returnValue: regsOut.rax } : {}), outputs, regsOut, rflagsOut };
}
