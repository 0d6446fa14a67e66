/**
 * Text tables (src/report/table.ts): fitted to fixed widths every line fits
 * and every column starts at the same offset on every line; cut cells read
 * back whole; piped output and --wide are full width.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { displayWidth, fitLines, fitTextToStream, outputWidth, plural, renderTable, WRAP_MARKER, wrapCell, type TableColumn } from '../src/report/table.js';

const COLUMNS: TableColumn[] = [{ header: 'scenario' }, { header: 'module answered', minWidth: 10 }, { header: 'RAX returned', minWidth: 18 }, { header: 'ABI' }];
const ROWS = [
  ['error', 'TDX_OPERAND_INVALID|RDX (REPORTDATA not 64-aligned physical memory)', '0xc000010000000002 TDX_OPERAND_INVALID|RDX', 'ok'],
  ['vmcall', 'TDX_SUCCESS (VMM ghci-vmm: R10 = 0x8000000000000000; exposed rdx rbx rsi rdi r8 r9 r10 r11 r12 r13 r14 r15)', '0x0 TDX_SUCCESS', 'ok*'],
  ['ud', '#UD (TDCALL outside a TD)', 'oops (#UD, no __ex_table entry)', 'n/a (no return)'],
];

/** Column start offsets, from the header line (the first word of each header; a header may wrap). */
function starts(header: string, names: string[]): number[] {
  return names.map((n) => header.indexOf(n.split(' ')[0]!));
}

/** Reads the cells back from the rendered lines: each column's slices, joined (a marker joins without a space). */
function readBack(lines: string[], offsets: number[], rowCount: number): string[][] {
  // Row boundaries: a line whose first column is not blank starts a row.
  const rows: string[][][] = [];
  for (const line of lines.slice(1)) {
    const cells = offsets.map((o, i) => line.slice(o, i + 1 < offsets.length ? offsets[i + 1] : undefined).trim());
    if (cells[0] !== '') rows.push(cells.map((c) => (c ? [c] : [])));
    else if (rows.length) cells.forEach((c, i) => c && rows[rows.length - 1]![i]!.push(c));
    // else: the header's own continuation lines
  }
  expect(rows).toHaveLength(rowCount);
  return rows.map((r) => r.map((parts) => parts.reduce((acc, p) => (acc === '' ? p : acc.endsWith(WRAP_MARKER) ? acc.slice(0, -WRAP_MARKER.length) + p : `${acc} ${p}`), '')));
}

describe('renderTable', () => {
  it('full width (piped): one line per row, columns padded to the widest cell', () => {
    const lines = renderTable(COLUMNS, ROWS, { indent: '  ' });
    expect(lines).toHaveLength(4);
    const o = starts(lines[0]!, ['scenario', 'module answered', 'RAX returned', 'ABI']);
    for (const l of lines.slice(1)) expect(l.slice(o[3]).trim()).toMatch(/^(ok\*?|n\/a \(no return\))$/);
    expect(readBack(lines, o, 3)).toEqual(ROWS);
  });

  for (const width of [100, 80, 60]) {
    it(`fitted to ${width} columns: every line fits, columns stay aligned, cells read back whole`, () => {
      const lines = renderTable(COLUMNS, ROWS, { indent: '  ', width });
      for (const l of lines) expect(displayWidth(l), l).toBeLessThanOrEqual(width);
      const o = starts(lines[0]!, ['scenario', 'module answered', 'RAX returned', 'ABI']);
      // Nothing spills over a column start: the two characters before each start are blank on every line.
      for (const l of lines) for (const x of o.slice(1)) expect(l.slice(x - 2, x).trim(), l).toBe('');
      expect(readBack(lines, o, 3)).toEqual(ROWS);
    });
  }

  it('keeps minimum widths when even they do not fit (wider than asked, never misaligned)', () => {
    const lines = renderTable(COLUMNS, ROWS, { width: 20 });
    const o = starts(lines[0]!, ['scenario', 'module answered', 'RAX returned', 'ABI']);
    expect(o[2]! - o[1]!).toBeGreaterThanOrEqual(10 + 2);
    expect(readBack(lines, o, 3)).toEqual(ROWS);
  });

  it('any cells at any width read back whole (property)', () => {
    const word = fc.stringMatching(/^[a-z0-9_()|=.]{1,30}$/);
    const cell = fc.array(word, { minLength: 1, maxLength: 6 }).map((w) => w.join(' '));
    // The first column is a short name (as in every report): a non-blank first column starts a row.
    const name = fc.stringMatching(/^[a-z]{1,4}$/);
    fc.assert(fc.property(fc.array(fc.tuple(name, cell, cell), { minLength: 1, maxLength: 5 }), fc.integer({ min: 30, max: 160 }), (rows, width) => {
      const cols: TableColumn[] = [{ header: 'aa' }, { header: 'bb' }, { header: 'cc' }];
      const lines = renderTable(cols, rows.map((r) => [...r]), { width });
      const o = [0, lines[0]!.indexOf('bb'), lines[0]!.indexOf('cc')];
      // Row starts are marked by a non-blank first column: every first cell is non-empty here.
      expect(readBack(lines, o, rows.length)).toEqual(rows.map((r) => [...r]));
      const minTotal = 4 + 4 + 4 + 2 * 2;
      if (width >= minTotal) for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(width);
    }), { numRuns: 200, seed: 42 });
  });
});

