/**
 * The assembly listing (`seamlab build --listing`), in the spirit of
 * `as -al`: every statement in source order with its address and bytes,
 * macro and repetition expansions indented under their invocation, and a
 * header at each function. Built from the assembler's statement log when
 * the image came from seamlab's build; otherwise from the image's byte map.
 */
import { formatPos } from '../support/source-location.js';
import type { Assembler, StatementRecord } from '../gas/assembler.js';
import { locOffset } from '../gas/assembler.js';
import type { Loc } from '../gas/model.js';
import type { Image, ImageSection } from './types.js';
import type { Placement } from './link.js';
import { hex64 as hexAddr, hexBytes } from '../support/format.js';

export interface ListingSource {
  asm: Assembler;
  placement: Placement;
}

const BYTES_PER_LINE = 8;

function sectionAt(image: Image, name: string): ImageSection | undefined {
  return image.sections.find((s) => s.name === name);
}

function bytesOf(image: Image, section: string, address: bigint, size: number): Uint8Array {
  const s = sectionAt(image, section);
  if (!s || size <= 0) return new Uint8Array(0);
  const at = Number(address - s.address);
  return s.bytes.subarray(at, at + size);
}


function lines(address: bigint | undefined, bytes: Uint8Array, text: string, where: string, depth: number): string[] {
  const out: string[] = [];
  const indent = '  '.repeat(depth);
  const addr = address === undefined ? ' '.repeat(16) : hexAddr(address);
  const first = bytes.subarray(0, BYTES_PER_LINE);
  out.push(`${addr}  ${hexBytes(first).padEnd(BYTES_PER_LINE * 3 - 1)}  ${(indent + text).padEnd(48)}  ${where}`.trimEnd());
  for (let i = BYTES_PER_LINE; i < bytes.length; i += BYTES_PER_LINE) {
    out.push(`${hexAddr((address ?? 0n) + BigInt(i))}  ${hexBytes(bytes.subarray(i, i + BYTES_PER_LINE))}`);
  }
  return out;
}

export function formatListing(image: Image, source?: ListingSource): string {
  const out: string[] = [`# ${image.sourceFile} (profile ${image.profile})`];
  if (!source) {
    for (const r of image.byteMap) {
      const depth = r.origin.gasStack.length;
      out.push(...lines(r.address, bytesOf(image, r.section, r.address, r.size), r.origin.text, formatPos(r.origin.pos), depth));
    }
    return out.join('\n') + '\n';
  }
  const { asm, placement } = source;
  const addrOf = (loc: Loc) => (placement.bases.get(loc.frag.section) ?? 0n) + BigInt(locOffset(loc));
  const kept = new Set(image.sections.map((s) => s.name));
  const globals = new Map(image.symbols.filter((s) => !s.stub && (s.binding !== 'local' || s.type === 'func')).map((s) => [s.name, s]));
  for (const r of asm.log as StatementRecord[]) {
    const where = formatPos(r.origin.pos);
    if (r.kind === 'label') {
      const name = r.origin.text.replace(/:$/, '');
      if (globals.has(name)) {
        out.push('', `${hexAddr(addrOf(r.start))} <${name}>:${' '.repeat(Math.max(1, 44 - name.length))}${where}`);
        continue;
      }
      out.push(...lines(kept.has(r.start.frag.section.name) ? addrOf(r.start) : undefined, new Uint8Array(0), r.origin.text, where, r.origin.gasStack.length));
      continue;
    }
    const sameSection = r.start.frag.section === r.end.frag.section;
    const sec = r.start.frag.section.name;
    const start = addrOf(r.start);
    const size = sameSection ? Number(addrOf(r.end) - start) : 0;
    const shown = kept.has(sec) ? start : undefined;
    out.push(...lines(shown, shown === undefined ? new Uint8Array(0) : bytesOf(image, sec, start, size), r.origin.text, where, r.origin.gasStack.length));
  }
  return out.join('\n') + '\n';
}
