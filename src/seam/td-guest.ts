/**
 * The TDX module as a TD guest sees it (TDCALL), and the VMM behind
 * TDG.VP.VMCALL. A dispatcher and a leaf table as in tdx-module.ts, over
 * one persistent guest state (its pages' Secure-EPT states, TD-scope
 * metadata, a pending #VE).
 *
 * Follows intel/tdx-module tdx_1.5 src/td_dispatcher/tdx_td_dispatcher.c
 * td_call (RAX bits 63:24 reserved; only TDG.VM.RD has versions; RAX and
 * RIP updated only when no interrupt occurred; a host-priority busy lock
 * reported to the TD as TDX_OPERAND_BUSY) and vm_exits/tdg_*.c per leaf.
 * The VMM (GHCI) side follows the 6.12 guest (arch/x86/coco/tdx/tdx.c) and
 * KVM's handling as recorded in tdx-facts.md §7.
 */
import { STATUS, TDCALL_LEAF, TDVMCALL, type TdcallLeafName } from './codes.js';
import { forbiddenBitsUnchanged, findEntry, isNullFieldId, isSingleElementId, MD_FIELD_ID_NA, nextElement, withContext } from './metadata.js';
import { hex, invalid, ret, status } from './module-kit.js';
import type { BusyRule, ModuleVersion } from './module-state.js';
import { GPR_NAMES } from '../support/registers.js';
import { STATUS_BITS } from './status-table.js';
import type { GprName, Outcome, OutputReg, SeamCall, SeamHandler } from './types.js';

/** What the VMM is given: the exposed registers (others read as 0, as the VMM cannot see them). */
export interface VmcallRequest {
  readonly mask: bigint;
  readonly regs: Readonly<Partial<Record<GprName, bigint>>>;
  /** The TD's guest physical address width (the VMM set it in TD_PARAMS); 48 when not given. */
  readonly gpaw?: number;
}

/** The VMM answers with new values for exposed registers (usually R10 = status, R11… = outputs). */
export interface VmmHandler {
  readonly name: string;
  vmcall(req: VmcallRequest): Partial<Record<GprName, bigint>>;
}

/**
 * A small GHCI VMM: R10 = 0 selects the standard calls, R11 the sub-function.
 * MapGPA (R12 = GPA, R13 = size) as KVM's tdx_map_gpa (arch/x86/kvm/vmx/tdx.c,
 * read in its patch mails): empty, wrapping, beyond the GPA width or
 * straddling the shared bit → TDVMCALL_STATUS_INVALID_OPERAND; not 4 KiB
 * aligned → TDVMCALL_STATUS_ALIGN_ERROR; on error R11 = the GPA. GetTdVmCallInfo succeeds; instruction
 * emulation uses VMX exit-reason numbers (CPUID 10, HLT 12, RDMSR 31,
 * WRMSR 32). Anything else is TDG.VP.VMCALL_INVALID_OPERAND.
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
        const width = BigInt(req.gpaw ?? 48);
        const end = BigInt.asUintN(64, gpa + size);
        const shared = (a: bigint) => (a >> (width - 1n)) & 1n;
        if (end <= gpa || gpa >> width !== 0n || (end - 1n) >> width !== 0n || shared(gpa) !== shared(end - 1n)) {
          return { r10: TDVMCALL.STATUS_INVALID_OPERAND, r11: gpa };
        }
        if ((gpa & page) !== 0n || (size & page) !== 0n) return { r10: TDVMCALL.STATUS_ALIGN_ERROR, r11: gpa };
        return { r10: TDVMCALL.STATUS_SUCCESS };
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

/** A #VE the TD has taken and not yet read (tdx_tdvps.h ve_info). */
export interface VeInfo { exitReason: number; exitQualification: bigint; gla: bigint; gpa: bigint; instLenAndInfo: bigint }

