/**
 * The built-in scenarios (`seamlab scenarios`). Each is an ordinary scenario:
 * a logical call, an environment and a handler from the models in this folder.
 * Host cases run against SEAMCALL entry points, guest cases against TDCALL ones.
 * Every answer is the model's, and the model cites the module source it
 * follows; the comment on each scenario names the line that decides it.
 * BUILTIN_SEQUENCES are scenarios of several calls against one module state.
 */
import { SEAMCALL_LEAF, SEAMLDR_LEAF, SYS_FIELD, TDCALL_LEAF, TDVMCALL } from './codes.js';
import type { Scenario, ScenarioCase, SequenceStep } from './scenario.js';
import { GUEST_ENV, HOST_ENV } from './types.js';

const leaf = (n: number) => BigInt(n);
const host = (c: Partial<ScenarioCase> & Pick<ScenarioCase, 'call'>): ScenarioCase => ({ env: { ...HOST_ENV }, handler: { model: 'tdx-module' }, ...c });
const guest = (c: Partial<ScenarioCase> & Pick<ScenarioCase, 'call'>): ScenarioCase => ({ env: { ...GUEST_ENV }, handler: { model: 'td-guest' }, ...c });

/** An unknown global metadata field (class 0x91, element 0xFFF). */
export const UNKNOWN_FIELD_ID = 0x9100000100000fffn;
/** The 6.12 guest's TDVMCALL_EXPOSE_REGS_MASK: RDX, RBX, RSI, RDI, R8–R15. */
export const EXPOSE_REGS_MASK = 0xffccn;

const SYS_RD_MAX_TDMRS = { leaf: leaf(SEAMCALL_LEAF['TDH.SYS.RD']), inputs: { rdx: SYS_FIELD.MAX_TDMRS } };
const SYS_INIT = { leaf: leaf(SEAMCALL_LEAF['TDH.SYS.INIT']), inputs: {} };
const VP_INFO = { leaf: leaf(TDCALL_LEAF['TDG.VP.INFO']), inputs: {} };

