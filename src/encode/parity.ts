/**
 * Parity rules: places where Keystone 0.9.2 and GNU as 2.40 disagree on
 * what an instruction means or how it is encoded, beyond the size choices
 * that src/encode/forms.ts makes for every instruction (immediates,
 * displacements, absolute addresses, segment overrides) and the prefix
 * order (src/encode/prefixes.ts). Each rule says which GNU as behaviour it
 * reproduces and has its own test in test/encode-parity.test.ts.
 */
import { SeamlabError } from '../errors.js';
import type { ResolvedInstruction, ResolvedOperand } from './types.js';
import { gprBits, regInfo } from './registers.js';
import { splitSuffix } from './forms.js';

/** Rewrites applied to the resolved instruction before forms are chosen. */
export function rewriteInstruction(insn: ResolvedInstruction): ResolvedInstruction {
  highBytePrecheck(insn);
  let out = insn;
  out = intThreeRule(out);
  out = extendRule(out);
  out = xchgRaxRule(out);
  return out;
}

/**
 * Rule `xchg %rax,%rax`: GNU as emits the one-byte NOP (90) without REX.W,
 * since exchanging a register with itself needs no effect; Keystone emits
 * 48 90. (`xchg %eax,%eax` is not a no-op — it zero-extends — and both
 * assemblers give 87 C0 for it.)
 */
function xchgRaxRule(insn: ResolvedInstruction): ResolvedInstruction {
  if ((insn.mnemonic === 'xchg' || insn.mnemonic === 'xchgq') && insn.operands.length === 2
    && insn.operands.every((o) => o.kind === 'reg' && o.reg === 'rax')) {
    return { ...insn, mnemonic: 'nop', operands: [] };
  }
  return insn;
}

/**
 * Rule `int $3`: GNU as encodes `int $3` as the one-byte `int3` (CC), not
 * CD 03 (tc-i386.c md_assemble: "int $3" → INT3_OPCODE). Keystone emits CD 03.
 */
function intThreeRule(insn: ResolvedInstruction): ResolvedInstruction {
  const op = insn.operands[0];
  if (insn.mnemonic === 'int' && insn.operands.length === 1 && op?.kind === 'imm' && op.value.known && !op.value.relocatable && BigInt.asUintN(64, op.value.value) === 3n) {
    return { ...insn, mnemonic: 'int3', operands: [] };
  }
  return insn;
}

const SIZE_LETTER: Readonly<Record<number, string>> = { 8: 'b', 16: 'w', 32: 'l', 64: 'q' };

/**
 * Rule `movzx`/`movsx`: GNU as accepts the Intel spellings in AT&T syntax and
 * sizes them from the registers; with a memory source it takes a byte
 * source (`movzx (%rcx),%ebx` = movzbl, `movsx (%rcx),%rbx` = movsbq), and
 * `movsx` from a 32-bit register is `movslq`. Keystone rejects the memory
 * forms, so seamlab rewrites them to the explicit AT&T mnemonics.
 */
function extendRule(insn: ResolvedInstruction): ResolvedInstruction {
  const m = insn.mnemonic;
  if (m !== 'movzx' && m !== 'movsx' && m !== 'movsxd') return insn;
  if (insn.operands.length !== 2) return insn;
  const [src, dst] = insn.operands as [ResolvedOperand, ResolvedOperand];
  if (dst.kind !== 'reg') return insn;
  const to = gprBits(dst.reg);
  if (to === undefined) return insn;
  const from = src.kind === 'reg' ? gprBits(src.reg) : m === 'movsxd' ? 32 : 8;
  if (from === undefined) return insn;
  if (from === 32) {
    if (m === 'movzx') return insn; // GNU as rejects it; so will Keystone
    return { ...insn, mnemonic: to === 64 ? 'movslq' : 'movsxd' };
  }
  return { ...insn, mnemonic: `mov${m === 'movzx' ? 'z' : 's'}${SIZE_LETTER[from]}${SIZE_LETTER[to]}` };
}

/** Index of the first opcode byte: after legacy prefixes and REX. */
function opcodeIndex(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3].includes(bytes[i]!)) i++;
  if (i < bytes.length && (bytes[i]! & 0xf0) === 0x40) i++;
  return i;
}

/** Whether the encoding has a REX prefix. */
export function hasRex(bytes: Uint8Array): boolean {
  const i = opcodeIndex(bytes);
  return i > 0 && (bytes[i - 1]! & 0xf0) === 0x40;
}

/** Rules applied to Keystone's bytes (placeholders still in place). */
export function fixEncoding(insn: ResolvedInstruction, bytes: Uint8Array): Uint8Array {
  highByteRule(insn, bytes);
  return segmentRegisterRule(insn, multiByteNopRule(insn, bytes));
}

function withoutByteAt(bytes: Uint8Array, i: number): Uint8Array {
  return Uint8Array.from([...bytes.subarray(0, i), ...bytes.subarray(i + 1)]);
}

