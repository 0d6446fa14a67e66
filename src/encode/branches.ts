/**
 * Direct branches (jmp/jcc/call/loop/jrcxz with a target), encoded by
 * seamlab rather than Keystone: the front end's relaxation needs exact
 * control over the short (rel8) and near (rel32) forms, and the
 * displacement is relative to the end of the instruction, which only the
 * final layout knows.
 */
import { SeamlabError } from '../errors.js';
import type { BranchForm, ResolvedInstruction, ResolvedValue } from './types.js';
import { branchKind, type BranchKind } from './mnemonics.js';

export interface DirectBranch {
  kind: BranchKind;
  target: ResolvedValue;
}

/** Parsed or resolved: all the branch helpers need is the mnemonic and the operand kinds. */
export interface BranchShape {
  mnemonic: string;
  operands: readonly { kind: string }[];
}

/** The kind of a `jmp label`-style instruction (one `target` operand); undefined for anything else. */
export function directBranchKind(insn: BranchShape): BranchKind | undefined {
  const kind = branchKind(insn.mnemonic.toLowerCase());
  if (!kind || insn.operands.length !== 1 || insn.operands[0]!.kind !== 'target') return undefined;
  return kind;
}

/** The branch kind and target of `jmp label`-style instructions; undefined for anything else. */
export function directBranch(insn: ResolvedInstruction): DirectBranch | undefined {
  const kind = directBranchKind(insn);
  const op = insn.operands[0];
  if (!kind || op?.kind !== 'target') return undefined;
  return { kind, target: op.address };
}

/** jmp and jcc with a direct target: GNU as relaxes them between rel8 and rel32. */
export function isRelaxable(kind: BranchKind): boolean {
  return kind.kind === 'jmp' || kind.kind === 'jcc';
}

/** Length of the opcode+displacement (without prefixes) for a form. */
export function branchBodyLength(b: { kind: BranchKind }, form: BranchForm): number {
  switch (b.kind.kind) {
    case 'jmp': return form === 'short' ? 2 : 5;
    case 'jcc': return form === 'short' ? 2 : 6;
    case 'call': return 5;
    case 'rel8only': return b.kind.addr32 ? 3 : 2;
  }
}

/** The form an unrelaxed encoding uses: short when the target is known and in rel8 range. */
export function defaultBranchForm(b: DirectBranch, address: bigint, prefixLength: number): BranchForm {
  if (b.kind.kind === 'call') return 'near';
  if (b.kind.kind === 'rel8only') return 'short';
  if (!b.target.known) return 'near';
  const end = address + BigInt(prefixLength + branchBodyLength(b, 'short'));
  const rel = BigInt.asIntN(64, b.target.value - end);
  return rel >= -128n && rel <= 127n ? 'short' : 'near';
}

function rangeError(mnemonic: string, rel: bigint, bits: number): SeamlabError {
  return new SeamlabError(
    'ENCODE_BRANCH_RANGE',
    `\`${mnemonic}' target is ${rel} bytes away, out of range for a rel${bits} branch`,
    bits === 8 ? 'the target is too far for this form: use the near form (or a jmp for loop/jrcxz)' : 'branch targets must be within ±2 GiB',
  );
}

/** Encodes opcode+displacement; `address` is where the first byte (after prefixes) sits. */
export function encodeBranchBody(mnemonic: string, b: DirectBranch, address: bigint, form: BranchForm): Uint8Array {
  const k = b.kind;
  const effective: BranchForm = k.kind === 'call' ? 'near' : k.kind === 'rel8only' ? 'short' : form;
  const len = branchBodyLength(b, effective);
  const rel = BigInt.asIntN(64, b.target.value - (address + BigInt(len)));
  const out = new Uint8Array(len);
  let at = 0;
  if (effective === 'short') {
    if (rel < -128n || rel > 127n) throw rangeError(mnemonic, rel, 8);
    if (k.kind === 'jmp') out[at++] = 0xeb;
    else if (k.kind === 'jcc') out[at++] = 0x70 | k.cc;
    else if (k.kind === 'rel8only') {
      if (k.addr32) out[at++] = 0x67;
      out[at++] = k.opcode;
    }
    out[at] = Number(BigInt.asUintN(8, rel));
    return out;
  }
  if (rel < -0x80000000n || rel > 0x7fffffffn) throw rangeError(mnemonic, rel, 32);
  if (k.kind === 'jmp') out[at++] = 0xe9;
  else if (k.kind === 'call') out[at++] = 0xe8;
  else if (k.kind === 'jcc') {
    out[at++] = 0x0f;
    out[at++] = 0x80 | k.cc;
  }
  new DataView(out.buffer).setInt32(at, Number(rel), true);
  return out;
}
