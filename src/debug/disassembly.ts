/**
 * The image's code as a list of instructions, for disassembly views (DAP
 * `disassemble`, the REPL's `x/i`): decoded once per statement (so a `.byte`
 * SEAMCALL is one instruction), with windows of exactly the requested count
 * around an address, padded with invalid entries before and after the image
 * as DAP requires.
 */
import type { Disassembler } from '../encode/capstone.js';
import type { SourceMap } from '../image/source-map.js';
import type { Image } from '../image/types.js';
import type { InstructionView } from './types.js';

export class CodeIndex {
  private readonly insns: InstructionView[] = [];

  constructor(image: Image, map: SourceMap, disasm: Disassembler) {
    const ranges = map.codeRanges();
    for (const s of image.sections) {
      if (!s.flags.exec || !s.flags.alloc || s.bytes.length === 0) continue;
      const end = s.address + BigInt(s.bytes.length);
      let at = s.address;
      const mine = ranges.filter((r) => r.section === s.name).sort((a, b) => (a.address < b.address ? -1 : 1));
      const decode = (from: bigint, to: bigint) => {
        const bytes = s.bytes.subarray(Number(from - s.address), Number(to - s.address));
        for (const i of disasm.disassemble(bytes, from)) {
          const loc = map.locate(i.address);
          this.insns.push({
            address: i.address, bytes: i.bytes, text: i.text, valid: true,
            ...(loc?.symbol ? { symbol: loc.symbol } : {}), ...(loc ? { location: loc.location } : {}),
          });
        }
      };
      for (const r of mine) {
        if (r.address > at) decode(at, r.address);
        if (r.address + BigInt(r.size) > at) decode(r.address > at ? r.address : at, r.address + BigInt(r.size));
        at = r.address + BigInt(r.size) > at ? r.address + BigInt(r.size) : at;
      }
      if (at < end) decode(at, end);
    }
    this.insns.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }

  get instructions(): readonly InstructionView[] {
    return this.insns;
  }

  /** Index of the instruction containing `address`, or -1. */
  indexOf(address: bigint): number {
    let lo = 0;
    let hi = this.insns.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const i = this.insns[mid]!;
      if (address < i.address) hi = mid - 1;
      else if (address >= i.address + BigInt(i.bytes.length)) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /**
   * `count` instructions starting `offset` instructions from the one at
   * `address`; outside the image (or between sections) the entries are
   * invalid one-byte placeholders, so the count is always exact.
   */
  window(address: bigint, offset: number, count: number): InstructionView[] {
    const n = this.insns.length;
    if (n === 0) return Array.from({ length: count }, (_, j) => invalid(address + BigInt(offset + j)));
    const first = this.insns[0]!.address;
    const last = this.insns[n - 1]!;
    const lastEnd = last.address + BigInt(last.bytes.length);
    let base = this.indexOf(address);
    if (base < 0) {
      if (address < first) base = -clampDistance(first - address);
      else if (address >= lastEnd) base = n + clampDistance(address - lastEnd);
      else base = this.insns.findIndex((i) => i.address > address);
    }
    const out: InstructionView[] = [];
    for (let j = 0; j < count; j++) {
      const idx = base + offset + j;
      if (idx >= 0 && idx < n) out.push(this.insns[idx]!);
      else if (idx < 0) out.push(invalid(first + BigInt(idx)));
      else out.push(invalid(lastEnd + BigInt(idx - n)));
    }
    return out;
  }
}

function clampDistance(d: bigint): number {
  return d > 1_000_000n ? 1_000_000 : Number(d);
}

function invalid(address: bigint): InstructionView {
  return { address: BigInt.asUintN(64, address), bytes: new Uint8Array(0), text: '(invalid)', valid: false };
}