export interface TdGuestConfig {
  version: ModuleVersion;
  /** TDCS GPAW execution control: TDG.VP.INFO gives 52 (MAX_PA_FOR_GPAW) or 48 (MAX_PA_FOR_GPA_NOT_WIDE), x86_defs.h. */
  gpaw: 48 | 52;
  attributes: bigint;
  xfam: bigint;
  numVcpus: number;
  maxVcpus: number;
  /** TD_PARAMS CONFIG_FLAGS: FLEXIBLE_PENDING_VE (bit 1) and NO_RBP_MOD (bit 2). */
  flexiblePendingVe: boolean;
  noRbpMod: boolean;
  /** How the VMM mapped the TD's memory (the physical-memory area): 4 KiB or 2 MiB pages still PENDING, or already accepted. */
  pages: '4k-pending' | '2m-pending' | 'accepted';
  /** Pending-interrupt checks that find one (TDG.MEM.PAGE.ACCEPT of 2 MiB, TDG.MR.REPORT), consumed in order. */
  interrupts: number;
  /** `sept`: TDG.MEM.PAGE.ACCEPT's SEPT-entry lock. `hostRecoverabilityHint`: the VMM re-entered after the host-priority timeout with TDH.VP.ENTER RCX bit 52. */
  busy: readonly (BusyRule & { hostRecoverabilityHint?: boolean })[];
  veInfo?: VeInfo;
  vmm: VmmHandler;
}

export const DEFAULT_TD_GUEST_CONFIG: Readonly<TdGuestConfig> = Object.freeze({
  version: '1.5', gpaw: 48, attributes: 0n, xfam: 0x3n, numVcpus: 4, maxVcpus: 4, flexiblePendingVe: false, noRbpMod: false,
  pages: '4k-pending', interrupts: 0, busy: [], vmm: new GhciVmm(),
});

export const TDREPORT_SIZE = 1024;
export const REPORTDATA_SIZE = 64;

const MB2 = 0x200000n;
type Leaf2m = { kind: 'leaf'; state: 'pending' | 'accepted'; counter: number } | { kind: 'split'; pages: Map<bigint, 'pending' | 'accepted'> };

/** The guest's persistent state. */
export interface TdGuestState {
  /** Secure-EPT entries of 2 MiB regions: a 2 MiB leaf, or a table of 4 KiB leaves. Absent = not mapped. */
  sept: Map<bigint, Leaf2m>;
  notifyEnables: bigint;
  tdCtls: bigint;
  veInfo: VeInfo | undefined;
  interruptsLeft: number;
  busy: { rule: TdGuestConfig['busy'][number]; left: number }[];
}

interface GuestCtx { call: SeamCall; config: TdGuestConfig; state: TdGuestState; version: number }

export class TdGuestModel implements SeamHandler {
  readonly name = 'td-guest';
  readonly config: TdGuestConfig;
  readonly state: TdGuestState;

  constructor(config: Partial<TdGuestConfig> = {}) {
    this.config = { ...DEFAULT_TD_GUEST_CONFIG, ...config };
    this.state = {
      sept: new Map(), notifyEnables: 0n,
      // tdh_mng_init.c: TD_CTLS.PENDING_VE_DISABLE starts as ATTRIBUTES.SEPT_VE_DISABLE (bit 28).
      tdCtls: (this.config.attributes >> 28n) & 1n,
      veInfo: this.config.veInfo, interruptsLeft: this.config.interrupts,
      busy: this.config.busy.map((rule) => ({ rule, left: rule.times ?? 1 })),
    };
  }

  handle(call: SeamCall): Outcome {
    const rax = call.regs.rax;
    if (rax >> 24n !== 0n) return invalid('rax', 'RAX[63:24] not zero');
    const leaf = Number(rax & 0xffffn);
    const version = Number((rax >> 16n) & 0xffn);
    if (version > 0 && leaf !== TDCALL_LEAF['TDG.VM.RD']) return invalid('rax', `TDCALL leaf ${leaf} has no version ${version}`);
    const name = Object.entries(TDCALL_LEAF).find(([, v]) => v === leaf)?.[0] as TdcallLeafName | undefined;
    const entry = name ? GUEST_LEAVES[name] : undefined;
    if (!entry) return invalid('rax', name ? `${name} is not modelled` : `no TDCALL leaf ${leaf}`);
    return entry.handler({ call, config: this.config, state: this.state, version });
  }

