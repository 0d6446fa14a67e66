/**
 * x86-64 register names as GNU as accepts them after `%` (lower case), with
 * their class and width. Used by the operand parser (is `%foo` a register?)
 * and by the encoder (operand size of an instruction, which registers need
 * REX, which can be a base/index).
 */

export type RegClass = 'gpr' | 'seg' | 'ip' | 'ctrl' | 'debug' | 'xmm' | 'ymm' | 'zmm' | 'mmx' | 'mask' | 'st' | 'bnd';

export interface RegInfo {
  cls: RegClass;
  /** Width in bits (general-purpose registers: 8/16/32/64). */
  bits: number;
  /** 0..15 (or 0..31 for vector registers) as encoded in ModRM/REX. */
  num: number;
  /** `%spl`/`%bpl`/`%sil`/`%dil`/`%r8b`…: a byte register that exists only with REX. */
  needsRex?: boolean;
  /** `%ah`/`%ch`/`%dh`/`%bh`: a byte register that cannot be used with REX. */
  highByte?: boolean;
}

const TABLE = new Map<string, RegInfo>();

function add(name: string, info: RegInfo): void {
  TABLE.set(name, info);
}

const LEGACY = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
LEGACY.forEach((r, i) => {
  add('r' + r, { cls: 'gpr', bits: 64, num: i });
  add('e' + r, { cls: 'gpr', bits: 32, num: i });
  add(r, { cls: 'gpr', bits: 16, num: i });
});
['al', 'cl', 'dl', 'bl'].forEach((r, i) => add(r, { cls: 'gpr', bits: 8, num: i }));
['spl', 'bpl', 'sil', 'dil'].forEach((r, i) => add(r, { cls: 'gpr', bits: 8, num: i + 4, needsRex: true }));
['ah', 'ch', 'dh', 'bh'].forEach((r, i) => add(r, { cls: 'gpr', bits: 8, num: i + 4, highByte: true }));
for (let n = 8; n < 16; n++) {
  add(`r${n}`, { cls: 'gpr', bits: 64, num: n });
  add(`r${n}d`, { cls: 'gpr', bits: 32, num: n });
  add(`r${n}w`, { cls: 'gpr', bits: 16, num: n });
  add(`r${n}b`, { cls: 'gpr', bits: 8, num: n, needsRex: true });
  add(`r${n}l`, { cls: 'gpr', bits: 8, num: n, needsRex: true }); // Intel's spelling, GNU as accepts it
}
['es', 'cs', 'ss', 'ds', 'fs', 'gs'].forEach((r, i) => add(r, { cls: 'seg', bits: 16, num: i }));
add('rip', { cls: 'ip', bits: 64, num: 0 });
add('eip', { cls: 'ip', bits: 32, num: 0 });
for (let n = 0; n < 16; n++) {
  add(`cr${n}`, { cls: 'ctrl', bits: 64, num: n });
  add(`db${n}`, { cls: 'debug', bits: 64, num: n });
}
for (let n = 0; n < 32; n++) {
  add(`xmm${n}`, { cls: 'xmm', bits: 128, num: n });
  add(`ymm${n}`, { cls: 'ymm', bits: 256, num: n });
  add(`zmm${n}`, { cls: 'zmm', bits: 512, num: n });
}
for (let n = 0; n < 8; n++) {
  add(`mm${n}`, { cls: 'mmx', bits: 64, num: n });
  add(`k${n}`, { cls: 'mask', bits: 64, num: n });
  add(`st(${n})`, { cls: 'st', bits: 80, num: n });
}
for (let n = 0; n < 4; n++) add(`bnd${n}`, { cls: 'bnd', bits: 128, num: n });
add('st', { cls: 'st', bits: 80, num: 0 });

/** Register info for a name without `%` (any case), or undefined when it is not a register. */
export function regInfo(name: string): RegInfo | undefined {
  return TABLE.get(name.toLowerCase());
}

export function isRegister(name: string): boolean {
  return TABLE.has(name.toLowerCase());
}

/** A general-purpose register's width in bits, or undefined for anything else. */
export function gprBits(name: string): number | undefined {
  const r = TABLE.get(name);
  return r?.cls === 'gpr' ? r.bits : undefined;
}
