/**
 * Sequences against one module state, driven through a session with no
 * emulator: the 6.12 host bring-up (arch/x86/virt/vmx/tdx/tdx.c:
 * try_init_module_global, tdx_cpu_enable, get_tdx_tdmr_sysinfo,
 * config_tdx_module, config_global_keyid, init_tdmr) call by call with every
 * status the intel/tdx-module tdx_1.5 leaves give at that point, sc_retry's
 * loop over scripted answers (6.12 asm/tdx.h: retry while
 * TDX_RND_NO_ENTROPY, up to RDRAND_RETRY_LOOPS = 10), and re-execution of
 * an interrupted TDCALL.
 */
import { describe, expect, it } from 'vitest';
import { PhysMemory } from '../src/machine/memory.js';
import { BRINGUP_GLOBAL_KEYID, BRINGUP_PHYS, BUILTIN_SEQUENCES, builtinScenario } from '../src/seam/builtin-scenarios.js';
import { callerStatus, checkStep, createModuleSession, defaultSessionMemory, runSequenceDirect, writeMemoryInits } from '../src/seam/session.js';
import { scenarioFromText } from '../src/seam/scenario-file.js';

const TDX_SUCCESS = 0n;
const TDX_RND_NO_ENTROPY = 0x8000020300000000n;
const TDX_SYS_INIT_NOT_PENDING = 0xC000050000000000n;
const TDX_SYS_LP_INIT_NOT_DONE = 0xC000050200000000n;
const TDX_SYS_NOT_READY = 0xC000050500000000n;
const TDX_SYS_KEY_CONFIG_NOT_PENDING = 0xC000050700000000n;
const TDX_SYS_LP_INIT_NOT_PENDING = 0xC000050B00000000n;
const TDX_SYS_CONFIG_NOT_PENDING = 0xC000050C00000000n;
const TDX_KEY_CONFIGURED = 0x0000081500000000n;
const TDX_TDMR_ALREADY_INITIALIZED = 0x00000A0300000000n;
const GIB = 1n << 30n;

