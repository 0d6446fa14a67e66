/**
 * The listing of a build, as data: every statement the assembler executed,
 * in source order, with the address and size of its bytes in the image,
 * and a header entry where a function starts. src/report/listing.ts
 * renders it (`seamlab build --listing`, in the spirit of `as -al`).
 */
import type { ObjectFile, StatementRecord } from '../gas/object.js';
import type { ByteKind, StatementOrigin } from '../gas/types.js';
import type { Placement } from './link.js';
import type { Image } from './types.js';

export interface ListingEntry {
  /** A statement's kind, or 'function' for the label that starts a function (a global or typed symbol). */
  kind: StatementRecord['kind'] | 'function';
  /** The function's name ('function' entries). */
  name?: string;
  /** Where the statement comes from; `origin.gasStack.length` is its expansion depth. */
  origin: StatementOrigin;
  section: string;
  /** Address of the statement's first byte; absent when its section is not part of the image. */
  address?: bigint;
  /** Bytes it produced (read them from the image). */
  size: number;
  /** What its first bytes are (an instruction, data, padding, a fill), when it produced any. */
  bytes?: ByteKind;
}

export type Listing = ListingEntry[];

/** The listing of an object linked into `image` with `placement`. */
export function listingOf(obj: ObjectFile, image: Image, placement: Placement): Listing {
  const kept = new Set(placement.kept);
  const kinds = new Map(obj.ranges.map((r) => [`${r.section}\0${r.offset}`, r.kind]));
  const functions = new Set(image.symbols.filter((s) => !s.stub && (s.binding !== 'local' || s.type === 'func')).map((s) => s.name));
  return obj.statements.map((r) => {
    const address = kept.has(r.section) ? placement.bases.get(r.section)! + BigInt(r.offset) : undefined;
    const entry: ListingEntry = { kind: r.kind, origin: r.origin, section: r.section, size: address === undefined ? 0 : r.size };
    if (address !== undefined) entry.address = address;
    const kind = entry.size > 0 ? kinds.get(`${r.section}\0${r.offset}`) : undefined;
    if (kind) entry.bytes = kind;
    if (r.kind === 'label') {
      const name = r.origin.text.replace(/:$/, '');
      if (functions.has(name)) {
        entry.kind = 'function';
        entry.name = name;
      }
    }
    return entry;
  });
}
