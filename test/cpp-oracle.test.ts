/**
 * The oracle: seamlab's preprocessor against `gcc -E -P`, run live with the
 * same inputs (the generated headers laid out on disk, Kbuild's flags).
 *
 * - every .S that defines a TDX entry point in v3, linux-6.1 and linux-6.12,
 *   under every profile: token-for-token identical (whitespace runs
 *   collapsed, blank lines dropped);
 * - hand-picked tricky cases (C standard examples, GNU extensions,
 *   assembler mode): identical including spacing;
 * - the predefined macros seamlab models are exactly gcc's.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildEnvironment, gccTree, PROFILES, preprocess } from '../src/cpp/index.js';
import { GCC_ASM_PREDEFINES } from '../src/kbuild/predefined.js';
import { resolveRevision } from '../src/intake/revision.js';
import { cpp, gccE, HAVE_GCC, normalizeOutput } from './support/cpp-helpers.js';
import { IN_CI, requireOracle } from './support/oracles.js';

const gccOk = requireOracle('gcc', HAVE_GCC, 'apt-get install gcc');

/** The .S files that define TDX entry points, per revision (as intake discovers them). */
function tdxSources(spec: string): string[] {
  return [...new Set(resolveRevision(spec).functions.map((f) => f.sourceFile))].sort();
}

describe.skipIf(!gccOk)('cpp oracle: TDX assembly of every revision under every profile', () => {
  it('finds the TDX .S files of each revision', () => {
    expect(tdxSources('linux-6.1')).toEqual(['arch/x86/coco/tdx/tdcall.S']);
    expect(tdxSources('v3')).toEqual(['arch/x86/coco/tdx/tdcall.S', 'arch/x86/virt/vmx/tdx/seamcall.S']);
    expect(tdxSources('linux-6.12')).toEqual(['arch/x86/coco/tdx/tdcall.S', 'arch/x86/virt/vmx/tdx/seamcall.S']);
  });

  for (const spec of ['v3', 'linux-6.1', 'linux-6.12']) {
    for (const profile of PROFILES.map((p) => p.name)) {
      it(`${spec} --profile ${profile}: same tokens as gcc -E`, () => {
        const rev = resolveRevision(spec);
        const env = buildEnvironment(rev.files, { profile });
        const sources = tdxSources(spec);
        const tree = gccTree(env, sources);
        try {
          for (const file of sources) {
            const ours = preprocess(rev.files, file, { profile });
            const g = spawnSync('gcc', tree.argv(file), { cwd: tree.cwd, encoding: 'utf8', env: { ...process.env, ...tree.env }, maxBuffer: 64 << 20 });
            expect(g.status, `${file}: ${g.stderr}`).toBe(0);
            const want = normalizeOutput(g.stdout);
            expect(want.length, file).toBeGreaterThan(50);
            expect(normalizeOutput(ours.lines), file).toEqual(want);
            expect(ours.origins.length).toBe(ours.lines.length);
          }
        } finally {
          tree.cleanup();
        }
      });
    }
  }
});

