/**
 * Legacy prefix order. GNU as keeps one slot per prefix group and emits the
 * slots in a fixed order (tc-i386.c: WAIT, SEG, ADDR, DATA, REP, LOCK, then
 * REX), whatever order they were written in; Keystone emits `lock` before
 * the operand-size prefix (`lock addw` → f0 66 where GNU as gives 66 f0).
 * seamlab strips written prefixes before Keystone and merges them with the
 * ones Keystone emits in GNU as's order.
 */
import { SeamlabError } from '../errors.js';
import { PREFIX_BYTES } from './mnemonics.js';

/** GNU as prefix slot of a legacy prefix byte, or undefined when the byte is not a legacy prefix. */
export function prefixSlot(byte: number): number | undefined {
  switch (byte) {
    case 0x9b: return 0;
    case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65: return 1;
    case 0x67: return 2;
    case 0x66: return 3;
    case 0xf2: case 0xf3: return 4;
    case 0xf0: return 5;
    default: return undefined;
  }
}

/** Bytes of written prefixes (`lock`, `rep`, `notrack`, …). */
export function writtenPrefixBytes(prefixes: readonly string[]): number[] {
  return prefixes.map((p) => {
    const b = PREFIX_BYTES[p];
    if (b === undefined) {
      throw new SeamlabError('ENCODE_SYNTAX', `unknown prefix \`${p}'`, 'known prefixes: ' + Object.keys(PREFIX_BYTES).join(', '));
    }
    return b;
  });
}

/** Orders prefix bytes like GNU as; two prefixes of one group are an error there too. */
export function orderPrefixes(bytes: readonly number[]): number[] {
  const slots: (number | undefined)[] = [];
  for (const b of bytes) {
    const s = prefixSlot(b)!;
    if (slots[s] !== undefined) {
      throw new SeamlabError('ENCODE_PREFIX', `same type of prefix used twice (0x${slots[s].toString(16)} and 0x${b.toString(16)})`, 'write each kind of prefix (segment, lock, rep, operand size) at most once');
    }
    slots[s] = b;
  }
  return slots.filter((b): b is number => b !== undefined);
}

/**
 * Prepends seamlab's prefixes to a Keystone encoding, re-ordering the
 * leading legacy prefixes of both into GNU as's slot order.
 */
export function mergePrefixes(own: readonly number[], encoded: Uint8Array): Uint8Array {
  if (own.length === 0) {
    // Even without written prefixes, re-order what Keystone emitted (it is already GNU order for a single prefix).
    let n = 0;
    while (n < encoded.length && prefixSlot(encoded[n]!) !== undefined) n++;
    if (n < 2) return encoded;
  }
  let n = 0;
  while (n < encoded.length && prefixSlot(encoded[n]!) !== undefined) n++;
  const ordered = orderPrefixes([...own, ...encoded.subarray(0, n)]);
  const out = new Uint8Array(ordered.length + encoded.length - n);
  out.set(ordered, 0);
  out.set(encoded.subarray(n), ordered.length);
  return out;
}
