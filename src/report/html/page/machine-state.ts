/**
 * The machine state at each step, rebuilt from the trace alone: registers
 * from the entry registers and each step's changes; memory byte by byte
 * from the accesses — a byte's content before the first write to it is
 * known when something read it first (or when the summary says a struct
 * field was never written and what it held), its later contents from the
 * writes of the instructions and of the SEAM side. "After step k" is the
 * state the instruction at step k left behind; step -1 is the entry state.
 */
import type { Trace, TraceStep } from '../../../trace/format.js';

export type RegValues = Record<string, string>;

/** Registers after each step (index k), and at entry. */
export function registerHistory(trace: Trace): { entry: RegValues; after: RegValues[] } {
  const entry: RegValues = { ...trace.header.entry.regs };
  const after: RegValues[] = [];
  let cur = entry;
  for (const s of trace.steps) {
    if (s.regs) {
      cur = { ...cur };
      for (const [name, pair] of Object.entries(s.regs)) cur[name] = pair[1];
    }
    after.push(cur);
  }
  return { entry, after };
}

/** One access as the memory panels list it. */
export interface Access {
  step: number;
  op: 'r' | 'w';
  addr: bigint;
  size: number;
  /** The bytes, low address first. */
  bytes: number[];
  label?: string;
  /** True for what the SEAM side wrote (not the instruction itself). */
  seam?: boolean;
}

interface ByteHistory {
  initial?: number;
  /** Writes in trace order: [step, value]. */
  writes: [number, number][];
}

function leBytes(value: string, size: number): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  for (let i = 0; i < size; i++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** Every memory access of a step, the instruction's first and then the SEAM side's writes. */
export function accessesOf(s: TraceStep): Access[] {
  const out: Access[] = (s.mem ?? []).map((m) => ({
    step: s.step, op: m.op, addr: BigInt(m.addr), size: m.size, bytes: leBytes(m.value, m.size), ...(m.label ? { label: m.label } : {}),
  }));
  for (const w of s.seam?.memWrites ?? []) {
    const bytes = w.bytes.split(/\s+/).filter(Boolean).map((b) => parseInt(b, 16));
    out.push({ step: s.step, op: 'w', addr: BigInt(w.addr), size: bytes.length, bytes, seam: true });
  }
  return out;
}

export interface SlotValue {
  /** The bytes after the step, low address first; undefined where unknown. */
  bytes: (number | undefined)[];
  /** The last write at or before the step that touched the slot. */
  lastWrite?: Access;
  /** Accesses of the slot at this very step. */
  now: Access[];
}

export class MemoryHistory {
  readonly accesses: Access[] = [];
  private readonly bytes = new Map<bigint, ByteHistory>();

  constructor(trace: Trace) {
    for (const s of trace.steps) this.accesses.push(...accessesOf(s));
    for (const a of this.accesses) {
      a.bytes.forEach((b, i) => {
        const addr = a.addr + BigInt(i);
        let h = this.bytes.get(addr);
        if (!h) this.bytes.set(addr, (h = { writes: [] }));
        if (a.op === 'w') h.writes.push([a.step, b]);
        else if (h.writes.length === 0 && h.initial === undefined) h.initial = b;
      });
    }
    // A struct field the run never wrote still holds what the caller put there: the summary's value.
    const labels = new Map(trace.header.labels.map((l) => [l.name, l]));
    for (const o of trace.summary.outputs) {
      for (const f of o.fields) {
        const l = labels.get(`${o.param}->${f.name}`);
        if (!l || f.written) continue;
        leBytes(f.value, l.size).forEach((b, i) => {
          const addr = BigInt(l.address) + BigInt(i);
          let h = this.bytes.get(addr);
          if (!h) this.bytes.set(addr, (h = { writes: [] }));
          h.initial ??= b;
        });
      }
    }
  }

  byteAfter(addr: bigint, step: number): number | undefined {
    const h = this.bytes.get(addr);
    if (!h) return undefined;
    let v = h.initial;
    for (const [s, b] of h.writes) {
      if (s > step) break;
      v = b;
    }
    return v;
  }

  slot(addr: bigint, size: number, step: number): SlotValue {
    const bytes: (number | undefined)[] = [];
    for (let i = 0; i < size; i++) bytes.push(this.byteAfter(addr + BigInt(i), step));
    const end = addr + BigInt(size);
    const overlaps = (a: Access) => a.addr < end && a.addr + BigInt(a.size) > addr;
    let lastWrite: Access | undefined;
    const now: Access[] = [];
    for (const a of this.accesses) {
      if (a.step > step) break;
      if (!overlaps(a)) continue;
      if (a.op === 'w') lastWrite = a;
      if (a.step === step) now.push(a);
    }
    return { bytes, ...(lastWrite ? { lastWrite } : {}), now };
  }
}

/** "0x1f" for fully known little-endian bytes, else the bytes high first with "??" for unknown ones; undefined when none is known. */
export function formatSlot(bytes: (number | undefined)[]): string | undefined {
  if (bytes.every((b) => b === undefined)) return undefined;
  if (bytes.every((b) => b !== undefined)) {
    let v = 0n;
    for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
    return `0x${v.toString(16)}`;
  }
  return [...bytes].reverse().map((b) => (b === undefined ? '??' : b.toString(16).padStart(2, '0'))).join(' ');
}

/** Is this access to the stack? The recorder names stack memory `stack[rsp±N]`, and the slot the caller's return address is in. */
export function isStackLabel(label: string | undefined): boolean {
  return label !== undefined && (label.startsWith('stack[') || label === 'return address');
}
