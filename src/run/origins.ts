/**
 * Where register values came from: a shadow "origin" per register (and per
 * 8-byte memory slot) carried through a run, so the leak check can say that
 * a register the caller sees after return still holds a value the SEAM side
 * (TDX module, P-SEAMLDR or VMM) produced — and which instruction last wrote
 * it — by following data, not by comparing numbers.
 *
 * Rules, per executed instruction (Capstone's cs_regs_access says which
 * registers it reads and writes):
 * - a SEAMCALL/TDCALL gives every register its outcome wrote (and RAX for a
 *   status) the origin "SEAM call #i, register R"; physical memory the
 *   handler wrote gets it too;
 * - a zeroing idiom (`xor`/`sub` of a register with itself, e.g. `xorl
 *   %r10d,%r10d`) clears the origin; so does any write computed from
 *   nothing SEAM-derived (an immediate, a caller value);
 * - moves, loads, stores, push and pop copy the origin of the value moved
 *   (registers used only to form an address do not count);
 * - other instructions give their results the origin of the first
 *   SEAM-derived value they read ("derived");
 * - 8- and 16-bit writes keep the rest of the register's origin; 32-bit
 *   writes zero-extend and replace it.
 *
 * The tracker also records each register's last writer, the registers'
 * state at every SEAM call (who set the inputs) and at the end.
 */
import type { Disassembler, InsnAccess } from '../encode/capstone.js';
import { regInfo } from '../encode/registers.js';
import type { Image } from '../image/types.js';
import type { AddressLocation } from '../image/source-map.js';
import { EX_TYPE_FAULT, type Machine } from '../machine/machine.js';
import type { FixupRecord, MemoryAccess, RunObserver, RunStop, SeamCallRecord } from '../machine/run-types.js';
import { GPR_NAMES, type GprName } from '../support/registers.js';
import { imageBytes } from '../image/bytes.js';

/** A value the SEAM side produced. */
export interface ValueOrigin {
  /** The SEAM call (0-based, in run order) whose outcome produced it. */
  seamCall: number;
  /** Where that call put it: a register (RAX for the status), or physical memory. */
  from: GprName | 'memory';
  /** The value went through arithmetic since (not only moves, loads and stores). */
  derived: boolean;
}

/** What the tracker knows about one register at a point of the run. */
export interface RegisterProvenance {
  origin?: ValueOrigin;
  /** The instruction that last wrote the register (absent: the caller set it; the function never wrote it). */
  writer?: bigint;
}

export type RegisterProvenances = Record<GprName, RegisterProvenance>;

/** A caller-visible register that still holds a SEAM-produced value after return. */
export interface LeftoverValue {
  register: GprName;
  value: bigint;
  origin: ValueOrigin;
  writer?: bigint;
  writerLocation?: AddressLocation;
  /** The same SEAM value was also stored into a struct the caller passed (a declared output). */
  storedToStruct: boolean;
}

/**
 * Whether the function promises its caller that no SEAM value survives in
 * registers: it does when its own code clears registers after the
 * SEAMCALL/TDCALL (6.12 tdxcall.S:147-175, `.if \saved && \ret`: "Clear
 * registers shared by guest for VP.VMCALL/VP.ENTER to prevent speculative
 * use of guest's/VMM's values"). A function that clears none (R0, R5
 * without saved+ret) promises only RAX.
 */
export interface ScrubPromise {
  scrubs: boolean;
  /** The zeroing idioms after the call, in address order. */
  zeroed: { register: GprName; address: bigint; text: string }[];
}

export type LeakReport =
  | { tracked: true; promise: ScrubPromise; leftovers: LeftoverValue[] }
  | { tracked: false; reason: string };

interface Pending {
  address: bigint;
  /** Origins of the memory this instruction loaded, in load order. */
  loads: (ValueOrigin | undefined)[];
  stores: { address: bigint; size: number }[];
  /** The SEAM call or a fault handled this instruction: its effects are not Capstone's. */
  handled: boolean;
}

const ZEROING = /^(xor|sub|pxor|xorps|xorpd)[bwlq]?$/;
const MOVES = /^(mov[bwlq]?|movabs[bwlq]?|push[wq]?|pop[wq]?|xchg[bwlq]?)$/;
const CONDITIONAL = /^cmov/;

interface Decoded {
  access: InsnAccess;
  /** GPRs read as data (not only to form an address, never RSP). */
  data: GprName[];
  /** GPRs written, with the width of the write. */
  writes: { reg: GprName; bits: number }[];
  zeroing: boolean;
  move: boolean;
  conditional: boolean;
}

function gprOf(capstoneName: string): { reg: GprName; bits: number } | undefined {
  const info = regInfo(capstoneName);
  if (!info || info.cls !== 'gpr') return undefined;
  // %ah…%bh are bits 15:8 of RAX…RBX (numbers 4–7 in the table are their encodings).
  const num = info.highByte ? info.num - 4 : info.num;
  return { reg: GPR_NAMES[num]!, bits: info.bits };
}

