/**
 * C declarations and x86-64 struct layout. Hand-written expectations for the
 * TDX structs (offsets from the kernel headers as documented), and gcc as a
 * live oracle for the layout rules (packed, aligned, unions, arrays,
 * anonymous members) and for the real tree definitions.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeView, parsePrototype } from '../src/intake/c-decl.js';
import { findStruct, findUnion, memberOffset } from '../src/intake/c-layout.js';
import type { StructField, StructLayout } from '../src/intake/types.js';
import { DirFs } from '../src/support/vfs.js';
import { hasCommand, requireOracle } from './support/oracles.js';
import { treePath } from './support/kernel.js';
import { memFs } from './support/mem-fs.js';

const offsets = (l: StructLayout) => l.fields.map((f) => [f.name, f.offset, f.size]);

describe('prototypes', () => {
  it('parses a multi-line prototype with comments', () => {
    const text = '/* Used to communicate */\nu64 __tdx_module_call(u64 fn, u64 rcx, u64 rdx, u64 r8, u64 r9,\n\t\t      /* out */ struct tdx_module_output *out);\n';
    const r = parsePrototype(text, text.indexOf('__tdx_module_call'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.proto.text).toBe('u64 __tdx_module_call(u64 fn, u64 rcx, u64 rdx, u64 r8, u64 r9, struct tdx_module_output *out);');
    expect(r.proto.line).toBe(2);
    expect(r.proto.params.map((p) => [p.name, p.type.spelled])).toEqual([['fn', 'u64'], ['rcx', 'u64'], ['rdx', 'u64'], ['r8', 'u64'], ['r9', 'u64'], ['out', 'struct tdx_module_output *']]);
  });

  it('accepts attributes that do not change the ABI, unnamed and array parameters', () => {
    const text = 'extern asmlinkage u64 __must_check f(unsigned long, const struct x *p, u8 buf[16]) __attribute__((nonnull));';
    const r = parsePrototype(text, text.indexOf('f('));
    expect(r.ok && r.proto.params.map((p) => [p.name, p.type.spelled])).toEqual([[undefined, 'unsigned long'], ['p', 'struct x *'], ['buf', 'u8 *']]);
  });

  it('tells a prototype from a macro use, a definition and a call', () => {
    const macro = '#define seamcall(_fn, _args) sc_retry(__seamcall, (_fn), (_args))\n';
    expect(codeView(macro).trim()).toBe('');
    const def = 'static inline u64 __seamcall(u64 fn, struct tdx_module_args *args) { return 0; }';
    expect(parsePrototype(def, def.indexOf('__seamcall'))).toMatchObject({ ok: false, definition: true });
    const call = 'void g(void) { ret = __seamcall(fn, args); }';
    expect(parsePrototype(call, call.indexOf('__seamcall')).ok).toBe(false);
    const varargs = 'int printk(const char *fmt, ...);';
    expect(parsePrototype(varargs, varargs.indexOf('printk'))).toMatchObject({ ok: false, reason: 'variadic parameter list' });
  });
});

