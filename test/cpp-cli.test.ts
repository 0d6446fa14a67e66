/**
 * `seamlab cpp` and `seamlab profiles`, run in-process on a fresh commander
 * program (the lead wires them into main.ts).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { registerCpp, registerProfiles } from '../src/cli/cpp.js';
import { buildEnvironment, gccTree } from '../src/cpp/index.js';
import { formatError, SeamlabError } from '../src/errors.js';
import { resolveRevision } from '../src/intake/revision.js';
import { HAVE_GCC, normalizeOutput } from './support/cpp-helpers.js';
import { requireOracle } from './support/oracles.js';

async function run(args: string[]): Promise<{ stdout: string; stderr: string; error?: SeamlabError }> {
  const program = new Command().exitOverride();
  registerCpp(program);
  registerProfiles(program);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += a.join(' ') + '\n'));
  try {
    await program.parseAsync(args, { from: 'user' });
    return { stdout, stderr };
  } catch (e) {
    if (e instanceof SeamlabError) return { stdout, stderr, error: e };
    throw e;
  } finally {
    out.mockRestore();
    err.mockRestore();
    log.mockRestore();
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-cpp-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('seamlab cpp', () => {
  const gccOk = requireOracle('gcc', HAVE_GCC, 'apt-get install gcc');

  it.skipIf(!gccOk)('seamlab cpp v3 arch/x86/virt/vmx/tdx/seamcall.S prints the same tokens as gcc', async () => {
    const r = await run(['cpp', 'v3', 'arch/x86/virt/vmx/tdx/seamcall.S']);
    expect(r.error).toBeUndefined();
    const env = buildEnvironment(resolveRevision('v3').files, { profile: 'default' });
    const tree = gccTree(env, ['arch/x86/virt/vmx/tdx/seamcall.S']);
    try {
      const g = spawnSync('gcc', tree.argv('arch/x86/virt/vmx/tdx/seamcall.S'), { cwd: tree.cwd, encoding: 'utf8', env: { ...process.env, ...tree.env } });
      expect(g.status, g.stderr).toBe(0);
      expect(normalizeOutput(r.stdout)).toEqual(normalizeOutput(g.stdout));
    } finally {
      tree.cleanup();
    }
    // The v3 seamcall.S ends with its own literal `ret`.
    expect(r.stdout).toMatch(/^ ret\n\.type __seamcall STT_FUNC/m);
  });

  it('--profile changes the expansion (sls: `ret; int3`)', async () => {
    const r = await run(['cpp', 'linux-6.12', 'arch/x86/coco/tdx/tdcall.S', '--profile', 'sls']);
    expect(r.stdout.split('\n')).toContain(' ret; int3');
  });

  it('--map shows file:line, the include chain and the cpp macros of each line', async () => {
    const r = await run(['cpp', 'linux-6.12', 'arch/x86/virt/vmx/tdx/seamcall.S', '--map']);
    expect(r.stdout).toContain('arch/x86/virt/vmx/tdx/tdxcall.S:52 <- arch/x86/virt/vmx/tdx/seamcall.S:5 [TDX_MODULE_rcx]\n\t movq 0(%rsi), %rcx\n');
    expect(r.stdout).toMatch(/^arch\/x86\/virt\/vmx\/tdx\/seamcall\.S:21 \[SYM_FUNC_START[^\]]*\]\n\t\.globl __seamcall /m);
  });

  it('an unknown file is a user error', async () => {
    const r = await run(['cpp', 'linux-6.12', 'arch/x86/nope.S']);
    expect(r.error?.code).toBe('CPP_NO_SUCH_FILE');
    expect(formatError(r.error!)).toMatch(/^error: arch\/x86\/nope\.S: no such file in this revision \[CPP_NO_SUCH_FILE\]\n {2}hint: /);
  });

  it('a missing include in a patched file prints a positioned message with the directories searched', async () => {
    const patch = path.join(tmp, 'broken.patch');
    fs.writeFileSync(
      patch,
      ['diff --git a/arch/x86/virt/vmx/tdx/broken.S b/arch/x86/virt/vmx/tdx/broken.S', 'new file mode 100644', '--- /dev/null', '+++ b/arch/x86/virt/vmx/tdx/broken.S', '@@ -0,0 +1,3 @@', '+#include <linux/linkage.h>', '+#include <asm/no_such_header.h>', '+SYM_FUNC_START(f)', ''].join('\n'),
    );
    const r = await run(['cpp', `linux-6.12+${patch}`, 'arch/x86/virt/vmx/tdx/broken.S']);
    expect(r.error?.code).toBe('CPP_MISSING_INCLUDE');
    const text = formatError(r.error!);
    expect(text).toMatch(/^arch\/x86\/virt\/vmx\/tdx\/broken\.S:2: error: asm\/no_such_header\.h: no such file \[CPP_MISSING_INCLUDE\]$/m);
    expect(text).toContain('    #include <asm/no_such_header.h>');
    expect(text).toContain('note: searched, in order: ./arch/x86/include, ./arch/x86/include/generated, ./include, ./arch/x86/include/uapi, ./arch/x86/include/generated/uapi, ./include/uapi, ./include/generated/uapi');
  });
});

describe('seamlab profiles', () => {
  it('lists the profiles and the option names of each feature', async () => {
    const r = await run(['profiles']);
    for (const p of ['default', 'noframe', 'sls', 'rethunk', 'ibt']) expect(r.stdout).toMatch(new RegExp(`^${p} +\\S`, 'm'));
    expect(r.stdout).toContain('CONFIG_MITIGATION_SLS | CONFIG_SLS');
  });

  it('with a revision, shows the options each profile sets in that tree', async () => {
    const r = await run(['profiles', 'linux-6.1']);
    expect(r.stdout).toMatch(/^ {2}sls +.*CONFIG_SLS=y/m);
    expect(r.stdout).toMatch(/^ {2}noframe +.*CONFIG_FRAME_POINTER=n/m);
    const r612 = await run(['profiles', 'linux-6.12']);
    expect(r612.stdout).toMatch(/^ {2}rethunk +.*CONFIG_MITIGATION_RETHUNK=y/m);
    expect(r612.stdout).toMatch(/derived: CONFIG_FUNCTION_ALIGNMENT=16/);
  });
});
