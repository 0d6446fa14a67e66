/**
 * Comparing Unicorn's step trace with the CPU's, instruction by
 * instruction: the instruction's address, RIP and all sixteen GPRs after it,
 * the flags the architecture defines at that point (flags.ts), and memory —
 * every 8-byte-aligned qword either side changed is compared after the
 * step, on two copies of the run's initial memory that each side's changes
 * are applied to (so a store of an unchanged value and a return address
 * that differs only by the relocation compare equal). Silicon values are
 * first mapped back into Unicorn's addresses (relocate.ts). Then the ends:
 * how each run finished.
 *
 * The first difference is the divergence, reported with the step, the
 * instruction (Capstone), its source line and both states.
 */
import type { DisasmInsn } from '../encode/capstone.js';
import { formatLocation, type SourceMap } from '../image/source-map.js';
import { SLOT } from '../machine/register-file.js';
import { flagNames, GPR_NAMES, RFLAGS } from '../support/registers.js';
import { hex, hex64 } from '../support/format.js';
import { ALL_STATUS_DEFINED, COMPARED_FLAGS, definedAfter, flagEffect, type FlagEffect } from './flags.js';
import type { Relocation } from './relocate.js';
import type { ByteRun, MemorySnapshot, OracleTrace, OracleEnd, OracleStep } from './step-trace.js';
import { EXCEPTION_NAMES } from '../machine/execution.js';

export interface StateDifference {
  /** `rax`, `rip`, `ZF`, `memory 0x7fffe000fef8`, `address`, `end`. */
  what: string;
  unicorn: string;
  silicon: string;
}

export interface OracleDivergence {
  /** 0-based step; equal to the shorter trace's length when one run ended first. */
  step: number;
  /** The instruction of that step (Unicorn's address), when there is one. */
  address?: bigint;
  instruction?: string;
  location?: string;
  differences: StateDifference[];
  /** Registers after the step (silicon's mapped into Unicorn's addresses). */
  unicornRegs?: BigUint64Array;
  siliconRegs?: BigUint64Array;
  unicornEnd: OracleEnd;
  siliconEnd: OracleEnd;
  unicornSteps: number;
  siliconSteps: number;
}

export interface CompareContext {
  relocation: Relocation;
  /** The writable memory before the first instruction (the same on both sides). */
  memory: readonly MemorySnapshot[];
  /** The instruction at a Unicorn address. */
  disassemble(address: bigint): DisasmInsn | undefined;
  /** Its source line, one line of text. */
  locate(address: bigint): string | undefined;
}

/** The one place the oracle asks the source map. */
export function sourceLine(map: SourceMap, address: bigint): string | undefined {
  const loc = map.locate(address);
  return loc ? formatLocation(loc, address) : undefined;
}

/** Memory as one side sees it: the initial snapshot plus that side's changes, by aligned qword. */
class MemoryView {
  private readonly qwords = new Map<bigint, Uint8Array>();
  constructor(private readonly base: readonly MemorySnapshot[]) {}

  private qword(q: bigint): Uint8Array {
    let b = this.qwords.get(q);
    if (!b) {
      b = new Uint8Array(8);
      for (let i = 0; i < 8; i++) b[i] = this.baseByte(q + BigInt(i));
      this.qwords.set(q, b);
    }
    return b;
  }

  private baseByte(a: bigint): number {
    for (const r of this.base) if (a >= r.address && a < r.address + BigInt(r.bytes.length)) return r.bytes[Number(a - r.address)]!;
    return 0;
  }

  apply(runs: readonly ByteRun[], touched: Set<bigint>): void {
    for (const r of runs) {
      for (let i = 0; i < r.bytes.length; i++) {
        const a = r.address + BigInt(i);
        const q = a & ~7n;
        touched.add(q);
        this.qword(q)[Number(a - q)] = r.bytes[i]!;
      }
    }
  }

  read(q: bigint): bigint {
    const b = this.qword(q);
    let v = 0n;
    for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    return v;
  }
}