/** Small sources where the exact output (spacing included) is compared. */
const EXACT_CASES: { name: string; files: Record<string, string>; main?: string; o?: Parameters<typeof cpp>[2] }[] = [
  { name: 'C11 6.10.3.5 example 3', files: { 'main.S': '#define x 3\n#define f(a) f(x * (a))\n#undef x\n#define x 2\n#define g f\n#define z z[0]\n#define h g(~\n#define m(a) a(w)\n#define w 0,1\n#define t(a) a\n#define p() int\n#define q(x) x\n#define r(x,y) x ## y\n#define str(x) # x\nf(y+1) + f(f(z)) % t(t(g)(0) + t)(1);\ng(x+(3,4)-w) | h 5) & m\n(f)^m(m);\np() i[q()] = { q(1), r(2,3), r(4,), r(,5), r(,) };\nchar c[2][6] = { str(hello), str() };\n' } },
  { name: 'C11 6.10.3.5 example 4', files: { 'main.S': '#define str(s) # s\n#define xstr(s) str(s)\n#define debug(s, t) printf("x" # s "= %d, x" # t "= %s", \\\n x ## s, x ## t)\n#define INCFILE(n) vers ## n\n#define glue(a, b) a ## b\n#define xglue(a, b) glue(a, b)\n#define HIGHLOW "hello"\n#define LOW LOW ", world"\ndebug(1, 2);\nfputs(str(strncmp("abc\\0d", "abc", \'\\4\') // this goes away\n == 0) str(: @\\n), s);\nxstr(INCFILE(2).h)\nglue(HIGH, LOW);\nxglue(HIGH, LOW)\n' } },
  { name: 'C11 6.10.3.5 example 5 (placemarkers)', files: { 'main.S': '#define t(x,y,z) x ## y ## z\nint j[] = { t(1,2,3), t(,4,5), t(6,,7), t(8,9,),\nt(10,,), t(,11,), t(,,12), t(,,) };\n' } },
  { name: 'C11 6.10.3.5 example 7 (variadic)', files: { 'main.S': '#define debug(...) fprintf(stderr, __VA_ARGS__)\n#define showlist(...) puts(#__VA_ARGS__)\n#define report(test, ...) ((test)?puts(#test):printf(__VA_ARGS__))\ndebug("Flag");\ndebug("X = %d\\n", x);\nshowlist(The first, second, and third items.);\nreport(x>y, "x is %d but y is %d", x, y);\n' } },
  { name: '__VA_OPT__', files: { 'main.S': '#define F(...) f(0 __VA_OPT__(,) __VA_ARGS__)\n#define G(X, ...) f(0, X __VA_OPT__(,) __VA_ARGS__)\n#define SDEF(sname, ...) S sname __VA_OPT__(= { __VA_ARGS__ })\n#define EMP\nF(a,b,c) F() F(EMP) G(a,b,c) G(a,) G(a) SDEF(foo); SDEF(bar, 1, 2);\n#define H2(X, Y, ...) __VA_OPT__(X ## Y,) __VA_ARGS__\nH2(a, b, c, d)\n#define H3(X, ...) #__VA_OPT__(X##X X##X)\nH3(, 0)\n' } },
  { name: 'GNU comma pasting (__ASM_FORM)', files: { 'main.S': '#define __ASM_FORM(x, ...) x,## __VA_ARGS__\n#define __ASM_SEL(a,b) __ASM_FORM(b)\n#define _ASM_PTR __ASM_SEL(.long, .quad)\n_ASM_PTR 1\n__ASM_FORM(a) __ASM_FORM(a,b) __ASM_FORM(a,) __ASM_FORM(a, b c)\n#define W(...) [x , ## __VA_ARGS__]\nW() W(3) W( )\n' } },
  { name: 'assembler mode lexing', files: { 'main.S': '#define X 1\nmov $X, %al\n%:define Y 2\nY\n# foo bar\n# 1 "x"\n  # dont \'do this\na \'b\' c \'d\n#define g(x) #x # y\ng(1)\n.macro FOO a, b\n\tmovq \\a, \\b ; nop\n.endm\n1: jmp 1b ; jmp 1f\n.Lfoo\\@:\n@ ` $a a$ \\\nk\n' } },
  { name: 'paste edge cases in assembler mode', files: { 'main.S': '#define P(a,b) a##b\nP(1,+) P(.,L) P(+,+) P(x, 1) P(/,/) P(%,:) P(a,"b") P(.,1) P(1,.) P(-,>) P(<,<=)\n' } },
  { name: 'function-like macro names without parentheses', files: { 'main.S': '#define EMPTY\n#define f(x) x\nf (1) f\n(2) f EMPTY (3)\n#define g f\ng\n(4)\nf\n#define Z 1\nZ\n' } },
  { name: 'blue paint and rescanning', files: { 'main.S': '#define a(x) b(x)\n#define b(x) a(x)\na(1) b(2)\n#define NIL(xxx) xxx\n#define G_0(arg) NIL(G_1)(arg)\n#define G_1(arg) NIL(arg)\nG_0(42)\n#define foo() bar\nfoo()baz\n#define f(x) x\nf(f)(1)\n#define obj ( 1 )\n#define fn(x) x obj\nfn(obj) fn (fn)(3)\n-obj- +fn(-)+\n' } },
  { name: 'directives inside macro arguments', files: { 'main.S': '#define L(x) x\nL(\n#ifdef L\nyes\n#else\nno\n#endif\n)\n' } },
  { name: '#if arithmetic', files: { 'main.S': '#if defined(__x86_64__) && __SIZEOF_LONG__ == 8\nlp64\n#endif\n#if 18446744073709551615 == -1\nwrap\n#endif\n#if 0x8000000000000000 > 0 && -1 < 0 && (0u - 1) > 0\nu\n#endif\n#if (2 || 1/0) && !(0 && 1/0)\nsc\n#endif\n#if 1 << 63 < 0\nneg\n#endif\n#if (-8 >> 1) == -4 && (-1 << 70) == 0\nsh\n#endif\n#if 5 % -3 == 2 && -5 / 2 == -2\ndiv\n#endif\n#if \'\\377\' < 0 && \'ab\' == 24930\nchr\n#endif\n' } },
  {
    name: 'include search, include_next, __FILE__ and #line',
    files: { 'main.S': '#include "a.h"\n#include <b.h>\nA B __FILE__ __INCLUDE_LEVEL__\n#include "sub/c.S"\n', 'a.h': '#define A __FILE__ __INCLUDE_LEVEL__\n#include_next <a.h>\n', 'inc1/b.h': '#define B 1 __FILE__\n#include_next <b.h>\n', 'inc2/b.h': 'b2 __FILE__ __INCLUDE_LEVEL__\n', 'inc2/a.h': 'a2 __FILE__\n', 'sub/c.S': '#include "../a.h"\nc __FILE__ __LINE__\n#line 100 "z.S"\n__LINE__ __FILE__ __BASE_FILE__\n' },
    o: { includeDirs: ['inc1', 'inc2'] },
  },
  { name: 'include guards and #pragma once', files: { 'main.S': '#include "g.h"\n#include "g.h"\nG\n#include "o.h"\n#include "o.h"\n', 'g.h': '#ifndef G_H\n#define G_H\n#define G g\nonce_g\n#endif\n', 'o.h': '#pragma once\nonce_o\n' } },
  { name: 'kernel-style symbol macros', files: { 'main.S': '#define ASM_NL ;\n#define SYM(name) .globl name ASM_NL name:\n#define __ALIGN .balign 16, 0x90\n#define ALIGN __ALIGN\n#define START(x) SYM(x) ASM_NL ALIGN\nSTART(foo)\n#define _ASM_EXTABLE(from, to) .pushsection "__ex_table","a" ; .long (from) - . ; .long (to) - . ; .popsection\n_ASM_EXTABLE(.Lseamcall\\@, .Lseamcall_trap\\@)\n#define _BITUL(x) (_AC(1,UL) << (x))\n#define _AC(X,Y) X\n#define TDX_ERROR _BITUL(63)\nmov $TDX_ERROR, %rax\n' } },
];

