/**
 * Which RFLAGS bits the oracle may compare after an instruction. The
 * architecture leaves some arithmetic flags undefined after some
 * instructions: Intel and AMD CPUs (and QEMU's TCG under Unicorn) are each
 * free to leave what they like there, so a difference is not a bug.
 *
 * The table below is the "Flags Affected" paragraph of each instruction in
 * the Intel SDM, Vol. 2 (order number 325383, December 2023), quoted
 * briefly. A flag an instruction leaves undefined stays uncompared until a
 * later instruction defines it again; instructions that do not touch the
 * flags (mov, lea, push, jcc …) leave their state — defined or not — as it
 * was. An instruction in none of the lists is taken to define all six
 * status flags, so an unknown instruction is compared strictly: a
 * difference there is reported, never hidden.
 *
 * Compared bits: CF PF AF ZF SF OF (where defined) and DF. IF, TF and RF
 * belong to the privilege level and to ptrace (the CPU runs the image at
 * CPL 3 with IF forced on and TF/RF set by single-stepping), not to the
 * instruction, and are never compared.
 */
import { RFLAGS, RFLAGS_STATUS, type RflagsBit } from '../support/registers.js';

export const COMPARED_FLAGS = RFLAGS_STATUS | RFLAGS.DF;

const { CF, PF, AF, ZF, SF, OF } = RFLAGS;
const ALL = RFLAGS_STATUS;

/** What one instruction does to the six status flags. */
export interface FlagEffect {
  /** Flags the instruction writes (defined or not). */
  writes: bigint;
  /** Among `writes`, the ones it leaves undefined. */
  undefined: bigint;
}

const NONE: FlagEffect = { writes: 0n, undefined: 0n };
const DEFINES_ALL: FlagEffect = { writes: ALL, undefined: 0n };

const bits = (names: RflagsBit[]): bigint => names.reduce((m, n) => m | RFLAGS[n], 0n);

export interface UndefinedFlagsRow {
  mnemonics: string[];
  writes: RflagsBit[];
  undefined: RflagsBit[];
  /** SDM Vol. 2, "Flags Affected". */
  sdm: string;
}

/** Instructions with a fixed set of undefined flags (count-dependent shifts and rotates are below). */
export const UNDEFINED_FLAGS: readonly UndefinedFlagsRow[] = [
  { mnemonics: ['and', 'or', 'xor', 'test'], writes: ['CF', 'PF', 'AF', 'ZF', 'SF', 'OF'], undefined: ['AF'],
    sdm: 'AND, OR, XOR, TEST: "The OF and CF flags are cleared; the SF, ZF, and PF flags are set according to the result. The state of the AF flag is undefined."' },
  { mnemonics: ['imul', 'mul'], writes: ['CF', 'PF', 'AF', 'ZF', 'SF', 'OF'], undefined: ['SF', 'ZF', 'AF', 'PF'],
    sdm: 'IMUL: "For the one operand form … CF and OF … The SF, ZF, AF, and PF flags are undefined." MUL: "The OF and CF flags are set to 0 if the upper half of the result is 0; otherwise, they are set to 1. The SF, ZF, AF, and PF flags are undefined."' },
  { mnemonics: ['div', 'idiv'], writes: ['CF', 'PF', 'AF', 'ZF', 'SF', 'OF'], undefined: ['CF', 'PF', 'AF', 'ZF', 'SF', 'OF'],
    sdm: 'DIV, IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined."' },
  { mnemonics: ['bsf', 'bsr'], writes: ['CF', 'PF', 'AF', 'ZF', 'SF', 'OF'], undefined: ['CF', 'PF', 'AF', 'SF', 'OF'],
    sdm: 'BSF, BSR: "The ZF flag is set to 1 if the source operand is 0; otherwise, the ZF flag is cleared. The CF, OF, SF, AF, and PF flags are undefined."' },
  { mnemonics: ['bt', 'bts', 'btr', 'btc'], writes: ['CF', 'PF', 'AF', 'SF', 'OF'], undefined: ['PF', 'AF', 'SF', 'OF'],
    sdm: 'BT, BTS, BTR, BTC: "The CF flag contains the value of the selected bit. The ZF flag is unaffected. The OF, SF, AF, and PF flags are undefined."' },
  { mnemonics: ['lzcnt', 'tzcnt'], writes: ['CF', 'PF', 'AF', 'ZF', 'SF', 'OF'], undefined: ['PF', 'AF', 'SF', 'OF'],
    sdm: 'LZCNT, TZCNT: "ZF flag is set to 1 in case of zero output …; CF flag is set to 1 if input was zero … OF, SF, PF and AF flags are undefined."' },
  { mnemonics: ['andn', 'bzhi', 'blsi', 'blsmsk', 'blsr'], writes: ['CF', 'PF', 'AF', 'ZF', 'SF', 'OF'], undefined: ['PF', 'AF'],
    sdm: 'ANDN, BZHI, BLSI, BLSMSK, BLSR: "… The AF and PF flags are undefined."' },
  { mnemonics: ['bextr'], writes: ['CF', 'PF', 'AF', 'ZF', 'SF', 'OF'], undefined: ['PF', 'AF', 'SF'],
    sdm: 'BEXTR: "ZF is updated based on the result. AF, SF, and PF are undefined. All other flags are cleared."' },
  { mnemonics: ['inc', 'dec'], writes: ['PF', 'AF', 'ZF', 'SF', 'OF'], undefined: [],
    sdm: 'INC, DEC: "The CF flag is not affected. The OF, SF, ZF, AF, and PF flags are set according to the result."' },
];

