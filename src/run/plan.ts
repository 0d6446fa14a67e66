/**
 * Planning a call (the first of plan → execute → check): the System V
 * harness lays a logical SEAM call out in the machine, driven only by the
 * function's ABI description (no per-function code). It places the inputs
 * into the argument registers and structs the prototype has, fills every
 * other register with a distinct canary, pushes a return-address sentinel,
 * and names the memory it placed (`args->rcx`, `out->r8`, `stack[rsp+8]`)
 * so traces and debuggers can label accesses.
 */
import type { AbiParam, CType, FunctionAbi, StructLayout } from '../intake/types.js';
import type { Machine } from '../machine/machine.js';
import { SLOT } from '../machine/register-file.js';
import type { InputValue, LogicalCall } from '../seam/scenario.js';
import { SeamlabError } from '../errors.js';
import { GPR_NAMES, isGprName, RFLAGS, type GprName, type Regs } from '../support/registers.js';
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
  /** Named memory the plan placed: struct fields, physical buffers, the return address. */
  labels: MemoryLabel[];
  /** The stack mapping, for `stack[rsp+N]` labels. */
  stack: { base: bigint; size: number };
}

/** A named piece of memory the plan placed. */
export interface MemoryLabel {
  address: bigint;
  size: number;
  /** `args->rcx`, `out->r8`, `phys(rdx)`, `return address`. */
  name: string;
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
  return abi.params.find((p) => p.type.kind === 'int' && !isGprName(p.name));
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** How a call of a sequence is planned: physical memory is the sequence's, not cleared. */
export interface PlanOptions {
  /**
   * Keep the physical-memory area as it is (a sequence's memory and what the
   * SEAM side wrote in earlier calls) and place this call's buffers from
   * `physStart` (an offset into the area). Default: the area is cleared and
   * buffers start at its beginning.
   */
  keepPhys?: boolean;
  physStart?: number;
}

/**
 * Lays the call out in the machine: physical buffers, structs in the caller
 * area, registers (canaries everywhere first), the sentinel return address.
 */
export function planCall(machine: Machine, abi: FunctionAbi, entry: bigint, call: LogicalCall, opts: PlanOptions = {}): CallPlan {
  machine.reset({ phys: !opts.keepPhys });
  const regs = {} as Regs;
  for (const r of GPR_NAMES) regs[r] = canary(r);

  // Physical buffers first: their addresses are inputs like any other value.
  const phys: PhysPlacement[] = [];
  let physOff = opts.physStart ?? 0;
  const inputs = new Map<GprName, bigint>();
  for (const [reg, v] of Object.entries(call.inputs) as [GprName, InputValue][]) {
    if (typeof v === 'bigint') {
      inputs.set(reg, v);
      continue;
    }
    const b = v;
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
          if (!isGprName(f.name)) continue;
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
    if (p.type.kind === 'int' && isGprName(p.name)) {
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
  const labels: MemoryLabel[] = [{ address: entryRsp, size: 8, name: 'return address' }];
  for (const pp of params) {
    if (!pp.struct) continue;
    for (const f of pp.struct.layout.fields) labels.push({ address: pp.struct.address + BigInt(f.offset), size: f.size, name: `${pp.name}->${f.name}` });
  }
  for (const b of phys) labels.push({ address: b.address, size: b.size, name: `phys(${b.register})` });
  labels.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const stack = { base: machine.layout.stackBase, size: machine.stack.length };
  return { entry, entryRsp, params, initialRegs: regs, entryRflags: ENTRY_RFLAGS, phys, unpassable, labels, stack };
}

function writeField(buf: Buffer, off: number, size: number, v: bigint): void {
  for (let i = 0; i < size; i++) buf[off + i] = Number((v >> BigInt(8 * i)) & 0xffn);
}

/**
 * The name of the memory at `address` for traces and debuggers: a planned
 * label (`args->rcx`, `out->r8+4` inside a field, `phys(rdx)+0x10`), else a
 * stack slot relative to the current RSP (`stack[rsp+8]`, `stack[rsp-16]`),
 * else undefined.
 */
export function labelAddress(plan: Pick<CallPlan, 'labels' | 'stack'>, address: bigint, rsp: bigint): string | undefined {
  let lo = 0;
  let hi = plan.labels.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const l = plan.labels[mid]!;
    if (address < l.address) hi = mid - 1;
    else if (address >= l.address + BigInt(l.size)) lo = mid + 1;
    else return address === l.address ? l.name : `${l.name}+${hex(address - l.address)}`;
  }
  if (address >= plan.stack.base && address < plan.stack.base + BigInt(plan.stack.size)) {
    const d = address - rsp;
    return d === 0n ? 'stack[rsp]' : d > 0n ? `stack[rsp+${d}]` : `stack[rsp-${-d}]`;
  }
  return undefined;
}
