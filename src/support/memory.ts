/** Page size of the emulated machine and of the linked image (x86-64 4 KiB pages). */
export const PAGE_SIZE = 0x1000;

export function pageAlignUp(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** The value of little-endian bytes (x86 memory order), unsigned. */
export function fromLittleEndian(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** A value as `size` little-endian bytes, truncated to them. */
export function toLittleEndian(value: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let v = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