export const BUILTIN_SCENARIOS: readonly Scenario[] = [
  {
    // tdh_sys_rd.c: R8 = MAX_TDMRS (64, tdx_global_data.h), RDX = the next field (MAX_RESERVED_PER_TDMR).
    name: 'success',
    summary: 'success with outputs: TDH.SYS.RD MAX_TDMRS → R8 = 64 (host); TDG.VP.INFO (guest)',
    source: 'builtin',
    cases: { seamcall: host({ call: SYS_RD_MAX_TDMRS }), tdcall: guest({ call: VP_INFO }) },
  },
  {
    // tdh_sys_rd.c: no such field → TDX_METADATA_FIELD_ID_INCORRECT with RDX = MD_FIELD_ID_NA, R8 = 0;
    // tdg_mr_report.c: REPORTDATA not 64-aligned → TDX_OPERAND_INVALID|RDX.
    name: 'error',
    summary: 'an error status with outputs: TDH.SYS.RD of an unknown field (host); TDG.MR.REPORT with misaligned REPORTDATA (guest)',
    source: 'builtin',
    cases: {
      seamcall: host({ call: { leaf: leaf(SEAMCALL_LEAF['TDH.SYS.RD']), inputs: { rdx: UNKNOWN_FIELD_ID } } }),
      tdcall: guest({
        call: {
          leaf: leaf(TDCALL_LEAF['TDG.MR.REPORT']),
          inputs: { rcx: { phys: 1024, align: 1024 }, rdx: { phys: 72, align: 64, offset: 8 }, r8: 0n },
        },
      }),
    },
  },
  {
    // tdh_sys_init.c tdh_sys_init: tdx_init_stack_canary() fails → TDX_RND_NO_ENTROPY (RCX, RDX, R8–R10 zeroed first),
    // the status 6.12 sc_retry retries. TDH.SYS.KEY.CONFIG would answer TDX_KEY_GENERATION_FAILED (helpers.c program_mktme_keys).
    name: 'no-entropy',
    summary: 'TDH.SYS.INIT while the RNG has no entropy → TDX_RND_NO_ENTROPY (the status sc_retry retries)',
    source: 'builtin',
    cases: {
      seamcall: host({
        call: SYS_INIT,
        handler: { model: 'tdx-module', module: { state: 'uninitialized', entropy: false } },
      }),
    },
  },
  {
    // SDM SEAMCALL: no module loaded (SEAMEXTEND.SEAM_READY = 0) → VMfailInvalid.
    name: 'vmfailinvalid',
    summary: 'TDH.SYS.INIT with no TDX module loaded → VMfailInvalid (CF=1)',
    source: 'builtin',
    cases: { seamcall: host({ call: SYS_INIT, handler: { model: 'tdx-module', module: { loaded: false } } }) },
  },
  {
    name: 'vmfailvalid',
    summary: 'the SEAM side answers VMfailValid (ZF=1), which only downstream kernels name',
    source: 'builtin',
    cases: { seamcall: host({ call: SYS_INIT, handler: { script: [{ kind: 'vmfailvalid', note: 'scripted VMfailValid' }] } }) },
  },
  {
    name: 'ud',
    summary: 'the instruction raises #UD: SEAMCALL outside VMX operation (host); TDCALL outside a TD (guest)',
    source: 'builtin',
    cases: {
      seamcall: host({ call: SYS_INIT, env: { ...HOST_ENV, vmx: false } }),
      tdcall: guest({ call: VP_INFO, env: { ...GUEST_ENV, inTd: false } }),
    },
  },
  {
    name: 'gp',
    summary: 'the instruction raises #GP(0): SEAM range register disabled (host); CPL 3 (guest)',
    source: 'builtin',
    cases: {
      seamcall: host({ call: SYS_INIT, env: { ...HOST_ENV, seamrr: false } }),
      tdcall: guest({ call: VP_INFO, env: { ...GUEST_ENV, cpl: 3 } }),
    },
  },
  {
    name: 'null-out',
    summary: 'the success call with a NULL output pointer (only where the ABI has one)',
    source: 'builtin',
    requiresOutputPointer: true,
    cases: {
      seamcall: host({ call: { ...SYS_RD_MAX_TDMRS, nullOutput: true } }),
      tdcall: guest({ call: { ...VP_INFO, nullOutput: true } }),
    },
  },
  {
    // seamldr_info.c: the 256-byte seamldr_info_t, with SEAMEXTEND's seam_ready (160) and p_seamldr_ready (162) set.
    name: 'seamldr-info',
    summary: 'SEAMLDR.INFO (RAX bit 63): the P-SEAMLDR writes p_seamldr_info at RCX',
    source: 'builtin',
    cases: {
      seamcall: host({ call: { leaf: SEAMLDR_LEAF['SEAMLDR.INFO'], inputs: { rcx: { phys: 256, align: 256 } } } }),
    },
  },
  {
    // tdg_vp_info.c: GPAW 48, attributes, NUM/MAX_VCPUS, VCPU index, R10 bit 0 (TDG.SYS.RD available), R11 0.
    name: 'vp-info',
    summary: 'TDG.VP.INFO on VCPU 3 of 8: GPAW, attributes, VCPU counts and index',
    source: 'builtin',
    cases: {
      tdcall: guest({ call: VP_INFO, env: { ...GUEST_ENV, lp: 3 }, handler: { model: 'td-guest', guest: { numVcpus: 8, maxVcpus: 8 } } }),
    },
  },
  {
    name: 'mr-report',
    summary: 'TDG.MR.REPORT: a TDREPORT for 64 bytes of REPORTDATA',
    source: 'builtin',
    cases: {
      tdcall: guest({
        call: {
          leaf: leaf(TDCALL_LEAF['TDG.MR.REPORT']),
          inputs: { rcx: { phys: 1024, align: 1024 }, rdx: { phys: 64, align: 64, fill: 'pattern' }, r8: 0n },
        },
      }),
    },
  },
  {
    // tdg_mem_page_accept.c: a pending 4 KiB page is zeroed and mapped.
    name: 'page-accept',
    summary: 'TDG.MEM.PAGE.ACCEPT of one 4K page',
    source: 'builtin',
    cases: {
      tdcall: guest({ call: { leaf: leaf(TDCALL_LEAF['TDG.MEM.PAGE.ACCEPT']), inputs: { rcx: { phys: 4096, align: 4096, fill: 0xee } } } }),
    },
  },
  {
    // tdg_vp_vmcall.c: only the registers selected in RCX go to the VMM; KVM tdx_map_gpa serves MapGPA.
    name: 'vmcall',
    summary: 'TDG.VP.VMCALL MapGPA with RCX = 0xFFCC: only exposed registers reach the VMM and come back',
    source: 'builtin',
    cases: {
      tdcall: guest({
        call: {
          leaf: leaf(TDCALL_LEAF['TDG.VP.VMCALL']),
          inputs: { rcx: EXPOSE_REGS_MASK, r10: 0n, r11: TDVMCALL.MAP_GPA, r12: 0x40000000n, r13: 0x1000n },
        },
      }),
    },
  },
];

/** 6.12 bring-up memory: the TDMR_INFO PA array at PHYS, one TDMR_INFO at PHYS + 0x200 (tdx_api_defs.h tdmr_info_entry_t). */
export const BRINGUP_PHYS = 0x40000000n;
/** One 1 GiB TDMR at 0 whose PAMTs (1G, 2M, 4K: 16 bytes per page) sit in its reserved area at 0x30000000, as the kernel places them. */
export const BRINGUP_TDMR = { base: 0n, size: 1n << 30n, pamt1g: 0x30000000n, pamt2m: 0x30001000n, pamt4k: 0x30003000n, rsvdSize: 0x403000n } as const;
/** The 6.12 kernel's tdx_global_keyid: the first TDX KeyID, MKTME KeyIDs + 1 (the model's default partitioning is 31 + 32). */
export const BRINGUP_GLOBAL_KEYID = 32n;

