/**
 * The SourceMap: line → addresses on hand-written sources whose expansions
 * are counted by hand (a macro body line maps to one address per
 * expansion; an invocation line to its expansion's statements; a `.rept`
 * body line to one address per pass), and `symbolAt` against the linear
 * scan it replaces on every address of every built-in image.
 */
import { describe, expect, it } from 'vitest';
import { plainSource } from '../src/cpp/types.js';
import { PROFILES } from '../src/cpp/index.js';
import { assemble } from '../src/gas/assemble.js';
import { buildImage } from '../src/image/build.js';
import { linkObject } from '../src/image/link.js';
import { SourceMap } from '../src/image/source-map.js';
import type { Image } from '../src/image/types.js';
import { resolveRevision } from '../src/intake/revision.js';

const TEXT = 0xffffffff81000000n;

function map(text: string): SourceMap {
  return new SourceMap(linkObject(assemble(plainSource('t.S', text)), { sourceFile: 't.S', profile: 'test' }));
}

describe('line → addresses', () => {
  // nop (1 byte) and .byte (1 byte) per expansion; ret (1 byte) per pass.
  const m = map(['.macro M a', 'nop', '.byte \\a', '.endm', '.text; .globl f', 'f: M 1', 'M 2', 'M 3', '.rept 2', 'ret', '.endr', '.size f, . - f', ''].join('\n'));

  it('a macro body line maps to one address per expansion, told apart by the expansion stack', () => {
    const nops = m.addressesOf('t.S', 2);
    expect(nops.map((a) => a.address - TEXT)).toEqual([0n, 2n, 4n]);
    expect(nops.every((a) => a.via === 'line' && a.text === 'nop' && a.kind === 'insn')).toBe(true);
    expect(nops.map((a) => [a.location.gasStack[0]!.name, a.location.gasStack[0]!.counter, a.location.gasStack[0]!.invokedAt.line])).toEqual([
      ['M', 0, 6],
      ['M', 1, 7],
      ['M', 2, 8],
    ]);
    expect(m.addressesOf('t.S', 3).map((a) => [a.address - TEXT, a.text])).toEqual([
      [1n, '.byte 1'],
      [3n, '.byte 2'],
      [5n, '.byte 3'],
    ]);
  });

  it('an invocation line maps to its expansion, marked as such', () => {
    expect(m.addressesOf('t.S', 7).map((a) => [a.address - TEXT, a.via, a.frame, a.location.pos.line])).toEqual([
      [2n, 'expansion', 0, 2],
      [3n, 'expansion', 0, 3],
    ]);
  });

  it('a repetition body line maps to one address per pass', () => {
    const rets = m.addressesOf('t.S', 10);
    expect(rets.map((a) => [a.address - TEXT, a.location.gasStack[0]!.kind, a.location.gasStack[0]!.pass])).toEqual([
      [6n, 'rept', 0],
      [7n, 'rept', 1],
    ]);
    expect(m.addressesOf('t.S', 9).map((a) => a.via)).toEqual(['expansion', 'expansion']);
  });

  it('a repetition written on one line lists each pass once, as written there', () => {
    const one = map('.text\n.rept 2; nop; .endr\n');
    expect(one.addressesOf('t.S', 2).map((a) => [a.address - TEXT, a.via, a.location.gasStack[0]!.pass])).toEqual([
      [0n, 'line', 0],
      [1n, 'line', 1],
    ]);
  });

  it('lists the lines that produced code, and nothing for other lines or files', () => {
    expect(m.linesWithCode('t.S')).toEqual([2, 3, 6, 7, 8, 9, 10]);
    expect(m.addressesOf('t.S', 1)).toEqual([]);
    expect(m.addressesOf('t.S', 5)).toEqual([]);
    expect(m.addressesOf('other.S', 2)).toEqual([]);
    expect(m.linesWithCode('other.S')).toEqual([]);
  });

  it('padding is an address of its line but not code', () => {
    const p = map('.text\nnop\n.balign 8\nret\n');
    expect(p.addressesOf('t.S', 3).map((a) => [a.kind, a.size])).toEqual([['align', 7]]);
    expect(p.linesWithCode('t.S')).toEqual([2, 4]);
  });

  it('locate gives the statement, its location and the function', () => {
    const loc = m.locate(TEXT + 3n)!;
    expect(loc).toMatchObject({ address: TEXT + 3n, statementStart: TEXT + 3n, size: 1, section: '.text', kind: 'data', text: '.byte 2', symbol: 'f+0x3' });
    expect(loc.location.pos).toEqual({ file: 't.S', line: 3 });
    expect(loc.location.gasStack.map((f) => f.invokedAt.line)).toEqual([7]);
  });
});

/** The linear scan SourceMap.symbolAt replaces (seamlab before the line index), kept as the reference. */
function linearSymbolAt(image: Image, address: bigint): string | undefined {
  const funcs = image.symbols
    .filter((s) => s.section !== null && (s.type === 'func' || s.binding === 'global'))
    .map((s) => ({ name: s.name, start: s.address, end: s.address + (s.size > 0n ? s.size : 1n) }))
    .sort((a, b) => (a.start < b.start ? -1 : 1));
  let best: { name: string; start: bigint; end: bigint } | undefined;
  for (const f of funcs) {
    if (f.start <= address && address < f.end) best = f;
    if (f.start > address) break;
  }
  if (!best) return undefined;
  const off = address - best.start;
  return off === 0n ? best.name : `${best.name}+0x${off.toString(16)}`;
}

describe('symbolAt', () => {
  it('agrees with the linear scan on overlapping, aliased and size-less symbols', () => {
    const img = linkObject(
      assemble(plainSource('s.S', ['.text', '.globl a, b', 'a: nop', 'b: nop', 'inner: nop', '.type inner, @function', '.size inner, 1', 'nop', '.size a, . - a', 'c: .globl c', 'nop', ''].join('\n'))),
      { sourceFile: 's.S', profile: 'test' },
    );
    const m = new SourceMap(img);
    for (let a = TEXT - 2n; a < TEXT + 8n; a++) expect(m.symbolAt(a), `0x${a.toString(16)}`).toBe(linearSymbolAt(img, a));
  });

  for (const name of ['v3', 'linux-6.1', 'linux-6.12']) {
    it(`agrees with the linear scan on every address of every ${name} image`, () => {
      const rev = resolveRevision(name);
      const files = [...new Set(rev.functions.map((f) => f.sourceFile))].sort();
      let checked = 0;
      for (const file of files) {
        for (const { name: profile } of PROFILES) {
          const img = buildImage(rev.files, file, { profile }).image;
          const m = new SourceMap(img);
          for (const s of img.sections) {
            for (let a = s.address - 1n; a <= s.address + BigInt(s.bytes.length); a++) {
              if (m.symbolAt(a) !== linearSymbolAt(img, a)) expect(m.symbolAt(a), `${file} [${profile}] 0x${a.toString(16)}`).toBe(linearSymbolAt(img, a));
              checked++;
            }
          }
        }
      }
      expect(checked).toBeGreaterThan(1000);
    });
  }
});