/** Clears REX.W; drops the REX byte when nothing else is left in it. */
function stripRexW(bytes: Uint8Array): Uint8Array {
  const i = opcodeIndex(bytes);
  if (i === 0 || (bytes[i - 1]! & 0xf8) !== 0x48) return bytes;
  const rex = bytes[i - 1]! & ~0x08;
  if (rex === 0x40) return withoutByteAt(bytes, i - 1);
  const out = Uint8Array.from(bytes);
  out[i - 1] = rex;
  return out;
}

function stripOperandSize(bytes: Uint8Array): Uint8Array {
  const i = opcodeIndex(bytes);
  for (let j = 0; j < i; j++) if (bytes[j] === 0x66) return withoutByteAt(bytes, j);
  return bytes;
}

/**
 * Rule segment registers: GNU as encodes moves to and from segment
 * registers, `str` and `sldt` without REX.W (`mov %ss,%rax` = 8C D0, the
 * 64-bit form is the 32-bit one), and a move to a segment register or from
 * one to memory without the 66 prefix (`mov %ax,%ss` = 8E D0, `movw
 * %ds,(%rax)` = 8C 18) since the operand is always 16 bits there. Only a
 * move from a segment register to a 16-bit register keeps 66. Keystone
 * emits REX.W and 66 as for ordinary operands.
 */
function segmentRegisterRule(insn: ResolvedInstruction, bytes: Uint8Array): Uint8Array {
  const isSeg = (o: ResolvedOperand | undefined) => o?.kind === 'reg' && regInfo(o.reg)?.cls === 'seg';
  const ops = insn.operands;
  if (/^mov[wlq]?$/.test(insn.mnemonic) && ops.length === 2 && (isSeg(ops[0]) || isSeg(ops[1]))) {
    let out = stripRexW(bytes);
    if (isSeg(ops[1]) || ops[1]!.kind === 'mem') out = stripOperandSize(out);
    return out;
  }
  if (/^(str|sldt)[wlq]?$/.test(insn.mnemonic) && ops.length === 1 && ops[0]!.kind === 'reg') return stripRexW(bytes);
  return bytes;
}

/**
 * Rule `nopw/nopl mem`: GNU as encodes the multi-byte NOP as 0F 1F /0
 * (SDM: NOP r/m16/32). Keystone emits 0F 18 /4 (a PREFETCH hint encoding).
 */
function multiByteNopRule(insn: ResolvedInstruction, bytes: Uint8Array): Uint8Array {
  if (!/^nop[wlq]?$/.test(insn.mnemonic) || insn.operands.length !== 1) return bytes;
  const i = opcodeIndex(bytes);
  if (bytes[i] === 0x0f && (bytes[i + 1] === 0x18 || bytes[i + 1] === 0x1f)) {
    const out = Uint8Array.from(bytes);
    out[i + 1] = 0x1f;
    out[i + 2] = out[i + 2]! & ~0x38;
    return out;
  }
  return bytes;
}

/** True when an operand forces a REX prefix: %r8–%r15 (any width), %spl–%dil, a 64-bit register, or such a base/index. */
function forcesRex(insn: ResolvedInstruction): boolean {
  const regForcesRex = (name: string | undefined) => {
    if (name === undefined) return false;
    const r = regInfo(name);
    return r !== undefined && r.cls === 'gpr' && (r.num >= 8 || r.needsRex === true || r.bits === 64);
  };
  const memForcesRex = (m: { base?: string; index?: string }) =>
    [m.base, m.index].some((n) => n !== undefined && (regInfo(n)?.num ?? 0) >= 8);
  if (splitSuffix(insn.mnemonic).suffix === 64) return true;
  return insn.operands.some((o) => {
    if (o.kind === 'reg') return regForcesRex(o.reg);
    if (o.kind === 'mem') return memForcesRex(o);
    if (o.kind === 'indirect') return o.operand.kind === 'reg' ? regForcesRex(o.operand.reg) : memForcesRex(o.operand);
    return false;
  });
}

/** The %ah rule checked before Keystone: Keystone crashes (exit(1)) on some of these forms. */
function highBytePrecheck(insn: ResolvedInstruction): void {
  if (forcesRex(insn)) highByteRule(insn, undefined);
}

/**
 * Rule `%ah` with REX: GNU as rejects %ah/%bh/%ch/%dh in an instruction that
 * needs a REX prefix ("can't encode register '%ah' in an instruction
 * requiring REX prefix"), since with REX those encodings mean
 * %spl/%bpl/%sil/%dil. Keystone silently encodes the wrong register.
 */
function highByteRule(insn: ResolvedInstruction, bytes: Uint8Array | undefined): void {
  const high = insn.operands.find((o) => o.kind === 'reg' && regInfo(o.reg)?.highByte);
  if (high && (bytes === undefined || hasRex(bytes))) {
    throw new SeamlabError(
      'ENCODE_REX_HIGH_BYTE',
      `can't encode register '%${(high as { reg: string }).reg}' in an instruction requiring REX prefix`,
      'use %al/%bl/%cl/%dl (or move the value through a low byte register); %ah-%dh cannot be used with %r8-%r15, %spl-%dil or 64-bit operands',
    );
  }
}
