/**
 * The x86-64 register file as gdb's `g`/`G`/`p`/`P` packets carry it: gdb's
 * default amd64 layout (the one it uses for a target description that only
 * names the architecture, `i386:x86-64`, and the GNU/Linux OS ABI): the
 * 16 GPRs in gdb's order, rip, eflags (32-bit), the six segment selectors
 * (32-bit), the x87 state (st0–st7 as 10 bytes, then fctrl…fop),
 * xmm0–15, mxcsr, orig_rax (the Linux ABI's), then fs_base and gs_base —
 * checked against gdb 13, which reads a `g` reply in this order. The
 * debugger core's `registers()` (src/machine/cpu-state.ts) has the GPRs,
 * RIP, RFLAGS, selectors and FS/GS bases; seamlab's runs never touch
 * x87/SSE state, so those read as zero; orig_rax reads as -1 ("not in a
 * system call", what gdb writes when it changes the PC). A register the core
 * does not model accepts only a write of the value it reads.
 */
import type { CpuState, SegmentName } from '../machine/cpu-state.js';
import type { GprName } from '../support/registers.js';

export interface RegisterSlot {
  /** gdb's name (also its remote register number's meaning: the index in REGISTER_LAYOUT). */
  name: string;
  /** Bytes in the packet (little-endian). */
  size: number;
  /** The core's register name when the core models it (writeRegister takes it). */
  core?: string;
  read(cpu: CpuState): bigint;
}

const gpr = (name: GprName): RegisterSlot => ({ name, size: 8, core: name, read: (c) => c.gprs[name] });
const seg = (name: SegmentName): RegisterSlot => ({ name, size: 4, core: name, read: (c) => c.segments[name] });
const fixed = (name: string, size: number, value = 0n): RegisterSlot => ({ name, size, read: () => value });

/** gdb's amd64 GPR order (its regnums 0–15), not the hardware encoding order of support/registers.ts. */
const GDB_GPR_ORDER: GprName[] = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

export const REGISTER_LAYOUT: readonly RegisterSlot[] = [
  ...GDB_GPR_ORDER.map(gpr),
  { name: 'rip', size: 8, core: 'rip', read: (c) => c.rip },
  { name: 'eflags', size: 4, core: 'rflags', read: (c) => c.rflags },
  ...(['cs', 'ss', 'ds', 'es', 'fs', 'gs'] as const).map(seg),
  ...Array.from({ length: 8 }, (_, i) => fixed(`st${i}`, 10)),
  ...['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop'].map((n) => fixed(n, 4)),
  ...Array.from({ length: 16 }, (_, i) => fixed(`xmm${i}`, 16)),
  fixed('mxcsr', 4),
  fixed('orig_rax', 8, -1n),
  { name: 'fs_base', size: 8, core: 'fs_base', read: (c) => c.fsBase },
  { name: 'gs_base', size: 8, core: 'gs_base', read: (c) => c.gsBase },
];

/** The `g` packet's size in bytes. */
export const REGISTER_BYTES = REGISTER_LAYOUT.reduce((n, r) => n + r.size, 0);

/** Little-endian bytes of a value, truncated to `size`. */
export function toLittleEndian(value: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let v = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function fromLittleEndian(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** The whole register file, in packet order. */
export function encodeRegisters(cpu: CpuState): Uint8Array {
  const out = new Uint8Array(REGISTER_BYTES);
  let at = 0;
  for (const r of REGISTER_LAYOUT) {
    out.set(toLittleEndian(r.read(cpu), r.size), at);
    at += r.size;
  }
  return out;
}

/** Splits a `G` packet's bytes into per-register values (undefined when the size is wrong). */
export function decodeRegisters(bytes: Uint8Array): bigint[] | undefined {
  if (bytes.length !== REGISTER_BYTES) return undefined;
  const out: bigint[] = [];
  let at = 0;
  for (const r of REGISTER_LAYOUT) {
    out.push(fromLittleEndian(bytes.subarray(at, at + r.size)));
    at += r.size;
  }
  return out;
}
