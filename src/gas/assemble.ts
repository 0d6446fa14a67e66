/**
 * The GNU-as front end's entry point: read every statement of a
 * preprocessed file, lay the result out and return it as a plain object
 * file (object.ts); src/image links it (writing at final addresses is
 * write.ts's).
 */
import type { PreprocessedSource } from '../cpp/types.js';
import { Assembler, type AssembleOptions } from './assembler.js';
import { objectFile, type ObjectFile } from './object.js';
import { relaxAll } from './relax.js';

export type { AssembleOptions, AsmLimits, AsmWarning } from './assembler.js';
export type * from './object.js';

export function assemble(src: PreprocessedSource, opts: AssembleOptions = {}): ObjectFile {
  const asm = new Assembler(src, opts);
  asm.run();
  relaxAll(asm);
  return objectFile(asm);
}