/**
 * Count-dependent (SDM SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD/SHRD):
 * - shifts: "If the count is 0, the flags are not affected. … The OF flag is
 *   affected only on 1-bit shifts … otherwise, it is undefined. … For a
 *   non-zero count, the AF flag is undefined." and "the CF flag is undefined
 *   for SHL and SHR instructions where the count is greater than or equal to
 *   the size (in bits) of the destination operand";
 * - rotates: "The OF flag is defined only for the 1-bit rotates; it is
 *   undefined in all other cases (except RCL and RCR instructions only: a
 *   zero-bit rotate does nothing, that is affects no flags) … The SF, ZF,
 *   AF, and PF flags are not affected." (ROL/ROR with a masked count of 0 do
 *   not change the flags either);
 * - SHLD/SHRD: "If the count is 1 or greater, the CF flag is filled with the
 *   last bit shifted out … For a 1-bit shift, the OF flag is set if a sign
 *   change occurred; otherwise, it is cleared. For shifts greater than 1 bit,
 *   the OF flag is undefined. … If the count operand is 0, the flags are not
 *   affected. If the count is greater than the operand size, the flags are
 *   undefined." The AF flag is undefined.
 */
const SHIFTS = new Set(['shl', 'sal', 'shr', 'sar']);
const ROTATES = new Set(['rol', 'ror', 'rcl', 'rcr']);
const DOUBLE_SHIFTS = new Set(['shld', 'shrd']);

/** Instructions that leave the six status flags alone (DF and the system flags are not status flags). */
const FLAG_NEUTRAL = /^(?!popf)(mov|lea|push|pop|call|ret|jmp|j[a-z]{1,4}$|nop|endbr|int3|ud2|xchg|cmov|set|bswap|not|cbtw|cwtl|cltq|cwtd|cltd|cqto|leave|lfence|mfence|sfence|pause|cld|std|cli|sti|seamcall|tdcall|prefetch|clflush)/;

const UNDEFINED_BY_MNEMONIC = new Map<string, FlagEffect>();
for (const row of UNDEFINED_FLAGS) for (const m of row.mnemonics) UNDEFINED_BY_MNEMONIC.set(m, { writes: bits(row.writes), undefined: bits(row.undefined) });

