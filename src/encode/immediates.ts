/**
 * How GNU as 2.40 chooses the size of an immediate (tc-i386.c:
 * optimize_imm, smallest_imm_type, match_template, update_imm), reduced to
 * the instruction classes kernel assembly uses. Keystone makes different
 * choices (e.g. `mov $-1,%rax` → 10-byte movabs), so seamlab decides the
 * immediate's slot itself, hands Keystone a placeholder that forces that
 * slot, and writes the real value into it afterwards.
 *
 * GNU as's model: an immediate has a set of possible types (Imm1, Imm8,
 * Imm8S, Imm16, Imm32, Imm32S, Imm64); the instruction's templates are tried
 * in table order and the first whose immediate type overlaps wins.
 */

export const I1 = 1;
export const I8 = 2;
export const I8S = 4;
export const I16 = 8;
export const I32 = 16;
export const I32S = 32;
export const I64 = 64;

export type OpSize = 8 | 16 | 32 | 64;

/** Where the immediate goes in the chosen template. */
export type ImmSlot =
  /** `shl $1` → D1 /4: no immediate byte. */
  | 'none'
  | 'fixed1'
  | 'fixed2'
  /** Imm8|Imm16|Imm32|Imm32S templates: 1/2/4/4 bytes for operand size 8/16/32/64. */
  | 'opsize'
  /** movabs $imm64. */
  | 'fixed8';

export interface ImmTemplate {
  accepts: number;
  sizes: readonly OpSize[];
  slot: ImmSlot;
  /** Only with a register destination (mov $imm64,%r64). */
  regOnly?: boolean;
}

const ALL: readonly OpSize[] = [8, 16, 32, 64];
const WIDE: readonly OpSize[] = [16, 32, 64];
const GENERAL = I8 | I16 | I32 | I32S;

/**
 * The immediate templates of each instruction class, in GNU as's
 * i386-opc.tbl order (opcodes/i386-opc.tbl, binutils 2.40).
 */
export const IMM_CLASSES = {
  // add/or/adc/sbb/and/sub/xor/cmp: 83 /n ib (Imm8S, not for byte ops), then 04/05 acc and 80/81 /n.
  alu: [
    { accepts: I8S, sizes: WIDE, slot: 'fixed1' },
    { accepts: GENERAL, sizes: ALL, slot: 'opsize' },
  ],
  // test: A8/A9 acc and F6/F7 /0; no sign-extended imm8 form.
  test: [{ accepts: GENERAL, sizes: ALL, slot: 'opsize' }],
  // mov: C6/C7 /0 (and B0/B8+r for byte/word/dword registers, same slot), then B8+r imm64.
  mov: [
    { accepts: GENERAL, sizes: ALL, slot: 'opsize' },
    { accepts: I64, sizes: [64], slot: 'fixed8', regOnly: true },
  ],
  movabs: [
    { accepts: I64, sizes: [64], slot: 'fixed8', regOnly: true },
    { accepts: GENERAL, sizes: [8, 16, 32], slot: 'opsize', regOnly: true },
  ],
  // push: 6A ib, then 68 iw/id (64-bit mode has no push imm64).
  push: [
    { accepts: I8S, sizes: [16, 64], slot: 'fixed1' },
    { accepts: I16 | I32S, sizes: [16, 64], slot: 'opsize' },
  ],
  // imul $imm, r/m, r: 6B ib, then 69 iw/id.
  imul: [
    { accepts: I8S, sizes: WIDE, slot: 'fixed1' },
    { accepts: I16 | I32 | I32S, sizes: WIDE, slot: 'opsize' },
  ],
  // Shifts and rotates: D0/D1 /n for a count of 1 (Imm1), then C0/C1 /n ib.
  shift: [
    { accepts: I1, sizes: ALL, slot: 'none' },
    { accepts: I8, sizes: ALL, slot: 'fixed1' },
  ],
  // bt/bts/btr/btc 0F BA /n ib, int CD ib, in/out E4..E7 ib, shld/shrd ib.
  imm8: [{ accepts: I8, sizes: ALL, slot: 'fixed1' }],
  // ret/lret C2/CA iw.
  imm16: [{ accepts: I16, sizes: ALL, slot: 'fixed2' }],
} as const satisfies Record<string, readonly ImmTemplate[]>;