describe('struct layout of the TDX structs (kernel headers)', () => {
  it('6.1 struct tdx_module_output: rcx 0 … r11 40, size 48', () => {
    const l = findStruct(new DirFs(treePath('linux-6.1')), 'tdx_module_output', ['arch/x86/include/asm/tdx.h']);
    expect(offsets(l)).toEqual([['rcx', 0, 8], ['rdx', 8, 8], ['r8', 16, 8], ['r9', 24, 8], ['r10', 32, 8], ['r11', 40, 8]]);
    expect([l.size, l.align]).toEqual([48, 8]);
    expect(l.definedAt).toEqual({ file: 'arch/x86/include/asm/tdx.h', line: 29 });
  });

  it('6.12 struct tdx_module_args: rcx 0 … rsi 96, size 104, in asm/shared/tdx.h', () => {
    const l = findStruct(new DirFs(treePath('linux-6.12')), 'tdx_module_args', ['arch/x86/include/asm/tdx.h', 'arch/x86/include/asm/shared']);
    expect(l.fields.map((f) => [f.name, f.offset])).toEqual([
      ['rcx', 0], ['rdx', 8], ['r8', 16], ['r9', 24], ['r10', 32], ['r11', 40], ['r12', 48], ['r13', 56], ['r14', 64], ['r15', 72], ['rbx', 80], ['rdi', 88], ['rsi', 96],
    ]);
    expect(l.size).toBe(104);
    expect(l.definedAt.file).toBe('arch/x86/include/asm/shared/tdx.h');
    expect(memberOffset(l, 'rsi').offset).toBe(96);
  });

  it('a struct that is only forward-declared lists the places searched', () => {
    const fs61 = new DirFs(treePath('linux-6.1'));
    let err: { code?: string; notes?: string[] } = {};
    try {
      findStruct(fs61, 'tdx_module_args', ['arch/x86/include/asm/tdx.h', 'arch/x86/include/asm/shared']);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe('C_STRUCT_NOT_FOUND');
    expect(err.notes!.join('\n')).toMatch(/searched \d+ header\(s\): arch\/x86\/include\/asm\/tdx\.h, arch\/x86\/include\/asm\/shared\/\*\.h/);
  });
});

describe('unknown constructs are errors at file:line, never guesses', () => {
  const cases: [string, string, RegExp, number][] = [
    ['conditional', 'struct s {\n\tu64 a;\n#ifdef CONFIG_X\n\tu64 b;\n#endif\n};\n', /preprocessor directive \(#ifdef\)/, 3],
    ['bit-field', 'struct s {\n\tu32 a : 3;\n};\n', /bit-field a/, 2],
    ['unknown typedef', 'struct s {\n\tu64 a;\n\tpte_t b;\n};\n', /unknown type pte_t/, 3],
    ['macro array size', 'struct s {\n\tu8 a[SIZE];\n};\n', /array size of a is not an integer literal/, 2],
    ['layout attribute', 'struct s {\n\tu64 a;\n} __attribute__((designated_init, mode(DI)));\n', /attribute designated_init may change the layout/, 3],
    ['enum', 'struct s {\n\tenum e a;\n};\n', /enum types are not supported/, 2],
  ];
  for (const [name, text, msg, line] of cases) {
    it(name, () => {
      const fsm = memFs({ 'h/a.h': text });
      expect(() => findStruct(fsm, 's', ['h/a.h'])).toThrow(expect.objectContaining({ code: 'C_UNKNOWN_CONSTRUCT', message: expect.stringMatching(msg), where: expect.objectContaining({ pos: { file: 'h/a.h', line } }) }));
    });
  }
});

// ---- gcc oracle ---------------------------------------------------------------

const ORACLE_HEADER = `
struct m { u8 a; u64 b; u16 c; u32 d[3]; u8 e; };
struct __packed p { u8 a; u64 b; u16 c; };
struct q { u8 a; u32 b; } __packed;
struct al { u8 a; u64 b __aligned(16); } __aligned(64);
struct pa { u8 a; u32 b __aligned(4); u16 c; } __packed;
union u { u8 a; u64 b; u16 c[5]; };
struct outer {
	u8 x;
	struct m inner;
	union u un;
	struct { u16 lo; u16 hi; };
	union { u32 w; u8 bytes[4]; } named;
	u8 tail;
};
struct ptrs { void *p; int i; unsigned long ul; long l; char c; struct m *mp; void (*fn)(int); unsigned short us; long long ll; signed char sc; };
struct arr2 { u16 a[2][3]; u8 b; u64 c[0]; };
struct __attribute__((__packed__, __aligned__(8))) both { u8 a; u32 b; };
`;
const ORACLE_NAMES = ['m', 'p', 'q', 'al', 'pa', 'outer', 'ptrs', 'arr2', 'both'];

describe('layout rules agree with gcc (x86-64)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-layout-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function gccLayout(header: string, structs: { tag: string; union?: boolean; fields: StructField[] }[]): string[] {
    const lines = ['#include <stdio.h>', '#include <stddef.h>', 'typedef unsigned char u8; typedef unsigned short u16; typedef unsigned int u32; typedef unsigned long long u64;', '#define __packed __attribute__((__packed__))', '#define __aligned(x) __attribute__((__aligned__(x)))', header, 'int main(void) {'];
    for (const s of structs) {
      const t = `${s.union ? 'union' : 'struct'} ${s.tag}`;
      lines.push(`printf("${s.tag} size %zu align %zu\\n", sizeof(${t}), _Alignof(${t}));`);
      for (const f of s.fields) lines.push(`printf("${s.tag}.${f.name} %zu %zu\\n", offsetof(${t}, ${f.name}), sizeof(((${t} *)0)->${f.name}));`);
    }
    lines.push('return 0; }');
    const src = path.join(tmp, `t${Math.random().toString(36).slice(2)}.c`);
    fs.writeFileSync(src, lines.join('\n'));
    const exe = src.replace(/\.c$/, '');
    const cc = spawnSync('gcc', ['-std=gnu11', '-o', exe, src], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    return spawnSync(exe, { encoding: 'utf8' }).stdout.trim().split('\n');
  }

  const ours = (l: StructLayout, tag: string) => [`${tag} size ${l.size} align ${l.align}`, ...l.fields.map((f) => `${tag}.${f.name} ${f.offset} ${f.size}`)];

  it('for packed, aligned, unions, arrays, pointers and anonymous members', () => {
    if (!requireOracle('gcc', hasCommand('gcc'), 'apt-get install gcc')) return;
    const fsm = memFs({ 'h/t.h': ORACLE_HEADER });
    const layouts = ORACLE_NAMES.map((n) => findStruct(fsm, n, ['h/t.h']));
    const u = findUnion(fsm, 'u', ['h/t.h']);
    const expected = gccLayout(ORACLE_HEADER, [...layouts.map((l) => ({ tag: l.name, fields: l.fields })), { tag: 'u', union: true, fields: u.fields }]);
    expect([...layouts.flatMap((l) => ours(l, l.name)), ...ours(u, 'u')]).toEqual(expected);
    // The anonymous struct's members are members of outer.
    expect(layouts[5]!.fields.map((f) => f.name)).toEqual(['x', 'inner', 'un', 'lo', 'hi', 'named', 'tail']);
  });

  it('for the TDX structs as defined in the 6.1 and 6.12 trees', () => {
    if (!requireOracle('gcc', hasCommand('gcc'), 'apt-get install gcc')) return;
    const pick = (tree: 'linux-6.1' | 'linux-6.12', file: string, tag: string) => {
      const text = fs.readFileSync(path.join(treePath(tree), file), 'utf8');
      const m = new RegExp(`struct ${tag} \\{[\\s\\S]*?\\n\\};`).exec(text)!;
      return m[0];
    };
    const out61 = pick('linux-6.1', 'arch/x86/include/asm/tdx.h', 'tdx_module_output');
    const args612 = pick('linux-6.12', 'arch/x86/include/asm/shared/tdx.h', 'tdx_module_args');
    const l61 = findStruct(new DirFs(treePath('linux-6.1')), 'tdx_module_output', ['arch/x86/include/asm/tdx.h']);
    const l612 = findStruct(new DirFs(treePath('linux-6.12')), 'tdx_module_args', ['arch/x86/include/asm/shared/tdx.h']);
    expect([...ours(l61, 'tdx_module_output'), ...ours(l612, 'tdx_module_args')]).toEqual(
      gccLayout(`${out61}\n${args612}`, [{ tag: 'tdx_module_output', fields: l61.fields }, { tag: 'tdx_module_args', fields: l612.fields }]),
    );
  });
});
