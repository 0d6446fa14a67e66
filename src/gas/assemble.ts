/**
 * The GNU-as front end's entry point: read every statement of a
 * preprocessed file and lay the result out. The returned `Assembler` is the
 * object file in memory; src/image places and writes it.
 */
import type { PreprocessedSource } from '../cpp/types.js';
import { Assembler, type AssembleOptions } from './assembler.js';
import { relaxAll } from './relax.js';

export type { AssembleOptions, AsmLimits, AsmWarning, CfiRecord, StatementRecord } from './assembler.js';
export { Assembler } from './assembler.js';

export function assemble(src: PreprocessedSource, opts: AssembleOptions = {}): Assembler {
  const asm = new Assembler(src, opts);
  asm.run();
  relaxAll(asm);
  return asm;
}
