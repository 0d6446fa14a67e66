/**
 * User errors of the preprocessor: each is a SeamlabError with a stable
 * code, the file:line where it happened, the include/macro stack that led
 * there and a hint — and prints that way through formatError.
 */
import { describe, expect, it } from 'vitest';
import { formatError, SeamlabError } from '../src/errors.js';
import { Preprocessor } from '../src/cpp/preprocessor.js';
import { cpp, MemFs, miniConfig } from './support/cpp-helpers.js';
import { buildImage } from '../src/image/build.js';
import { resolveRevision } from '../src/intake/revision.js';
import { treePatch } from './support/patches.js';

function fail(files: Record<string, string>, main = 'main.S', o: Parameters<typeof cpp>[2] = {}, extra: Partial<ReturnType<typeof miniConfig>> = {}): SeamlabError {
  try {
    new Preprocessor(new MemFs(files), { ...miniConfig(o), ...extra }).run(main);
  } catch (e) {
    if (e instanceof SeamlabError) return e;
    throw e;
  }
  throw new Error('expected a SeamlabError');
}

describe('cpp errors', () => {
  it('missing include: names the header, where it is included from, and every directory searched', () => {
    const e = fail({ 'sub/main.S': 'ok\n#include "a.h"\n', 'sub/a.h': '\n#include <asm/missing.h>\n' }, 'sub/main.S', { includeDirs: ['./arch/x86/include', './include'] });
    expect(e.code).toBe('CPP_MISSING_INCLUDE');
    expect(e.message).toBe('asm/missing.h: no such file');
    expect(e.where?.pos).toEqual({ file: 'sub/a.h', line: 2 });
    expect(e.where?.includeStack).toEqual([{ file: 'sub/main.S', line: 2 }]);
    expect(e.where?.cppStack).toEqual([]);
    expect(e.notes).toEqual(['searched, in order: ./arch/x86/include, ./include']);
    const text = formatError(e);
    expect(text).toMatch(/^sub\/a\.h:2: error: asm\/missing\.h: no such file \[CPP_MISSING_INCLUDE\]$/m);
    expect(text).toMatch(/^ {2}included from.* sub\/main\.S:2$/m);
    expect(text).toMatch(/^ {2}hint: /m);
  });

  it('a quoted include lists the including file\'s directory first', () => {
    const e = fail({ 'dir/main.S': '#include "nope.h"\n' }, 'dir/main.S', { includeDirs: ['inc'] });
    expect(e.notes).toEqual(['searched, in order: dir, inc']);
  });

  it('unterminated conditional: points at the #if that is not closed', () => {
    const e = fail({ 'main.S': '#include "h.h"\n', 'h.h': 'a\n#ifdef X\n#if 1\n#endif\n' });
    expect(e.code).toBe('CPP_UNTERMINATED_CONDITIONAL');
    expect(e.message).toBe('unterminated #ifdef');
    expect(e.where?.pos).toEqual({ file: 'h.h', line: 2 });
    expect(e.where?.text).toBe('#ifdef X');
  });

  it('#else / #endif without #if', () => {
    expect(fail({ 'main.S': 'x\n#endif\n' }).code).toBe('CPP_BAD_CONDITIONAL');
    expect(fail({ 'main.S': '#if 1\n#else\n#else\n#endif\n' }).message).toBe('#else after #else');
  });

  it('bad #if expressions, with gcc\'s wording', () => {
    const cases: [string, string][] = [
      ['#if 1 +\n#endif\n', "operator '+' has no right operand"],
      ['#if (1\n#endif\n', "missing ')' in expression"],
      ['#if 1 2\n#endif\n', 'missing binary operator before token "2"'],
      ['#if\n#endif\n', '#if with no expression'],
      ['#if 1/0\n#endif\n', 'division by zero in #if'],
      ['#if 1.0\n#endif\n', 'floating constant in preprocessor expression'],
      ['#if "s"\n#endif\n', 'token ""s"" is not valid in preprocessor expressions'],
    ];
    for (const [src, msg] of cases) {
      const e = fail({ 'main.S': src });
      expect(e.code, src).toBe('CPP_BAD_IF');
      expect(e.message, src).toBe(msg);
      expect(e.where?.pos, src).toEqual({ file: 'main.S', line: 1 });
    }
  });

  it('wrong macro argument count, with the macro definition and the expansion stack', () => {
    const e = fail({ 'main.S': '#define TWO(a, b) a b\n#define OUTER(x) TWO(x)\nline1\nOUTER(1)\n' });
    expect(e.code).toBe('CPP_MACRO_ARGS');
    expect(e.message).toBe('macro "TWO" requires 2 arguments, but only 1 given');
    expect(e.where?.pos).toEqual({ file: 'main.S', line: 4 });
    expect(e.where?.cppStack[0]).toEqual({ macro: 'OUTER', at: { file: 'main.S', line: 4 } });
    expect(e.notes).toEqual(['macro TWO(a, b) is defined at main.S:1']);
    expect(fail({ 'main.S': '#define ONE(a) a\nONE(1, 2)\n' }).message).toBe('macro "ONE" passed 2 arguments, but takes just 1');
  });

  it('unterminated macro argument list', () => {
    const e = fail({ 'main.S': '#define F(x) x\nF(1,\n' });
    expect(e.code).toBe('CPP_UNTERMINATED_ARGS');
  });

  it('include recursion stops at the depth limit (200, like gcc), reported at the #include that closes the cycle', () => {
    // gcc says "#include nested depth 200 exceeds maximum of 200" at the innermost #include; the cycle starts at self.h:1.
    const e = fail({ 'main.S': '#include "self.h"\n', 'self.h': '#include "self.h"\n' });
    expect(e.code).toBe('CPP_INCLUDE_CYCLE');
    expect(e.message).toBe('#include cycle: self.h → self.h (#include nested depth 200 exceeds maximum of 200)');
    expect(e.where).toMatchObject({ pos: { file: 'self.h', line: 1 }, includeStack: [{ file: 'main.S', line: 1 }], text: '#include "self.h"' });
    const two = fail({ 'main.S': '#include "a.h"\n', 'a.h': '\n#include "b.h"\n', 'b.h': '#include "a.h"\n' });
    expect(two.message).toBe('#include cycle: a.h → b.h → a.h (#include nested depth 200 exceeds maximum of 200)');
    expect(two.where).toMatchObject({ pos: { file: 'a.h', line: 2 }, includeStack: [{ file: 'main.S', line: 1 }] });
  });

  it('an include chain 200 deep without a cycle still stops at the depth limit, at the innermost #include', () => {
    const files: Record<string, string> = { 'main.S': '#include "h0.h"\n' };
    for (let i = 0; i < 205; i++) files[`h${i}.h`] = `#include "h${i + 1}.h"\n`;
    files['h205.h'] = '\n';
    const e = fail(files);
    expect(e.code).toBe('CPP_INCLUDE_DEPTH');
    expect(e.message).toBe('#include nested depth 200 exceeds maximum of 200');
    expect(e.notes).toEqual(['187 outer frames not shown']);
  });

  it('runaway expansion stops at the size limit', () => {
    const src = '#define X2(a) a a\n#define X8(a) X2(X2(X2(a)))\n#define X512(a) X8(X8(X8(a)))\nX512(X512(X512(x)))\n';
    const e = fail({ 'main.S': src }, 'main.S', {}, { maxExpansionTokens: 100_000 });
    expect(e.code).toBe('CPP_EXPANSION_LIMIT');
    expect(e.message).toMatch(/^macro expansion produced more than 100000 tokens/);
    expect(e.where?.pos).toEqual({ file: 'main.S', line: 4 });
    expect(e.where?.cppStack.some((f) => f.macro === 'X512')).toBe(true);
  });

  it('#error stops with the message; #warning is reported and preprocessing goes on', () => {
    const e = fail({ 'main.S': 'a\n#error this tree is not supported\n' });
    expect(e.code).toBe('CPP_ERROR_DIRECTIVE');
    expect(e.message).toBe('#error this tree is not supported');
    expect(e.where?.pos).toEqual({ file: 'main.S', line: 2 });
    const r = cpp({ 'main.S': '#warning careful here\nb\n' });
    expect(r.lines).toEqual(['b']);
    expect(r.diagnostics.map((d) => [d.message, d.where.pos.line])).toEqual([['#warning careful here', 1]]);
  });

  it('bad #define: duplicate parameter, ## at an end, missing macro name', () => {
    expect(fail({ 'main.S': '#define F(a, a) a\n' }).message).toBe('duplicate macro parameter "a"');
    expect(fail({ 'main.S': '#define G(a) ## a\n' }).message).toBe("'##' cannot appear at either end of a macro expansion");
    expect(fail({ 'main.S': '#define\n' }).message).toBe('no macro name given in #define directive');
  });

  it('a forbidden name (an asm-offsets entry that could not be computed) is an error at its use', () => {
    const forbiddenNames = new Map([['PTREGS_SIZE', { message: 'PTREGS_SIZE is an asm-offsets.h entry seamlab could not compute', hint: 'report it' }]]);
    const e = fail({ 'main.S': 'ok\nsub $PTREGS_SIZE, %rsp\n' }, 'main.S', {}, { forbiddenNames });
    expect(e.code).toBe('CPP_FORBIDDEN_NAME');
    expect(e.where?.pos).toEqual({ file: 'main.S', line: 2 });
  });

  it('an unterminated comment is an error at the comment', () => {
    const e = fail({ 'main.S': 'a\n  /* never closed\nb\n' });
    expect(e.code).toBe('CPP_LEX_ERROR');
    expect(e.message).toBe('unterminated comment');
    expect(e.where?.pos).toEqual({ file: 'main.S', line: 2, column: 3 });
  });

  it('a main file that does not exist', () => {
    expect(fail({ 'main.S': '' }, 'other.S').code).toBe('CPP_NO_SUCH_FILE');
  });
});

