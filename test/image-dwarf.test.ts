/**
 * `seamlab build --elf` with DWARF line information, checked with the real
 * tools: GNU objdump (`-dl`) and GNU gdb in batch mode read the ELF and
 * print source lines. Expected line numbers come from the kernel source
 * text (the cached linux-6.12 tree; for v3, the seamcall.S its seed patch
 * creates), addresses and instructions from objdump's disassembly and
 * readelf's symbol table, never from seamlab's own source map.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuild } from '../src/cli/build.js';
import { plainSource } from '../src/cpp/types.js';
import { assemble } from '../src/gas/assemble.js';
import { buildDebugInfo } from '../src/image/dwarf.js';
import { writeElf } from '../src/image/elf.js';
import { linkObject } from '../src/image/link.js';
import { hasCommand, requireOracle } from './support/oracles.js';
import { treePath } from './support/kernel.js';

const HAVE_GDB = requireOracle('gdb', hasCommand('gdb', ['-batch', '-nx', '-ex', 'show version']), 'apt-get install gdb');
const HAVE_BINUTILS = requireOracle('objdump/readelf', hasCommand('objdump') && hasCommand('readelf'), 'apt-get install binutils');

const SEAMCALL_S = 'arch/x86/virt/vmx/tdx/seamcall.S';
const TDXCALL_S = 'arch/x86/virt/vmx/tdx/tdxcall.S';

/** 1-based numbers of the lines of `text` that match. */
function linesMatching(text: string, re: RegExp): number[] {
  return text.split('\n').flatMap((l, i) => (re.test(l) ? [i + 1] : []));
}

/** The first line (1-based) of `text` that matches `re`; throws when none does (the source changed under the test). */
function firstLineMatching(text: string, re: RegExp): number {
  const [n] = linesMatching(text, re);
  if (n === undefined) throw new Error(`no line matches ${re}`);
  return n;
}

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

function gdb(elf: string, cmds: string[]): string {
  return run('gdb', ['-batch', '-nx', elf, ...cmds.flatMap((c) => ['-ex', c])]);
}

/** objdump -d (every executable section): address → instruction text (mnemonic and operands). */
function disassembly(elf: string): Map<bigint, string> {
  const out = new Map<bigint, string>();
  for (const m of run('objdump', ['-d', elf]).matchAll(/^([0-9a-f]+):\t(?:[0-9a-f]{2} )+\s*\t(.+)$/gm)) out.set(BigInt('0x' + m[1]), m[2]!.replace(/\s+/g, ' ').trim());
  return out;
}

/** readelf -s: function name → [start, end). */
function functions(elf: string): Map<string, [bigint, bigint]> {
  const out = new Map<string, [bigint, bigint]>();
  for (const m of run('readelf', ['-sW', elf]).matchAll(/^\s*\d+: ([0-9a-f]{16})\s+(\d+) FUNC\s+\S+\s+\S+\s+\S+ (\S+)$/gm)) {
    const start = BigInt('0x' + m[1]);
    out.set(m[3]!, [start, start + BigInt(m[2]!)]);
  }
  return out;
}

