/**
 * GAS concepts other stages see: where a statement comes from (its
 * `SourceLocation` — with the GAS expansion stack — and its text as
 * assembled) and the byte ranges statements produce, which become the
 * image's byte map.
 */
import type { SourceLocation } from '../support/source-location.js';

export interface SectionFlags {
  alloc: boolean;
  write: boolean;
  exec: boolean;
}

/** Where a statement (and so its bytes) came from, and the statement itself. */
export interface StatementOrigin extends SourceLocation {
  /** The statement as assembled, after macro substitution, e.g. "movq 0x0(%rsi), %rcx". */
  text: string;
}

/** What a run of bytes is: an instruction, data (`.byte`, `.long` …), alignment padding, or a `.skip`/`.fill`/`.org` fill. */
export type ByteKind = 'insn' | 'data' | 'align' | 'fill';

/** One contiguous run of bytes produced by one statement, at its final address. */
export interface ByteRange {
  address: bigint;
  size: number;
  section: string;
  kind: ByteKind;
  origin: StatementOrigin;
}
