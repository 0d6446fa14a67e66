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

/**
 * Bytes as `hexdump -C` shows them, offsets relative to the first byte:
 * 16 bytes a line (offset, two groups of eight, the printable ASCII between
 * bars), a line equal to the one before it replaced by `*` (once per run),
 * and a last line with the length. The offset column is as wide as the
 * largest offset needs, at least 4 digits (hexdump uses 8), so a dump fits
 * 80 columns with an indent of 4.
 */
export function hexDump(bytes: Uint8Array): string[] {
  if (bytes.length === 0) return [];
  const digits = Math.max(4, bytes.length.toString(16).length);
  const off = (n: number) => n.toString(16).padStart(digits, '0');
  const out: string[] = [];
  let previous: string | undefined;
  let starred = false;
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, i + 16);
    const key = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    if (row.length === 16 && key === previous) {
      if (!starred) out.push('*');
      starred = true;
      continue;
    }
    previous = key;
    starred = false;
    const cells = Array.from({ length: 16 }, (_, k) => (k < row.length ? row[k]!.toString(16).padStart(2, '0') : '  '));
    const ascii = Array.from(row, (b) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.')).join('');
    out.push(`${off(i)}  ${cells.slice(0, 8).join(' ')}  ${cells.slice(8).join(' ')}  |${ascii}|`);
  }
  out.push(off(bytes.length));
  return out;
}
