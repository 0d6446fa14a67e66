/**
 * `seamlab run` and `seamlab scenarios`, driven in-process on a fresh
 * commander program (images from test/support/images.ts).
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { registerRun, registerScenarios } from '../src/cli/run.js';
import { isSeamlabError, type SeamlabError } from '../src/errors.js';
import { testImage } from './support/images.js';

const FIX = resolve(import.meta.dirname, '../fixtures/scenarios');

async function cli(args: string[]): Promise<{ out: string; exitCode: number; error?: SeamlabError }> {
  const lines: string[] = [];
  const program = new Command().exitOverride();
  registerRun(program, { buildImage: (rev, file) => testImage(rev, file), print: (l) => lines.push(l) });
  registerScenarios(program, { print: (l) => lines.push(l) });
  process.exitCode = undefined;
  let error: SeamlabError | undefined;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (!isSeamlabError(e)) throw e;
    error = e;
  }
  const exitCode = typeof process.exitCode === 'number' ? process.exitCode : 0;
  process.exitCode = undefined;
  return { out: lines.join('\n'), exitCode, ...(error ? { error } : {}) };
}

afterEach(() => { process.exitCode = undefined; });

describe('seamlab scenarios', () => {
  it('lists every built-in scenario with one line each', async () => {
    const { out } = await cli(['scenarios']);
    const names = out.split('\n').map((l) => l.split(/\s+/)[0]);
    expect(names).toEqual(['success', 'error', 'no-entropy', 'vmfailinvalid', 'vmfailvalid', 'ud', 'gp', 'null-out', 'seamldr-info', 'vp-info', 'mr-report', 'page-accept', 'vmcall']);
    expect(out).toMatch(/^ud +host\+guest +the instruction raises #UD/m);
  });
});

describe('seamlab run', () => {
  it('with no arguments runs every v3 entry point over the built-in scenarios, all ABI checks passing', async () => {
    const { out, exitCode } = await cli(['run']);
    expect(out).toMatch(/^v3 __seamcall — u64 __seamcall\(u64 fn, u64 rcx, u64 rdx, u64 r8, u64 r9, struct tdx_module_output \*out\);/m);
    expect(out).toMatch(/^v3 __tdx_module_call — /m);
    expect(out).toMatch(/^ {2}vmfailinvalid +TDH\.SYS\.INIT +VMfailInvalid \(TDX module not loaded\) +0x8000ff00ffff0000 TDX_SEAMCALL_VMFAILINVALID +out: rcx=0 rdx=0 r8=0 r9=0 r10=canary\(r10\) r11=canary\(r11\) +ok$/m);
    expect(out).toMatch(/^ {2}ud +TDH\.SYS\.INIT +#UD \(not in VMX operation\) +oops \(#UD, no __ex_table entry\) +out: untouched +n\/a \(no return\)$/m);
    expect(out).toMatch(/^18 runs: 14 returned, 4 oops \(injected fault, no fixup\); ABI checks passed in every run that returned$/m);
    expect(exitCode).toBe(0);
  });

  it('--strict counts the oops of an injected fault as a failure', async () => {
    expect((await cli(['run', 'v3', '--fn', '__seamcall', '--scenario', 'ud', 'success', '--strict'])).exitCode).toBe(1);
    expect((await cli(['run', 'v3', '--fn', '__seamcall', '--scenario', 'success', '--strict'])).exitCode).toBe(0);
  });

  it('linux-6.12 --fn __seamcall_saved_ret --scenario ud shows the exception-table path', async () => {
    const { out, exitCode } = await cli(['run', 'linux-6.12', '--fn', '__seamcall_saved_ret', '--scenario', 'ud']);
    expect(out).toMatch(/answer: #UD \(not in VMX operation\)/);
    expect(out).toMatch(/exception table: #UD at 0x[0-9a-f]+ → fixup 0x[0-9a-f]+ with RAX = trap number \(ex_handler_fault\)/);
    expect(out).toMatch(/returned +0x8000ff0000000006 TDX_SEAMCALL_UD via __ex_table/);
    expect(out).toMatch(/pass +callee-saved/);
    expect(exitCode).toBe(0);
  });

  it('--json prints RunResults with 64-bit values as hex strings', async () => {
    const { out } = await cli(['run', 'linux-6.12', '--fn', '__seamcall', '--scenario', 'gp', '--json']);
    const [r] = JSON.parse(out) as { returnValue: string; end: { kind: string }; fixups: { vector: number }[]; scenario: { name: string } }[];
    expect(r!.returnValue).toBe('0x8000ff000000000d');
    expect(r!.end.kind).toBe('returned');
    expect(r!.fixups[0]!.vector).toBe(13);
    expect(r!.scenario.name).toBe('gp');
  });

  it('runs a YAML scenario (script, then the model) and a JSON one with physical buffers', async () => {
    const { out } = await cli(['run', 'v3', '--fn', '__seamcall', '--scenario', `${FIX}/entropy-retry.yaml`, `${FIX}/sysinfo.json`]);
    expect(out).toMatch(/^ {2}entropy-retry +TDH\.SYS\.RD +TDX_RND_NO_ENTROPY +0x8000020300000000 TDX_RND_NO_ENTROPY/m);
    // tdh_sys_info.c: all MAX_CMR (32) CMR_INFO entries are written and R9 = MAX_CMR.
    expect(out).toMatch(/^ {2}sysinfo +TDH\.SYS\.INFO +TDX_SUCCESS \(TDSYSINFO_STRUCT and 32 CMR_INFO entries written\) +0x0 TDX_SUCCESS +out: rcx=0x40000000 rdx=0x400 r8=0x40000400 r9=0x20 /m);
  });

  it('a handler that returns a callee-saved register fails the ABI check and the exit status', async () => {
    const { out, exitCode } = await cli(['run', 'v3', '--fn', '__seamcall', '--scenario', `${FIX}/clobber-rbx.ts`]);
    expect(out).toMatch(/fail +callee-saved +rbx 0xcafe0003c0de0003 → 0x1234/);
    expect(exitCode).toBe(1);
  });

  it('points a bad scenario field at its line and column', async () => {
    const { error } = await cli(['run', 'v3', '--scenario', `${FIX}/bad-field.yaml`]);
    expect(error?.code).toBe('SCENARIO_INVALID');
    expect(error?.message).toBe(`${FIX}/bad-field.yaml:8:10: seamcall.env.vmx: Invalid input: expected boolean, received string`);
  });

  it('names the entry points when --fn is unknown, and refuses scenarios that fit nothing', async () => {
    const { error } = await cli(['run', 'v3', '--fn', '__nope']);
    expect(error?.code).toBe('RUN_UNKNOWN_FUNCTION');
    expect(error?.notes.join()).toMatch(/__tdx_module_call, __seamcall/);
    const { error: e2 } = await cli(['run', 'v3', '--fn', '__tdx_module_call', '--scenario', 'seamldr-info']);
    expect(e2?.code).toBe('RUN_NOTHING');
  });

  it('rejects a bad budget', async () => {
    const { error } = await cli(['run', 'v3', '--budget', 'lots']);
    expect(error?.code).toBe('CLI_BAD_NUMBER');
  });
});