  /** The Secure-EPT state of a 4 KiB GPA as the model has it (for tests and reports). */
  pageState(gpa: bigint): 'pending' | 'accepted' | 'unmapped' {
    const e = septEntry(this.config, this.state, gpa, false);
    if (!e) return 'unmapped';
    return e.kind === 'leaf' ? e.state : e.pages.get(gpa & ~0xfffn) ?? 'unmapped';
  }
}

/** The 2 MiB region's entry; TD memory is the physical-memory area, mapped the way `pages` says on first touch. */
function septEntry(c: TdGuestConfig, st: TdGuestState, gpa: bigint, inMemory: boolean): Leaf2m | undefined {
  const base = gpa & ~(MB2 - 1n);
  const known = st.sept.get(base);
  if (known || !inMemory) return known;
  let e: Leaf2m;
  if (c.pages === '2m-pending') e = { kind: 'leaf', state: 'pending', counter: 0 };
  else {
    const pages = new Map<bigint, 'pending' | 'accepted'>();
    for (let p = base; p < base + MB2; p += 0x1000n) pages.set(p, c.pages === 'accepted' ? 'accepted' : 'pending');
    e = { kind: 'split', pages };
  }
  st.sept.set(base, e);
  return e;
}

function interruptPending(st: TdGuestState): boolean {
  if (st.interruptsLeft > 0) {
    st.interruptsLeft--;
    return true;
  }
  return false;
}

/** td_call: a host-priority busy lock is reported to the TD as TDX_OPERAND_BUSY (operand kept); bit 60 if the VMM re-entered with the hint. */
function septBusy(ctx: GuestCtx): Outcome | undefined {
  const b = ctx.state.busy.find((x) => x.rule.lock === 'sept' && x.left > 0);
  if (!b) return undefined;
  b.left--;
  const hint = b.rule.hostPriority && b.rule.hostRecoverabilityHint ? STATUS_BITS.HOST_RECOVERABILITY_HINT : 0n;
  return ret(STATUS.TDX_OPERAND_BUSY | 1n | hint, undefined, `SEPT entry locked by the host${b.rule.hostPriority ? ' (host priority: reported as TDX_OPERAND_BUSY)' : ''}`);
}

/** check_gpa_validity (helpers.c), private only: shared bit (GPAW − 1) clear, nothing at or above bit 52, bits 51:48 clear for GPAW 48. */
function privateGpaOk(c: TdGuestConfig, gpa: bigint): boolean {
  if ((gpa >> BigInt(c.gpaw - 1)) & 1n) return false;
  if (gpa >> 52n !== 0n) return false;
  return c.gpaw === 52 || gpa >> 48n === 0n;
}

/**
 * TDG.MEM.PAGE.ACCEPT (tdg_mem_page_accept.c): RCX = GPA | level (0 = 4 KiB,
 * 1 = 2 MiB). Already accepted → TDX_PAGE_ALREADY_ACCEPTED + the level where
 * the walk stopped; 2 MiB over 4 KiB leaves → TDX_PAGE_SIZE_MISMATCH + 1;
 * a GPA the VMM has not mapped as pending (here: outside TD memory, or a
 * 4 KiB accept inside a pending 2 MiB leaf) → an EPT-violation TD exit, so
 * the TDCALL re-executes when the VMM resumes the TD; a 2 MiB accept stops
 * at a pending interrupt and re-executes, resuming its counter.
 */