/** Registers written as operands outside parentheses (`%rsi` in `movq %rsi, 0x60(%rax)`). */
function operandRegs(operands: string): Set<string> {
  return new Set([...operands.replace(/\([^)]*\)/g, '').matchAll(/%(\w+)/g)].map((m) => m[1]!));
}

export function decodeAccess(access: InsnAccess): Decoded {
  const { insn } = access;
  const direct = operandRegs(insn.operands);
  const addressOnly = new Set(access.addressRegs.filter((r) => !direct.has(r)));
  const isLea = /^lea[wlq]?$/.test(insn.mnemonic);
  const data: GprName[] = [];
  for (const name of access.regsRead) {
    if (!isLea && addressOnly.has(name)) continue;
    const g = gprOf(name);
    if (g && g.reg !== 'rsp' && !data.includes(g.reg)) data.push(g.reg);
  }
  const writes: Decoded['writes'] = [];
  for (const name of access.regsWrite) {
    const g = gprOf(name);
    if (g && g.reg !== 'rsp') writes.push(g);
  }
  const ops = insn.operands.split(',').map((o) => o.trim());
  const zeroing = ZEROING.test(insn.mnemonic) && ops.length === 2 && ops[0]!.startsWith('%') && ops[0] === ops[1];
  return { access, data, writes, zeroing, move: MOVES.test(insn.mnemonic), conditional: CONDITIONAL.test(insn.mnemonic) };
}

const SLOT = 8n;

/**
 * Instructions decoded (Capstone's regs-access, the costly part of tracking
 * origins), by image and address, with the bytes they were decoded from:
 * the same bytes at the same address decode the same way, so a process that
 * runs an image many times (the main job: ~290 runs of two images) asks
 * Capstone once per instruction instead of once per instruction per run.
 */
const decodedByImage = new WeakMap<Image, Map<bigint, { bytes: string; decoded: Decoded }>>();

export class OriginTracker implements RunObserver {
  readonly observesReads = true;
  private readonly regs: RegisterProvenances;
  private readonly slots = new Map<bigint, ValueOrigin>();
  private readonly decoded = new Map<bigint, Decoded>();
  private pending: Pending | undefined;
  private readonly atCalls: RegisterProvenances[] = [];
  /** SEAM origins stored into memory the caller owns (struct fields), by "call:register". */
  private readonly stored = new Set<string>();
  private beforeFixup: RegisterProvenances | undefined;

  constructor(private readonly machine: Machine, private readonly disasm: Disassembler) {
    this.regs = Object.fromEntries(GPR_NAMES.map((r) => [r, {}])) as RegisterProvenances;
  }

  instruction(_step: number, address: bigint): void {
    this.finish();
    this.pending = { address, loads: [], stores: [], handled: false };
  }

  memory(a: MemoryAccess): void {
    const p = this.pending;
    if (!p) return;
    if (a.kind === 'read') p.loads.push(this.load(a.address, a.size));
    else p.stores.push({ address: a.address, size: a.size });
  }

  seamCall(r: SeamCallRecord): void {
    this.atCalls.push(this.beforeFixup ?? this.snapshot());
    this.beforeFixup = undefined;
    if (this.pending) this.pending.handled = true;
    const o = r.outcome;
    if (o.kind === 'return') {
      this.regs.rax = { origin: { seamCall: r.index, from: 'rax', derived: false }, writer: r.address };
      for (const name of Object.keys(o.regs ?? {}) as GprName[]) this.regs[name] = { origin: { seamCall: r.index, from: name, derived: false }, writer: r.address };
    }
    for (const w of r.memWrites) this.storeOrigin(w.address, w.length, { seamCall: r.index, from: 'memory', derived: false });
  }

  fixup(f: FixupRecord): void {
    // A SEAMCALL that faulted reports its record after the fixup: keep the registers as the call saw them.
    if (this.machine.siteAt(f.address)) this.beforeFixup = this.snapshot();
    // The faulting instruction did nothing; EX_TYPE_FAULT's handler wrote the trap number into RAX.
    if (this.pending) this.pending.handled = true;
    if (this.machine.image.extable.some((e) => e.insn === f.address && e.type === EX_TYPE_FAULT)) this.regs.rax = { writer: f.address };
  }

  stop(stop: RunStop): void {
    if (stop.kind === 'ended') this.finish();
  }

  /** Every register's origin and last writer at SEAM call #i (before it was served). */
  atCall(i: number): RegisterProvenances | undefined {
    return this.atCalls[i];
  }

  /** Every register's origin and last writer now. */
  snapshot(): RegisterProvenances {
    return Object.fromEntries(GPR_NAMES.map((r) => [r, { ...this.regs[r] }])) as RegisterProvenances;
  }

  /** Whether a SEAM value with this origin was stored into memory outside the stack (a struct the caller passed). */
  wasStored(o: ValueOrigin): boolean {
    return this.stored.has(`${o.seamCall}:${o.from}`);
  }

