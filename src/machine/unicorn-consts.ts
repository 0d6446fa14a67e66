/**
 * Numeric ids from Debian's libunicorn-dev 2.0.1 headers (`unicorn/unicorn.h`,
 * `unicorn/x86.h`). They are ABI: test/unicorn-binding.test.ts compiles a
 * small C program against the installed headers and checks every value here.
 */

export const UC_ARCH_X86 = 4;
export const UC_MODE_64 = 1 << 3;

/** uc_err */
export const UC_ERR = {
  OK: 0,
  NOMEM: 1,
  ARCH: 2,
  HANDLE: 3,
  MODE: 4,
  VERSION: 5,
  READ_UNMAPPED: 6,
  WRITE_UNMAPPED: 7,
  FETCH_UNMAPPED: 8,
  HOOK: 9,
  INSN_INVALID: 10,
  MAP: 11,
  WRITE_PROT: 12,
  READ_PROT: 13,
  FETCH_PROT: 14,
  ARG: 15,
  READ_UNALIGNED: 16,
  WRITE_UNALIGNED: 17,
  FETCH_UNALIGNED: 18,
  HOOK_EXIST: 19,
  RESOURCE: 20,
  EXCEPTION: 21,
} as const;

/** The `size` a code hook receives for an instruction Unicorn cannot decode. */
export const UC_INSN_INVALID_SIZE = 0xf1f1f1f1;

/** uc_prot */
export const UC_PROT = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4, ALL: 7 } as const;

/** uc_hook_type */
export const UC_HOOK = {
  INTR: 1 << 0,
  INSN: 1 << 1,
  CODE: 1 << 2,
  BLOCK: 1 << 3,
  MEM_READ_UNMAPPED: 1 << 4,
  MEM_WRITE_UNMAPPED: 1 << 5,
  MEM_FETCH_UNMAPPED: 1 << 6,
  MEM_READ_PROT: 1 << 7,
  MEM_WRITE_PROT: 1 << 8,
  MEM_FETCH_PROT: 1 << 9,
  MEM_READ: 1 << 10,
  MEM_WRITE: 1 << 11,
  MEM_FETCH: 1 << 12,
  MEM_READ_AFTER: 1 << 13,
  INSN_INVALID: 1 << 14,
  EDGE_GENERATED: 1 << 15,
  TCG_OPCODE: 1 << 16,
} as const;

/** Composite hook masks, as the header's #defines build them. */
export const UC_HOOK_MEM_UNMAPPED = UC_HOOK.MEM_READ_UNMAPPED | UC_HOOK.MEM_WRITE_UNMAPPED | UC_HOOK.MEM_FETCH_UNMAPPED;
export const UC_HOOK_MEM_PROT = UC_HOOK.MEM_READ_PROT | UC_HOOK.MEM_WRITE_PROT | UC_HOOK.MEM_FETCH_PROT;
export const UC_HOOK_MEM_INVALID = UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT;

/** uc_mem_type (argument of memory hooks) */
export const UC_MEM = {
  READ: 16,
  WRITE: 17,
  FETCH: 18,
  READ_UNMAPPED: 19,
  WRITE_UNMAPPED: 20,
  FETCH_UNMAPPED: 21,
  WRITE_PROT: 22,
  READ_PROT: 23,
  FETCH_PROT: 24,
  READ_AFTER: 25,
} as const;

/** uc_control_type and the UC_CTL() encoding: type | nr << 26 | rw << 30. */
export const UC_CTL_TB_REMOVE_CACHE = 9;
export const UC_CTL_TB_FLUSH = 10;
export const UC_CTL_IO_WRITE = 1;
export const UC_CTL_IO_READ = 2;
export function ucCtl(type: number, nargs: number, rw: number): number {
  return (type | (nargs << 26) | (rw << 30)) >>> 0;
}

/** uc_x86_reg: the registers seamlab uses. */
export const X86_REG = {
  INVALID: 0,
  EFLAGS: 25,
  RAX: 35,
  RBP: 36,
  RBX: 37,
  RCX: 38,
  RDI: 39,
  RDX: 40,
  RIP: 41,
  RSI: 43,
  RSP: 44,
  R8: 106,
  R9: 107,
  R10: 108,
  R11: 109,
  R12: 110,
  R13: 111,
  R14: 112,
  R15: 113,
  CR0: 50,
  CR4: 54,
  CS: 11,
  DS: 17,
  ES: 28,
  FS: 32,
  GS: 33,
  SS: 49,
  FS_BASE: 250,
  GS_BASE: 251,
  RFLAGS: 253,
  ENDING: 259,
} as const;

import type { GprName } from '../support/registers.js';

export { GPR_NAMES, RFLAGS, RFLAGS_STATUS, type GprName } from '../support/registers.js';

export const GPR_IDS: Record<GprName, number> = {
  rax: X86_REG.RAX, rcx: X86_REG.RCX, rdx: X86_REG.RDX, rbx: X86_REG.RBX,
  rsp: X86_REG.RSP, rbp: X86_REG.RBP, rsi: X86_REG.RSI, rdi: X86_REG.RDI,
  r8: X86_REG.R8, r9: X86_REG.R9, r10: X86_REG.R10, r11: X86_REG.R11,
  r12: X86_REG.R12, r13: X86_REG.R13, r14: X86_REG.R14, r15: X86_REG.R15,
};