describe('the 6.12 host bring-up against one module state', () => {
  it('every call, in the kernel\'s order, with the status the module gives at that point', () => {
    const seq = builtinScenario('bringup-6.12')!.sequence!;
    const mem = defaultSessionMemory();
    writeMemoryInits(mem, seq.memory);
    const s = createModuleSession(seq.handler, { mem });
    const st = (leaf: string, regs: Record<string, bigint> = {}, lp = 0) => s.call({ leaf, regs, env: { lp } }).status;
    // Out of order first: LP.INIT before SYS.INIT (tdh_sys_lp_init.c: sys_state != SYSINIT_DONE).
    expect(st('TDH.SYS.LP.INIT')).toBe(TDX_SYS_LP_INIT_NOT_PENDING);
    // try_init_module_global.
    expect(st('TDH.SYS.INIT')).toBe(TDX_SUCCESS);
    expect(st('TDH.SYS.INIT')).toBe(TDX_SYS_INIT_NOT_PENDING);
    // Metadata needs this LP initialised (tdh_sys_rd.c).
    expect(st('TDH.SYS.RD', { rdx: 0x9100000100000008n })).toBe(TDX_SYS_LP_INIT_NOT_DONE);
    // Anything but the SYS leaves before READY (tdx_vmm_dispatcher.c).
    expect(st('TDH.MNG.CREATE')).toBe(TDX_SYS_NOT_READY);
    // tdx_cpu_enable on CPUs 0..2; CONFIG is refused until all 4 are done (tdh_sys_config.c num_of_init_lps).
    for (const lp of [0, 1, 2]) expect(st('TDH.SYS.LP.INIT', {}, lp)).toBe(TDX_SUCCESS);
    expect(st('TDH.SYS.CONFIG', { rcx: BRINGUP_PHYS, rdx: 1n, r8: BRINGUP_GLOBAL_KEYID })).toBe(TDX_SYS_CONFIG_NOT_PENDING);
    expect(st('TDH.SYS.LP.INIT', {}, 3)).toBe(TDX_SUCCESS);
    // get_tdx_tdmr_sysinfo: the five 16-bit fields.
    const rd = (id: bigint) => s.call({ leaf: 'TDH.SYS.RD', regs: { rdx: id } });
    expect([0x9100000100000008n, 0x9100000100000009n, 0x9100000100000010n, 0x9100000100000011n, 0x9100000100000012n].map((id) => {
      const r = rd(id);
      return [r.status, r.regsOut.r8];
    })).toEqual([[0n, 64n], [0n, 16n], [0n, 16n], [0n, 16n], [0n, 16n]]);
    // KEY.CONFIG before CONFIG.
    expect(st('TDH.SYS.KEY.CONFIG')).toBe(TDX_SYS_KEY_CONFIG_NOT_PENDING);
    expect(st('TDH.SYS.CONFIG', { rcx: BRINGUP_PHYS, rdx: 1n, r8: BRINGUP_GLOBAL_KEYID })).toBe(TDX_SUCCESS);
    expect(st('TDH.SYS.CONFIG', { rcx: BRINGUP_PHYS, rdx: 1n, r8: BRINGUP_GLOBAL_KEYID })).toBe(TDX_SYS_CONFIG_NOT_PENDING);
    expect(st('TDH.SYS.LP.INIT', {}, 0)).toBe(TDX_SYS_LP_INIT_NOT_PENDING);
    // config_global_keyid: one CPU per package (2 packages; LP n on package n mod 2).
    expect(st('TDH.SYS.KEY.CONFIG', {}, 0)).toBe(TDX_SUCCESS);
    expect(st('TDH.SYS.KEY.CONFIG', {}, 2)).toBe(TDX_KEY_CONFIGURED);
    expect(st('TDH.SYS.TDMR.INIT', { rcx: 0n })).toBe(TDX_SYS_NOT_READY);
    expect(st('TDH.SYS.KEY.CONFIG', {}, 1)).toBe(TDX_SUCCESS);
    expect(st('TDH.SYS.KEY.CONFIG', {}, 3)).toBe(TDX_SYS_KEY_CONFIG_NOT_PENDING);
    // init_tdmr: do { TDH.SYS.TDMR.INIT } while (next < base + size) — 1 GiB at 4 MiB per call (tdh_sys_tdmr_init.c).
    let calls = 0;
    let next: bigint;
    do {
      const r = s.call({ leaf: 'TDH.SYS.TDMR.INIT', regs: { rcx: 0n } });
      expect(r.status).toBe(TDX_SUCCESS);
      next = r.regsOut.rdx;
      calls++;
    } while (next < GIB);
    expect(calls).toBe(256);
    expect(next).toBe(GIB);
    expect(st('TDH.SYS.TDMR.INIT', { rcx: 0n })).toBe(TDX_TDMR_ALREADY_INITIALIZED);
    // READY: the 6.12 #MC path's TDH.PHYMEM.PAGE.RDMD now answers (a free page: PT_NDA).
    const rdmd = s.call({ leaf: 'TDH.PHYMEM.PAGE.RDMD', regs: { rcx: 0x1000n } });
    expect([rdmd.status, rdmd.regsOut.rcx]).toEqual([0n, 0n]);
  });

  it('the built-in sequences pass every step\'s check when run directly', () => {
    for (const s of BUILTIN_SEQUENCES) {
      const r = runSequenceDirect(s.sequence!);
      expect(r.every((x) => x.ok), s.name).toBe(true);
    }
    const tdmr = runSequenceDirect(builtinScenario('bringup-6.12')!.sequence!).at(-1)!;
    expect(tdmr.calls).toHaveLength(256);
  });
});

describe('retry loops: scripted answers are consumed in order across calls', () => {
  it('sc_retry sees [TDX_RND_NO_ENTROPY ×3, then the model] and succeeds on the fourth try', () => {
    const s = createModuleSession({
      script: [{ kind: 'return', rax: TDX_RND_NO_ENTROPY }, { kind: 'return', rax: TDX_RND_NO_ENTROPY }, { kind: 'return', rax: TDX_RND_NO_ENTROPY }],
      then: { model: 'tdx-module', module: { state: 'uninitialized' } },
    });
    const seen: bigint[] = [];
    // asm/tdx.h sc_retry: do { ret = func(fn, args); } while (ret == TDX_RND_NO_ENTROPY && --retry);
    let retry = 10;
    let ret: bigint;
    do {
      ret = s.call({ leaf: 'TDH.SYS.INIT' }).status!;
      seen.push(ret);
    } while (ret === TDX_RND_NO_ENTROPY && --retry);
    expect(seen).toEqual([TDX_RND_NO_ENTROPY, TDX_RND_NO_ENTROPY, TDX_RND_NO_ENTROPY, TDX_SUCCESS]);
    expect(s.calls).toBe(4);
    // The module behind the script kept its state: a second SYS.INIT is not pending.
    expect(s.call({ leaf: 'TDH.SYS.INIT' }).status).toBe(TDX_SYS_INIT_NOT_PENDING);
  });
  it('sc_retry gives up after RDRAND_RETRY_LOOPS (10) when the module never gets entropy', () => {
    const s = createModuleSession({ model: 'tdx-module', module: { state: 'uninitialized', entropy: false } });
    let retry = 10;
    let tries = 0;
    while (s.call({ leaf: 'TDH.SYS.INIT' }).status === TDX_RND_NO_ENTROPY && --retry) tries++;
    expect(tries).toBe(9);
    expect(s.calls).toBe(10);
  });
});

