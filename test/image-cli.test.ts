/**
 * `seamlab build`: run in-process (runBuild) and through commander
 * (registerBuild on a fresh program). Expected bytes are the v3 __seamcall
 * worked out by hand from the seed patch and 6.1 tdxcall.S (facts §1.1).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { registerBuild, runBuild } from '../src/cli/build.js';
import { isSeamlabError } from '../src/errors.js';
import { buildDocumentSchema } from '../src/report/json-schema.js';
import { insertAfter, slsConfig, treePatch } from './support/patches.js';

describe('seamlab build', () => {
  it('v3 --listing shows __seamcall with its bytes under each source line and macro expansion', async () => {
    const r = await runBuild('v3', { listing: true });
    const lines = r.text.split('\n');
    const head = lines.findIndex((l) => /<__seamcall>:/.test(l));
    expect(head).toBeGreaterThan(0);
    const after = lines.slice(head);
    const find = (re: RegExp) => after.find((l) => re.test(l));
    // SYM_FUNC_START(__seamcall) in the seed's seamcall.S, then FRAME_BEGIN (a GAS macro) and TDX_MODULE_CALL host=1.
    expect(find(/FRAME_BEGIN\s+arch\/x86\/virt\/vmx\/tdx\/seamcall\.S:\d+$/)).toBeDefined();
    expect(find(/^[0-9a-f]{16}  55\s+ +push %rbp\s+pushq %rbp\s+arch\/x86\/include\/asm\/frame\.h:\d+$/)).toBeDefined();
    expect(find(/TDX_MODULE_CALL host=1\s+arch\/x86\/virt\/vmx\/tdx\/seamcall\.S:\d+$/)).toBeDefined();
    expect(find(/  41 54\s+ +push %r12\s+pushq %r12\s+arch\/x86\/virt\/vmx\/tdx\/tdxcall\.S:\d+$/)).toBeDefined();
    expect(find(/  66 0f 01 cf\s+ +\.byte 0x66,0x0f,0x01,0xcf\s+seamcall\s+arch\/x86\/virt\/vmx\/tdx\/tdxcall\.S:\d+$/)).toBeDefined();
    expect(find(/  73 [0-9a-f]{2}\s+ +jnc \.Lno_vmfailinvalid/)).toBeDefined();
    // The summary names the function and (6.1's tdcall.S, also in v3) the guest functions.
    expect(r.text).toMatch(/function __seamcall\s+0xffffffff81000000/);
    expect(r.text).toMatch(/function __tdx_module_call/);
  });

  it('--json gives sections with bytes, symbols, extable, stubs and the source map', async () => {
    const r = await runBuild('linux-6.12', { json: true, file: 'arch/x86/virt/vmx/tdx/seamcall.S', profile: 'rethunk' });
    const j = buildDocumentSchema.parse(JSON.parse(r.text)); // the document as its published schema describes it
    const img = j.files[0]!.image;
    expect(img.sections[0]).toMatchObject({ name: '.text', address: '0xffffffff81000000', flags: 'ax' });
    expect(img.sections[0]!.bytes.startsWith('554889e5')).toBe(true);
    expect(img.extable[0]).toMatchObject({ insn: '0xffffffff8100001e', typeName: 'EX_TYPE_FAULT' });
    expect(img.stubs).toMatchObject([{ name: '__x86_return_thunk' }]);
    expect(img.byteMap[0]).toMatchObject({ address: '0xffffffff81000000', file: 'arch/x86/include/asm/frame.h', text: 'push %rbp' });
    expect(img.byteMap[0]).toMatchObject({ gasStack: [{ name: 'FRAME_BEGIN' }, { name: 'TDX_MODULE_CALL' }] });
  });

  it('--elf writes one executable per image', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seamlab-build-cli-'));
    try {
      const r = await runBuild('linux-6.12', { elf: 'out.elf', cwd: dir });
      expect(r.written.map((w) => w.slice(dir.length + 1)).sort()).toEqual(['out.seamcall.elf', 'out.tdcall.elf']);
      const elf = readFileSync(join(dir, 'out.seamcall.elf'));
      expect([...elf.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unknown --file is a user error', async () => {
    try {
      await runBuild('linux-6.12', { file: 'arch/x86/nope.S' });
      expect.unreachable();
    } catch (e) {
      expect(isSeamlabError(e) && e.code).toBe('BUILD_NO_SUCH_FILE');
    }
  });

  it('registers as a commander subcommand', async () => {
    const program = new Command().exitOverride();
    registerBuild(program);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await program.parseAsync(['build', 'linux-6.1', '--profile', 'noframe'], { from: 'user' });
      expect(log.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/linux-6\.1 \(profile noframe\)[\s\S]*__tdx_module_call/);
    } finally {
      log.mockRestore();
    }
  });
});

describe('seamlab build: per file, --config', () => {
  const broken = () => `linux-6.12+${treePatch('linux-6.12', 'arch/x86/coco/tdx/tdcall.S', (t) => insertAfter(t, /^SYM_FUNC_START\(__tdcall\)$/, ['\tbogus_insn %rax']), 'build-break-tdcall.patch')}`;

  it('--file builds only that file: an error in another .S does not matter', async () => {
    const r = await runBuild(broken(), { file: 'arch/x86/virt/vmx/tdx/seamcall.S' });
    expect(r.exitCode).toBe(0);
    expect(r.text).toMatch(/function __seamcall_saved_ret/);
    expect(r.text).not.toMatch(/coco\/tdx\/tdcall\.S/);
  });

  it('without --file, a file that does not build is reported and the others are built (exit 2)', async () => {
    const r = await runBuild(broken());
    expect(r.exitCode).toBe(2);
    expect(r.text).toMatch(/^ {2}arch\/x86\/coco\/tdx\/tdcall\.S {2}\(__tdcall, __tdcall_ret, __tdcall_saved_ret\): not built$/m);
    expect(r.text).toMatch(/^ {4}arch\/x86\/coco\/tdx\/tdcall\.S:26: error: no such instruction: `bogus_insn' \[ENCODE_UNKNOWN_MNEMONIC\]$/m);
    expect(r.text).toMatch(/function __seamcall_saved_ret/);
    const j = JSON.parse((await runBuild(broken(), { json: true })).text) as { files: { file: string }[]; failed: { file: string; error: { code: string } }[] };
    expect(j.files.map((f) => f.file)).toEqual(['arch/x86/virt/vmx/tdx/seamcall.S']);
    expect(j.failed).toMatchObject([{ file: 'arch/x86/coco/tdx/tdcall.S', error: { code: 'ENCODE_UNKNOWN_MNEMONIC' } }]);
  });

  it('--config builds with a kernel .config: CONFIG_MITIGATION_SLS gives `ret; int3` (c3 cc)', async () => {
    const file = 'arch/x86/virt/vmx/tdx/seamcall.S';
    const bytes = async (opts: { config?: string }) => (JSON.parse((await runBuild('linux-6.12', { json: true, file, ...opts })).text) as { files: { image: { sections: { name: string; bytes: string }[] } }[] }).files[0]!.image.sections.find((s) => s.name === '.text')!.bytes;
    const withConfig = await runBuild('linux-6.12', { file, config: slsConfig() });
    expect(withConfig.text.split('\n')[0]).toMatch(/^linux-6\.12 \(\.config .*sls\.config\)$/);
    expect(await bytes({ config: slsConfig() })).toMatch(/c3cc/);
    expect(await bytes({})).not.toMatch(/c3cc/);
  });
});
