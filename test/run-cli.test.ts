/**
 * `seamlab run` and `seamlab scenarios`, driven in-process on a fresh
 * commander program (images from test/support/images.ts).
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { registerRun, registerScenarios } from '../src/cli/run.js';
import { builtinScenario } from '../src/seam/builtin-scenarios.js';
import { scenarioToYaml } from '../src/seam/inline.js';
import { scenarioFromText } from '../src/seam/scenario-file.js';
import { cliInProcess, type InProcessResult } from './support/cli.js';
import { testImage } from './support/images.js';
import { insertAfter, slsConfig, treePatch } from './support/patches.js';

const FIX = resolve(import.meta.dirname, '../fixtures/scenarios');

function cli(args: string[]): Promise<InProcessResult> {
  return cliInProcess(args, (program, print) => {
    registerRun(program, { buildImage: (rev, file) => testImage(rev, file), print });
    registerScenarios(program, { print });
  });
}

afterEach(() => { process.exitCode = undefined; });

describe('seamlab scenarios', () => {
  it('lists every built-in scenario and sequence with one line each', async () => {
    const { out } = await cli(['scenarios']);
    const names = out.split('\n').slice(1).map((l) => l.split(/\s+/)[0]);
    expect(names).toEqual(['success', 'error', 'no-entropy', 'vmfailinvalid', 'vmfailvalid', 'ud', 'gp', 'null-out', 'seamldr-info', 'vp-info', 'mr-report', 'page-accept', 'vmcall', 'bringup-6.12', 'sys-init-retry']);
    expect(out).toMatch(/^ud +host\+guest +the instruction raises #UD/m);
    expect(out).toMatch(/^bringup-6\.12 +host sequence +the 6\.12 host bring-up/m);
  });
});

describe('seamlab run', () => {
  it('with no arguments runs every v3 entry point over the built-in scenarios, all ABI checks passing', async () => {
    const { out, exitCode } = await cli(['run']);
    expect(out).toMatch(/^v3 __seamcall — u64 __seamcall\(u64 fn, u64 rcx, u64 rdx, u64 r8, u64 r9, struct tdx_module_output \*out\);/m);
    expect(out).toMatch(/^v3 __tdx_module_call — /m);
    expect(out).toMatch(/^ {2}vmfailinvalid +TDH\.SYS\.INIT +VMfailInvalid \(TDX module not loaded\) +0x8000ff00ffff0000 TDX_SEAMCALL_VMFAILINVALID +out: rcx=0 rdx=0 r8=0 r9=0 r10=canary\(r10\) r11=canary\(r11\) +ok$/m);
    expect(out).toMatch(/^ {2}ud +TDH\.SYS\.INIT +#UD \(not in VMX operation\) +oops \(#UD, no __ex_table entry\) +out: untouched +n\/a \(no return\)$/m);
    // The built-in sequences run against v3's host entry point (its *out returns RCX, RDX, R8–R11, so every step is checked).
    expect(out).toMatch(/^ {2}bringup-6\.12 \(sequence\): 14 steps, 269 calls against one tdx-module state; every step as expected$/m);
    expect(out).toMatch(/^ {2}__tdx_module_call × bringup-6\.12, sys-init-retry: a host \(seamcall\) sequence$/m);
    expect(out).toMatch(/^18 runs: 14 returned, 4 oops \(injected fault, no fixup\); ABI checks passed in every run that returned; 1 run ok\* \(inputs the ABI could not carry\); 2 sequences \(273 calls\): every step as expected$/m);
    expect(exitCode).toBe(0);
  });

  it('--strict counts the oops of an injected fault as a failure', async () => {
    expect((await cli(['run', 'v3', '--fn', '__seamcall', '--scenario', 'ud', 'success', '--strict'])).exitCode).toBe(1);
    expect((await cli(['run', 'v3', '--fn', '__seamcall', '--scenario', 'success', '--strict'])).exitCode).toBe(0);
  });

  it('linux-6.12 --fn __seamcall_saved_ret --scenario ud shows the exception-table path', async () => {
    const { out, exitCode } = await cli(['run', 'linux-6.12', '--fn', '__seamcall_saved_ret', '--scenario', 'ud', '--details']);
    expect(out).toMatch(/answer: #UD \(not in VMX operation\)/);
    expect(out).toMatch(/exception table: #UD at 0x[0-9a-f]+ → fixup 0x[0-9a-f]+ with RAX = trap number \(ex_handler_fault\)/);
    expect(out).toMatch(/returned +0x8000ff0000000006 TDX_SEAMCALL_UD via __ex_table/);
    expect(out).toMatch(/pass +callee-saved/);
    expect(out).toMatch(/^1 run: 1 returned; ABI checks passed in every run that returned$/m);
    expect(exitCode).toBe(0);
  });

  it('--json prints RunResults with 64-bit values as hex strings', async () => {
    const { out } = await cli(['run', 'linux-6.12', '--fn', '__seamcall', '--scenario', 'gp', '--json']);
    const [r] = (JSON.parse(out) as { runs: { returnValue: string; end: { kind: string }; fixups: { vector: number }[]; scenario: { name: string } }[] }).runs;
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
    const { out, exitCode } = await cli(['run', 'v3', '--fn', '__seamcall', '--scenario', `${FIX}/clobber-rbx.ts`, '--details']);
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

describe('seamlab run: what a new user meets', () => {
  it('one selected run is still a table (--details for the detail view); "1 run"', async () => {
    const { out } = await cli(['run', 'linux-6.12', '--fn', '__seamcall', '--scenario', 'success']);
    expect(out).toMatch(/^ {2}scenario +leaf +module answered +RAX returned +outputs +ABI$/m);
    expect(out).toMatch(/^1 run: 1 returned; ABI checks passed in every run that returned$/m);
    expect(out).not.toMatch(/ABI checks$/m);
  });

  it('lists the skipped function × scenario pairs and why', async () => {
    const { out } = await cli(['run', 'linux-6.12', '--scenario', 'vmcall', 'seamldr-info']);
    expect(out).toMatch(/^skipped \(the scenario does not apply\): 6 pairs$/m);
    expect(out).toMatch(/^ {2}__seamcall × vmcall: no host \(seamcall\) case$/m);
    expect(out).toMatch(/^ {2}__tdcall × seamldr-info: no guest \(tdcall\) case$/m);
  });

  it('marks a run whose scenario inputs the ABI could not carry as ok*, with a footnote', async () => {
    // __tdx_module_call(fn, rcx, rdx, r8, r9, out) (6.1 tdcall.S) has no parameter for the vmcall scenario's R10–R13.
    const { out, exitCode } = await cli(['run', 'v3', '--fn', '__tdx_module_call', '--scenario', 'vmcall', 'success']);
    expect(out).toMatch(/^ {2}vmcall +TDG\.VP\.VMCALL .* ok\*$/m);
    expect(out).toMatch(/^ {2}success +TDG\.VP\.INFO .* ok$/m);
    expect(out).toMatch(/^ {2}\* vmcall: this ABI cannot pass the scenario's R10 R11 R12 R13; the VMM saw the caller's leftover values there/m);
    expect(out).toMatch(/; 1 run ok\* \(inputs the ABI could not carry\)$/m);
    expect(exitCode).toBe(0);
  });

  it('fits the table to the given width', async () => {
    const lines: string[] = [];
    const program = new Command().exitOverride();
    registerRun(program, { buildImage: (rev, file) => testImage(rev, file), print: (l) => lines.push(l), width: 90 });
    await program.parseAsync(['run'], { from: 'user' });
    const text = lines.join('\n').split('\n');
    expect(text.filter((l) => l.length > 90)).toEqual([]);
    expect(text.some((l) => l.length > 80)).toBe(true);
  });

  it('says when a revision was taken by --fn or --scenario, with the corrected command line', async () => {
    const { error } = await cli(['run', '--fn', '__seamcall', 'linux-6.12']);
    expect(error?.code).toBe('RUN_REVISION_AFTER_OPTION');
    expect(error?.message).toBe('linux-6.12 is a revision, not an entry point: --fn takes several values, so it took the revision written after it');
    expect(error?.hint).toBe('give the revision first: seamlab run linux-6.12 --fn __seamcall');
    const { error: e2 } = await cli(['run', '--scenario', 'ud', 'v3', '--strict']);
    expect(e2?.hint).toBe('give the revision first: seamlab run v3 --scenario ud --strict');
    // A revision given first: values are taken as they are.
    expect((await cli(['run', 'v3', '--fn', 'linux-6.12'])).error?.code).toBe('RUN_UNKNOWN_FUNCTION');
  });
});

describe('seamlab run: per-file builds and --config', () => {
  it('reports a .S that does not assemble and runs the other file', async () => {
    const spec = `linux-6.12+${treePatch('linux-6.12', 'arch/x86/coco/tdx/tdcall.S', (t) => insertAfter(t, /^SYM_FUNC_START\(__tdcall\)$/, ['\tbogus_insn %rax']), 'break-tdcall.patch')}`;
    const { out, exitCode } = await cli(['run', spec, '--scenario', 'success']);
    expect(out).toMatch(/^linux-6\.12\+.* __seamcall — /m);
    expect(out).toMatch(/^not built: arch\/x86\/coco\/tdx\/tdcall\.S \(__tdcall, __tdcall_ret, __tdcall_saved_ret not run\): arch\/x86\/coco\/tdx\/tdcall\.S:26: no such instruction: `bogus_insn. \[ENCODE_UNKNOWN_MNEMONIC\]$/m);
    expect(out).toMatch(/^3 runs: 3 returned; ABI checks passed in every run that returned; 1 file did not build$/m);
    expect(exitCode).toBe(2);
    // Naming only functions of the good file builds only that file.
    const only = await cli(['run', spec, '--fn', '__seamcall', '--scenario', 'success']);
    expect(only.exitCode).toBe(0);
    expect(only.out).not.toMatch(/not built/);
  });

  it('--config uses a kernel .config instead of a profile', async () => {
    const { out } = await cli(['run', 'linux-6.12', '--fn', '__seamcall', '--scenario', 'success', '--config', slsConfig()]);
    expect(out).toMatch(/\[arch\/x86\/virt\/vmx\/tdx\/seamcall\.S, \.config .*sls\.config\]/);
    await expect(cli(['run', 'linux-6.12', '--config', slsConfig(), '--profile', 'sls'])).rejects.toThrow(/option '--config <file>' cannot be used with option '--profile <name>'/);
  });
});

describe('seamlab run: sequences', () => {
  it('--scenario bringup-6.12 runs the bring-up through the entry point, one row per step; exit 0', async () => {
    const { out, exitCode } = await cli(['run', 'linux-6.12', '--fn', '__seamcall_ret', '--scenario', 'bringup-6.12']);
    expect(out).toMatch(/^ {4}14 +TDH\.SYS\.TDMR\.INIT +0 +256 +TDX_SUCCESS +ok \(repeat, status, rdx=0x40000000\) +ok$/m);
    expect(out).toMatch(/^1 sequence \(269 calls\): every step as expected$/m);
    expect(exitCode).toBe(0);
  });

  it('a step whose expectation fails makes the exit status 1', async () => {
    const { out, exitCode } = await cli(['run', 'linux-6.12', '--fn', '__seamcall', '--scenario', `${FIX}/bad-sequence.yaml`]);
    // tdh_sys_lp_init.c: LP.INIT before SYS.INIT → TDX_SYS_LP_INIT_NOT_PENDING; then SYS.INIT succeeds.
    expect(out).toMatch(/^ {4}1 +TDH\.SYS\.LP\.INIT +0 +1 +TDX_SYS_LP_INIT_NOT_PENDING +FAIL status: expected TDX_SUCCESS +ok$/m);
    expect(out).toMatch(/^ {4}2 +TDH\.SYS\.INIT +0 +1 +TDX_SUCCESS +ok \(status\) +ok$/m);
    expect(exitCode).toBe(1);
    const json = await cli(['run', 'linux-6.12', '--fn', '__seamcall', '--scenario', `${FIX}/bad-sequence.yaml`, '--json']);
    const doc = JSON.parse(json.out) as { sequences: { ok: boolean; steps: { checks: { status: string }[] }[] }[]; summary: { failed: boolean } };
    expect([doc.sequences[0]!.ok, doc.sequences[0]!.steps[0]!.checks[0]!.status, doc.summary.failed]).toEqual([false, 'fail', true]);
  });
});

describe('seamlab run --leaf: one call given on the command line', () => {
  it('the model answers the registers given with --reg', async () => {
    const { out, exitCode } = await cli(['run', 'linux-6.12', '--fn', '__seamcall_ret', '--leaf', 'TDH.SYS.RD', '--reg', 'rdx=0x9100000100000008']);
    // tdh_sys_rd.c: R8 = MAX_TDMRS (64, tdx_global_data.h), RDX = the next field id.
    expect(out).toMatch(/^ {2}inline +TDH\.SYS\.RD +TDX_SUCCESS \(MAX_TDMRS = 64\) +0x0 TDX_SUCCESS +args: rcx=0 rdx=0x9100000100000009 r8=0x40 /m);
    expect(exitCode).toBe(0);
  });

  it('--reg repeats; --answer scripts the answer; a numbered leaf is of the entry point\'s instruction', async () => {
    const config = await cli(['run', 'linux-6.12', '--fn', '__seamcall_ret', '--leaf', 'TDH.SYS.CONFIG', '--reg', 'rcx=0x40000000', '--reg', 'rdx=1', '--answer', 'success', '--details']);
    expect(config.out).toMatch(/^ {4}in : rax=0x2d rcx=0x40000000 rdx=0x1 /m);
    // Leaf 1 of TDCALL is TDG.VP.INFO; TDX_OPERAND_INVALID with operand id RCX (1) in bits 31:0 (tdx_error_codes_defs.h).
    const vpInfo = await cli(['run', 'linux-6.12', '--fn', '__tdcall_ret', '--leaf', '1', '--answer', 'TDX_OPERAND_INVALID|RCX']);
    expect(vpInfo.out).toMatch(/^ {2}inline +TDG\.VP\.INFO +TDX_OPERAND_INVALID\|RCX +0xc000010000000001 TDX_OPERAND_INVALID\|RCX /m);
    // #UD through 6.12's __ex_table: TDX_SW_ERROR | 6 (tdxcall.S).
    const ud = await cli(['run', 'linux-6.12', '--fn', '__seamcall_saved_ret', '--leaf', 'TDH.SYS.INIT', '--answer', 'ud']);
    expect(ud.out).toMatch(/0x8000ff0000000006 TDX_SEAMCALL_UD via __ex_table/);
  });

  it('says what is wrong with an inline call', async () => {
    expect((await cli(['run', 'linux-6.12', '--reg', 'rdx=1'])).error?.code).toBe('CLI_INLINE_WITHOUT_LEAF');
    expect((await cli(['run', 'linux-6.12', '--answer', 'ud'])).error?.code).toBe('CLI_INLINE_WITHOUT_LEAF');
    expect((await cli(['run', 'linux-6.12', '--leaf', 'TDG.VP.INFO', '--answer', 'vmfailinvalid'])).error?.message).toBe('--answer vmfailinvalid: TDCALL has no VMfail outcome');
    expect((await cli(['run', 'linux-6.12', '--leaf', 'TDH.SYS.RD', '--reg', 'rdx'])).error?.code).toBe('INLINE_BAD_REGISTER');
    await expect(cli(['run', 'linux-6.12', '--leaf', 'TDH.SYS.RD', '--scenario', 'success'])).rejects.toThrow(/option '--leaf <name\|number>' cannot be used with option '--scenario <name\|file...>'/);
  });
});

describe('seamlab scenarios --show', () => {
  it('prints a built-in scenario or sequence as YAML that loads back to the same scenario', async () => {
    for (const name of ['success', 'bringup-6.12']) {
      const { out } = await cli(['scenarios', '--show', name]);
      expect(`${out}\n`).toBe(scenarioToYaml(builtinScenario(name)!));
      expect({ ...(await scenarioFromText(out, `${name}.yaml`)), source: 'builtin' }).toEqual(builtinScenario(name));
    }
    expect((await cli(['scenarios', '--show', 'bringup-6.12'])).out).toMatch(/^ {6}repeat:\n {8}while: rdx\n {8}below: 0x40000000\n {8}max: 1024$/m);
  });

  it('names the built-ins when the name is unknown', async () => {
    const { error } = await cli(['scenarios', '--show', 'nope']);
    expect(error?.code).toBe('SCENARIO_UNKNOWN');
    expect(error?.hint).toMatch(/success, error, .*bringup-6\.12, sys-init-retry$/);
  });
});
