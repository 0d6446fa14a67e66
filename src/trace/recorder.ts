/**
 * The trace recorder: an observer of one run (src/machine run control) that
 * turns every executed instruction into a `TraceStep` — where it is in the
 * image and in the kernel source, its bytes and disassembly, the registers
 * and RFLAGS bits it changed, the memory it read and wrote (named after the
 * call plan: `out->r8`, `stack[rsp+8]`), the SEAM call served there, and the
 * exception-table fixup taken there.
 *
 * A step is complete when the next instruction starts (or the run ends):
 * only then are the registers it left behind known. Steps are handed to a
 * sink as they complete, so a long trace streams instead of piling up.
 *
 * Recording reads registers through its own register block and never
 * writes anything: it cannot change what runs (tested). A run on the host
 * CPU is recorded by the same recorder: src/oracle/replay.ts loads each of
 * the CPU's steps into the machine and calls the observers as a run does.
 */
import type { Disassembler } from '../encode/capstone.js';
import type { Machine } from '../machine/machine.js';
import type { FixupRecord, MemoryAccess, RunObserver, RunStop, SeamCallRecord } from '../machine/run-types.js';
import type { AddressLocation } from '../image/source-map.js';
import type { RegisterBlock } from '../machine/unicorn.js';
import { GPR_IDS, X86_REG } from '../machine/unicorn-consts.js';
import { STEP_REGISTERS } from '../machine/native-steps.js';
import { labelAddress, type CallPlan } from '../run/plan.js';
import { leafName, statusName } from '../seam/codes.js';
import { hexBytes, hexU64 } from '../support/format.js';
import { DISPLAY_ORDER, GPR_NAMES, RFLAGS, type RflagsBit } from '../support/registers.js';
import type { SeamEvent, TraceStep } from './format.js';
import { imageBytes } from '../image/bytes.js';

/** The registers a step's changes are computed over, in display order, RFLAGS last. */
const TRACKED = [...DISPLAY_ORDER, 'rflags'] as const;
type Tracked = (typeof TRACKED)[number];
const TRACKED_IDS = TRACKED.map((r) => (r === 'rflags' ? X86_REG.RFLAGS : GPR_IDS[r]));
const RSP_SLOT = TRACKED.indexOf('rsp');
/** Where each TRACKED register sits in a recorded step's registers (STEP_REGISTERS order). */
const FROM_STEP = TRACKED.map((r) => (STEP_REGISTERS as readonly string[]).indexOf(r));
const FLAG_BITS = Object.entries(RFLAGS) as [RflagsBit, bigint][];
const FLAGS_SLOT = TRACKED.length - 1;
/** The register block's own order (TRACKED), for steps read live. */
const SAME_SLOT = TRACKED.map((_, i) => i);

/** What a step shows about its address, the same every time the address runs. */
interface StaticStep {
  rip: string;
  sym?: string;
  bytes: string;
  asm: string;
  src?: string;
  stmt?: string;
  macros?: string[];
}

export type StepSink = (step: TraceStep) => void;

export class TraceRecorder implements RunObserver {
  readonly observesReads = true;
  private readonly block: RegisterBlock;
  /** Registers before the step being recorded (TRACKED order). */
  private readonly before: BigUint64Array;
  /** The step in progress: what it is and what it did so far (its registers are known when the next one starts). */
  private current: { step: number; at: StaticStep; mem?: TraceStep['mem']; seam?: SeamEvent; fault?: TraceStep['fault'] } | undefined;
  private readonly statics = new Map<bigint, StaticStep>();
  /** `before` as 32-bit halves (the same memory). */
  private readonly before32: Uint32Array;
  /** A 32-bit view of the buffer the registers of the last step came from (kept while the buffer is the same). */
  private view32: Uint32Array | undefined;
  /** Register values at the first instruction. */
  readonly entry: Record<Tracked, bigint>;

  constructor(
    private readonly machine: Machine,
    private readonly plan: Pick<CallPlan, 'labels' | 'stack'>,
    private readonly disasm: Disassembler,
    private readonly sink: StepSink,
  ) {
    this.block = machine.uc.registerBlock(TRACKED_IDS);
    this.block.read();
    this.before = new BigUint64Array(this.block.values);
    this.before32 = new Uint32Array(this.before.buffer, this.before.byteOffset, TRACKED.length * 2);
    this.entry = Object.fromEntries(TRACKED.map((r, i) => [r, this.before[i]!])) as Record<Tracked, bigint>;
  }

  instruction(step: number, address: bigint, _size: number, registers?: BigUint64Array): void {
    this.complete(registers);
    this.current = { step, at: this.staticAt(address) };
  }

  memory(a: MemoryAccess): void {
    const s = this.current;
    if (!s) return;
    const label = labelAddress(this.plan, a.address, this.before[RSP_SLOT]!);
    (s.mem ??= []).push({ op: a.kind === 'read' ? 'r' : 'w', addr: hexU64(a.address), size: a.size, value: hexU64(a.value), ...(label ? { label } : {}) });
  }

