/**
 * The TDX module as a TD guest sees it (TDCALL), and the VMM behind
 * TDG.VP.VMCALL.
 *
 * TDG.VP.VMCALL: RCX is a tdvmcall_control (tdx_api_defs.h): bits 15:0 select
 * the GPRs exposed to the VMM, bits 31:16 XMM registers, bits 63:32 are
 * reserved. Only exposed registers reach the VMM and only they come back with
 * the VMM's values; every other register is preserved. The TDX module's own
 * status is RAX (0); the VMM's status comes back in R10 (GHCI).
 */
import { OPERAND_ID, STATUS, TDCALL_LEAF, TDVMCALL } from './codes.js';
import { GPR_NAMES } from '../support/registers.js';
import type { GprName, Outcome, OutputReg, SeamCall, SeamHandler } from './types.js';

/** tdvmcall_control bit i exposes GPR i (hardware encoding order). */

/** RAX carries the leaf, RCX the control word, RSP cannot leave the TD: these bits must be clear. */
const NEVER_EXPOSED = (1n << 0n) | (1n << 1n) | (1n << 4n);

/** What the VMM is given: the exposed registers (others read as 0, as the VMM cannot see them). */
export interface VmcallRequest {
  readonly mask: bigint;
  readonly regs: Readonly<Partial<Record<GprName, bigint>>>;
}

/** The VMM answers with new values for exposed registers (usually R10 = status, R11… = outputs). */
export interface VmmHandler {
  readonly name: string;
  vmcall(req: VmcallRequest): Partial<Record<GprName, bigint>>;
}

/**
 * A small GHCI VMM: R10 = 0 selects the standard calls, R11 the sub-function.
 * MAP_GPA (R12 = GPA, R13 = size, both 4K-aligned) and GetTdVmCallInfo succeed;
 * instruction emulation uses VMX exit-reason numbers (CPUID 10, HLT 12,
 * RDMSR 31, WRMSR 32). Anything else is TDG.VP.VMCALL_INVALID_OPERAND.
 */
export class GhciVmm implements VmmHandler {
  readonly name = 'ghci-vmm';

  vmcall(req: VmcallRequest): Partial<Record<GprName, bigint>> {
    const r = req.regs;
    const fail = { r10: TDVMCALL.STATUS_INVALID_OPERAND };
    if ((r.r10 ?? 0n) !== 0n) return fail;
    const fn = r.r11 ?? 0n;
    const page = 0xfffn;
    switch (fn) {
      case TDVMCALL.MAP_GPA: {
        const gpa = r.r12 ?? 0n;
        const size = r.r13 ?? 0n;
        return (gpa & page) === 0n && (size & page) === 0n && size !== 0n ? { r10: TDVMCALL.STATUS_SUCCESS } : fail;
      }
      case TDVMCALL.GET_TD_VM_CALL_INFO:
        return { r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n };
      case 10n: {
        // CPUID leaf 0: max basic leaf and "GenuineIntel" in EBX, EDX, ECX.
        const leaf = r.r12 ?? 0n;
        return leaf === 0n
          ? { r10: 0n, r12: 0x21n, r13: 0x756e6547n, r14: 0x6c65746en, r15: 0x49656e69n }
          : { r10: 0n, r12: 0n, r13: 0n, r14: 0n, r15: 0n };
      }
      case 12n: // HLT
        return { r10: 0n };
      case 31n: // RDMSR: R12 = MSR, value in R11
        return { r10: 0n, r11: 0n };
      case 32n: // WRMSR
        return { r10: 0n };
      default:
        return fail;
    }
  }
}

export interface TdGuestConfig {
  /** Guest physical address width TDG.VP.INFO reports. */
  gpaw: number;
  attributes: bigint;
  numVcpus: number;
  maxVcpus: number;
  vmm: VmmHandler;
}

export const DEFAULT_TD_GUEST_CONFIG: Readonly<TdGuestConfig> = Object.freeze({
  gpaw: 48, attributes: 0n, numVcpus: 4, maxVcpus: 4, vmm: new GhciVmm(),
});

export const TDREPORT_SIZE = 1024;
export const REPORTDATA_SIZE = 64;

function invalid(operand: keyof typeof OPERAND_ID, note: string): Outcome {
  return { kind: 'return', rax: STATUS.TDX_OPERAND_INVALID | OPERAND_ID[operand], note };
}

export class TdGuestModel implements SeamHandler {
  readonly name = 'td-guest';
  readonly config: TdGuestConfig;

  constructor(config: Partial<TdGuestConfig> = {}) {
    this.config = { ...DEFAULT_TD_GUEST_CONFIG, ...config };
  }