describe.skipIf(!HAVE_GDB || !HAVE_BINUTILS)('ELF with DWARF line info (linux-6.12 seamcall.S)', () => {
  let dir: string;
  let elf: string;
  const tdxcall = () => readFileSync(join(treePath('linux-6.12'), TDXCALL_S), 'utf8');
  const seamcall = () => readFileSync(join(treePath('linux-6.12'), SEAMCALL_S), 'utf8');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'seamlab-dwarf-'));
    elf = join(dir, 'seamcall.elf');
    await runBuild('linux-6.12', { elf, file: SEAMCALL_S });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the sources it names next to the ELF, as in the tree', () => {
    for (const p of [SEAMCALL_S, TDXCALL_S, 'arch/x86/include/asm/frame.h']) {
      expect(readFileSync(join(`${elf}.src`, p), 'utf8')).toBe(readFileSync(join(treePath('linux-6.12'), p), 'utf8'));
    }
  });

  it('objdump -dl names the macro body line of tdxcall.S above the SEAMCALL', () => {
    const seamcallLine = firstLineMatching(tdxcall(), /^\tseamcall$/);
    const dump = run('objdump', ['-dl', '--section=.text', elf]);
    // Three expansions (__seamcall, __seamcall_ret, __seamcall_saved_ret): each SEAMCALL under its body line.
    const hits = [...dump.matchAll(/^(\S+):(\d+)\n[0-9a-f]+:\t66 0f 01 cf\s+\tseamcall/gm)];
    expect(hits.length).toBe(linesMatching(seamcall(), /^\tTDX_MODULE_CALL host=1/).length);
    for (const h of hits) {
      expect(h[1]!.endsWith(`/${TDXCALL_S}`)).toBe(true);
      expect(Number(h[2])).toBe(seamcallLine);
    }
    // The macro expansions show as inlined functions.
    expect(dump).toMatch(/^TDX_MODULE_CALL\(\):$/m);
    expect(dump).toMatch(/^FRAME_BEGIN\(\):$/m);
  });

  it('gdb: info line *ADDR names the macro body line', () => {
    const seamcallLine = firstLineMatching(tdxcall(), /^\tseamcall$/);
    const asm = disassembly(elf);
    const [start] = functions(elf).get('__seamcall')!;
    const at = [...asm].find(([a, t]) => a >= start && t === 'seamcall')![0];
    const out = gdb(elf, [`info line *0x${at.toString(16)}`]);
    expect(out).toContain(`Line ${seamcallLine} of "${TDXCALL_S}" starts at address 0x${at.toString(16)} <__seamcall+${Number(at - start)}>`);
  });

  it('gdb: break on a TDX_MODULE_CALL body line resolves to one location per expansion', () => {
    const line = firstLineMatching(tdxcall(), /^\tmovq\tTDX_MODULE_rcx\(%rsi\), %rcx$/);
    const callers = linesMatching(seamcall(), /^\tTDX_MODULE_CALL host=1/);
    const out = gdb(elf, [`break tdxcall.S:${line}`, 'info breakpoints']);
    expect(out).toContain(`tdxcall.S:${line}. (${callers.length} locations)`);
    const locs = [...out.matchAll(/^1\.\d+\s+y\s+0x([0-9a-f]+) in TDX_MODULE_CALL at (\S+):(\d+)$/gm)];
    expect(locs.length).toBe(callers.length);
    const asm = disassembly(elf);
    const fns = functions(elf);
    const owners = locs.map((m) => {
      const a = BigInt('0x' + m[1]);
      expect(m[2]).toBe(TDXCALL_S);
      expect(Number(m[3])).toBe(line);
      expect(asm.get(a)).toBe('mov (%rsi),%rcx');
      return [...fns].find(([, [s, e]]) => a >= s && a < e)![0];
    });
    expect(owners).toEqual(['__seamcall', '__seamcall_ret', '__seamcall_saved_ret']);
  });

  it('gdb: break on the macro name stops at every expansion; list shows the source', () => {
    const callers = linesMatching(seamcall(), /^\tTDX_MODULE_CALL host=1/);
    const line = firstLineMatching(tdxcall(), /^\tseamcall$/);
    const out = gdb(elf, ['break TDX_MODULE_CALL', `list tdxcall.S:${line},${line + 1}`]);
    expect(out).toMatch(new RegExp(`Breakpoint 1 at 0x[0-9a-f]+: TDX_MODULE_CALL\\. \\(${callers.length} locations\\)`));
    const text = tdxcall().split('\n');
    expect(out).toContain(`${line}\t${text[line - 1]}\n${line + 1}\t${text[line]}`);
  });

  // An extra check where LLVM is installed (not one of CI's oracles).
  it.skipIf(!hasCommand('llvm-dwarfdump'))('llvm-dwarfdump --verify finds no errors', () => {
    expect(run('llvm-dwarfdump', ['--verify', elf])).toMatch(/No errors\.\n$/);
  });

  it('the same inputs and output path give the same bytes', async () => {
    const before = createHash('sha256').update(readFileSync(elf)).digest('hex');
    await runBuild('linux-6.12', { elf, file: SEAMCALL_S });
    expect(createHash('sha256').update(readFileSync(elf)).digest('hex')).toBe(before);
  });
});

