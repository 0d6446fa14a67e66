/**
 * Decoding `__ex_table`. Since Linux 4.6 x86 uses relative entries, and
 * since 5.16 each is `struct exception_table_entry { int insn, fixup, data; }`
 * (arch/x86/include/asm/extable.h): `insn` and `fixup` are offsets from the
 * address of the field itself, `data` holds the EX_TYPE_* in its low byte
 * (plus register/flag/immediate fields in newer kernels).
 *
 * Type names come from the revision's own asm/extable_fixup_types.h (the
 * `#define EX_TYPE_NAME <number>` lines), never from a table in seamlab.
 */
import type { ReadonlyFs } from '../support/vfs.js';
import type { ExtableEntry, ImageSection } from './types.js';

export const EXTABLE_SECTION = '__ex_table';
export const EXTABLE_ENTRY_SIZE = 12;
export const FIXUP_TYPES_HEADER = 'arch/x86/include/asm/extable_fixup_types.h';

/** EX_TYPE_* names by number, read from the tree (empty when the header is absent). */
export function extableTypeNames(files: ReadonlyFs | undefined): Map<number, string> {
  const names = new Map<number, string>();
  const text = files?.readFile(FIXUP_TYPES_HEADER);
  if (!text) return names;
  for (const m of text.matchAll(/^\s*#\s*define\s+(EX_TYPE_[A-Z0-9_]+)\s+(\d+)\b/gm)) {
    const v = Number(m[2]);
    if (!names.has(v)) names.set(v, m[1]!);
  }
  return names;
}

export class ExtableError extends Error {}

export function decodeExtable(section: ImageSection, typeNames: ReadonlyMap<number, string>): ExtableEntry[] {
  const b = section.bytes;
  if (b.length % EXTABLE_ENTRY_SIZE !== 0) {
    throw new ExtableError(`${EXTABLE_SECTION} is ${b.length} bytes, not a multiple of ${EXTABLE_ENTRY_SIZE} (struct exception_table_entry)`);
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: ExtableEntry[] = [];
  for (let at = 0; at < b.length; at += EXTABLE_ENTRY_SIZE) {
    const entryAddress = section.address + BigInt(at);
    const insn = BigInt.asUintN(64, entryAddress + BigInt(view.getInt32(at, true)));
    const fixup = BigInt.asUintN(64, entryAddress + 4n + BigInt(view.getInt32(at + 4, true)));
    const typeWord = view.getInt32(at + 8, true);
    const type = typeWord & 0xff;
    const entry: ExtableEntry = { entryAddress, insn, fixup, type, typeWord };
    const name = typeNames.get(type);
    if (name) entry.typeName = name;
    out.push(entry);
  }
  return out;
}
