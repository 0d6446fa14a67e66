/**
 * One test per preprocessor feature, with the expected output written by
 * hand from the C standard (C11 6.10) and GNU cpp's documented behaviour.
 * Spacing is compared exactly where it is part of what is tested, and
 * whitespace-normalised otherwise.
 */
import { describe, expect, it } from 'vitest';
import { cpp, normalizeOutput } from './support/cpp-helpers.js';

const out = (src: string, files: Record<string, string> = {}, o = {}): string[] => normalizeOutput(cpp({ 'main.S': src, ...files }, 'main.S', o).lines);

describe('cpp: macros', () => {
  it('expands object-like macros and rescans their replacement', () => {
    expect(out('#define A B + 1\n#define B 2\nA\n')).toEqual(['2 + 1']);
  });

  it('expands function-like macros, only when followed by (', () => {
    expect(out('#define f(x, y) [x|y]\nf(1, 2) f (3,4) f\n')).toEqual(['[1|2] [3|4] f']);
  });

  it('collects arguments across lines and prints the expansion on the line of the macro name', () => {
    expect(out('#define f(x) <x>\nf(a\n  b)\nf(1\n)\nnext\n')).toEqual(['<a b>', '<1>', 'next']);
  });

  it('keeps nested parentheses and commas inside them in one argument', () => {
    expect(out('#define f(x) {x}\nf((a, b))\n')).toEqual(['{(a, b)}']);
  });

  it('supports variadic macros with __VA_ARGS__ and named variadic parameters', () => {
    expect(out('#define v(a, ...) a: __VA_ARGS__\n#define w(args...) (args)\nv(1, 2, 3) w(x, y)\n')).toEqual(['1: 2, 3 (x, y)']);
  });

  it('implements GNU , ## __VA_ARGS__ (comma dropped when the variable arguments are omitted)', () => {
    expect(out('#define F(x, ...) x , ## __VA_ARGS__\nF(a) F(a, b) F(a, b, c)\n')).toEqual(['a a , b a , b, c']);
  });

  it('keeps the comma for an empty (but present) variable argument of a macro with named parameters', () => {
    expect(out('#define F(x, ...) [x , ## __VA_ARGS__]\nF(a,)\n')).toEqual(['[a ,]']);
  });

  it('drops the comma for an empty argument of a macro whose only parameter is ...', () => {
    expect(out('#define G(...) [z , ## __VA_ARGS__]\nG() G(q)\n')).toEqual(['[z] [z ,q]']);
  });

  it('supports __VA_OPT__', () => {
    expect(out('#define F(a, ...) f(a __VA_OPT__(,) __VA_ARGS__)\nF(1) F(1, 2)\n')).toEqual(['f(1 ) f(1 , 2)']);
  });

  it('stringizes with #, collapsing whitespace and escaping quotes and backslashes in literals', () => {
    expect(cpp({ 'main.S': '#define s(x) #x\ns(  a   +\tb ) s("q\\n" \'c\') s()\n' }).lines).toEqual(['"a + b" "\\"q\\\\n\\" \'c\'" ""']);
  });

  it('does not expand macro arguments operated on by # or ##, but does expand the others', () => {
    expect(out('#define N 42\n#define s(x) #x\n#define xs(x) s(x)\n#define cat(a, b) a ## b\ns(N) xs(N) cat(N, 1) cat(x, N)\n')).toEqual(['"N" "42" N1 xN']);
  });

  it('pastes tokens with ## left to right, and an empty argument leaves the other operand', () => {
    expect(out('#define c3(a, b, c) a ## b ## c\nc3(x, y, z) c3(1, , 2) c3(, , w)\n')).toEqual(['xyz 12 w']);
  });

  it('pastes .L labels the way the kernel builds symbol-size labels', () => {
    expect(out('#define SYM_END(name) .set .L__sym_size_##name, .-name\nSYM_END(__seamcall)\n')).toEqual(['.set .L__sym_size___seamcall, .-__seamcall']);
  });

  it('in assembler mode an invalid paste keeps both tokens (gcc: no error), separated when they would lex as one', () => {
    expect(cpp({ 'main.S': '#define P(a, b) a##b\nP(1,+) P(+,+) P(x,.)\n' }).lines).toEqual(['1 + ++ x.']);
  });

  it('paints a macro name met inside its own expansion blue, for good (C11 6.10.3.4p2)', () => {
    // f's expansion yields "f"; even when a ( follows later it is not expanded again.
    // A -> A B; the inner A is painted, B -> A is met while A is still disabled.
    expect(out('#define f(x) x f\nf(1)(2)\n#define A A B\n#define B A\nA\n')).toEqual(['1 f(2)', 'A A']);
  });

  it('expands a function-like macro whose name comes from an expansion and whose ( comes from the source', () => {
    expect(out('#define g f\n#define f(x) <x>\ng(3)\n')).toEqual(['<3>']);
  });

  it('prints spaces exactly where gcc does: around expansions only to prevent accidental pasting', () => {
    // -M: "-" then M's "-" would lex as "--": space. -E-: E expands to nothing but the two
    // "-" come from different contexts, so they are kept apart too. a/**/b: the comment is a space.
    expect(cpp({ 'main.S': '#define E\n#define M -\n-M -E- a/**/b x E y\n' }).lines).toEqual(['- - - - a b x y']);
  });

  it('#undef removes a definition and redefinition replaces it', () => {
    expect(out('#define X 1\nX\n#undef X\nX\n#define X 2\nX\n')).toEqual(['1', 'X', '2']);
  });

  it('push_macro / pop_macro save and restore a definition', () => {
    expect(out('#define X 1\n#pragma push_macro("X")\n#undef X\n#define X 2\nX\n#pragma pop_macro("X")\nX\n')).toEqual(['2', '1']);
  });
});