  seamCall(r: SeamCallRecord): void {
    const s = this.current;
    if (!s) return;
    const ln = leafName(r.kind, r.regsIn.rax);
    const sn = r.outcome.kind === 'return' ? statusName(r.outcome.rax, { kind: r.kind, rax: r.regsIn.rax }) : undefined;
    const event: SeamEvent = {
      kind: r.kind, index: r.index, leaf: hexU64(r.regsIn.rax), ...(ln ? { leafName: ln } : {}),
      in: Object.fromEntries(DISPLAY_ORDER.map((n) => [n, hexU64(r.regsIn[n])])),
      handler: r.handler, outcome: outcomeRecord(r.outcome), ...(sn ? { statusName: sn } : {}), path: r.path,
      memWrites: r.memWrites.map((w) => ({ addr: hexU64(w.address), bytes: hexBytes(w.bytes) })),
    };
    s.seam = event;
  }

  fixup(f: FixupRecord): void {
    if (this.current) this.current.fault = { vector: f.vector, fixup: hexU64(f.fixup) };
  }

  stop(stop: RunStop): void {
    if (stop.kind !== 'ended') return;
    const end = stop.end;
    if (this.current && end.kind === 'oops' && hexU64(end.address) === this.current.at.rip) this.current.fault = { vector: end.vector };
    this.complete();
  }

  /** Finishes the step in progress with the registers it left behind (recorded, or read now). */
  private complete(recorded?: BigUint64Array): void {
    const s = this.current;
    if (!s) return;
    this.current = undefined;
    if (!recorded) this.block.read();
    const now = recorded ?? this.block.values;
    // Registers are compared as 32-bit halves: reading a BigUint64Array element makes a BigInt, and a step
    // changes one or two of the 17 — only those are read as BigInts (for their hex text).
    if (this.view32?.buffer !== now.buffer) this.view32 = new Uint32Array(now.buffer);
    const src = this.view32;
    const base = now.byteOffset / 4;
    const before = this.before;
    const prev = this.before32;
    const from = recorded ? FROM_STEP : SAME_SLOT;
    let regs: TraceStep['regs'];
    let flags: TraceStep['flags'];
    for (let i = 0; i < TRACKED.length; i++) {
      const w = base + from[i]! * 2;
      if (src[w] === prev[i * 2] && src[w + 1] === prev[i * 2 + 1]) continue;
      const old = before[i]!;
      const value = now[from[i]!]!;
      (regs ??= {})[TRACKED[i]!] = [hexU64(old), hexU64(value)];
      if (i === FLAGS_SLOT) {
        const set: RflagsBit[] = [];
        const cleared: RflagsBit[] = [];
        const changed = value ^ old;
        for (const [name, bit] of FLAG_BITS) {
          if ((changed & bit) === 0n) continue;
          if ((value & bit) !== 0n) set.push(name);
          else cleared.push(name);
        }
        if (set.length || cleared.length) flags = { set, cleared };
      }
      prev[i * 2] = src[w]!;
      prev[i * 2 + 1] = src[w + 1]!;
    }
    const at = s.at;
    // One object with its keys in the documented order; JSON.stringify leaves out the ones that are undefined.
    this.sink({
      type: 'step', step: s.step, rip: at.rip, sym: at.sym, bytes: at.bytes, asm: at.asm, src: at.src, stmt: at.stmt, macros: at.macros,
      regs, flags, mem: s.mem, seam: s.seam, fault: s.fault,
    });
  }

  private staticAt(address: bigint): StaticStep {
    let st = this.statics.get(address);
    if (st) return st;
    const code = imageBytes(this.machine.image, address) ?? this.machine.readMemory(address, 15) ?? new Uint8Array(0);
    const insn = code.length ? this.disasm.decodeOne(code, 0, address) : undefined;
    const loc = this.machine.map.locate(address);
    st = {
      rip: hexU64(address),
      ...(loc?.symbol ? { sym: loc.symbol } : {}),
      bytes: insn ? hexBytes(insn.bytes) : '',
      asm: insn ? insn.text : '(no code mapped)',
      ...sourceFields(loc),
    };
    this.statics.set(address, st);
    return st;
  }
}

/** The source fields of a step (one adapter over the source map's location shape). */
function sourceFields(loc: AddressLocation | undefined): Pick<StaticStep, 'src' | 'stmt' | 'macros'> {
  if (!loc) return {};
  const { pos, gasStack } = loc.location;
  return {
    src: `${pos.file}:${pos.line}`,
    stmt: loc.text,
    ...(gasStack.length ? { macros: gasStack.map((f) => `${f.name} at ${f.invokedAt.file}:${f.invokedAt.line}`) } : {}),
  };
}


function outcomeRecord(o: SeamCallRecord['outcome']): SeamEvent['outcome'] {
  const out: SeamEvent['outcome'] = { kind: o.kind };
  if (o.kind === 'return') {
    out.rax = hexU64(o.rax);
    if (o.regs) out.regs = Object.fromEntries(GPR_NAMES.filter((n) => o.regs![n as keyof typeof o.regs] !== undefined).map((n) => [n, hexU64(o.regs![n as keyof typeof o.regs]!)]));
  }
  if (o.kind === 'fault') out.vector = o.vector;
  if (o.note !== undefined) out.note = o.note;
  return out;
}
