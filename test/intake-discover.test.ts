/**
 * Function and ABI discovery. Expectations are written from the documented
 * facts about the trees: which functions use TDX_MODULE_CALL with which
 * arguments, their prototypes, and the struct offsets.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverFunctions } from '../src/intake/discover.js';
import { resolveRevision } from '../src/intake/revision.js';
import type { CType, EntryFunction } from '../src/intake/types.js';
import { DirFs, OverlayFs } from '../src/support/vfs.js';
import { treePath } from './support/kernel.js';
import { memFs } from './support/mem-fs.js';

const ROOT = path.resolve(import.meta.dirname, '..');

/** A compact, comparable view of a function's ABI. */
function abiView(f: EntryFunction) {
  const t = (c: CType): unknown =>
    c.kind === 'int' ? c.name
      : c.kind === 'pointer' && c.to.kind === 'struct'
        ? { ptr: c.to.layout.name, size: c.to.layout.size, fields: c.to.layout.fields.map((x) => `${x.name}@${x.offset}`), at: c.to.layout.definedAt.file }
        : c.kind;
  return {
    name: f.name,
    file: f.sourceFile,
    args: f.moduleCall.args,
    kind: f.kind,
    prototype: f.abi.prototype,
    declaredIn: f.abi.declaredAt.file,
    returns: t(f.abi.returns),
    params: f.abi.params.map((p) => [p.register, p.name, t(p.type)]),
  };
}

const OUTPUT_6_1 = { ptr: 'tdx_module_output', size: 48, fields: ['rcx@0', 'rdx@8', 'r8@16', 'r9@24', 'r10@32', 'r11@40'], at: 'arch/x86/include/asm/tdx.h' };
const ARGS_6_12 = {
  ptr: 'tdx_module_args',
  size: 104,
  fields: ['rcx@0', 'rdx@8', 'r8@16', 'r9@24', 'r10@32', 'r11@40', 'r12@48', 'r13@56', 'r14@64', 'r15@72', 'rbx@80', 'rdi@88', 'rsi@96'],
  at: 'arch/x86/include/asm/shared/tdx.h',
};
const R0_PARAMS = [['rdi', 'fn', 'u64'], ['rsi', 'rcx', 'u64'], ['rdx', 'rdx', 'u64'], ['rcx', 'r8', 'u64'], ['r8', 'r9', 'u64'], ['r9', 'out', OUTPUT_6_1]];
const TDX_MODULE_CALL_6_1 = {
  name: '__tdx_module_call',
  file: 'arch/x86/coco/tdx/tdcall.S',
  args: { host: '0' },
  kind: 'tdcall',
  prototype: 'u64 __tdx_module_call(u64 fn, u64 rcx, u64 rdx, u64 r8, u64 r9, struct tdx_module_output *out);',
  declaredIn: 'arch/x86/include/asm/tdx.h',
  returns: 'u64',
  params: R0_PARAMS,
};