function pageAccept(ctx: GuestCtx): Outcome {
  const rcx = ctx.call.regs.rcx;
  const level = Number(rcx & 7n);
  const gpa = rcx & 0x000FFFFFFFFFF000n;
  const size = level === 0 ? 0x1000n : MB2;
  if ((rcx & 0xff8n) !== 0n || rcx >> 52n !== 0n || level > 1 || gpa % size !== 0n) return invalid('rcx', `${hex(rcx)}: reserved bits, level ${level} or alignment`);
  if (!privateGpaOk(ctx.config, gpa)) return invalid('rcx', `GPA ${hex(gpa)} is not a valid private GPA for GPAW ${ctx.config.gpaw}`);
  const mem = ctx.call.mem;
  const e = septEntry(ctx.config, ctx.state, gpa, mem.contains(gpa, Number(size)));
  const violation = (why: string): Outcome => ({ kind: 'interrupted', note: `EPT violation TD exit (${why}); the TDCALL runs again when the VMM resumes the TD` });
  // api_error_with_operand_id(status, ept_level): bits 31:0 are the SEPT level where the walk stopped.
  const atLevel = (name: 'TDX_PAGE_ALREADY_ACCEPTED' | 'TDX_PAGE_SIZE_MISMATCH', lvl: number, note: string) => ret(STATUS[name] | BigInt(lvl), undefined, note);
  if (!e) return violation(`GPA ${hex(gpa)} is not mapped for this TD`);
  // The walk stops above the requested level at a 2 MiB leaf: accepted → already accepted (level 1), pending → violation.
  if (level === 0 && e.kind === 'leaf') {
    if (e.state === 'accepted') return atLevel('TDX_PAGE_ALREADY_ACCEPTED', 1, `${hex(gpa)} is inside an accepted 2 MiB page`);
    return violation(`${hex(gpa)} is inside a pending 2 MiB page`);
  }
  // check_tdaccept_failure then locks the entry, and only then looks at its size and state.
  const busy = septBusy(ctx);
  if (busy) return busy;
  if (level === 1 && e.kind === 'split') return atLevel('TDX_PAGE_SIZE_MISMATCH', 1, `${hex(gpa)} is mapped with 4 KiB pages`);
  if (e.kind === 'split') {
    const st = e.pages.get(gpa)!;
    if (st === 'accepted') return atLevel('TDX_PAGE_ALREADY_ACCEPTED', 0, `4 KiB page ${hex(gpa)} already accepted`);
    mem.write(gpa, new Uint8Array(0x1000));
    e.pages.set(gpa, 'accepted');
    return ret(STATUS.TDX_SUCCESS, undefined, `4 KiB page ${hex(gpa)} accepted and zeroed`);
  }
  if (e.state === 'accepted') return atLevel('TDX_PAGE_ALREADY_ACCEPTED', 1, `2 MiB page ${hex(gpa)} already accepted`);
  // init_sept_4k_page per 4 KiB, checking for a pending interrupt between them (accept_counter kept in the SEPT entry).
  for (;;) {
    mem.write(gpa + BigInt(e.counter) * 0x1000n, new Uint8Array(0x1000));
    if (e.counter === 511) break;
    e.counter++;
    if (interruptPending(ctx.state)) return { kind: 'interrupted', note: `interrupt pending after ${e.counter} of 512 pages of ${hex(gpa)}; the TDCALL runs again and continues` };
  }
  e.counter = 0;
  e.state = 'accepted';
  return ret(STATUS.TDX_SUCCESS, undefined, `2 MiB page ${hex(gpa)} accepted and zeroed`);
}