/** AT&T mnemonics carry an operand-size suffix (`xorl`, `shlq`): the table's name, if it has one. */
function baseMnemonic(m: string, known: (x: string) => boolean): string {
  if (known(m)) return m;
  const stripped = m.replace(/[bwlq]$/, '');
  return known(stripped) ? stripped : m;
}

function operandBits(mnemonic: string, operands: string): number {
  const suffix = /[bwlq]$/.exec(mnemonic)?.[0];
  if (suffix) return { b: 8, w: 16, l: 32, q: 64 }[suffix]!;
  const last = operands.split(',').pop()!.trim();
  if (/^%r([a-z]{2}|\d+)$/.test(last)) return 64;
  if (/^%(e[a-z]{2}|r\d+d)$/.test(last)) return 32;
  if (/^%([a-z]x|[sd]i|[sb]p|r\d+w)$/.test(last)) return 16;
  return /^%/.test(last) ? 8 : 64;
}

/** The shift count an instruction uses: `$n`, or `%cl` (from RCX before it), masked as the CPU masks it. */
function shiftCount(countOperand: string, rcxBefore: bigint, width: number): number {
  let raw = 1;
  if (countOperand.startsWith('$')) raw = Number(BigInt.asUintN(8, BigInt(countOperand.slice(1))));
  else if (countOperand === '%cl') raw = Number(rcxBefore & 0xffn);
  return raw & (width === 64 ? 0x3f : 0x1f);
}

/**
 * The effect of one executed instruction on the status flags, from its
 * Capstone mnemonic and operands (AT&T) and RCX before it (for `%cl` counts).
 */
export function flagEffect(mnemonic: string, operands: string, rcxBefore: bigint): FlagEffect {
  if (FLAG_NEUTRAL.test(mnemonic)) return NONE;
  const isShift = (x: string) => SHIFTS.has(x) || ROTATES.has(x) || DOUBLE_SHIFTS.has(x);
  const base = baseMnemonic(mnemonic, (x) => UNDEFINED_BY_MNEMONIC.has(x) || isShift(x));
  const fixed = UNDEFINED_BY_MNEMONIC.get(base);
  if (fixed) return fixed;
  if (!isShift(base)) return DEFINES_ALL;
  const width = operandBits(mnemonic, operands);
  const ops = operands.split(',').map((s) => s.trim()).filter(Boolean);
  // Two-operand shift/rotate forms are "count, destination"; SHLD/SHRD are "count, source, destination".
  const hasCount = DOUBLE_SHIFTS.has(base) ? ops.length === 3 : ops.length === 2;
  let count = hasCount ? shiftCount(ops[0]!, rcxBefore, width) : 1;
  // RCL/RCR rotate through CF: an 8- or 16-bit operand takes the count modulo 9 or 17.
  if ((base === 'rcl' || base === 'rcr') && width < 32) count %= width + 1;
  if (count === 0) return NONE;
  if (ROTATES.has(base)) return { writes: CF | OF, undefined: count === 1 ? 0n : OF };
  if (DOUBLE_SHIFTS.has(base)) {
    if (count > width) return { writes: ALL, undefined: ALL };
    return { writes: ALL, undefined: AF | (count === 1 ? 0n : OF) };
  }
  let undefinedFlags = AF | (count === 1 ? 0n : OF);
  if ((base === 'shl' || base === 'shr' || base === 'sal') && count >= width) undefinedFlags |= CF;
  return { writes: ALL, undefined: undefinedFlags };
}

/** The status flags defined after an instruction with `effect`, given those defined before it. */
export function definedAfter(definedBefore: bigint, effect: FlagEffect): bigint {
  return (definedBefore & ~effect.writes) | (effect.writes & ~effect.undefined);
}

export const ALL_STATUS_DEFINED = ALL;
export { CF, PF, AF, ZF, SF, OF };
