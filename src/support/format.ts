/** Number formatting shared by every report, listing and trace. */

/** `0x1f` (no padding); a negative value as `-0x1f`. */
export function hex(v: bigint | number): string {
  const b = BigInt(v);
  return b < 0n ? `-0x${(-b).toString(16)}` : `0x${b.toString(16)}`;
}

/** A 64-bit value as 16 hex digits, no prefix (two's complement for negatives). */
export function hex64(v: bigint): string {
  return BigInt.asUintN(64, v).toString(16).padStart(16, '0');
}

/** Bytes as space-separated hex pairs: "66 0f 01 cf". */
export function hexBytes(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** A 64-bit value as `0x…`, no padding, two's complement for negatives (traces, JSON). */
export function hexU64(v: bigint): string {
  return `0x${BigInt.asUintN(64, v).toString(16)}`;
}