export type ImmClass = keyof typeof IMM_CLASSES;

const fitsS8 = (v: bigint) => v >= -0x80n && v <= 0x7fn;
const fitsU8 = (v: bigint) => v >= 0n && v <= 0xffn;
const fitsS16 = (v: bigint) => v >= -0x8000n && v <= 0x7fffn;
const fitsU16 = (v: bigint) => v >= 0n && v <= 0xffffn;
export const fitsS32 = (v: bigint) => v >= -0x80000000n && v <= 0x7fffffffn;
export const fitsU32 = (v: bigint) => v >= 0n && v <= 0xffffffffn;

/** GNU as smallest_imm_type(): every type the value fits. */
export function smallestImmType(v: bigint): number {
  let t = I64;
  if (v === 1n) t |= I1 | I8 | I8S | I16 | I32 | I32S;
  else if (fitsS8(v)) t |= I8 | I8S | I16 | I32 | I32S;
  else if (fitsU8(v)) t |= I8 | I16 | I32 | I32S;
  else if (fitsS16(v) || fitsU16(v)) t |= I16 | I32 | I32S;
  else if (fitsS32(v)) t |= I32 | I32S;
  else if (fitsU32(v)) t |= I32;
  return t;
}

/**
 * GNU as optimize_imm() for a constant: the suffix (or the register that
 * stands for it) widens the set, and a value that fits the operand size
 * unsigned is reinterpreted as signed (`addw $0xffff,%ax` is `add $-1`, so
 * it gets the imm8 form). Returns the types and the value GNU as emits.
 */
export function constantImmTypes(value: bigint, guess: OpSize): { types: number; value: bigint } {
  let v = BigInt.asIntN(64, value);
  let t = I64;
  if (guess === 32) t |= I32 | I64;
  else if (guess === 16) t |= I16 | I32 | I32S | I64;
  else if (guess === 8) t |= I8 | I8S | I16 | I32 | I32S | I64;
  if (t & I16 && fitsU16(v)) v = BigInt.asIntN(16, v);
  if (t & I32 && fitsU32(v)) v = BigInt.asIntN(32, v);
  t |= smallestImmType(v);
  if (guess === 64) t &= ~I32;
  return { types: t, value: v };
}

/**
 * GNU as for a symbolic (relocated or not-yet-known) immediate: any size but
 * Imm8S/Imm1, narrowed to the operand size when some template allows that.
 */
export function symbolImmTypes(guess: OpSize, templates: readonly ImmTemplate[]): number {
  const base = I8 | I16 | I32 | I32S | I64;
  const mask = guess === 64 ? I64 | I32S : guess === 32 ? I32 : guess === 16 ? I16 : I8;
  const allowed = templates.reduce((acc, t) => acc | t.accepts, 0) & mask;
  return allowed ? base & mask : base;
}

/** The immediate type the operand size requires of an Imm8|Imm16|Imm32|Imm32S template (GNU as update_imm). */
function sizeBits(size: OpSize): number {
  switch (size) {
    case 8: return I8 | I8S;
    case 16: return I16;
    case 32: return I32;
    case 64: return I32S | I64;
  }
}

/** First template (in table order) the immediate matches, as GNU as match_template would pick. */
export function matchImmTemplate(types: number, size: OpSize, templates: readonly ImmTemplate[], regDest: boolean): ImmTemplate | undefined {
  for (const t of templates) {
    if (!t.sizes.includes(size)) continue;
    if (t.regOnly && !regDest) continue;
    const overlap = types & t.accepts;
    if (overlap === 0) continue;
    if (t.slot === 'opsize' && (overlap & sizeBits(size)) === 0) continue;
    return t;
  }
  return undefined;
}

/** Bytes the slot occupies for this operand size. */
export function slotBytes(slot: ImmSlot, size: OpSize): number {
  switch (slot) {
    case 'none': return 0;
    case 'fixed1': return 1;
    case 'fixed2': return 2;
    case 'fixed8': return 8;
    case 'opsize': return size === 8 ? 1 : size === 16 ? 2 : 4;
  }
}
