/** Small helpers for the encoder unit tests. */
import { encodeInstruction, parseInstruction } from '../../src/encode/x86.js';
import type { BranchForm, ResolvedInstruction } from '../../src/encode/types.js';
import { resolveInstruction } from './encode-eval.js';

export const KERNEL_TEXT = 0xffffffff81000000n;

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Parses `text`, resolves numbers (and `labels`, as relocatable addresses) and encodes it. */
export function enc(text: string, opts: { address?: bigint; labels?: Record<string, bigint>; form?: BranchForm } = {}): string {
  return hex(encodeInstruction(resolve(text, opts.labels), opts.address ?? KERNEL_TEXT, opts.form));
}

export function resolve(text: string, labels: Record<string, bigint> = {}): ResolvedInstruction {
  return resolveInstruction(parseInstruction(text), new Map(Object.entries(labels)));
}

/** The SeamlabError code `fn` throws, or 'no error'. */
export function errorCode(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (e) {
    return (e as { code?: string }).code ?? `not a SeamlabError: ${String(e)}`;
  }
}