describe('wrapCell', () => {
  it('breaks at spaces, and mid-word with a marker only when a word is wider than the column', () => {
    expect(wrapCell('out: rcx=0x30 rdx=0', 10)).toEqual(['out:', 'rcx=0x30', 'rdx=0']);
    expect(wrapCell('TDX_OPERAND_INVALID|RDX', 10)).toEqual([`TDX_OPERA${WRAP_MARKER}`, `ND_INVALI${WRAP_MARKER}`, 'D|RDX']);
    expect(wrapCell('short', 10)).toEqual(['short']);
  });
});

describe('fitLines (revisions, build, profiles on a terminal)', () => {
  const text = [
    'linux-6.12  Debian linux-source-6.12: the TDX_MODULE_CALL rewrite of Linux 6.7 with ret/saved variants',
    '      rsi args: → struct tdx_module_args (104 bytes: rcx@0 rdx@8 r8@16 r9@24 r10@32 r11@40 r12@48 r13@56 r14@64 r15@72 rbx@80 rdi@88 rsi@96; arch/x86/include/asm/shared/tdx.h:82)',
    '  patches    none',
  ];
  it('leaves lines alone without a width (piped, --wide)', () => {
    expect(fitLines(text, undefined)).toEqual(text);
  });
  it('wraps long lines under their own indent plus two, loses no word and fits every line (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 20, max: 200 }), (width) => {
      const out = fitLines(text, width);
      for (const l of out) expect(displayWidth(l)).toBeLessThanOrEqual(width);
      const words = (ls: string[]) => ls.join(' ').split(/\s+/).filter(Boolean);
      // Words cut mid-word carry the marker; joined back they are the original words.
      expect(words(out).join(' ').replaceAll(`${WRAP_MARKER} `, '')).toBe(words(text).join(' '));
    }));
    const at60 = fitLines(text, 60);
    expect(at60[0]).toBe('linux-6.12  Debian linux-source-6.12: the TDX_MODULE_CALL');
    expect(at60[1]!.startsWith('  rewrite')).toBe(true);
    const field = at60.findIndex((l) => l.startsWith('      rsi args:'));
    expect(at60[field + 1]!.startsWith('        ')).toBe(true);
    expect(at60[at60.length - 1]).toBe('  patches    none');
  });
});

describe('fitTextToStream (what revisions, build and profiles print)', () => {
  const text = 'linux-6.12  Debian linux-source-6.12: the TDX_MODULE_CALL rewrite of Linux 6.7\n  patches    none';
  it('fits to a terminal, leaves text alone piped or with --wide', () => {
    expect(fitTextToStream(text, { isTTY: true, columns: 60 })).toBe('linux-6.12  Debian linux-source-6.12: the TDX_MODULE_CALL\n  rewrite of Linux 6.7\n  patches    none');
    expect(fitTextToStream(text, { isTTY: true, columns: 60 }, true)).toBe(text);
    expect(fitTextToStream(text, { isTTY: false, columns: 60 })).toBe(text);
  });
});

describe('outputWidth', () => {
  it("is the terminal's width on a TTY, none when piped or with --wide", () => {
    expect(outputWidth({ isTTY: true, columns: 123 })).toBe(123);
    expect(outputWidth({ isTTY: true, columns: 123 }, true)).toBeUndefined();
    expect(outputWidth({ isTTY: false, columns: 123 })).toBeUndefined();
    expect(outputWidth({})).toBeUndefined();
  });
});

describe('plural', () => {
  it('says "1 run" and "2 runs"', () => {
    expect(plural(1, 'run')).toBe('1 run');
    expect(plural(0, 'run')).toBe('0 runs');
    expect(plural(2, 'pair')).toBe('2 pairs');
  });
});
