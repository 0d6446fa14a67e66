/**
 * The x86-64 registers seamlab talks about, defined once: the 16 GPRs in
 * hardware encoding order (RAX=0 … R15=15, the order of ModRM/REX register
 * numbers and of TDVMCALL's register bitmaps), the order reports show them
 * in, and the RFLAGS bits.
 */

/** The 16 general-purpose registers in hardware encoding order (RAX=0 … R15=15). */
export const GPR_NAMES = [
  'rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
] as const;
export type GprName = (typeof GPR_NAMES)[number];

/** Every GPR's value. */
export type Regs = Record<GprName, bigint>;

export function isGprName(n: string): n is GprName {
  return (GPR_NAMES as readonly string[]).includes(n);
}

/**
 * The order tables and traces list registers in: the TDX argument registers
 * first (RAX, RCX, RDX, RBX, RSI, RDI, R8–R15), the stack and frame pointers last.
 */
export const DISPLAY_ORDER: readonly GprName[] = ['rax', 'rcx', 'rdx', 'rbx', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rbp', 'rsp'];

/** RFLAGS bits. */
export const RFLAGS = {
  CF: 1n << 0n,
  PF: 1n << 2n,
  AF: 1n << 4n,
  ZF: 1n << 6n,
  SF: 1n << 7n,
  TF: 1n << 8n,
  IF: 1n << 9n,
  DF: 1n << 10n,
  OF: 1n << 11n,
} as const;
export type RflagsBit = keyof typeof RFLAGS;

/** The six arithmetic status flags VMX instructions define (SDM Vol. 3C §30.2). */
export const RFLAGS_STATUS = RFLAGS.CF | RFLAGS.PF | RFLAGS.AF | RFLAGS.ZF | RFLAGS.SF | RFLAGS.OF;

/** Names of the RFLAGS bits set in `v`, low bit first ("CF ZF IF"). */
export function flagNames(v: bigint): RflagsBit[] {
  return (Object.keys(RFLAGS) as RflagsBit[]).filter((k) => (v & RFLAGS[k]) !== 0n);
}

/** A register name as a debugger accepts it, as a view of one of the full registers. */
export interface RegisterView {
  /** The full register: a GPR, 'rip' or 'rflags'. */
  base: GprName | 'rip' | 'rflags';
  /** Bytes of the view (8 for the full register). */
  size: 1 | 2 | 4 | 8;
  /** Bit offset of the view in the register (8 for AH, CH, DH, BH). */
  shift: 0 | 8;
}

const LEGACY = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'] as const;

/**
 * Every register name a debugger user may type (without `$`), as views of
 * the full registers: the GPRs and their 32/16/8-bit parts (eax, r8d, ax,
 * r8w, al, ah, r8b), rip and gdb's pc/sp/fp aliases, rflags/eflags.
 */
export const REGISTER_VIEWS: ReadonlyMap<string, RegisterView> = (() => {
  const m = new Map<string, RegisterView>();
  GPR_NAMES.forEach((g, i) => {
    m.set(g, { base: g, size: 8, shift: 0 });
    if (i < 8) {
      const l = LEGACY[i]!;
      m.set(`e${l}`, { base: g, size: 4, shift: 0 });
      m.set(l, { base: g, size: 2, shift: 0 });
      m.set(i < 4 ? `${l[0]}l` : `${l}l`, { base: g, size: 1, shift: 0 });
      if (i < 4) m.set(`${l[0]}h`, { base: g, size: 1, shift: 8 });
    } else {
      m.set(`${g}d`, { base: g, size: 4, shift: 0 });
      m.set(`${g}w`, { base: g, size: 2, shift: 0 });
      m.set(`${g}b`, { base: g, size: 1, shift: 0 });
    }
  });
  m.set('rip', { base: 'rip', size: 8, shift: 0 });
  m.set('pc', { base: 'rip', size: 8, shift: 0 });
  m.set('sp', { base: 'rsp', size: 8, shift: 0 });
  m.set('fp', { base: 'rbp', size: 8, shift: 0 });
  m.set('rflags', { base: 'rflags', size: 8, shift: 0 });
  m.set('eflags', { base: 'rflags', size: 4, shift: 0 });
  return m;
})();
