/**
 * What the machine looks for in the image's code when it is created, so
 * that neither mode pays for it per instruction:
 *
 * - instructions it does not model, which would otherwise run as Unicorn
 *   runs them (a `syscall` as a no-op, `hlt` stopping emulation so that the
 *   run reads as a runaway, `wrmsr` writing an MSR nothing reads): each
 *   ends the run with its own stop reason at its source line (UNMODELLED);
 * - the branches whose target comes from data (`ret`, indirect `call` and
 *   `jmp`): a target that is not canonical raises #GP(0) at the branch,
 *   which does not execute (Intel SDM Vol. 2A CALL, JMP and RET, "64-Bit
 *   Mode Exceptions: #GP(0) If the target offset … is non-canonical";
 *   Vol. 2B RET: the return address is checked before RSP is updated).
 *   Unicorn executes the branch and faults fetching the target; the silicon
 *   oracle (src/oracle) found the difference. Direct branches need no
 *   check: their rel8/rel32 targets cannot leave the canonical top of the
 *   address space where images are placed.
 *
 * Every byte offset of the executable sections is decoded as a possible
 * instruction start (prefixes, then the opcode), because code may be
 * written as `.byte` and may be jumped into anywhere. An offset that is not
 * really an instruction start costs nothing: Unicorn calls a code hook only
 * for an instruction that starts at the hooked address.
 */
import type { Image } from '../image/types.js';

/** An instruction the machine does not model, and why (the stop reason says both). */
export interface UnmodelledInsn {
  mnemonic: string;
  why: string;
}

const NO_INTERRUPTS = 'the machine models no interrupts';
const NO_PORTS = 'the machine has no I/O ports or devices';
const NO_MSRS = 'the machine has no model-specific registers';
const NO_SYSCALLS = 'the machine has no system-call entry points or user mode';

/**
 * The table, by opcode (one byte, or 0x0f and the second byte as 0x0fXX).
 * Intel SDM Vol. 2: SYSCALL/SYSRET/SYSENTER/SYSEXIT (0F 05, 0F 07, 0F 34,
 * 0F 35), HLT (F4), WRMSR/RDMSR (0F 30, 0F 32), CLI/STI (FA, FB), IN (E4,
 * E5, EC, ED), OUT (E6, E7, EE, EF), INS (6C, 6D), OUTS (6E, 6F).
 */
export const UNMODELLED: ReadonlyMap<number, UnmodelledInsn> = new Map<number, UnmodelledInsn>([
  [0x0f05, { mnemonic: 'syscall', why: `it enters the kernel's system-call entry (IA32_LSTAR); ${NO_SYSCALLS}` }],
  [0x0f07, { mnemonic: 'sysret', why: `it returns to user mode; ${NO_SYSCALLS}` }],
  [0x0f34, { mnemonic: 'sysenter', why: `it enters the kernel through IA32_SYSENTER_EIP; ${NO_SYSCALLS}` }],
  [0x0f35, { mnemonic: 'sysexit', why: `it returns to user mode; ${NO_SYSCALLS}` }],
  [0xf4, { mnemonic: 'hlt', why: `it halts the CPU until an interrupt arrives; ${NO_INTERRUPTS}` }],
  [0x0f30, { mnemonic: 'wrmsr', why: `it writes the MSR named by ECX; ${NO_MSRS}` }],
  [0x0f32, { mnemonic: 'rdmsr', why: `it reads the MSR named by ECX; ${NO_MSRS}` }],
  [0xfa, { mnemonic: 'cli', why: `it masks interrupts (clears IF); ${NO_INTERRUPTS}` }],
  [0xfb, { mnemonic: 'sti', why: `it unmasks interrupts (sets IF); ${NO_INTERRUPTS}` }],
  ...[0xe4, 0xe5, 0xec, 0xed].map((op): [number, UnmodelledInsn] => [op, { mnemonic: 'in', why: `it reads an I/O port; ${NO_PORTS}` }]),
  ...[0xe6, 0xe7, 0xee, 0xef].map((op): [number, UnmodelledInsn] => [op, { mnemonic: 'out', why: `it writes an I/O port; ${NO_PORTS}` }]),
  ...[0x6c, 0x6d].map((op): [number, UnmodelledInsn] => [op, { mnemonic: 'ins', why: `it reads an I/O port into memory; ${NO_PORTS}` }]),
  ...[0x6e, 0x6f].map((op): [number, UnmodelledInsn] => [op, { mnemonic: 'outs', why: `it writes memory to an I/O port; ${NO_PORTS}` }]),
]);

export interface UnmodelledSite extends UnmodelledInsn {
  address: bigint;
}

/** How a checked branch finds its target (read when the hook fires, before the branch executes). */
export type BranchTarget =
  /** `ret` / `ret imm16`: the qword at RSP. */
  | { kind: 'stack' }
  /** `call`/`jmp *%reg`: a GPR by encoding number (0 = RAX … 15 = R15). */
  | { kind: 'register'; reg: number }
  /**
   * `call`/`jmp *disp(base,index,scale)`: the qword at that address.
   * `ripRelative`: base is the address of the next instruction.
   */
  | { kind: 'memory'; base?: number; index?: number; scale: number; disp: bigint; ripRelative: boolean };

