/**
 * What the CPU decides before any SEAM software is asked (Intel SDM,
 * SEAMCALL and TDCALL "Protected Mode Exceptions"; KVM commit 9d7dfb95da2c,
 * tested on Sapphire and Emerald Rapids, for the order of the CPL check),
 * and what it does with a TDCALL's answer.
 *
 * SEAMCALL: #UD outside VMX operation (e.g. after VMXOFF); then #GP(0) at
 *           CPL > 0 — before the VMX non-root check, so a TD at CPL 3 gets
 *           #GP too; inside a TD (VMX non-root) it exits to the TDX module,
 *           which does not serve it (#UD); #GP(0) when the SEAM range
 *           register is not enabled (IA32_SEAMRR_PHYS_MASK bit 11 clear:
 *           "TDX isn't enabled by the BIOS").
 * TDCALL:   #UD outside SEAM/VMX non-root (not in a TD); #GP(0) at CPL > 0.
 *           It has no VMfail outcome. A returning TDCALL leaves the TD's
 *           RFLAGS as they were: the module resumes the TD without writing
 *           them (tdx_td_dispatcher.c td_call writes RAX only).
 */
import { SeamlabError } from '../errors.js';
import type { CpuEnv, Outcome, SeamCall, SeamHandler, SeamKind } from './types.js';

export function environmentFault(kind: SeamKind, env: Readonly<CpuEnv>): Outcome | undefined {
  if (kind === 'seamcall') {
    if (!env.inTd && !env.vmx) return { kind: 'fault', vector: 'UD', note: 'not in VMX operation' };
    if (env.cpl !== 0) return { kind: 'fault', vector: 'GP', note: `CPL ${env.cpl} > 0` };
    if (env.inTd) return { kind: 'fault', vector: 'UD', note: 'SEAMCALL inside a TD' };
    if (!env.seamrr) return { kind: 'fault', vector: 'GP', note: 'SEAM range register not enabled' };
    return undefined;
  }
  if (!env.inTd) return { kind: 'fault', vector: 'UD', note: 'TDCALL outside a TD' };
  if (env.cpl !== 0) return { kind: 'fault', vector: 'GP', note: `CPL ${env.cpl} > 0` };
  return undefined;
}

/**
 * The answer as the CPU applies it: a TDCALL `return` keeps the TD's RFLAGS
 * unless the handler said otherwise; a TDCALL cannot end in VMfailInvalid or
 * VMfailValid (SDM TDCALL: #UD, #GP(0) or a VM exit only), so such an answer
 * from a handler is an error, not something to apply.
 */
export function asCpuApplies(kind: SeamKind, o: Outcome): Outcome {
  if (kind !== 'tdcall' || !o || typeof o !== 'object') return o;
  if (o.kind === 'vmfailinvalid' || o.kind === 'vmfailvalid') {
    throw new SeamlabError('SEAM_BAD_OUTCOME', `the handler answered a TDCALL with ${o.kind === 'vmfailinvalid' ? 'VMfailInvalid' : 'VMfailValid'}, which TDCALL cannot produce`,
      "answer a TDCALL with { kind: 'return' }, { kind: 'fault' } or { kind: 'interrupted' } (Intel SDM TDCALL has no VMfail outcome)");
  }
  return o.kind === 'return' && o.flags === undefined ? { ...o, flags: 'preserve' } : o;
}

/** The function the machine calls at each trap: the environment first, then the handler. */
export function serveWithEnvironment(handler: SeamHandler): (call: SeamCall) => Outcome {
  return (call) => environmentFault(call.kind, call.env) ?? asCpuApplies(call.kind, handler.handle(call));
}
