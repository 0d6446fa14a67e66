/**
 * Questions over an image's byte map, both ways:
 *
 * - address → source: the statement that produced the byte, its
 *   `SourceLocation` (file:line, include stack, cpp macros, GAS expansions:
 *   `TDX_MODULE_CALL` invoked at seamcall.S:22 …) and the function it is
 *   in. Every fault, oops and runaway report, trace and debugger stop goes
 *   through here.
 * - source line → addresses: every statement whose bytes came from a line —
 *   written on it (once per expansion for a line inside a `.macro` body or
 *   a repetition) or produced by the expansion of a macro it invokes. A
 *   debugger sets breakpoints with it.
 *
 * Derived from the Image alone (plain data), so any stage that has an image
 * can build one.
 */
import type { ByteKind, ByteRange } from '../gas/types.js';
import { formatPos, sameLine, type SourceLocation } from '../support/source-location.js';
import type { Image } from './types.js';

/** What `locate` answers for an address. */
export interface AddressLocation {
  /** The address asked about. */
  address: bigint;
  /** First byte of the statement's bytes that contain it. */
  statementStart: bigint;
  size: number;
  section: string;
  kind: ByteKind;
  /** The statement as assembled ("movq 0x0(%rsi), %rcx", ".byte 0x66,0x0f,0x01,0xcf"). */
  text: string;
  location: SourceLocation;
  /** The function symbol containing the address and the offset into it, e.g. "__seamcall+0x1e". */
  symbol?: string;
}

/** One statement's bytes that came from a source line (see `SourceMap.addressesOf`). */
export interface LineAddress {
  address: bigint;
  size: number;
  section: string;
  kind: ByteKind;
  text: string;
  /** The statement's whole location; its `gasStack` tells expansions of one body line apart. */
  location: SourceLocation;
  /**
   * 'line': the statement is written on the line (for a line in a macro
   * body or a repetition: in the expansion `location.gasStack` names);
   * 'expansion': the line invokes the macro (or opens the repetition) at
   * `location.gasStack[frame]` whose expansion produced the statement.
   */
  via: 'line' | 'expansion';
  frame?: number;
}

interface FuncRange {
  name: string;
  start: bigint;
  end: bigint;
}

const byAddress = (a: ByteRange, b: ByteRange) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);

export class SourceMap {
  private readonly ranges: ByteRange[];
  /** Function ranges sorted by start (stable: the image's symbol order for equal starts). */
  private readonly funcs: FuncRange[];
  /** maxEnd[i]: the largest end among funcs[0..i] (bounds the backward scan of symbolAt). */
  private readonly maxEnd: bigint[];
  private readonly execSections: Set<string>;
  private lineIndex: Map<string, Map<number, LineAddress[]>> | undefined;

  constructor(readonly image: Image) {
    this.ranges = [...image.byteMap].sort(byAddress);
    this.funcs = image.symbols
      .filter((s) => s.section !== null && (s.type === 'func' || s.binding === 'global'))
      .map((s) => ({ name: s.name, start: s.address, end: s.address + (s.size > 0n ? s.size : 1n) }))
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    this.maxEnd = [];
    let m = -1n;
    for (const f of this.funcs) this.maxEnd.push((m = f.end > m ? f.end : m));
    this.execSections = new Set(image.sections.filter((s) => s.flags.exec).map((s) => s.name));
  }

  /** The byte range (statement) containing an address. */
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

  /**
   * "fn" or "fn+0x1e": the function symbol containing the address. Where
   * symbols overlap (an alias, a local function inside a global one), the
   * one that starts last wins.
   */
  symbolAt(address: bigint): string | undefined {
    // The last function starting at or before the address …
    let lo = 0;
    let hi = this.funcs.length - 1;
    let last = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.funcs[mid]!.start <= address) {
        last = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // … then back to the last one that contains it.
    for (let i = last; i >= 0 && this.maxEnd[i]! > address; i--) {
      const f = this.funcs[i]!;
      if (address < f.end) {
        const off = address - f.start;
        return off === 0n ? f.name : `${f.name}+0x${off.toString(16)}`;
      }
    }
    return undefined;
  }

