/**
 * The instruction layer the front end calls (src/encode/x86.ts by default).
 * Injectable so that tests of directives and layout can run against a tiny
 * fake, and so that the dependency on the encoder is one import.
 */
import type { BranchForm, ParsedInstruction, ResolvedInstruction } from '../encode/types.js';
import type { SeamlabError } from '../errors.js';
import * as x86 from '../encode/x86.js';
import { isRegister } from '../encode/registers.js';

export interface EncodeRequest {
  insn: ResolvedInstruction;
  address: bigint;
  form?: BranchForm;
}

export type Encoded = { ok: true; bytes: Uint8Array } | { ok: false; error: SeamlabError };
export type Measured = { ok: true; length: number } | { ok: false; error: SeamlabError };

type Shape = { mnemonic: string; prefixes: readonly string[]; operands: readonly { kind: string }[] };

export interface InstructionLayer {
  parseInstruction(text: string): ParsedInstruction;
  lengthMany(items: readonly EncodeRequest[]): Measured[];
  encodeMany(items: readonly EncodeRequest[]): Encoded[];
  /** jmp/jcc with a direct target (relaxed between short and near). */
  isRelaxableBranch(insn: Shape): boolean;
  /** Any direct branch (also call, loop, jrcxz). */
  isDirectBranch(insn: Shape): boolean;
  branchLength(insn: Shape, form: BranchForm): number;
  isRegister(name: string): boolean;
}

export const x86Layer: InstructionLayer = {
  parseInstruction: x86.parseInstruction,
  lengthMany: x86.lengthMany,
  encodeMany: x86.encodeMany,
  isRelaxableBranch: (i) => x86.isRelaxableBranch(i),
  isDirectBranch: (i) => x86.isDirectBranch(i),
  branchLength: (i, f) => x86.branchLength(i, f),
  isRegister,
};