  /**
   * After the run: every caller-visible register except RAX (the status)
   * and RSP that still holds a SEAM-produced value.
   */
  leftovers(regsOut: Record<GprName, bigint>): LeftoverValue[] {
    this.finish();
    const out: LeftoverValue[] = [];
    for (const r of GPR_NAMES) {
      if (r === 'rax' || r === 'rsp') continue;
      const p = this.regs[r];
      if (!p.origin) continue;
      const loc = p.writer !== undefined ? this.machine.map.locate(p.writer) : undefined;
      out.push({
        register: r, value: regsOut[r], origin: p.origin,
        ...(p.writer !== undefined ? { writer: p.writer } : {}), ...(loc ? { writerLocation: loc } : {}),
        storedToStruct: this.wasStored(p.origin),
      });
    }
    return out;
  }

  private decode(address: bigint): Decoded | undefined {
    let d = this.decoded.get(address);
    if (d) return d;
    const bytes = this.machine.readMemory(address, 15) ?? imageBytes(this.machine.image, address);
    if (!bytes || bytes.length === 0) return undefined;
    let shared = decodedByImage.get(this.machine.image);
    if (!shared) decodedByImage.set(this.machine.image, (shared = new Map<bigint, { bytes: string; decoded: Decoded }>()));
    const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
    const hit = shared.get(address);
    if (hit && hit.bytes === key) d = hit.decoded;
    else {
      d = decodeAccess(this.disasm.access(bytes, 0, address));
      shared.set(address, { bytes: key, decoded: d });
    }
    this.decoded.set(address, d);
    return d;
  }

  /** Applies the effects of the instruction that has just completed. */
  private finish(): void {
    const p = this.pending;
    this.pending = undefined;
    if (!p || p.handled) return;
    const d = this.decode(p.address);
    if (!d) return;
    let source: ValueOrigin | undefined;
    if (!d.zeroing) {
      for (const r of d.data) source ??= this.regs[r].origin;
      for (const l of p.loads) source ??= l;
      // A conditional move may leave its destination as it was.
      if (d.conditional) for (const w of d.writes) source ??= this.regs[w.reg].origin;
    }
    if (source && !d.move && !source.derived) source = { ...source, derived: true };
    for (const w of d.writes) {
      const old = this.regs[w.reg].origin;
      const origin = w.bits >= 32 ? source : source ?? old;
      this.regs[w.reg] = { ...(origin ? { origin } : {}), writer: p.address };
    }
    for (const s of p.stores) this.storeOrigin(s.address, s.size, source);
  }

  private load(address: bigint, size: number): ValueOrigin | undefined {
    for (let a = address & ~(SLOT - 1n); a < address + BigInt(size); a += SLOT) {
      const o = this.slots.get(a);
      if (o) return o;
    }
    return undefined;
  }

  private storeOrigin(address: bigint, size: number, origin: ValueOrigin | undefined): void {
    const end = address + BigInt(size);
    const whole = (address & (SLOT - 1n)) === 0n && size % 8 === 0;
    for (let a = address & ~(SLOT - 1n); a < end; a += SLOT) {
      if (origin) this.slots.set(a, origin);
      else if (whole) this.slots.delete(a);
    }
    if (origin && !this.inStack(address)) this.stored.add(`${origin.seamCall}:${origin.from}`);
  }

  private inStack(address: bigint): boolean {
    const base = this.machine.layout.stackBase;
    return address >= base && address < base + BigInt(this.machine.stack.length);
  }
}


const promises = new WeakMap<Image, Map<string, ScrubPromise>>();

/**
 * Reads the function's own code (its symbol's extent) for zeroing idioms
 * after its first SEAMCALL/TDCALL: the registers it scrubs. Cached per image
 * and function (the main job asks once per run).
 */
export function scrubPromise(image: Image, fnName: string, trapSites: readonly bigint[], disasm: Disassembler): ScrubPromise {
  let perImage = promises.get(image);
  if (!perImage) promises.set(image, (perImage = new Map<string, ScrubPromise>()));
  let p = perImage.get(fnName);
  if (!p) perImage.set(fnName, (p = readScrubs(image, fnName, trapSites, disasm)));
  return p;
}

function readScrubs(image: Image, fnName: string, trapSites: readonly bigint[], disasm: Disassembler): ScrubPromise {
  const sym = image.symbols.find((s) => s.name === fnName && s.section !== null);
  const sec = sym && image.sections.find((s) => s.name === sym.section);
  if (!sym || !sec || sym.size === 0n) return { scrubs: false, zeroed: [] };
  const start = Number(sym.address - sec.address);
  const end = start + Number(sym.size);
  const first = trapSites.filter((a) => a >= sym.address && a < sym.address + sym.size).sort((a, b) => (a < b ? -1 : 1))[0];
  if (first === undefined) return { scrubs: false, zeroed: [] };
  const zeroed: ScrubPromise['zeroed'] = [];
  const code = sec.bytes.subarray(0, end);
  for (let off = start; off < end;) {
    const address = sec.address + BigInt(off);
    const d = decodeAccess(disasm.access(code, off, address));
    const size = d.access.insn.bytes.length;
    if (address > first && d.zeroing) for (const w of d.writes) zeroed.push({ register: w.reg, address, text: d.access.insn.text });
    off += Math.max(1, size);
  }
  return { scrubs: zeroed.length > 0, zeroed };
}