describe('asm-offsets.h entries of a struct a patch removed', () => {
  it('say that the struct no longer exists and where asm-offsets.c uses it', () => {
    // The 6.1 tree with struct tdx_module_output renamed in asm/tdx.h (prototypes included), asm-offsets.c left as it is:
    // its line 70 is OFFSET(TDX_MODULE_rcx, tdx_module_output, rcx), which tdxcall.S uses (line 86 in 6.1).
    const patch = treePatch('linux-6.1', 'arch/x86/include/asm/tdx.h', (t) => t.replaceAll('tdx_module_output', 'tdx_module_regs'), 'rename-module-output.patch');
    const rev = resolveRevision(`linux-6.1+${patch}`);
    let err: unknown;
    try {
      buildImage(rev.files, 'arch/x86/coco/tdx/tdcall.S');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SeamlabError);
    const e = err as SeamlabError;
    expect(e.code).toBe('CPP_FORBIDDEN_NAME');
    expect(e.where?.pos).toEqual({ file: 'arch/x86/virt/vmx/tdx/tdxcall.S', line: 86 });
    expect(e.message).toBe('TDX_MODULE_rcx cannot be computed: struct tdx_module_output no longer exists in this revision (no header asm-offsets.c includes defines it)');
    expect(e.hint).toBe('arch/x86/kernel/asm-offsets.c:70 still uses struct tdx_module_output (offsetof(struct tdx_module_output, rcx)): a patch that removes or renames the struct must also change asm-offsets.c and the .S files that use TDX_MODULE_rcx');
    expect(e.hint).not.toMatch(/report it/);
  });
});