  locate(address: bigint): AddressLocation | undefined {
    const r = this.rangeAt(address);
    if (!r) return undefined;
    const sym = this.symbolAt(address);
    return {
      address,
      statementStart: r.address,
      size: r.size,
      section: r.section,
      kind: r.kind,
      text: r.origin.text,
      // The statement's origin is its location (plus the text): shared, not copied.
      location: r.origin,
      ...(sym ? { symbol: sym } : {}),
    };
  }

  /** All ranges in executable sections (instruction starts and `.byte` statements), by address. */
  codeRanges(): ByteRange[] {
    return this.ranges.filter((r) => this.execSections.has(r.section));
  }

  /**
   * Every statement whose bytes came from `file`:`line`, by address: those
   * written on the line (one entry per expansion for a macro body line) and
   * those of the expansions it invokes.
   */
  addressesOf(file: string, line: number): LineAddress[] {
    return [...(this.lineIndexBuilt().get(file)?.get(line) ?? [])];
  }

  /**
   * The lines of `file` that produced code (bytes of instructions or data
   * in an executable section, not padding), directly or through a macro
   * they invoke: where a breakpoint can go.
   */
  linesWithCode(file: string): number[] {
    const lines = this.lineIndexBuilt().get(file);
    if (!lines) return [];
    const out: number[] = [];
    for (const [line, list] of lines) {
      if (list.some((a) => this.execSections.has(a.section) && (a.kind === 'insn' || a.kind === 'data'))) out.push(line);
    }
    return out.sort((a, b) => a - b);
  }

  /** The line → addresses index (file → line → statements, by address), built on first use (a batch run never asks). */
  linesToAddresses(): ReadonlyMap<string, ReadonlyMap<number, readonly LineAddress[]>> {
    return this.lineIndexBuilt();
  }

  private lineIndexBuilt(): Map<string, Map<number, LineAddress[]>> {
    if (this.lineIndex) return this.lineIndex;
    const index = new Map<string, Map<number, LineAddress[]>>();
    const add = (file: string, line: number, entry: LineAddress) => {
      let lines = index.get(file);
      if (!lines) index.set(file, (lines = new Map<number, LineAddress[]>()));
      const list = lines.get(line);
      if (list) list.push(entry);
      else lines.set(line, [entry]);
    };
    for (const r of this.ranges) {
      const location = r.origin;
      const base = { address: r.address, size: r.size, section: r.section, kind: r.kind, text: r.origin.text, location };
      add(location.pos.file, location.pos.line, { ...base, via: 'line' });
      location.gasStack.forEach((f, i) => {
        // A one-line `.rept 3; nop; .endr` is written on the line it repeats on: listed once, as written there.
        if (sameLine(f.invokedAt, location.pos)) return;
        const earlier = location.gasStack.slice(0, i).some((g) => sameLine(g.invokedAt, f.invokedAt));
        if (!earlier) add(f.invokedAt.file, f.invokedAt.line, { ...base, via: 'expansion', frame: i });
      });
    }
    this.lineIndex = index;
    return index;
  }
}

/** "fn+0x1e file:line: text, in .macro M invoked at file:line" on one line. */
export function formatLocation(loc: AddressLocation | undefined, address?: bigint): string {
  if (!loc) return address === undefined ? '<unknown>' : `0x${address.toString(16)} (no source: outside the image)`;
  const parts = [`${formatPos(loc.location.pos)}: ${loc.text}`];
  if (loc.symbol) parts[0] = `${loc.symbol} ${parts[0]}`;
  for (const f of loc.location.gasStack) if (f.kind === 'macro') parts.push(`in .macro ${f.name} invoked at ${formatPos(f.invokedAt)}`);
  return parts.join(', ');
}