/** TDG.VP.INFO (tdg_vp_info.c): RCX = GPAW, RDX = attributes, R8 = NUM_VCPUS | MAX_VCPUS << 32, R9 = VCPU index, R10 = commands available (1.0: 0), R11 = 0. */
function vpInfo(ctx: GuestCtx): Outcome {
  const c = ctx.config;
  // tdg_commands_available_t bit 0: TDG.SYS.RD available (1.5 and 2.0); the 1.0 source writes R10 = 0 ("reserved").
  const commands = c.version === '1.0' ? 0n : 1n;
  return ret(STATUS.TDX_SUCCESS, {
    rcx: BigInt(c.gpaw), rdx: c.attributes, r8: BigInt(c.numVcpus) | (BigInt(c.maxVcpus) << 32n), r9: BigInt(ctx.call.env.lp), r10: commands, r11: 0n,
  }, `GPAW ${c.gpaw}, ${c.numVcpus}/${c.maxVcpus} VCPUs, VCPU ${ctx.call.env.lp}${commands ? ', TDG.SYS.RD available' : ''}`);
}

/**
 * TDG.MR.REPORT (tdg_mr_report.c): RCX = TDREPORT_STRUCT (1 KiB-aligned),
 * RDX = REPORTDATA (64-byte-aligned), R8 = sub-type 0; a pending interrupt
 * before the report is built → re-execute. The report: REPORTTYPE 0x81
 * (TDX), subtype 0, version 0; REPORTDATA at 128; TDINFO at 512 with the
 * TD's ATTRIBUTES and XFAM. Measurements, CPUSVN, TEE_TCB_INFO and the MAC
 * are not modelled (zero).
 */
function mrReport(ctx: GuestCtx): Outcome {
  const { rcx, rdx, r8 } = ctx.call.regs;
  const mem = ctx.call.mem;
  if (rcx % 1024n !== 0n) return invalid('rcx', 'TDREPORT_STRUCT not 1024-aligned');
  if (rdx % 64n !== 0n) return invalid('rdx', 'REPORTDATA not 64-aligned');
  if (!mem.contains(rdx, REPORTDATA_SIZE)) return invalid('rdx', 'REPORTDATA is not TD memory');
  if (r8 !== 0n) return invalid('r8', `sub-type ${r8}`);
  if (interruptPending(ctx.state)) return { kind: 'interrupted', note: 'interrupt pending: TDG.MR.REPORT runs again after it is handled' };
  if (!mem.contains(rcx, TDREPORT_SIZE)) return invalid('rcx', 'TDREPORT_STRUCT is not TD memory');
  const report = new Uint8Array(TDREPORT_SIZE);
  report[0] = 0x81;
  report.set(mem.read(rdx, REPORTDATA_SIZE), 128);
  const dv = new DataView(report.buffer);
  dv.setBigUint64(512, ctx.config.attributes, true);
  dv.setBigUint64(520, ctx.config.xfam, true);
  mem.write(rcx, report);
  return ret(STATUS.TDX_SUCCESS, undefined, 'TDREPORT written (measurements and MAC not modelled)');
}

/** TDG.VP.VEINFO.GET (tdg_vp_veinfo_get.c): RCX, RDX, R8–R10 zeroed first; no valid #VE info → TDX_NO_VALID_VE_INFO. */
function veinfoGet(ctx: GuestCtx): Outcome {
  const zero = { rcx: 0n, rdx: 0n, r8: 0n, r9: 0n, r10: 0n };
  const ve = ctx.state.veInfo;
  if (!ve) return status('TDX_NO_VALID_VE_INFO', 'no #VE information pending', zero);
  ctx.state.veInfo = undefined;
  return ret(STATUS.TDX_SUCCESS, { rcx: BigInt(ve.exitReason), rdx: ve.exitQualification, r8: ve.gla, r9: ve.gpa, r10: ve.instLenAndInfo }, `#VE: exit reason ${ve.exitReason}, GPA ${hex(ve.gpa)}`);
}

