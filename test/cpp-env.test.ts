/**
 * The generated build environment on the real trees: autoconf.h per
 * profile (option names per tree, derived options), the asm-generic
 * wrappers, asm-offsets.h values, Kbuild's flags, and what the kernel's
 * macros then expand to. Expected values come from the facts sheet and
 * from reading the trees' sources.
 */
import * as nodeFs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildEnvironment, preprocess } from '../src/cpp/index.js';
import { SeamlabError } from '../src/errors.js';
import { resolveRevision } from '../src/intake/revision.js';
import { OverlayFs } from '../src/support/vfs.js';

const files = (spec: string) => resolveRevision(spec).files;
const autoconf = (spec: string, profile: string): string => buildEnvironment(files(spec), { profile }).generated.get('include/generated/autoconf.h')!;
const defines = (text: string): Set<string> => new Set(text.split('\n').filter((l) => l.startsWith('#define ')));

describe('autoconf.h from kconfig profiles', () => {
  it('default: x86-64, TDX guest (and host where the tree has it), frame pointers, nothing of sls/rethunk/ibt', () => {
    for (const spec of ['linux-6.1', 'linux-6.12']) {
      const d = defines(autoconf(spec, 'default'));
      for (const want of ['#define CONFIG_64BIT 1', '#define CONFIG_X86_64 1', '#define CONFIG_INTEL_TDX_GUEST 1', '#define CONFIG_FRAME_POINTER 1']) expect(d.has(want), `${spec} ${want}`).toBe(true);
      for (const absent of ['CONFIG_SLS', 'CONFIG_MITIGATION_SLS', 'CONFIG_RETHUNK', 'CONFIG_MITIGATION_RETHUNK', 'CONFIG_X86_KERNEL_IBT']) {
        expect([...d].some((l) => l.startsWith(`#define ${absent} `)), `${spec} ${absent}`).toBe(false);
      }
    }
    // TDX host support arrived in 6.8: 6.1 has no such option.
    expect(defines(autoconf('linux-6.12', 'default')).has('#define CONFIG_INTEL_TDX_HOST 1')).toBe(true);
    expect(autoconf('linux-6.1', 'default')).not.toMatch(/CONFIG_INTEL_TDX_HOST/);
  });

  it('maps each feature to the option name the tree uses', () => {
    expect(defines(autoconf('linux-6.1', 'sls')).has('#define CONFIG_SLS 1')).toBe(true);
    expect(defines(autoconf('linux-6.12', 'sls')).has('#define CONFIG_MITIGATION_SLS 1')).toBe(true);
    expect(defines(autoconf('linux-6.1', 'rethunk')).has('#define CONFIG_RETHUNK 1')).toBe(true);
    expect(defines(autoconf('linux-6.12', 'rethunk')).has('#define CONFIG_MITIGATION_RETHUNK 1')).toBe(true);
    for (const spec of ['linux-6.1', 'linux-6.12']) expect(defines(autoconf(spec, 'ibt')).has('#define CONFIG_X86_KERNEL_IBT 1')).toBe(true);
  });

  it('switches on what a feature depends on, and derives options from defaults and selects', () => {
    // RETHUNK depends on RETPOLINE (6.1) / MITIGATION_RETPOLINE (6.12).
    expect(defines(autoconf('linux-6.1', 'rethunk')).has('#define CONFIG_RETPOLINE 1')).toBe(true);
    expect(defines(autoconf('linux-6.12', 'rethunk')).has('#define CONFIG_MITIGATION_RETPOLINE 1')).toBe(true);
    // FRAME_POINTER comes with the frame-pointer unwinder choice on x86-64.
    expect(defines(autoconf('linux-6.12', 'default')).has('#define CONFIG_UNWINDER_FRAME_POINTER 1')).toBe(true);
    // 6.12: x86-64 selects FUNCTION_ALIGNMENT_16B, so FUNCTION_ALIGNMENT is 16; 6.1 predates the option.
    expect(defines(autoconf('linux-6.12', 'default')).has('#define CONFIG_FUNCTION_ALIGNMENT 16')).toBe(true);
    expect(autoconf('linux-6.1', 'default')).not.toMatch(/CONFIG_FUNCTION_ALIGNMENT /);
  });

  it('noframe turns frame pointers off (the ORC unwinder is the default choice)', () => {
    for (const spec of ['linux-6.1', 'linux-6.12']) {
      const d = defines(autoconf(spec, 'noframe'));
      expect([...d].some((l) => l.startsWith('#define CONFIG_FRAME_POINTER ')), spec).toBe(false);
      expect(d.has('#define CONFIG_UNWINDER_ORC 1'), spec).toBe(true);
    }
  });

  it('an unknown profile is a user error listing the profiles', () => {
    try {
      buildEnvironment(files('linux-6.12'), { profile: 'fast' });
      expect.unreachable();
    } catch (e) {
      expect((e as SeamlabError).code).toBe('UNKNOWN_PROFILE');
      expect((e as SeamlabError).hint).toMatch(/default, noframe, sls, rethunk, ibt/);
    }
  });

  it('a user .config is used as given, other options taking their Kconfig defaults', () => {
    const config = '# mine\nCONFIG_64BIT=y\nCONFIG_MITIGATION_SLS=y\n# CONFIG_MITIGATION_RETHUNK is not set\n';
    const env = buildEnvironment(files('linux-6.12'), { config });
    const d = defines(env.generated.get('include/generated/autoconf.h')!);
    expect(d.has('#define CONFIG_MITIGATION_SLS 1')).toBe(true);
    expect([...d].some((l) => l.startsWith('#define CONFIG_MITIGATION_RETHUNK '))).toBe(false);
    const out = preprocess(files('linux-6.12'), 'arch/x86/virt/vmx/tdx/seamcall.S', { config });
    expect(out.lines).toContain(' ret; int3');
    // The same .config given as a path on disk.
    const dir = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-dotconfig-'));
    try {
      nodeFs.writeFileSync(path.join(dir, '.config'), config);
      expect(preprocess(files('linux-6.12'), 'arch/x86/virt/vmx/tdx/seamcall.S', { config: path.join(dir, '.config') }).lines).toEqual(out.lines);
    } finally {
      nodeFs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a .config line that is not an assignment is an error naming the line', () => {
    try {
      buildEnvironment(files('linux-6.12'), { config: 'CONFIG_64BIT=y\nthis is not a config line\n' });
      expect.unreachable();
    } catch (e) {
      expect((e as SeamlabError).code).toBe('CONFIG_SYNTAX');
      expect((e as SeamlabError).where?.pos).toEqual({ file: '.config', line: 2 });
    }
  });
});

describe('generated headers', () => {
  it('writes asm-generic wrappers for generic-y and for mandatory-y headers x86 does not provide', () => {
    const g = buildEnvironment(files('linux-6.12')).generated;
    expect(g.get('arch/x86/include/generated/asm/rwonce.h')).toBe('#include <asm-generic/rwonce.h>\n');
    expect(g.get('arch/x86/include/generated/asm/mcs_spinlock.h')).toBe('#include <asm-generic/mcs_spinlock.h>\n');
    expect(g.get('arch/x86/include/generated/uapi/asm/errno.h')).toBe('#include <asm-generic/errno.h>\n');
    // x86 has its own asm/linkage.h: no wrapper.
    expect(g.has('arch/x86/include/generated/asm/linkage.h')).toBe(false);
    expect(buildEnvironment(files('linux-6.1')).generated.get('arch/x86/include/generated/asm/export.h')).toBe('#include <asm-generic/export.h>\n');
  });

  it('computes asm-offsets.h entries for struct tdx_module_args (6.12) in Kbuild\'s format', () => {
    const h = buildEnvironment(files('linux-6.12')).generated.get('include/generated/asm-offsets.h')!;
    const regs = ['rcx', 'rdx', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rbx', 'rdi', 'rsi'];
    regs.forEach((r, i) => expect(h).toContain(`#define TDX_MODULE_${r} ${i * 8} /* offsetof(struct tdx_module_args, ${r}) */`));
    expect(h.startsWith('#ifndef __ASM_OFFSETS_H__\n#define __ASM_OFFSETS_H__\n')).toBe(true);
  });

  it('computes the 6.1 entries for struct tdx_module_output and struct tdx_hypercall_args', () => {
    const env = buildEnvironment(files('linux-6.1'));
    const h = env.generated.get('include/generated/asm-offsets.h')!;
    ['rcx', 'rdx', 'r8', 'r9', 'r10', 'r11'].forEach((r, i) => expect(h).toContain(`#define TDX_MODULE_${r} ${i * 8} /* offsetof(struct tdx_module_output, ${r}) */`));
    ['r10', 'r11', 'r12', 'r13', 'r14', 'r15'].forEach((r, i) => expect(h).toContain(`#define TDX_HYPERCALL_${r} ${i * 8} /* offsetof(struct tdx_hypercall_args, ${r}) */`));
  });

  it('leaves out entries whose struct definition it cannot place in the configuration, instead of guessing', () => {
    const env = buildEnvironment(files('linux-6.12'));
    // x86's first `struct pt_regs` in asm/ptrace.h is the i386 one, under #ifdef __i386__.
    const o = env.asmOffsets.omitted.get('PTREGS_SIZE')!;
    expect(o.reason).toMatch(/pt_regs .* conditional group this configuration excludes/);
    expect(o.at.file).toBe('arch/x86/kernel/asm-offsets.c');
    expect(env.generated.get('include/generated/asm-offsets.h')).not.toMatch(/#define PTREGS_SIZE/);
  });

  it('using a left-out entry is an error naming it, the reason and the asm-offsets.c line', () => {
    const tree = new OverlayFs(files('linux-6.12'), 'test');
    tree.set('arch/x86/virt/vmx/tdx/uses_ptregs.S', '#include <asm/asm-offsets.h>\nsubq $PTREGS_SIZE, %rsp\n');
    try {
      preprocess(tree, 'arch/x86/virt/vmx/tdx/uses_ptregs.S');
      expect.unreachable();
    } catch (e) {
      const err = e as SeamlabError;
      expect(err.code).toBe('CPP_FORBIDDEN_NAME');
      expect(err.message).toMatch(/^PTREGS_SIZE is an asm-offsets\.h entry seamlab could not compute: /);
      expect(err.where?.pos).toEqual({ file: 'arch/x86/virt/vmx/tdx/uses_ptregs.S', line: 2 });
      expect(err.notes[0]).toMatch(/^PTREGS_SIZE is defined by arch\/x86\/kernel\/asm-offsets\.c:\d+ as sizeof\(struct pt_regs\)$/);
    }
  });
});

describe("Kbuild's flags, read from the tree's Makefiles", () => {
  it('uses LINUXINCLUDE / USERINCLUDE, the forced includes and -D__KERNEL__ -D__ASSEMBLY__', () => {
    for (const spec of ['linux-6.1', 'linux-6.12']) {
      const f = buildEnvironment(files(spec)).flagsFor('arch/x86/coco/tdx/tdcall.S');
      expect(f.includeDirs).toEqual(['./arch/x86/include', './arch/x86/include/generated', './include', './arch/x86/include/uapi', './arch/x86/include/generated/uapi', './include/uapi', './include/generated/uapi']);
      expect(f.forcedIncludes).toEqual(['./include/linux/compiler-version.h', './include/linux/kconfig.h']);
      expect(f.defineFlags.slice(0, 2)).toEqual(['-D__KERNEL__', '-D__ASSEMBLY__']);
      expect(f.nostdinc).toBe(true);
      expect(f.macroPrefixMap).toEqual([['./', '']]);
      expect(f.argv).toContain('-m64');
    }
  });

  it('6.12 also passes KBUILD_MODFILE / KBUILD_MODNAME for a built-in object (scripts/Makefile.lib a_flags)', () => {
    const f = buildEnvironment(files('linux-6.12')).flagsFor('arch/x86/virt/vmx/tdx/seamcall.S');
    expect(f.defineFlags).toEqual(['-D__KERNEL__', '-D__ASSEMBLY__', '-DKBUILD_MODFILE="arch/x86/virt/vmx/tdx/seamcall"', '-DKBUILD_MODNAME="seamcall"', '-D__KBUILD_MODNAME=kmod_seamcall']);
    expect(buildEnvironment(files('linux-6.1')).flagsFor('arch/x86/coco/tdx/tdcall.S').defineFlags).toEqual(['-D__KERNEL__', '-D__ASSEMBLY__']);
  });
});

describe('what the kernel macros expand to, per profile', () => {
  const lines = (spec: string, file: string, profile: string): string[] => preprocess(files(spec), file, { profile }).lines;

  it('SYM_FUNC_START: 6.1 aligns with .p2align 4; 6.12 with .balign CONFIG_FUNCTION_ALIGNMENT (16); ibt adds endbr64', () => {
    expect(lines('linux-6.1', 'arch/x86/coco/tdx/tdcall.S', 'default')).toContain('.globl __tdx_module_call ; .p2align 4, 0x90 ; __tdx_module_call:');
    expect(lines('linux-6.1', 'arch/x86/coco/tdx/tdcall.S', 'ibt')).toContain('.globl __tdx_module_call ; .p2align 4, 0x90 ; __tdx_module_call: endbr64');
    const s612 = lines('linux-6.12', 'arch/x86/virt/vmx/tdx/seamcall.S', 'default');
    expect(s612.find((l) => l.startsWith('.globl __seamcall '))).toMatch(/^\.globl __seamcall ; \.balign 16, 0x90;.* __seamcall:$/);
    expect(lines('linux-6.12', 'arch/x86/virt/vmx/tdx/seamcall.S', 'ibt').find((l) => l.startsWith('.globl __seamcall '))).toMatch(/__seamcall: endbr64$/);
  });

  it('RET is ret, `ret; int3` (sls) or `jmp __x86_return_thunk` (rethunk); v3 writes a literal ret', () => {
    for (const spec of ['linux-6.1', 'linux-6.12']) {
      const file = 'arch/x86/coco/tdx/tdcall.S';
      expect(lines(spec, file, 'default'), spec).toContain(' ret');
      expect(lines(spec, file, 'sls'), spec).toContain(' ret; int3');
      expect(lines(spec, file, 'rethunk'), spec).toContain(' jmp __x86_return_thunk');
    }
    expect(lines('v3', 'arch/x86/virt/vmx/tdx/seamcall.S', 'rethunk').slice(-3)).toEqual([' FRAME_END', ' ret', '.type __seamcall STT_FUNC ; .set .L__sym_size___seamcall, .-__seamcall ; .size __seamcall, .L__sym_size___seamcall']);
  });

  it('FRAME_BEGIN is a GAS macro with frame pointers and expands to nothing without', () => {
    const withFp = lines('linux-6.12', 'arch/x86/virt/vmx/tdx/seamcall.S', 'default');
    const i = withFp.indexOf('.macro FRAME_BEGIN');
    expect(withFp.slice(i, i + 4)).toEqual(['.macro FRAME_BEGIN', ' push %rbp', ' movq %rsp, %rbp', '.endm']);
    const noFp = lines('linux-6.12', 'arch/x86/virt/vmx/tdx/seamcall.S', 'noframe');
    expect(noFp).not.toContain('.macro FRAME_BEGIN');
    expect(noFp.some((l) => /FRAME_BEGIN/.test(l))).toBe(false);
  });

  it('asm-offsets names become offsets, and the source map points into tdxcall.S with the include', () => {
    const src = preprocess(files('linux-6.12'), 'arch/x86/virt/vmx/tdx/seamcall.S');
    const k = src.lines.indexOf(' movq 0(%rsi), %rcx');
    expect(k).toBeGreaterThan(0);
    expect(src.origins[k]).toEqual({
      pos: { file: 'arch/x86/virt/vmx/tdx/tdxcall.S', line: 52 },
      includeStack: [{ file: 'arch/x86/virt/vmx/tdx/seamcall.S', line: 5 }],
      cppStack: [{ macro: 'TDX_MODULE_rcx', at: { file: 'arch/x86/virt/vmx/tdx/tdxcall.S', line: 52 } }],
      gasStack: [],
    });
    expect(src.lines).toContain(' movq 96(%rsi), %rsi');
    const call = src.lines.indexOf(' TDX_MODULE_CALL host=1 ret=1 saved=1');
    expect(src.origins[call]!.pos).toEqual({ file: 'arch/x86/virt/vmx/tdx/seamcall.S', line: 60 });
  });

  it('TDX_SEAMCALL_VMFAILINVALID expands to TDX_SW_ERROR | 0xFFFF0000 built from _BITUL(63) and GENMASK_ULL(47, 40)', () => {
    const l = lines('linux-6.12', 'arch/x86/virt/vmx/tdx/seamcall.S', 'default').find((x) => x.includes('%rax') && x.includes('0xFFFF0000'))!;
    expect(l).toMatch(/^ mov \$\(.*\(1\) << \(63\).*\(47\).*\(0xFFFF0000\)\), %rax$/);
  });
});
