/**
 * The x86-64 register file as the GDB stub describes it (target.xml, see
 * src/gdb/target-xml.ts) and carries it in `g`/`G`/`p`/`P` packets: gdb's
 * own amd64 GNU/Linux register set, in its order — the 16 GPRs in gdb's
 * order, rip, eflags (32-bit), the six segment selectors (32-bit), the x87
 * state (st0–st7 as 10 bytes, then fctrl…fop), xmm0–15, mxcsr, orig_rax,
 * fs_base and gs_base (gdb 13 reads a `g` reply for an `i386:x86-64`
 * GNU/Linux target in exactly this order) — plus `rflags`, the full 64-bit
 * RFLAGS under seamlab's name, in a feature of its own.
 *
 * The debugger core's `registers()` (src/machine/cpu-state.ts) has the
 * GPRs, RIP, RFLAGS, selectors and FS/GS bases; seamlab's runs never touch
 * x87/SSE state, so those read as zero; orig_rax reads as -1 ("not in a
 * system call", what gdb writes when it changes the PC). Only the GPRs,
 * rip and (e/r)flags can be written (the core's writeRegister); any other
 * register accepts only a write of the value it reads.
 */
import type { CpuState, SegmentName } from '../machine/cpu-state.js';
import type { GprName } from '../support/registers.js';
import { fromLittleEndian, toLittleEndian } from '../support/memory.js';

export type RegisterFeature = 'org.gnu.gdb.i386.core' | 'org.gnu.gdb.i386.sse' | 'org.gnu.gdb.i386.linux' | 'org.gnu.gdb.i386.segments' | 'org.seamlab.x86';

export interface RegisterSlot {
  /** gdb's name; its remote register number is the index in REGISTER_LAYOUT. */
  name: string;
  /** Bytes in the packet (little-endian). */
  size: number;
  feature: RegisterFeature;
  /** The target description type (gdb's predefined ones, or those target-xml.ts defines). */
  type: string;
  group?: 'general' | 'float' | 'vector' | 'system';
  /** The core's register name when the core can write it. */
  core?: string;
  read(cpu: CpuState): bigint;
}

const CORE = 'org.gnu.gdb.i386.core';
const gpr = (name: GprName): RegisterSlot => ({ name, size: 8, feature: CORE, type: name === 'rbp' || name === 'rsp' ? 'data_ptr' : 'int64', core: name, read: (c) => c.gprs[name] });
const seg = (name: SegmentName): RegisterSlot => ({ name, size: 4, feature: CORE, type: 'int32', read: (c) => c.segments[name] });
const fixed = (name: string, size: number, feature: RegisterFeature, type: string, group?: RegisterSlot['group'], value = 0n): RegisterSlot => ({
  name, size, feature, type, ...(group ? { group } : {}), read: () => value,
});

/** gdb's amd64 GPR order (its regnums 0–15), not the hardware encoding order of support/registers.ts. */
const GDB_GPR_ORDER: GprName[] = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

export const REGISTER_LAYOUT: readonly RegisterSlot[] = [
  ...GDB_GPR_ORDER.map(gpr),
  { name: 'rip', size: 8, feature: CORE, type: 'code_ptr', core: 'rip', read: (c) => c.rip },
  { name: 'eflags', size: 4, feature: CORE, type: 'i386_eflags', core: 'rflags', read: (c) => c.rflags },
  ...(['cs', 'ss', 'ds', 'es', 'fs', 'gs'] as const).map(seg),
  ...Array.from({ length: 8 }, (_, i) => fixed(`st${i}`, 10, CORE, 'i387_ext')),
  ...['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop'].map((n) => fixed(n, 4, CORE, 'int', 'float')),
  ...Array.from({ length: 16 }, (_, i) => fixed(`xmm${i}`, 16, 'org.gnu.gdb.i386.sse', 'vec128')),
  fixed('mxcsr', 4, 'org.gnu.gdb.i386.sse', 'i386_mxcsr', 'vector'),
  fixed('orig_rax', 8, 'org.gnu.gdb.i386.linux', 'int', undefined, -1n),
  { name: 'fs_base', size: 8, feature: 'org.gnu.gdb.i386.segments', type: 'int', read: (c) => c.fsBase },
  { name: 'gs_base', size: 8, feature: 'org.gnu.gdb.i386.segments', type: 'int', read: (c) => c.gsBase },
  { name: 'rflags', size: 8, feature: 'org.seamlab.x86', type: 'seamlab_rflags', group: 'general', core: 'rflags', read: (c) => c.rflags },
];

/** The `g` packet's size in bytes. */
export const REGISTER_BYTES = REGISTER_LAYOUT.reduce((n, r) => n + r.size, 0);


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