export interface BranchSite {
  address: bigint;
  /** Length of the instruction (for RIP-relative operands). */
  length: number;
  mnemonic: 'ret' | 'call' | 'jmp';
  target: BranchTarget;
}

const LEGACY_PREFIXES = new Set([0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0xf0]);
/** x86 allows at most 15 bytes per instruction; 4 legacy prefixes and a REX are plenty for real code. */
const MAX_PREFIXES = 5;

interface Prefixed {
  /** Offset of the opcode. */
  op: number;
  legacy: Set<number>;
  rex: number;
}

/** The prefixes at `at` (legacy ones, then at most one REX right before the opcode). */
function prefixes(b: Uint8Array, at: number): Prefixed | undefined {
  const legacy = new Set<number>();
  let i = at;
  while (i < b.length && LEGACY_PREFIXES.has(b[i]!) && i - at < MAX_PREFIXES) legacy.add(b[i++]!);
  let rex = 0;
  if (i < b.length && (b[i]! & 0xf0) === 0x40) rex = b[i++]!;
  return i < b.length ? { op: i, legacy, rex } : undefined;
}

function unmodelledAt(b: Uint8Array, at: number): UnmodelledInsn | undefined {
  const p = prefixes(b, at);
  if (!p) return undefined;
  const op = b[p.op]!;
  if (op === 0x0f) return p.op + 1 < b.length ? UNMODELLED.get(0x0f00 | b[p.op + 1]!) : undefined;
  return UNMODELLED.get(op);
}

function readDisp(b: Uint8Array, at: number, size: 1 | 4): bigint | undefined {
  if (at + size > b.length) return undefined;
  if (size === 1) return BigInt((b[at]! << 24) >> 24);
  return BigInt(b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24));
}

function branchAt(b: Uint8Array, at: number): Omit<BranchSite, 'address'> | undefined {
  const p = prefixes(b, at);
  // A 16-bit operand size (66) changes what ret pops and how far a branch reads; 32-bit addressing (67)
  // and FS/GS bases change the operand's address. Such branches are left to Unicorn (none in kernel code).
  if (!p || p.legacy.has(0x66) || p.legacy.has(0x67) || p.legacy.has(0x64) || p.legacy.has(0x65)) return undefined;
  const op = b[p.op]!;
  if (op === 0xc3) return { length: p.op + 1 - at, mnemonic: 'ret', target: { kind: 'stack' } };
  if (op === 0xc2) return p.op + 3 <= b.length ? { length: p.op + 3 - at, mnemonic: 'ret', target: { kind: 'stack' } } : undefined;
  if (op !== 0xff || p.op + 1 >= b.length) return undefined;
  const modrm = b[p.op + 1]!;
  const reg = (modrm >> 3) & 7;
  if (reg !== 2 && reg !== 4) return undefined; // ff /2 call, ff /4 jmp (near, absolute indirect)
  const mnemonic = reg === 2 ? 'call' : 'jmp';
  const mod = modrm >> 6;
  const rm = modrm & 7;
  const rexB = p.rex & 1 ? 8 : 0;
  const rexX = p.rex & 2 ? 8 : 0;
  let i = p.op + 2;
  if (mod === 3) return { length: i - at, mnemonic, target: { kind: 'register', reg: rm | rexB } };
  let base: number | undefined;
  let index: number | undefined;
  let scale = 1;
  let ripRelative = false;
  if (rm === 4) {
    if (i >= b.length) return undefined;
    const sib = b[i++]!;
    scale = 1 << (sib >> 6);
    const idx = ((sib >> 3) & 7) | rexX;
    if (idx !== 4) index = idx; // index 100 (without REX.X) means none
    const sibBase = sib & 7;
    if (sibBase === 5 && mod === 0) base = undefined; // disp32, no base
    else base = sibBase | rexB;
  } else if (rm === 5 && mod === 0) {
    ripRelative = true;
  } else {
    base = rm | rexB;
  }
  const dispSize = mod === 1 ? 1 : mod === 2 || ripRelative || (rm === 4 && base === undefined) ? 4 : 0;
  let disp = 0n;
  if (dispSize) {
    const d = readDisp(b, i, dispSize);
    if (d === undefined) return undefined;
    disp = d;
    i += dispSize;
  }
  return { length: i - at, mnemonic, target: { kind: 'memory', ...(base !== undefined ? { base } : {}), ...(index !== undefined ? { index } : {}), scale, disp, ripRelative } };
}

export interface CodeScan {
  unmodelled: UnmodelledSite[];
  branches: BranchSite[];
}

/** Scans every executable section of the image (see the header for why every offset). */
export function scanCode(image: Image): CodeScan {
  const unmodelled: UnmodelledSite[] = [];
  const branches: BranchSite[] = [];
  for (const s of image.sections) {
    if (!s.flags.alloc || !s.flags.exec) continue;
    const b = s.bytes;
    for (let at = 0; at < b.length; at++) {
      const address = s.address + BigInt(at);
      const u = unmodelledAt(b, at);
      if (u) unmodelled.push({ address, ...u });
      const br = branchAt(b, at);
      if (br) branches.push({ address, ...br });
    }
  }
  return { unmodelled, branches };
}