describe('cpp: conditionals and #if arithmetic', () => {
  const cond = (expr: string): boolean => out(`#if ${expr}\nT\n#else\nF\n#endif\n`)[0] === 'T';

  it('evaluates defined with and without parentheses', () => {
    expect(out('#define D\n#if defined D && defined(D) && !defined(U)\nyes\n#endif\n')).toEqual(['yes']);
  });

  it('treats identifiers that are not macros as 0', () => {
    expect(cond('UNDEFINED_NAME == 0')).toBe(true);
  });

  it('uses 64-bit signed arithmetic and converts to unsigned when one operand is unsigned', () => {
    expect(cond('-1 < 0')).toBe(true);
    expect(cond('-1 < 0u')).toBe(false);
    expect(cond('0x7fffffffffffffff + 1 < 0')).toBe(true);
    expect(cond('18446744073709551615 == -1')).toBe(true);
  });

  it('understands U, L, UL, ULL suffixes and octal, hex and binary literals', () => {
    expect(cond('0x10UL == 16 && 010 == 8 && 0b101 == 5 && 1ULL == 1 && 2LL == 2')).toBe(true);
  });

  it('shifts like C on x86-64: arithmetic right shift of negatives, count >= 64 gives 0 or -1', () => {
    expect(cond('(1 << 63) < 0')).toBe(true);
    expect(cond('(-8 >> 1) == -4')).toBe(true);
    expect(cond('(1 << 64) == 0')).toBe(true);
    expect(cond('(-1 >> 70) == -1')).toBe(true);
    expect(cond('(1u << 63) >> 63 == 1')).toBe(true);
  });

  it('evaluates ?: with C precedence and does not evaluate the branch not taken', () => {
    expect(cond('1 ? 2 : 1/0')).toBe(true);
    expect(cond('0 ? 1/0 : 3 == 3')).toBe(true);
    expect(cond('0 && 1/0 || 1')).toBe(true);
  });

  it('divides toward zero and takes the sign of the dividend for %', () => {
    expect(cond('-7 / 2 == -3 && -7 % 2 == -1 && 7 % -2 == 1')).toBe(true);
  });

  it('reads character constants as signed chars', () => {
    expect(cond("'a' == 97 && '\\377' == -1 && '\\x41' == 65")).toBe(true);
  });

  it('handles #elif, #else, nesting and skips directives in groups not taken', () => {
    const src = '#if 0\n#error not here\n#if 1\nno\n#endif\n#elif 1\nA\n#elif 1\nB\n#else\nC\n#endif\n#ifdef NOPE\nx\n#elifndef NOPE\nD\n#endif\n';
    expect(out(src)).toEqual(['A', 'D']);
  });
});