  handle(call: SeamCall): Outcome {
    const rax = call.regs.rax;
    if (rax >> 16n !== 0n) return invalid('rax', 'RAX[63:16] not zero');
    switch (Number(rax)) {
      case TDCALL_LEAF['TDG.VP.VMCALL']: return this.vmcall(call);
      case TDCALL_LEAF['TDG.VP.INFO']: return this.vpInfo(call);
      case TDCALL_LEAF['TDG.MR.REPORT']: return this.mrReport(call);
      case TDCALL_LEAF['TDG.MEM.PAGE.ACCEPT']: return this.pageAccept(call);
      default: return invalid('rax', `TDCALL leaf ${rax} is not modelled`);
    }
  }

  /** TDG.VP.INFO: RCX = GPAW, RDX = TD attributes, R8 = NUM_VCPUS | MAX_VCPUS << 32, R9 = VCPU index, R10/R11 = 0. */
  private vpInfo(call: SeamCall): Outcome {
    const c = this.config;
    return {
      kind: 'return', rax: STATUS.TDX_SUCCESS,
      regs: { rcx: BigInt(c.gpaw), rdx: c.attributes, r8: BigInt(c.numVcpus) | (BigInt(c.maxVcpus) << 32n), r9: BigInt(call.env.lp), r10: 0n, r11: 0n },
      note: `GPAW ${c.gpaw}, ${c.numVcpus}/${c.maxVcpus} VCPUs, VCPU ${call.env.lp}`,
    };
  }

  /**
   * TDG.MR.REPORT: RCX = TDREPORT_STRUCT PA (1024-aligned), RDX = REPORTDATA PA
   * (64-aligned), R8 = sub-type 0. The REPORTMACSTRUCT's REPORTDATA is at
   * offset 128; TEE_TCB_INFO at 256 and TDINFO at 512 are filled with a
   * recognisable pattern.
   */
  private mrReport(call: SeamCall): Outcome {
    const { rcx, rdx, r8 } = call.regs;
    if (rcx % 1024n !== 0n || !call.mem.contains(rcx, TDREPORT_SIZE)) return invalid('rcx', 'TDREPORT_STRUCT not 1024-aligned physical memory');
    if (rdx % 64n !== 0n || !call.mem.contains(rdx, REPORTDATA_SIZE)) return invalid('rdx', 'REPORTDATA not 64-aligned physical memory');
    if (r8 !== 0n) return invalid('r8', `sub-type ${r8}`);
    const report = new Uint8Array(TDREPORT_SIZE);
    report[0] = 0x81; // REPORTTYPE.TYPE: TDX
    for (let i = 256; i < TDREPORT_SIZE; i++) report[i] = i & 0xff;
    report.set(call.mem.read(rdx, REPORTDATA_SIZE), 128);
    call.mem.write(rcx, report);
    return { kind: 'return', rax: STATUS.TDX_SUCCESS, note: 'TDREPORT written' };
  }

  /** TDG.MEM.PAGE.ACCEPT: RCX = GPA | level (bits 2:0, 0 = 4K, 1 = 2M). An accepted page reads as zeros. */
  private pageAccept(call: SeamCall): Outcome {
    const rcx = call.regs.rcx;
    const level = rcx & 7n;
    if (level > 1n) return invalid('rcx', `page level ${level}`);
    const size = level === 0n ? 0x1000n : 0x200000n;
    const gpa = rcx & ~0xfffn;
    if (gpa % size !== 0n) return invalid('rcx', `GPA 0x${gpa.toString(16)} not aligned to its level`);
    if (call.mem.contains(gpa, Number(size))) call.mem.write(gpa, new Uint8Array(Number(size)));
    return { kind: 'return', rax: STATUS.TDX_SUCCESS, note: `${level === 0n ? '4K' : '2M'} page 0x${gpa.toString(16)} accepted` };
  }

  private vmcall(call: SeamCall): Outcome {
    const mask = call.regs.rcx;
    if (mask >> 32n !== 0n) return invalid('rcx', 'tdvmcall_control bits 63:32 reserved');
    if ((mask & NEVER_EXPOSED) !== 0n) return invalid('rcx', 'RAX, RCX or RSP exposed');
    const exposed: GprName[] = [];
    for (let i = 0; i < 16; i++) if ((mask >> BigInt(i)) & 1n) exposed.push(GPR_NAMES[i]!);
    const view: Partial<Record<GprName, bigint>> = {};
    for (const r of exposed) view[r] = call.regs[r];
    const answer = this.config.vmm.vmcall({ mask, regs: view });
    const regs: Partial<Record<OutputReg, bigint>> = {};
    const ignored: string[] = [];
    for (const r of exposed) regs[r as OutputReg] = view[r]!;
    for (const [r, v] of Object.entries(answer)) {
      if (exposed.includes(r as GprName)) regs[r as OutputReg] = v;
      else ignored.push(r);
    }
    const vmmStatus = regs.r10;
    const note = `VMM ${this.config.vmm.name}: R10 = 0x${(vmmStatus ?? 0n).toString(16)}; exposed ${exposed.join(' ') || 'none'}`
      + (ignored.length ? `; not exposed, dropped: ${ignored.join(' ')}` : '');
    return { kind: 'return', rax: STATUS.TDX_SUCCESS, regs, note };
  }
}
