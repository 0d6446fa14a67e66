/** Reading an image's bytes by address (what the disassembler, traces and checks look at). */
import type { Image } from './types.js';

/** The longest x86 instruction. */
export const MAX_INSN_LENGTH = 15;

/**
 * The image's bytes from `address` to the end of its section, at most `max`
 * of them (an instruction's limit by default); undefined outside the image.
 */
export function imageBytes(image: Image, address: bigint, max = MAX_INSN_LENGTH): Uint8Array | undefined {
  for (const s of image.sections) {
    if (address >= s.address && address < s.address + BigInt(s.bytes.length)) {
      const o = Number(address - s.address);
      return s.bytes.subarray(o, Math.min(s.bytes.length, o + max));
    }
  }
  return undefined;
}
