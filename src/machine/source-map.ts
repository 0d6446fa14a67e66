/**
 * From a machine address back to the source: the statement that produced the
 * byte, its file:line, the include stack and the GAS macro expansion stack
 * (`TDX_MODULE_CALL` invoked at seamcall.S:55 …). Every fault, oops and
 * runaway report goes through here.
 */
import type { ByteRange, Image } from '../image/types.js';
import { formatPos, type SourcePos } from '../errors.js';

export interface MacroFrameInfo {
  macro: string;
  invokedAt: SourcePos;
  invocation: string;
}

export interface SourceLocation {
  address: bigint;
  /** The statement as assembled ("movq 0x0(%rsi), %rcx", ".byte 0x66,0x0f,0x01,0xcf"). */
  text: string;
  pos: SourcePos;
  includeStack: SourcePos[];
  /** Innermost first. */
  macroStack: MacroFrameInfo[];
  /** The function symbol containing the address and the offset into it, e.g. "__seamcall+0x1e". */
  symbol?: string;
}

/** Address → statement lookup over an image's byte map (sorted by address). */
export class SourceMap {
  private readonly ranges: ByteRange[];
  private readonly funcs: { name: string; start: bigint; end: bigint }[];

  constructor(readonly image: Image) {
    this.ranges = [...image.byteMap].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    this.funcs = image.symbols
      .filter((s) => s.section !== null && (s.type === 'func' || s.binding === 'global'))
      .map((s) => ({ name: s.name, start: s.address, end: s.address + (s.size > 0n ? s.size : 1n) }))
      .sort((a, b) => (a.start < b.start ? -1 : 1));
  }

  rangeAt(address: bigint): ByteRange | undefined {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.ranges[mid]!;
      if (address < r.address) hi = mid - 1;
      else if (address >= r.address + BigInt(r.size)) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  symbolAt(address: bigint): string | undefined {
    let best: { name: string; start: bigint; end: bigint } | undefined;
    for (const f of this.funcs) {
      if (f.start <= address && address < f.end) best = f;
      if (f.start > address) break;
    }
    if (!best) return undefined;
    const off = address - best.start;
    return off === 0n ? best.name : `${best.name}+0x${off.toString(16)}`;
  }

  locate(address: bigint): SourceLocation | undefined {
    const r = this.rangeAt(address);
    if (!r) return undefined;
    const sym = this.symbolAt(address);
    return {
      address,
      text: r.origin.text,
      pos: r.origin.line.pos,
      includeStack: r.origin.line.includeStack,
      macroStack: r.origin.macroStack.map((f) => ({ macro: f.macro, invokedAt: f.invokedAt.pos, invocation: f.invocation })),
      ...(sym ? { symbol: sym } : {}),
    };
  }

  /** All ranges in executable sections (instruction starts and `.byte` statements). */
  codeRanges(): ByteRange[] {
    const exec = new Set(this.image.sections.filter((s) => s.flags.exec).map((s) => s.name));
    return this.ranges.filter((r) => exec.has(r.section));
  }
}

/** "file:line: text (in TDX_MODULE_CALL invoked at seamcall.S:55)" on one line. */
export function formatLocation(loc: SourceLocation | undefined, address?: bigint): string {
  if (!loc) return address === undefined ? '<unknown>' : `0x${address.toString(16)} (no source: outside the image)`;
  const parts = [`${formatPos(loc.pos)}: ${loc.text}`];
  if (loc.symbol) parts[0] = `${loc.symbol} ${parts[0]}`;
  for (const f of loc.macroStack) parts.push(`in .macro ${f.macro} invoked at ${formatPos(f.invokedAt)}`);
  return parts.join(', ');
}
