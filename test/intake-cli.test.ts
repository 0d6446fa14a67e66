import * as path from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerRevisions, runRevisions } from '../src/cli/revisions.js';
import { formatError, type SeamlabError } from '../src/errors.js';

const ROOT = path.resolve(import.meta.dirname, '..');

async function run(args: string[]): Promise<{ out: string; exitCode: number | undefined }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    lines.push(a.join(' '));
  });
  const saved = process.exitCode;
  process.exitCode = undefined;
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    const program = new Command().exitOverride();
    registerRevisions(program);
    await program.parseAsync(args, { from: 'user' });
    return { out: lines.join('\n'), exitCode: process.exitCode as number | undefined };
  } finally {
    process.chdir(cwd);
    process.exitCode = saved;
    spy.mockRestore();
  }
}

describe('seamlab revisions', () => {
  afterEach(() => vi.restoreAllMocks());

  it('lists the three built-ins with base package, patches and functions with prototypes', async () => {
    const { out, exitCode } = await run(['revisions']);
    expect(exitCode).toBeUndefined();
    expect(out).toMatch(/^linux-6\.1 {2}/m);
    expect(out).toMatch(/^linux-6\.12 {2}/m);
    expect(out).toMatch(/^v3 {2}linux-6\.1 \+ "\[PATCH v3 03\/21\]/m);
    // Trees are identified by tdxcall.S blob ids (tdx-facts.md §0: R0 49a54356ae99, R5 016a2a1ec1d6), not by Debian uploads.
    expect(out).toMatch(/base +linux-6\.1 = linux-source-6\.1 6\.1\.\S+, tdxcall\.S 49a54356ae99 /);
    expect(out).toMatch(/base +linux-6\.12 = linux-source-6\.12 6\.12\.\S+, tdxcall\.S 016a2a1ec1d6 /);
    expect(out).toMatch(/patch 1 +fixtures\/000_aa2199c2670e7995\.txt +"\[PATCH v3 03\/21\] x86\/virt\/tdx: Implement the SEAMCALL base function"/);
    expect(out).toContain('u64 __tdx_module_call(u64 fn, u64 rcx, u64 rdx, u64 r8, u64 r9, struct tdx_module_output *out);');
    expect(out).toContain('u64 __seamcall(u64 fn, u64 rcx, u64 rdx, u64 r8, u64 r9, struct tdx_module_output *out);');
    for (const f of ['__seamcall', '__seamcall_ret', '__seamcall_saved_ret', '__tdcall', '__tdcall_ret', '__tdcall_saved_ret']) {
      expect(out).toContain(`u64 ${f}(u64 fn, struct tdx_module_args *args);`);
    }
    expect(out).toMatch(/not-applied +arch\/x86\/virt\/vmx\/tdx\/Makefile\n.*does not exist in the base tree/);
  });

  it('resolves specs and prints their provenance', async () => {
    const { out } = await run(['revisions', 'v3', 'linux-6.1+fixtures/intake/series-3-encoded.mbox']);
    expect(out).toMatch(/whitespace-damaged source \(web-archive copy\)/);
    expect(out).toMatch(/evidence: .*context lines lost their leading space/);
    expect(out).toMatch(/created +arch\/x86\/virt\/vmx\/tdx\/seamcall\.S {2}blob whitespace-damaged/);
    expect(out).toMatch(/patch 2 +fixtures\/intake\/series-3-encoded\.mbox message 3 +"\[PATCH v2 2\/3\] .*" +\(v2, 2\/3, mbox, quoted-printable\)/);
    expect(out).toMatch(/patch 3 +fixtures\/intake\/series-3-encoded\.mbox message 1 +"\[PATCH v2 3\/3\] x86\/virt\/tdx: Add SEAMCALL leaf numbers" +\(v2, 3\/3, mbox, base64\)/);
  });

  it('--json is machine-readable', async () => {
    const r = await runRevisions([], { json: true, cwd: ROOT });
    const j = JSON.parse(r.text) as { revisions: { name: string; functions: { name: string; abi: { params: { register: string }[] } }[] }[] };
    expect(j.revisions.map((x) => x.name)).toEqual(['linux-6.1', 'linux-6.12', 'v3']);
    expect(j.revisions[2]!.functions.map((f) => f.name)).toEqual(['__tdx_module_call', '__seamcall']);
    expect(j.revisions[1]!.functions[0]!.abi.params.map((p) => p.register)).toEqual(['rdi', 'rsi']);
  });

  it('a bad spec is a SeamlabError with position and hint', async () => {
    let err: unknown;
    try {
      await run(['revisions', 'linux-6.1+fixtures/intake/bad/bad-hunk-count.patch']);
    } catch (e) {
      err = e;
    }
    expect(formatError(err as SeamlabError)).toMatch(/^fixtures\/intake\/bad\/bad-hunk-count\.patch:12: error: hunk @@ -0,0 \+1,4 @@ declares 0 old and 4 new line\(s\) but has 0 and 2 \[PATCH_BAD_HUNK\]\n.*\n {2}hint: /);
  });
});