/** TD-scope field values the model knows (tdr_tdcs_fields_lookup.c names); others read as 0. */
function tdFieldValue(ctx: GuestCtx, name: string): bigint | undefined {
  const c = ctx.config;
  switch (name) {
    case 'NUM_VCPUS': return BigInt(c.numVcpus);
    case 'MAX_VCPUS': return BigInt(c.maxVcpus);
    case 'NUM_L2_VMS': return 0n;
    case 'ATTRIBUTES': return c.attributes;
    case 'XFAM': return c.xfam;
    case 'GPAW': return c.gpaw === 52 ? 1n : 0n;
    case 'NOTIFY_ENABLES': return ctx.state.notifyEnables;
    case 'CONFIG_FLAGS': return (c.gpaw === 52 ? 1n : 0n) | (c.flexiblePendingVe ? 2n : 0n) | (c.noRbpMod ? 4n : 0n);
    case 'TD_CTLS': return ctx.state.tdCtls;
    default: return undefined;
  }
}

/**
 * TDG.VM.RD / TDG.VM.WR (tdg_vm_rd_wr.c): RDX = field id, RCX = VM (0),
 * R8 = value / write value, R9 = write mask. R8 = 0 first, and for RD v1
 * RDX = MD_FIELD_ID_NA first and the next readable field on success; RD
 * above v1 → TDX_OPERAND_INVALID|RAX. Writes follow md_td_write_element:
 * nothing writable under the mask → TDX_METADATA_FIELD_NOT_WRITABLE; a
 * non-writable bit changed → TDX_METADATA_FIELD_VALUE_NOT_VALID; TD_CTLS's
 * PENDING_VE_DISABLE only with CONFIG_FLAGS.FLEXIBLE_PENDING_VE; R8 = the old value.
 */
function vmRdWr(ctx: GuestCtx, write: boolean): Outcome {
  const { rcx, rdx, r8, r9 } = ctx.call.regs;
  const out: Partial<Record<OutputReg, bigint>> = { r8: 0n };
  if (!write && ctx.version > 0) out.rdx = MD_FIELD_ID_NA;
  if (!write && ctx.version > 1) return invalid('rax', `TDG.VM.RD has no version ${ctx.version}`, out);
  if (rcx !== 0n) return invalid('rcx', `VM ${rcx}: only the L1 VM (0)`, out);
  const id = withContext(rdx, 'td');
  if (!write && ctx.version > 0 && isNullFieldId(id)) return status('TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT', 'null field id: RDX = the first field', { ...out, rdx: nextElement('td', id) });
  if (!isSingleElementId(id)) return status('TDX_METADATA_FIELD_ID_INCORRECT', `${hex(rdx)} is not a single-element field id`, out);
  const found = findEntry('td', id);
  if (!found) return status('TDX_METADATA_FIELD_ID_INCORRECT', `no TD-scope field ${hex(rdx)}`, out);
  const e = found.entry;
  const known = tdFieldValue(ctx, e.name);
  const old = known ?? 0n;
  if (!write) {
    if (e.rdMask === 0n) return status('TDX_METADATA_FIELD_NOT_READABLE', `${e.name} is not readable by the TD`, out);
    const regs: Partial<Record<OutputReg, bigint>> = { r8: old & e.rdMask };
    if (ctx.version > 0) regs.rdx = nextElement('td', id);
    return ret(STATUS.TDX_SUCCESS, regs, `${e.name} = ${hex(old & e.rdMask)}${known === undefined ? ' (value not modelled)' : ''}`);
  }
  const combined = e.wrMask & r9;
  if (combined === 0n) return status('TDX_METADATA_FIELD_NOT_WRITABLE', `${e.name} is not writable by the TD under mask ${hex(r9)}`, out);
  if (!forbiddenBitsUnchanged(old, r8, r9, e.wrMask)) return status('TDX_METADATA_FIELD_VALUE_NOT_VALID', `${e.name}: only bits ${hex(e.wrMask)} may change`, out);
  const next = (old & ~combined) | (r8 & combined);
  if (e.name === 'TD_CTLS' && !ctx.config.flexiblePendingVe && ((next ^ old) & 1n)) return status('TDX_METADATA_FIELD_VALUE_NOT_VALID', 'PENDING_VE_DISABLE needs CONFIG_FLAGS.FLEXIBLE_PENDING_VE', out);
  if (e.name === 'TD_CTLS') ctx.state.tdCtls = next;
  else if (e.name === 'NOTIFY_ENABLES') ctx.state.notifyEnables = next;
  return ret(STATUS.TDX_SUCCESS, { r8: old & e.rdMask }, `${e.name}: ${hex(old)} → ${hex(next)}`);
}