describe.skipIf(!HAVE_GDB || !HAVE_BINUTILS)('ELF with DWARF line info (v3: a file created by the patch)', () => {
  let dir: string;
  let elf: string;
  /** seamcall.S as v3's patch (the web-archive copy: tabs became spaces) creates it: its added lines. */
  const patched = () => {
    const patch = readFileSync(join(import.meta.dirname, '../fixtures/000_aa2199c2670e7995.txt'), 'utf8');
    const hunk = patch.slice(patch.indexOf(`+++ b/${SEAMCALL_S}`)).split('\n').slice(2);
    return hunk.slice(0, hunk.findIndex((l) => !l.startsWith('+'))).map((l) => l.slice(1)).join('\n') + '\n';
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'seamlab-dwarf-v3-'));
    elf = join(dir, 'v3.elf');
    await runBuild('v3', { elf, file: SEAMCALL_S });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the patched seamcall.S (not on disk anywhere else) next to the ELF', () => {
    expect(readFileSync(join(`${elf}.src`, SEAMCALL_S), 'utf8')).toBe(patched());
  });

  it('gdb: break seamcall.S:NN on a line with code, and list shows the patched source', () => {
    const ret = firstLineMatching(patched(), /^\s+ret$/);
    const asm = disassembly(elf);
    const out = gdb(elf, [`break seamcall.S:${ret}`, `list seamcall.S:${ret - 2},${ret}`]);
    const m = out.match(/^Breakpoint 1 at 0x([0-9a-f]+): file (\S+), line (\d+)\.$/m);
    expect(m).not.toBeNull();
    expect(asm.get(BigInt('0x' + m![1]))).toBe('ret');
    expect([m![2], Number(m![3])]).toEqual([SEAMCALL_S, ret]);
    const text = patched().split('\n');
    expect(out).toContain([ret - 2, ret - 1, ret].map((n) => `${n}\t${text[n - 1]}`).join('\n'));
  });
});

describe.skipIf(!HAVE_GDB || !HAVE_BINUTILS)('DWARF of a snippet: a macro that emits into two sections, expanded twice', () => {
  // Line numbers are those of this text.
  const SOURCE = [
    '.macro TWICE', //             1
    '\tnop', //                     2
    '\t.pushsection .text.other, "ax"',
    '\tinc %eax', //                4
    '\t.popsection',
    '.endm',
    '\t.section .text.other, "ax"',
    '\t.globl g',
    '\t.type g, @function',
    'g:', //                        10
    '\t.text',
    '\t.globl f',
    '\t.type f, @function',
    'f:',
    '\tTWICE', //                   15
    '\tTWICE', //                   16
    '\tret',
    '\t.size f, .-f',
    '\t.section .text.other, "ax"',
    '\tret',
    '\t.size g, .-g',
    '',
  ].join('\n');
  let dir: string;
  let elf: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'seamlab-dwarf-snippet-'));
    elf = join(dir, 's.elf');
    const image = linkObject(assemble(plainSource('s.S', SOURCE)), { sourceFile: 's.S', profile: 'test' });
    const debug = buildDebugInfo(image, { compDir: dir });
    expect(debug.sourceFiles).toEqual(['s.S']);
    writeFileSync(join(dir, 's.S'), SOURCE);
    writeFileSync(elf, writeElf(image, { extraSections: debug.sections }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!hasCommand('llvm-dwarfdump'))('llvm-dwarfdump --verify finds no errors', () => {
    expect(run('llvm-dwarfdump', ['--verify', elf])).toMatch(/No errors\.\n$/);
  });

  it('the compile unit covers both sections with a range list', () => {
    const info = run('readelf', ['--debug-dump=info', elf]);
    expect(info).toMatch(/DW_AT_ranges/);
    const ranges = run('readelf', ['--debug-dump=Ranges', elf]);
    const fns = functions(elf);
    for (const name of ['f', 'g']) expect(ranges).toContain(fns.get(name)![0].toString(16).padStart(16, '0'));
  });

  it('gdb: each body line resolves once per expansion, in whichever section it went', () => {
    const out = gdb(elf, ['break s.S:2', 'break s.S:4', 'info breakpoints', 'info line *g']);
    expect(out).toContain('s.S:2. (2 locations)');
    expect(out).toContain('s.S:4. (2 locations)');
    const fns = functions(elf);
    const asm = disassembly(elf);
    const locs = [...out.matchAll(/^(\d)\.\d+\s+y\s+0x([0-9a-f]+) in TWICE at s\.S:(\d+)$/gm)].map((m) => [Number(m[1]), BigInt('0x' + m[2]), Number(m[3])] as const);
    expect(locs.map(([bp, , line]) => [bp, line])).toEqual([[1, 2], [1, 2], [2, 4], [2, 4]]);
    const [f] = fns.get('f')!;
    const [g] = fns.get('g')!;
    expect(locs.map(([, a]) => a)).toEqual([f, f + 1n, g, g + 2n]);
    expect(locs.map(([, a]) => asm.get(a))).toEqual(['nop', 'nop', 'inc %eax', 'inc %eax']);
    expect(out).toMatch(/^Line 4 of "s\.S" starts at address 0x[0-9a-f]+ <g> and ends at 0x[0-9a-f]+ <g\+2>\.$/m);
  });
});
