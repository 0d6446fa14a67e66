/**
 * What the CPU decides before any SEAM software is asked (Intel SDM,
 * SEAMCALL and TDCALL "Protected Mode Exceptions"; KVM commit 9d7dfb95da2c
 * for the order of the CPL check):
 *
 * SEAMCALL: #UD outside VMX operation (e.g. after VMXOFF); #GP(0) at CPL > 0;
 *           #GP(0) when the SEAM range register is not enabled
 *           (IA32_SEAMRR_PHYS_MASK bit 11 clear: "TDX isn't enabled by the BIOS");
 *           inside a TD it exits to the TDX module, which does not serve it (#UD).
 * TDCALL:   #UD outside SEAM/VMX non-root (not in a TD); #GP(0) at CPL > 0.
 */
import type { CpuEnv, Outcome, SeamCall, SeamHandler, SeamKind } from './types.js';

export function environmentFault(kind: SeamKind, env: Readonly<CpuEnv>): Outcome | undefined {
  if (kind === 'seamcall') {
    if (env.inTd) return { kind: 'fault', vector: 'UD', note: 'SEAMCALL inside a TD' };
    if (!env.vmx) return { kind: 'fault', vector: 'UD', note: 'not in VMX operation' };
    if (env.cpl !== 0) return { kind: 'fault', vector: 'GP', note: `CPL ${env.cpl} > 0` };
    if (!env.seamrr) return { kind: 'fault', vector: 'GP', note: 'SEAM range register not enabled' };
    return undefined;
  }
  if (!env.inTd) return { kind: 'fault', vector: 'UD', note: 'TDCALL outside a TD' };
  if (env.cpl !== 0) return { kind: 'fault', vector: 'GP', note: `CPL ${env.cpl} > 0` };
  return undefined;
}

/** The function the machine calls at each trap: the environment first, then the handler. */
export function serveWithEnvironment(handler: SeamHandler): (call: SeamCall) => Outcome {
  return (call) => environmentFault(call.kind, call.env) ?? handler.handle(call);
}
