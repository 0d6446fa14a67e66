/**
 * Code alignment padding exactly as GNU as 2.40 writes it for x86-64
 * (tc-i386.c `i386_generate_nops` with the default tuning, which uses the
 * `alt_patt` table): as many 11-byte NOPs as fit, then one NOP of the
 * remaining length; when the padding would need more than 7 eleven-byte
 * NOPs, a `jmp` over the padding comes first (`eb rel8`, or `e9 rel32` when
 * the distance does not fit in 0..127). Checked byte for byte against GNU as
 * in test/gas-align.test.ts.
 */

/** alt_patt[n-1]: the n-byte NOP. */
const ALT_PATT: readonly (readonly number[])[] = [
  [0x90],
  [0x66, 0x90],
  [0x0f, 0x1f, 0x00],
  [0x0f, 0x1f, 0x40, 0x00],
  [0x0f, 0x1f, 0x44, 0x00, 0x00],
  [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
  [0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
  [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
  [0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
  [0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
  [0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];

const MAX_SINGLE_NOP = ALT_PATT.length;
/** "Limit number of NOPs to 7 for newer processors" (tc-i386.c). */
const MAX_NUMBER_OF_NOPS = 7;

/** The `count` bytes GNU as puts in a code alignment gap. */
export function codePadding(count: number): Uint8Array {
  const out = new Uint8Array(count);
  let at = 0;
  let n = count;
  if (Math.floor(n / MAX_SINGLE_NOP) > MAX_NUMBER_OF_NOPS) {
    const disp = n - 2;
    if (disp >= 0 && disp <= 127) {
      out[0] = 0xeb;
      out[1] = disp;
      at = 2;
      n = disp;
    } else {
      n -= 5;
      out[0] = 0xe9;
      new DataView(out.buffer).setInt32(1, n, true);
      at = 5;
    }
  }
  const last = n % MAX_SINGLE_NOP;
  const full = n - last;
  for (let o = 0; o < full; o += MAX_SINGLE_NOP) out.set(ALT_PATT[MAX_SINGLE_NOP - 1]!, at + o);
  if (last) out.set(ALT_PATT[last - 1]!, at + full);
  return out;
}
