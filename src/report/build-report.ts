/**
 * How `seamlab build` shows images: per file, its sections, functions,
 * exception-table entries and harness stubs; and the files that did not build.
 */
import { type SeamlabError } from '../errors.js';
import { formatPos } from '../support/source-location.js';
import type { Image } from '../image/types.js';
import { hex } from '../support/format.js';

/** An address or 64-bit value as the build output shows it: unsigned hex. */
export const hx = (v: bigint): string => hex(BigInt.asUintN(64, v));

export function flags(f: { alloc: boolean; write: boolean; exec: boolean }): string {
  return `${f.alloc ? 'a' : ''}${f.write ? 'w' : ''}${f.exec ? 'x' : ''}` || '-';
}

/** A built file: its tree-relative path, the entry points it defines, its image. */
export interface BuiltFileView { file: string; functions: string[]; image: Image }

/** The summary lines of one image. */
export function summary(b: BuiltFileView): string[] {
  const img = b.image;
  const out = [`  ${b.file}  (${b.functions.join(', ')})`];
  for (const s of img.sections) out.push(`    section  ${s.name.padEnd(18)} ${hx(s.address)}  ${String(s.bytes.length).padStart(5)} bytes  ${flags(s.flags)}`);
  for (const s of img.symbols.filter((x) => x.type === 'func' && !x.stub)) out.push(`    function ${s.name.padEnd(22)} ${hx(s.address)}  size ${s.size}  ${s.binding}`);
  for (const e of img.extable) out.push(`    extable  ${hx(e.insn)} → ${hx(e.fixup)}  ${e.typeName ?? `type ${e.type}`}${e.typeWord !== e.type ? ` (data ${hx(BigInt(e.typeWord))})` : ''}`);
  for (const s of img.stubs) out.push(`    stub     ${s.name.padEnd(22)} ${hx(s.address)}  ${s.kind}: ${s.description}`);
  return out;
}

/** A file that did not build, with its error (the other files were built). */
export function failedFileLines(file: string, functions: string[], e: SeamlabError): string[] {
  return [`  ${file}  (${functions.join(', ')}): not built`, `    ${e.where ? `${formatPos(e.where.pos)}: ` : ''}error: ${e.message} [${e.code}]`, `    hint: ${e.hint}`];
}