describe('cpp: includes', () => {
  it('searches "" first next to the including file, then the -I dirs; <> only the -I dirs', () => {
    const files = { 'dir/a.h': 'dir_a', 'inc/a.h': 'inc_a', 'inc/b.h': '#include "a.h"\n', 'dir/main.S': '#include "a.h"\n#include <a.h>\n#include <b.h>\n' };
    expect(normalizeOutput(cpp(files, 'dir/main.S', { includeDirs: ['inc'] }).lines)).toEqual(['dir_a', 'inc_a', 'inc_a']);
  });

  it('#include_next continues after the directory where the current file was found', () => {
    const files = { 'main.S': '#include <x.h>\n', 'i1/x.h': 'one\n#include_next <x.h>\n', 'i2/x.h': 'two\n#include_next <x.h>\n', 'i3/x.h': 'three\n' };
    expect(normalizeOutput(cpp(files, 'main.S', { includeDirs: ['i1', 'i2', 'i3'] }).lines)).toEqual(['one', 'two', 'three']);
  });

  it('resolves "../" relative to the including file, like tdcall.S including tdxcall.S', () => {
    const files = { 'arch/x86/coco/tdx/tdcall.S': '#include "../../virt/vmx/tdx/tdxcall.S"\n__FILE__\n', 'arch/x86/virt/vmx/tdx/tdxcall.S': 'in_tdxcall __FILE__\n' };
    expect(normalizeOutput(cpp(files, 'arch/x86/coco/tdx/tdcall.S').lines)).toEqual(['in_tdxcall "arch/x86/coco/tdx/../../virt/vmx/tdx/tdxcall.S"', '"arch/x86/coco/tdx/tdcall.S"']);
  });

  it('reads a guarded header once and honours #pragma once', () => {
    const files = { 'g.h': '#ifndef G\n#define G\ng\n#endif\n', 'o.h': '#pragma once\no\n' };
    expect(out('#include "g.h"\n#include "g.h"\n#include "o.h"\n#include "o.h"\n', files)).toEqual(['g', 'o']);
  });

  it('processes -include files before the main file, searching from the working directory', () => {
    expect(normalizeOutput(cpp({ 'main.S': 'M\n', 'pre.h': '#define M from_pre\n' }, 'main.S', { forced: ['./pre.h'] }).lines)).toEqual(['from_pre']);
  });

  it('lexes <...> after #include as one header name, so predefined `linux` is not expanded in it', () => {
    expect(normalizeOutput(cpp({ 'main.S': '#include <linux/x.h>\nlinux\n', 'inc/linux/x.h': 'found\n' }, 'main.S', { includeDirs: ['inc'] }).lines)).toEqual(['found', '1']);
  });

  it('expands a macro naming the header (computed include)', () => {
    expect(out('#define HDR "h.h"\n#include HDR\n', { 'h.h': 'computed\n' })).toEqual(['computed']);
  });

  it('__has_include looks a header up without including it', () => {
    expect(out('#if __has_include("h.h") && !__has_include(<nope.h>)\nyes\n#endif\n', { 'h.h': 'x\n' })).toEqual(['yes']);
  });
});