describe('direct calls apply outcomes as the CPU does', () => {
  it('an interrupted TDCALL re-executes until it completes (TDG.MEM.PAGE.ACCEPT of 2 MiB with two pending interrupts)', () => {
    const mem = new PhysMemory(0x40000000n, Buffer.alloc(0x200000));
    const s = createModuleSession({ model: 'td-guest', guest: { pages: '2m-pending', interrupts: 2 } }, { mem });
    const r = s.call({ leaf: 'TDG.MEM.PAGE.ACCEPT', regs: { rcx: 0x40000000n | 1n }, rflags: 0x8d7n });
    expect(r.outcomes.map((o) => o.kind)).toEqual(['interrupted', 'interrupted', 'return']);
    expect(r.status).toBe(0n);
    expect(r.rflagsOut).toBe(0x8d7n); // the TD's flags survive (td_call writes only RAX)
  });
  it('the caller-visible status (6.7+ tdxcall.S): VMfailInvalid → TDX_SEAMCALL_VMFAILINVALID, a SEAMCALL #GP → TDX_SW_ERROR|13, a TDCALL fault → none (oops)', () => {
    expect(callerStatus('seamcall', { kind: 'vmfailinvalid' }, 33n)).toBe(0x8000FF00FFFF0000n);
    expect(callerStatus('seamcall', { kind: 'vmfailvalid' }, 33n)).toBe(33n);
    expect(callerStatus('seamcall', { kind: 'fault', vector: 'GP' }, 33n)).toBe(0x8000FF000000000Dn);
    expect(callerStatus('tdcall', { kind: 'fault', vector: 'UD' }, 1n)).toBeUndefined();
    const s = createModuleSession({ model: 'tdx-module', module: { loaded: false } });
    expect(s.call({ leaf: 'TDH.SYS.INIT' })).toMatchObject({ status: 0x8000FF00FFFF0000n, statusName: 'TDX_SEAMCALL_VMFAILINVALID' });
    expect(s.call({ leaf: 'TDH.SYS.INIT', env: { cpl: 3 } })).toMatchObject({ status: 0x8000FF000000000Dn, statusName: 'TDX_SEAMCALL_GP' });
  });
  it('checkStep compares status, outputs and outcome', () => {
    expect(checkStep({ status: 0n, outputs: { rdx: 5n }, outcome: 'return' }, { status: 0n, outputs: { rdx: 4n }, outcome: 'return' }).map((c) => [c.what, c.ok]))
      .toEqual([['outcome', true], ['status', true], ['outputs.rdx', false]]);
  });
});

describe('a sequence from a scenario file', () => {
  it('loads steps, memory, expectations and repeats, and runs them against one state', async () => {
    const s = await scenarioFromText(`
name: sys-rd-walk
sequence:
  handler: { model: tdx-module, module: { state: sys-init-done, lps: 1 } }
  steps:
    - { label: not yet, call: { leaf: TDH.SYS.RD, inputs: { rdx: 0x9100000100000008 } }, expect: { status: TDX_SYS_LP_INIT_NOT_DONE } }
    - { call: { leaf: TDH.SYS.LP.INIT }, expect: { status: TDX_SUCCESS, outputs: { rcx: 0, rdx: 0, r8: 0 } } }
    - call: { leaf: TDH.SYS.RD, inputs: { rdx: 0x9100000100000008 } }
      expect: { status: TDX_SUCCESS, outputs: { r8: 64, rdx: 0x9100000100000009 }, outcome: return }
`, 'walk.yaml');
    expect(s.cases).toEqual({});
    const r = runSequenceDirect(s.sequence!);
    expect(r.map((x) => [x.label, x.ok])).toEqual([['not yet', true], [undefined, true], [undefined, true]]);
  });
  it('a failed expectation is reported, not thrown', async () => {
    const s = await scenarioFromText('name: x\nsequence:\n  steps:\n    - { call: { leaf: TDH.SYS.INIT }, expect: { status: TDX_SUCCESS } }\n', 'x.yaml');
    const [step] = runSequenceDirect(s.sequence!);
    expect(step!.ok).toBe(false);
    expect(step!.checks[0]).toMatchObject({ what: 'status', expected: 0n, actual: TDX_SYS_INIT_NOT_PENDING });
  });
});