/**
 * TDG.VP.VMCALL (tdg_vp_vmcall.c): RCX is a tdvmcall_control — GPRs to
 * expose in bits 15:0 (RAX, RCX, RSP, and with NO_RBP_MOD RBP, may not be),
 * XMMs in 31:16, bits 63:32 reserved. Only exposed registers reach the VMM
 * and only they come back with the VMM's values (tdh_vp_enter.c
 * save_regs_after_tdvmcall); RAX = 0, RCX unchanged; the VMM's status is in R10 (GHCI).
 */
function vmcall(ctx: GuestCtx): Outcome {
  const mask = ctx.call.regs.rcx;
  const never = (1n << 0n) | (1n << 1n) | (1n << 4n) | (ctx.config.noRbpMod ? 1n << 5n : 0n);
  if (mask >> 32n !== 0n) return invalid('rcx', 'tdvmcall_control bits 63:32 reserved');
  if ((mask & never) !== 0n) return invalid('rcx', `RAX, RCX, RSP${ctx.config.noRbpMod ? ' or RBP (NO_RBP_MOD)' : ''} exposed`);
  const exposed: GprName[] = [];
  for (let i = 0; i < 16; i++) if ((mask >> BigInt(i)) & 1n) exposed.push(GPR_NAMES[i]!);
  const view: Partial<Record<GprName, bigint>> = {};
  for (const r of exposed) view[r] = ctx.call.regs[r];
  const answer = ctx.config.vmm.vmcall({ mask, regs: view, gpaw: ctx.config.gpaw });
  const regs: Partial<Record<OutputReg, bigint>> = {};
  const ignored: string[] = [];
  for (const r of exposed) regs[r as OutputReg] = view[r]!;
  for (const [r, v] of Object.entries(answer)) {
    if (exposed.includes(r as GprName)) regs[r as OutputReg] = v;
    else ignored.push(r);
  }
  const note = `VMM ${ctx.config.vmm.name}: R10 = 0x${(regs.r10 ?? 0n).toString(16)}; exposed ${exposed.join(' ') || 'none'}`
    + (ignored.length ? `; not exposed, dropped: ${ignored.join(' ')}` : '');
  return ret(STATUS.TDX_SUCCESS, regs, note);
}

interface GuestLeaf { handler: (ctx: GuestCtx) => Outcome; source: string }

/** The modelled TDCALL leaves, leaf name → handler (the rest answer TDX_OPERAND_INVALID|RAX with a note). */
export const GUEST_LEAVES: Readonly<Partial<Record<TdcallLeafName, GuestLeaf>>> = {
  'TDG.VP.VMCALL': { handler: vmcall, source: 'tdg_vp_vmcall.c' },
  'TDG.VP.INFO': { handler: vpInfo, source: 'tdg_vp_info.c' },
  'TDG.VP.VEINFO.GET': { handler: veinfoGet, source: 'tdg_vp_veinfo_get.c' },
  'TDG.MR.REPORT': { handler: mrReport, source: 'tdg_mr_report.c' },
  'TDG.MEM.PAGE.ACCEPT': { handler: pageAccept, source: 'tdg_mem_page_accept.c' },
  'TDG.VM.RD': { handler: (c) => vmRdWr(c, false), source: 'tdg_vm_rd_wr.c' },
  'TDG.VM.WR': { handler: (c) => vmRdWr(c, true), source: 'tdg_vm_rd_wr.c' },
};