function bringup(): Scenario {
  const t = BRINGUP_TDMR;
  const S = (leafName: keyof typeof SEAMCALL_LEAF) => BigInt(SEAMCALL_LEAF[leafName]);
  const ok = { status: 0n };
  const step = (l: keyof typeof SEAMCALL_LEAF, inputs: ScenarioCase['call']['inputs'], lp = 0, expect: SequenceStep['expect'] = ok): SequenceStep => ({
    call: { leaf: S(l), inputs }, env: { ...HOST_ENV, lp }, expect,
  });
  const rd = (field: keyof typeof SYS_FIELD, value: bigint) => step('TDH.SYS.RD', { rdx: SYS_FIELD[field] }, 0, { status: 0n, outputs: { r8: value } });
  return {
    name: 'bringup-6.12',
    summary: 'the 6.12 host bring-up against one module: SYS.INIT, LP.INIT on 4 CPUs, 5 × SYS.RD, SYS.CONFIG, KEY.CONFIG on 2 packages, TDMR.INIT until done',
    source: 'builtin',
    cases: {},
    sequence: {
      kind: 'seamcall',
      handler: { model: 'tdx-module', module: { state: 'uninitialized', lps: 4, packages: 2 } },
      memory: [
        { phys: BRINGUP_PHYS, u64: [BRINGUP_PHYS + 0x200n] },
        { phys: BRINGUP_PHYS + 0x200n, u64: [t.base, t.size, t.pamt1g, 0x1000n, t.pamt2m, 0x2000n, t.pamt4k, 0x400000n, t.pamt1g - t.base, t.rsvdSize] },
      ],
      steps: [
        // tdx.c try_init_module_global: RCX = 0 (all attributes reserved).
        step('TDH.SYS.INIT', { rcx: 0n }),
        // tdx_cpu_enable on every CPU.
        ...[0, 1, 2, 3].map((lp) => step('TDH.SYS.LP.INIT', {}, lp)),
        // get_tdx_tdmr_sysinfo: tdh_sys_rd.c / metadata_sys.c values.
        rd('MAX_TDMRS', 64n), rd('MAX_RESERVED_PER_TDMR', 16n), rd('PAMT_4K_ENTRY_SIZE', 16n), rd('PAMT_2M_ENTRY_SIZE', 16n), rd('PAMT_1G_ENTRY_SIZE', 16n),
        // config_tdx_module: RCX = PA array, RDX = 1 TDMR, R8 = global KeyID.
        step('TDH.SYS.CONFIG', { rcx: BRINGUP_PHYS, rdx: 1n, r8: BRINGUP_GLOBAL_KEYID }),
        // config_global_keyid: one CPU per package (LP n is on package n mod 2).
        step('TDH.SYS.KEY.CONFIG', {}, 0), step('TDH.SYS.KEY.CONFIG', {}, 1),
        // init_tdmr: until RDX (next to initialise, rounded down to 1 GiB) reaches the TDMR's end — 256 calls of 4 MiB.
        { ...step('TDH.SYS.TDMR.INIT', { rcx: t.base }, 0, { status: 0n, outputs: { rdx: t.base + t.size } }), repeat: { while: 'rdx', below: t.base + t.size, max: 1024 } },
      ],
    },
  };
}

/** sc_retry (6.12 asm/tdx.h) sees TDX_RND_NO_ENTROPY three times, then success: the model's RNG fails three draws (tdh_sys_init.c). */
function sysInitRetry(): Scenario {
  const s = (status: bigint): SequenceStep => ({ call: SYS_INIT, env: { ...HOST_ENV }, expect: { status } });
  const NO_ENTROPY = 0x8000020300000000n;
  return {
    name: 'sys-init-retry',
    summary: 'TDH.SYS.INIT four times against one module whose RNG fails three draws: TDX_RND_NO_ENTROPY ×3, then TDX_SUCCESS',
    source: 'builtin',
    cases: {},
    sequence: {
      kind: 'seamcall', handler: { model: 'tdx-module', module: { state: 'uninitialized', entropy: 3 } }, memory: [],
      steps: [s(NO_ENTROPY), s(NO_ENTROPY), s(NO_ENTROPY), s(0n)],
    },
  };
}

/** Scenarios of several calls against one SEAM state (`scenario.sequence`); the run layer drives them with a session (session.ts). */
export const BUILTIN_SEQUENCES: readonly Scenario[] = [bringup(), sysInitRetry()];

export function builtinScenario(name: string): Scenario | undefined {
  return BUILTIN_SCENARIOS.find((s) => s.name === name) ?? BUILTIN_SEQUENCES.find((s) => s.name === name);
}
