/**
 * The assembly listing as text (`seamlab build --listing`), in the spirit
 * of `as -al`: every statement in source order with its address and bytes,
 * macro and repetition expansions indented under their invocation, a
 * header at each function, and — for statements whose bytes are code —
 * the instruction they encode, as objdump would show it (Capstone, AT&T;
 * SEAMCALL/TDCALL named), since the source text is what cpp left
 * (`mov $((((1)<<(63))|…`) rather than the value the CPU sees
 * (`movabsq $0x8000ff00ffff0000, %rax`).
 */
import type { Disassembler } from '../encode/capstone.js';
import type { Listing, ListingEntry } from '../image/listing.js';
import type { Image, ImageSection } from '../image/types.js';
import { hex64 as hexAddr, hexBytes } from '../support/format.js';
import { formatPos } from '../support/source-location.js';

const BYTES_PER_LINE = 8;
const TEXT_WIDTH = 48;
const RESOLVED_WIDTH = 40;

function sectionOf(image: Image, name: string): ImageSection | undefined {
  return image.sections.find((s) => s.name === name);
}

function bytesOf(section: ImageSection | undefined, address: bigint, size: number): Uint8Array {
  if (!section || size <= 0) return new Uint8Array(0);
  const at = Number(address - section.address);
  return section.bytes.subarray(at, at + size);
}

/**
 * The instructions a statement's bytes encode, when they are code: in an
 * executable section and decoding to whole instructions (`.byte
 * 0x66,0x0f,0x01,0xcf` is `seamcall`).
 */
export function resolvedInstruction(disasm: Disassembler, section: ImageSection | undefined, address: bigint, bytes: Uint8Array): string | undefined {
  if (!section?.flags.exec || bytes.length === 0) return undefined;
  const insns = disasm.disassemble(bytes, address);
  if (insns.some((i) => i.mnemonic === '.byte')) return undefined;
  return insns.map((i) => i.text).join('; ');
}

function lines(address: bigint | undefined, bytes: Uint8Array, text: string, resolved: string | undefined, where: string, depth: number): string[] {
  const out: string[] = [];
  const indent = '  '.repeat(depth);
  const addr = address === undefined ? ' '.repeat(16) : hexAddr(address);
  const first = bytes.subarray(0, BYTES_PER_LINE);
  const source = (indent + text).padEnd(TEXT_WIDTH);
  out.push(`${addr}  ${hexBytes(first).padEnd(BYTES_PER_LINE * 3 - 1)}  ${source}  ${(resolved ?? '').padEnd(RESOLVED_WIDTH)}  ${where}`.trimEnd());
  for (let i = BYTES_PER_LINE; i < bytes.length; i += BYTES_PER_LINE) {
    out.push(`${hexAddr((address ?? 0n) + BigInt(i))}  ${hexBytes(bytes.subarray(i, i + BYTES_PER_LINE))}`);
  }
  return out;
}

function entryLines(image: Image, e: ListingEntry, disasm: Disassembler | undefined): string[] {
  const where = formatPos(e.origin.pos);
  if (e.kind === 'function') {
    const name = e.name!;
    return ['', `${hexAddr(e.address ?? 0n)} <${name}>:${' '.repeat(Math.max(1, 44 - name.length))}${where}`];
  }
  const section = sectionOf(image, e.section);
  const bytes = e.address === undefined ? new Uint8Array(0) : bytesOf(section, e.address, e.size);
  // Instructions and data that encode code (`.byte 0x66,0x0f,0x01,0xcf`); not alignment padding or fills.
  const code = e.bytes === 'insn' || e.bytes === 'data';
  const resolved = disasm && code && e.address !== undefined ? resolvedInstruction(disasm, section, e.address, bytes) : undefined;
  return lines(e.address, bytes, e.origin.text, resolved, where, e.origin.gasStack.length);
}

/**
 * The listing of `image`. With a disassembler (loadDisassembler()), code
 * statements show the instruction their bytes encode beside the source text.
 */
export function formatListing(image: Image, listing: Listing, disasm?: Disassembler): string {
  const out: string[] = [`# ${image.sourceFile} (profile ${image.profile})`];
  for (const e of listing) out.push(...entryLines(image, e, disasm));
  return out.join('\n') + '\n';
}
