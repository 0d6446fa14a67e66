/**
 * The built-in scenarios (`seamlab scenarios`). Each is an ordinary scenario:
 * a logical call, an environment and a handler from the models in this folder.
 * Host cases run against SEAMCALL entry points, guest cases against TDCALL ones.
 */
import { SEAMCALL_LEAF, SEAMLDR_LEAF, SYS_FIELD, TDCALL_LEAF, TDVMCALL } from './codes.js';
import type { Scenario, ScenarioCase } from './scenario.js';
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
    name: 'success',
    summary: 'success with outputs: TDH.SYS.RD MAX_TDMRS → R8 = 64 (host); TDG.VP.INFO (guest)',
    source: 'builtin',
    cases: { seamcall: host({ call: SYS_RD_MAX_TDMRS }), tdcall: guest({ call: VP_INFO }) },
  },
  {
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
    name: 'no-entropy',
    summary: 'TDH.SYS.KEY.CONFIG while the RNG has no entropy → TDX_RND_NO_ENTROPY',
    source: 'builtin',
    cases: {
      seamcall: host({
        call: { leaf: leaf(SEAMCALL_LEAF['TDH.SYS.KEY.CONFIG']), inputs: {} },
        handler: { model: 'tdx-module', module: { state: 'config-done', entropy: false } },
      }),
    },
  },
  {
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
    name: 'seamldr-info',
    summary: 'SEAMLDR.INFO (RAX bit 63): the P-SEAMLDR writes p_seamldr_info at RCX',
    source: 'builtin',
    cases: {
      seamcall: host({ call: { leaf: SEAMLDR_LEAF['SEAMLDR.INFO'], inputs: { rcx: { phys: 256, align: 256 } } } }),
    },
  },
  {
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
    name: 'page-accept',
    summary: 'TDG.MEM.PAGE.ACCEPT of one 4K page',
    source: 'builtin',
    cases: {
      tdcall: guest({ call: { leaf: leaf(TDCALL_LEAF['TDG.MEM.PAGE.ACCEPT']), inputs: { rcx: { phys: 4096, align: 4096, fill: 0xee } } } }),
    },
  },
  {
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

export function builtinScenario(name: string): Scenario | undefined {
  return BUILTIN_SCENARIOS.find((s) => s.name === name);
}
