/**
 * Moving an image into user space for the silicon oracle, and the rule that
 * maps what the CPU sees back to what Unicorn sees.
 *
 * seamlab links images at 0xffffffff81000000 (the kernel's text address),
 * which a user process cannot map. The runner maps the image `delta` bytes
 * higher (mod 2^64), at USER_IMAGE_BASE plus the image's offset within its
 * 16 MiB block, and everything else (sentinel, stack, caller data, physical
 * memory) at the machine layout's own addresses.
 *
 * That is only sound for position-independent bytes. The linker records
 * every statement that wrote an absolute address of the image (a section or
 * a stub) into its bytes (`Image.absoluteReferences`: `movabs $sym`,
 * `.quad sym`, `mov $sym, %eax`; branch targets and RIP-relative operands
 * are relative): TDX_MODULE_CALL's code and its exception table have none;
 * an image that has one is refused with its source line.
 *
 * Normalisation rule (used to compare the CPU with Unicorn): a 64-bit value
 * in [image start + delta, image end + delta) is the relocated twin of the
 * value `delta` lower. It applies to RIP and every GPR after each step, to
 * every 8-byte-aligned qword of memory a step touched (return addresses that
 * `call` pushed), and to the registers a SEAM handler is shown; values the
 * handler returns go the other way. USER_IMAGE_BASE is far from every
 * address the layout, the harness canaries and the scenarios use, so no
 * other value is mistaken for a relocated one.
 */
import { SeamlabError } from '../errors.js';
import type { Image } from '../image/types.js';
import { hex } from '../support/format.js';

export const USER_IMAGE_BASE = 0x0000_5eed_8100_0000n;
const BLOCK = 0x100_0000n;
const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const PAGE = 0x1000n;

export class Relocation {
  /** The silicon image is at Unicorn address + delta (mod 2^64). */
  readonly delta: bigint;

  /** `start`/`end`: the image's pages in Unicorn's address space. */
  constructor(readonly start: bigint, readonly end: bigint) {
    this.delta = U64(USER_IMAGE_BASE + (start & (BLOCK - 1n)) - start);
  }

  /** A silicon value as Unicorn would hold it. */
  toUnicorn(v: bigint): bigint {
    const u = U64(v - this.delta);
    return u >= this.start && u < this.end ? u : v;
  }

  /** A Unicorn value as the relocated image sees it. */
  toSilicon(v: bigint): bigint {
    return v >= this.start && v < this.end ? U64(v + this.delta) : v;
  }

  /** Maps every slot of a register array (GPRs, RFLAGS, RIP) in place. */
  regsToUnicorn(regs: BigUint64Array): BigUint64Array {
    for (let i = 0; i < regs.length; i++) regs[i] = this.toUnicorn(regs[i]!);
    return regs;
  }

  regsToSilicon(regs: BigUint64Array): BigUint64Array {
    for (let i = 0; i < regs.length; i++) regs[i] = this.toSilicon(regs[i]!);
    return regs;
  }

  /** Is `address` (Unicorn's) inside the image's pages? */
  contains(address: bigint): boolean {
    return address >= this.start && address < this.end;
  }
}

/** The pages the image's allocated sections occupy. */
export function imageSpan(image: Image): { start: bigint; end: bigint } {
  let start: bigint | undefined;
  let end = 0n;
  for (const s of image.sections) {
    if (!s.flags.alloc || s.bytes.length === 0) continue;
    const a = s.address & ~(PAGE - 1n);
    const e = (s.address + BigInt(s.bytes.length) + PAGE - 1n) & ~(PAGE - 1n);
    if (start === undefined || a < start) start = a;
    if (e > end) end = e;
  }
  if (start === undefined) throw new SeamlabError('ORACLE_EMPTY_IMAGE', `${image.sourceFile} has no code to run`, 'check the revision');
  return { start, end };
}

/**
 * Checks that the image runs unchanged `delta` bytes higher (see the file
 * comment) and returns the relocation. Throws ORACLE_ABSOLUTE_REFERENCE,
 * positioned at the statement, when it does not.
 */
export function relocationFor(image: Image): Relocation {
  const { start, end } = imageSpan(image);
  const first = image.absoluteReferences[0];
  if (first) {
    throw new SeamlabError('ORACLE_ABSOLUTE_REFERENCE',
      `${image.sourceFile} (${image.profile}) refers to an address inside itself absolutely: \`${first.origin.text}\` at ${hex(first.address)}; the silicon oracle runs the image at ${hex(USER_IMAGE_BASE)} and cannot compare it`,
      'use RIP-relative operands (sym(%rip)) and PC-relative data (sym - .), as the kernel TDX assembly does',
      { where: first.origin });
  }
  return new Relocation(start, end);
}