function stepEffect(ctx: CompareContext, step: OracleStep, before: BigUint64Array): FlagEffect {
  if (step.seam) return step.seam.path === 'resumed' ? { writes: ALL_STATUS_DEFINED, undefined: 0n } : { writes: 0n, undefined: 0n };
  if (step.exception) return { writes: 0n, undefined: 0n };
  const insn = ctx.disassemble(step.address);
  // Outside the image (no bytes to decode): compare strictly.
  if (!insn) return { writes: ALL_STATUS_DEFINED, undefined: 0n };
  return flagEffect(insn.mnemonic, insn.operands, before[SLOT.rcx]!);
}

function endText(e: OracleEnd): string {
  switch (e.kind) {
    case 'returned': return 'returned';
    case 'oops': return `oops #${EXCEPTION_NAMES[e.vector] ?? e.vector} at ${hex(e.address)}`;
    case 'fault': return `${e.access} fault at ${hex(e.address)} by ${hex(e.rip)}`;
    case 'panic': return `panic in ${e.stub}`;
    case 'runaway': return 'runaway (instruction budget spent)';
    case 'error': return `error: ${e.message}`;
  }
}

function sameEnd(u: OracleEnd, s: OracleEnd): boolean {
  if (u.kind !== s.kind) return false;
  switch (u.kind) {
    case 'oops': return s.kind === 'oops' && u.vector === s.vector && u.address === s.address;
    case 'fault': {
      if (s.kind !== 'fault' || u.rip !== s.rip) return false;
      const access = s.access === 'data' ? u.access !== 'fetch' : s.access === u.access;
      // The CPU names the first byte that faulted, Unicorn the start of the access.
      return access && s.address >= u.address && s.address < u.address + 16n;
    }
    case 'panic': return s.kind === 'panic' && u.stub === s.stub;
    case 'error': return s.kind === 'error' && u.message === s.message;
    default: return true;
  }
}