describe('cpp: builtins, lines and comments', () => {
  it('__LINE__ is the line of the use; inside a macro, the line of the outermost macro use', () => {
    expect(out('#define L __LINE__\n\nL\n#define F(x) x\nF(\n__LINE__\n)\n__LINE__\n')).toEqual(['3', '5', '8']);
  });

  it('#line changes __LINE__ and __FILE__', () => {
    expect(out('#line 100 "x.S"\n__LINE__ __FILE__\n')).toEqual(['100 "x.S"']);
  });

  it('__COUNTER__ counts and __INCLUDE_LEVEL__ is the include depth', () => {
    expect(out('__COUNTER__ __COUNTER__ __INCLUDE_LEVEL__\n#include "i.h"\n', { 'i.h': '__INCLUDE_LEVEL__\n' })).toEqual(['0 1 0', '1']);
  });

  it('joins spliced lines and treats comments, also multi-line ones, as whitespace', () => {
    expect(out('#define X 1 \\\n + 2\nX a/* c\n c */b // tail \\\n still comment\nc\n')).toEqual(['1 + 2 a b', 'c']);
  });

  it('keeps tokens after a multi-line comment on the directive line', () => {
    expect(out('#define Y a /* spans\n lines */ b\nY\n')).toEqual(['a b']);
  });
});

describe('cpp: assembler mode (-x assembler-with-cpp)', () => {
  it('passes through # lines that are not directives (comments, GAS syntax)', () => {
    expect(out('# this is a comment\n#APP\n')).toEqual(['# this is a comment', '#APP']);
  });

  it("does not treat an unmatched ' or \" as a literal (e.g. in a comment after #)", () => {
    expect(out("# don't stop here\n#define X x\nX 'a\n")).toEqual(["# don't stop here", "x 'a"]);
  });

  it('keeps ; statement separators and GAS tokens such as \\@, %reg and $imm', () => {
    expect(out('#define IMM 16\nmov $IMM, %rax; .Lx\\@: jmp 1f\n')).toEqual(['mov $16, %rax; .Lx\\@: jmp 1f']);
  });

  it('does not treat $ as part of an identifier (so $MACRO expands)', () => {
    expect(out('#define V 7\n$V $ V\n')).toEqual(['$7 $ 7']);
  });

  it('keeps a # not followed by a parameter in a function-like macro', () => {
    expect(out('#define M(x) x # y\nM(1)\n')).toEqual(['1 # y']);
  });

  it('defines __ASSEMBLER__ and the x86-64 target macros', () => {
    expect(out('__ASSEMBLER__ __x86_64__ __SIZEOF_LONG__ __CHAR_BIT__ linux\n')).toEqual(['1 1 8 8 1']);
  });
});

describe('cpp: source map', () => {
  it('gives each output line its file, line, include stack and the macros used on it', () => {
    const files = { 'main.S': '#define ONE 1\n\nplain\n#include "inc.h"\nUSE(ONE)\n', 'inc.h': '#define USE(x) use x\nin_header\n' };
    const r = cpp(files);
    expect(r.lines.map((l) => l.trim())).toEqual(['plain', 'in_header', 'use 1']);
    expect(r.origins[0]).toEqual({ pos: { file: 'main.S', line: 3 }, includeStack: [], cppStack: [], gasStack: [] });
    expect(r.origins[1]).toEqual({ pos: { file: 'inc.h', line: 2 }, includeStack: [{ file: 'main.S', line: 4 }], cppStack: [], gasStack: [] });
    // Latest use first: USE, then ONE in its argument.
    expect(r.origins[2]).toEqual({
      pos: { file: 'main.S', line: 5 },
      includeStack: [],
      cppStack: [
        { macro: 'ONE', at: { file: 'main.S', line: 5 } },
        { macro: 'USE', at: { file: 'main.S', line: 5 } },
      ],
      gasStack: [],
    });
  });

  it('maps a multi-line macro call to the line of the macro name', () => {
    const r = cpp({ 'main.S': '#define F(a, b) a b\nfirst\nF(x,\n  y)\nlast\n' });
    expect(r.lines.map((l) => l.trim())).toEqual(['first', 'x y', 'last']);
    expect(r.origins.map((o) => o.pos.line)).toEqual([2, 3, 5]);
  });
});