describe.skipIf(!gccOk)('cpp oracle: tricky sources, exact spacing', () => {
  const exact = (t: string | string[]): string[] => (Array.isArray(t) ? t : t.split('\n')).filter((l) => l.trim() !== '');
  for (const c of EXACT_CASES) {
    it(c.name, () => {
      const main = c.main ?? 'main.S';
      const g = gccE(c.files, main, c.o ?? {});
      expect(g.status, g.stderr).toBe(0);
      expect(exact(cpp(c.files, main, c.o ?? {}).lines)).toEqual(exact(g.stdout));
    });
  }
});

describe.skipIf(!gccOk)('cpp oracle: predefined macros', () => {
  it('every predefined macro seamlab models is gcc 12.2\'s, with the same value', () => {
    const version = spawnSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).stdout.trim();
    if (version !== '12.2.0') {
      const msg = `gcc ${version} is not the modelled gcc 12.2.0; predefined macro values are not compared`;
      if (IN_CI) throw new Error(msg);
      console.warn(`\n*** ${msg} ***\n`);
      return;
    }
    const r = spawnSync('gcc', ['-dM', '-E', '-x', 'assembler-with-cpp', '-m64', '-fno-PIE', '-nostdinc', '/dev/null'], { encoding: 'utf8' });
    const gccDefs = new Set(r.stdout.split('\n').map((l) => l.trimEnd()));
    const ours = GCC_ASM_PREDEFINES.split('\n').filter((l) => l.startsWith('#define'));
    expect(ours.length).toBeGreaterThan(150);
    for (const d of ours) expect(gccDefs.has(d.trimEnd()), d).toBe(true);
  });
});