/** The first difference between the traces, or undefined when they agree on every instruction. */
export function compareOracleTraces(u: OracleTrace, s: OracleTrace, ctx: CompareContext): OracleDivergence | undefined {
  const R = ctx.relocation;
  const memU = new MemoryView(ctx.memory);
  const memS = new MemoryView(ctx.memory);
  let defined = ALL_STATUS_DEFINED;
  const n = Math.min(u.steps.length, s.steps.length);
  const base = (step: number) => {
    const us = u.steps[step];
    const insn = us ? ctx.disassemble(us.address) : undefined;
    const loc = us ? ctx.locate(us.address) : undefined;
    return {
      step, ...(us ? { address: us.address } : {}), ...(insn ? { instruction: insn.text } : {}), ...(loc ? { location: loc } : {}),
      unicornEnd: u.end, siliconEnd: s.end, unicornSteps: u.steps.length, siliconSteps: s.steps.length,
    };
  };
  for (let i = 0; i < n; i++) {
    const us = u.steps[i]!;
    const ss = s.steps[i]!;
    const diffs: StateDifference[] = [];
    const sAddress = R.toUnicorn(ss.address);
    if (sAddress !== us.address) diffs.push({ what: 'address', unicorn: hex(us.address), silicon: hex(sAddress) });
    const sRegs = R.regsToUnicorn(ss.regs.slice());
    for (let g = 0; g < 16; g++) {
      if (us.regs[g] !== sRegs[g]) diffs.push({ what: GPR_NAMES[g]!, unicorn: hex(us.regs[g]!), silicon: hex(sRegs[g]!) });
    }
    if (us.regs[SLOT.rip] !== sRegs[SLOT.rip]) diffs.push({ what: 'rip', unicorn: hex(us.regs[SLOT.rip]!), silicon: hex(sRegs[SLOT.rip]!) });
    defined = definedAfter(defined, stepEffect(ctx, us, i === 0 ? u.initial : u.steps[i - 1]!.regs));
    const mask = (defined | RFLAGS.DF) & COMPARED_FLAGS;
    const flagDiff = (us.regs[SLOT.rflags]! ^ sRegs[SLOT.rflags]!) & mask;
    for (const f of flagNames(flagDiff)) {
      diffs.push({ what: f, unicorn: (us.regs[SLOT.rflags]! & RFLAGS[f]) ? '1' : '0', silicon: (sRegs[SLOT.rflags]! & RFLAGS[f]) ? '1' : '0' });
    }
    const touched = new Set<bigint>();
    memU.apply(us.writes, touched);
    memU.apply(us.seam?.writes ?? [], touched);
    memS.apply(ss.writes, touched);
    memS.apply(ss.seam?.writes ?? [], touched);
    for (const q of [...touched].sort((a, b) => (a < b ? -1 : 1))) {
      const a = memU.read(q);
      const b = R.toUnicorn(memS.read(q));
      if (a !== b) diffs.push({ what: `memory ${hex(q)}`, unicorn: `0x${hex64(a)}`, silicon: `0x${hex64(b)}` });
    }
    if (diffs.length) return { ...base(i), differences: diffs, unicornRegs: us.regs, siliconRegs: sRegs };
  }
  if (u.steps.length !== s.steps.length) {
    return {
      ...base(n),
      differences: [{ what: 'end', unicorn: `${u.steps.length} steps, ${endText(u.end)}`, silicon: `${s.steps.length} steps, ${endText(s.end)}` }],
      ...(n > 0 ? { unicornRegs: u.steps[n - 1]!.regs, siliconRegs: R.regsToUnicorn(s.steps[n - 1]!.regs.slice()) } : {}),
    };
  }
  if (s.unattributed.length > 0) {
    const w = s.unattributed[0]!;
    return {
      ...base(Math.max(0, n - 1)),
      differences: [{ what: `memory ${hex(w.address)}`, unicorn: 'no step changed it', silicon: `${w.bytes.length} bytes changed that no step reported (${s.unattributed.length} runs in all)` }],
    };
  }
  if (!sameEnd(u.end, s.end)) {
    return { ...base(Math.max(0, n - 1)), differences: [{ what: 'end', unicorn: endText(u.end), silicon: endText(s.end) }] };
  }
  return undefined;
}

/** A divergence as text: step, instruction, source line, the differences, both register sets. */
export function formatOracleDivergence(d: OracleDivergence, title?: string): string {
  const lines: string[] = [];
  lines.push(`DIVERGENCE at step ${d.step}${title ? ` of ${title}` : ''}`);
  if (d.address !== undefined) lines.push(`  instruction  ${hex(d.address)}  ${d.instruction ?? '(not in the image)'}`);
  if (d.location) lines.push(`  source       ${d.location}`);
  for (const x of d.differences) lines.push(`  ${x.what.padEnd(24)} unicorn ${x.unicorn}   cpu ${x.silicon}`);
  if (d.unicornRegs && d.siliconRegs) {
    lines.push('  state after the step:      unicorn              cpu');
    const row = (name: string, a: bigint, b: bigint) => `  ${a === b ? ' ' : '*'} ${name.padEnd(6)} ${hex64(a)}  ${hex64(b)}`;
    GPR_NAMES.forEach((g, i) => lines.push(row(g, d.unicornRegs![i]!, d.siliconRegs![i]!)));
    lines.push(row('rip', d.unicornRegs[SLOT.rip]!, d.siliconRegs[SLOT.rip]!));
    const fu = d.unicornRegs[SLOT.rflags]!;
    const fs = d.siliconRegs[SLOT.rflags]!;
    lines.push(`  ${(fu ^ fs) & COMPARED_FLAGS ? '*' : ' '} rflags ${hex64(fu)}  ${hex64(fs)}   (${flagNames(fu).join(' ') || '-'} | ${flagNames(fs).join(' ') || '-'})`);
  }
  lines.push(`  runs: unicorn ${d.unicornSteps} steps, ${endText(d.unicornEnd)}; cpu ${d.siliconSteps} steps, ${endText(d.siliconEnd)}`);
  return lines.join('\n');
}

export { endText };