describe('discovery on the built-in revisions', () => {
  it('linux-6.1: __tdx_module_call only (__tdx_hypercall does not use the macro)', () => {
    const r = resolveRevision('linux-6.1', { cwd: ROOT });
    expect(r.functions.map(abiView)).toEqual([TDX_MODULE_CALL_6_1]);
    expect(r.functions[0]!.definedAt).toEqual({ file: 'arch/x86/coco/tdx/tdcall.S', line: 72 });
  });

  it('v3: adds __seamcall (host=1) with the prototype from the patch\'s tdx.h', () => {
    const r = resolveRevision('v3', { cwd: ROOT });
    expect(r.functions.map(abiView)).toEqual([
      TDX_MODULE_CALL_6_1,
      {
        name: '__seamcall',
        file: 'arch/x86/virt/vmx/tdx/seamcall.S',
        args: { host: '1' },
        kind: 'seamcall',
        prototype: 'u64 __seamcall(u64 fn, u64 rcx, u64 rdx, u64 r8, u64 r9, struct tdx_module_output *out);',
        declaredIn: 'arch/x86/virt/vmx/tdx/tdx.h',
        returns: 'u64',
        params: R0_PARAMS,
      },
    ]);
  });

  it('linux-6.12: the three __seamcall* and three __tdcall* variants, all u64 f(u64 fn, struct tdx_module_args *args)', () => {
    const r = resolveRevision('linux-6.12', { cwd: ROOT });
    const fn = (name: string, file: string, args: Record<string, string>, kind: string, declaredIn: string) => ({
      name, file, args, kind,
      prototype: `u64 ${name}(u64 fn, struct tdx_module_args *args);`,
      declaredIn, returns: 'u64',
      params: [['rdi', 'fn', 'u64'], ['rsi', 'args', ARGS_6_12]],
    });
    const seam = 'arch/x86/virt/vmx/tdx/seamcall.S';
    const tdc = 'arch/x86/coco/tdx/tdcall.S';
    expect(r.functions.map(abiView)).toEqual([
      fn('__tdcall', tdc, { host: '0' }, 'tdcall', 'arch/x86/include/asm/shared/tdx.h'),
      fn('__tdcall_ret', tdc, { host: '0', ret: '1' }, 'tdcall', 'arch/x86/include/asm/shared/tdx.h'),
      fn('__tdcall_saved_ret', tdc, { host: '0', ret: '1', saved: '1' }, 'tdcall', 'arch/x86/include/asm/shared/tdx.h'),
      fn('__seamcall', seam, { host: '1' }, 'seamcall', 'arch/x86/include/asm/tdx.h'),
      fn('__seamcall_ret', seam, { host: '1', ret: '1' }, 'seamcall', 'arch/x86/include/asm/tdx.h'),
      fn('__seamcall_saved_ret', seam, { host: '1', ret: '1', saved: '1' }, 'seamcall', 'arch/x86/include/asm/tdx.h'),
    ]);
  });

  it('a missing prototype is an error listing the places searched', () => {
    const o = new OverlayFs(new DirFs(treePath('linux-6.1')));
    o.delete('arch/x86/include/asm/tdx.h');
    let err: { code?: string; notes?: string[]; where?: { pos: unknown } } = {};
    try {
      discoverFunctions(o);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe('ABI_PROTOTYPE_NOT_FOUND');
    expect(err.where!.pos).toEqual({ file: 'arch/x86/coco/tdx/tdcall.S', line: 72 });
    const notes = err.notes!.join('\n');
    expect(notes).toMatch(/searched arch\/x86\/coco\/tdx\/\*\.h \(0 files\)/);
    expect(notes).toMatch(/searched arch\/x86\/include\/asm\/\*\*\/\*\.h \(\d+ files\)/);
    expect(notes).toMatch(/searched include\/linux\/\*\.h \(\d+ files\)/);
  });
});

const tree = memFs;

describe('discovery follows conventions, not tables', () => {
  const macro = '.macro TDX_MODULE_CALL host:req ret=0\n\tnop\n.endm\n';

  it('finds a new entry point, maps positional macro arguments, and lays out its struct', () => {
    const fs = tree({
      'arch/x86/virt/other/call.S': '#include "mac.S"\n/* SYM_FUNC_START(commented_out) */\nSYM_FUNC_START(__my_seamcall)\n\tTDX_MODULE_CALL 1, 1\n\tRET\nSYM_FUNC_END(__my_seamcall)\n',
      'arch/x86/virt/other/mac.S': macro,
      'arch/x86/include/asm/sub/my.h': '#ifndef X\nstruct my_args;\nasmlinkage u64 __my_seamcall(u64 fn,\n\t\t\t   struct my_args *args) __must_check;\n#endif\n',
      'include/linux/my_args.h': 'struct my_args {\n\tu32 leaf;\n\tu64 regs[3];\n\tunion { u8 b; u16 w; };\n};\n',
    });
    const [f, ...rest] = discoverFunctions(fs);
    expect(rest).toEqual([]);
    expect(abiView(f!)).toEqual({
      name: '__my_seamcall',
      file: 'arch/x86/virt/other/call.S',
      args: { host: '1', ret: '1' },
      kind: 'seamcall',
      prototype: 'asmlinkage u64 __my_seamcall(u64 fn, struct my_args *args) __must_check;',
      declaredIn: 'arch/x86/include/asm/sub/my.h',
      returns: 'u64',
      params: [['rdi', 'fn', 'u64'], ['rsi', 'args', { ptr: 'my_args', size: 40, fields: ['leaf@0', 'regs@8', 'b@32', 'w@32'], at: 'include/linux/my_args.h' }]],
    });
    expect(f!.moduleCall.at).toEqual({ file: 'arch/x86/virt/other/call.S', line: 4 });
  });

  it('a TDX_MODULE_CALL without host= is a positioned error', () => {
    const fs = tree({ 'arch/x86/a.S': 'SYM_FUNC_START(f)\n\tTDX_MODULE_CALL ret=1\nSYM_FUNC_END(f)\n', 'arch/x86/include/asm/a.h': 'u64 f(u64 fn);\n' });
    expect(() => discoverFunctions(fs)).toThrow(expect.objectContaining({ code: 'ABI_MODULE_CALL_ARGS', where: expect.objectContaining({ pos: { file: 'arch/x86/a.S', line: 2 } }) }));
  });

  it('more than six parameters, or a struct passed by value, is refused', () => {
    const s = 'SYM_FUNC_START(f)\n\tTDX_MODULE_CALL host=0\nSYM_FUNC_END(f)\n';
    expect(() => discoverFunctions(tree({ 'arch/x86/a.S': s, 'arch/x86/include/asm/a.h': 'u64 f(u64 a, u64 b, u64 c, u64 d, u64 e, u64 g, u64 h);\n' }))).toThrow(expect.objectContaining({ code: 'ABI_STACK_PARAMS' }));
    expect(() => discoverFunctions(tree({ 'arch/x86/a.S': s, 'arch/x86/include/asm/a.h': 'struct x { u64 a; };\nu64 f(struct x v);\n' }))).toThrow(expect.objectContaining({ code: 'ABI_UNSUPPORTED_PARAM' }));
  });

  it('a tree without the macro has no entry points', () => {
    expect(discoverFunctions(tree({ 'arch/x86/a.S': 'SYM_FUNC_START(f)\n\tret\nSYM_FUNC_END(f)\n' }))).toEqual([]);
  });
});
