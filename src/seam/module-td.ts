/**
 * The TDX module's TD-management and physical-memory leaves that kernel
 * code calls: the 6.12 machine-check path's TDH.PHYMEM.PAGE.RDMD
 * (arch/x86/virt/vmx/tdx/tdx.c paddr_is_tdx_private), and the KVM TDX
 * leaves TDH.MNG.CREATE / KEY.CONFIG / ADDCX / INIT, TDH.MEM.PAGE.ADD /
 * AUG, TDH.PHYMEM.CACHE.WB and TDH.VP.ENTER. Each follows the
 * same-named file of intel/tdx-module tdx_1.5 (src/vmm_dispatcher/api_calls/,
 * src/td_transitions/tdh_vp_enter.c) in its check order and statuses.
 *
 * Simplifications, said where they apply: the Secure EPT is a map of
 * GPA → page (every SEPT level is taken as present), TD_PARAMS is checked
 * for ATTRIBUTES, XFAM, MAX_VCPUS and NUM_L2_VMS only, and a VCPU's run
 * is its configured list of exits (what the TD does is not simulated).
 */
import { STATUS } from './codes.js';
import { ATTRIBUTES_FIXED0, ATTRIBUTES_FIXED1, programKey, XFAM_FIXED0, XFAM_FIXED1 } from './module-sys.js';
import { checkPrivatePage, coveringTdmr, hex, hpaOk, invalid, isPrivateHkid, lockBusy, packageOf, pamtEntry, ret, sharedHpaOk, status, withOperand, type LeafContext } from './module-kit.js';
import { drawEntropy, interruptPending, PAGE_TYPE, type TdOpState, type TdState, type VcpuState } from './module-state.js';
import { GPR_NAMES } from '../support/registers.js';
import type { Outcome, OutputReg } from './types.js';

/** td_control_structures.h MIN_NUM_TDCS_PAGES 6, MAX_NUM_TDCS_PAGES 9; MAX_L2_VMS 3. */
const MIN_TDCS_PAGES = 6;
const MAX_TDCS_PAGES = 9;
const MAX_L2_VMS = 3;

/** op_state_lookup.c seamcall_state_lookup rows for the modelled leaves (OP_STATE_UNINITIALIZED/INITIALIZED/RUNNABLE columns). */
const OP_ALLOWED: Record<string, readonly TdOpState[]> = {
  'TDH.VP.ENTER': ['runnable'], 'TDH.MNG.ADDCX': ['uninitialized'], 'TDH.MEM.PAGE.ADD': ['initialized'],
  'TDH.MEM.PAGE.AUG': ['initialized', 'runnable'], 'TDH.MNG.INIT': ['uninitialized'],
  // Rows 7, 15 and 38 (module-sept.ts).
  'TDH.MEM.RANGE.BLOCK': ['initialized', 'runnable'], 'TDH.MEM.PAGE.DEMOTE': ['initialized', 'runnable'], 'TDH.MEM.TRACK': ['initialized', 'runnable'],
};

/** TDH.PHYMEM.PAGE.RDMD (tdh_phymem_page_rdmd.c): RCX, RDX, R8–R11 zeroed first; RCX = page type, RDX = owner, R8 = size, R9 = BEPOCH. */
export function phymemPageRdmd(ctx: LeafContext): Outcome {
  const zero = { rcx: 0n, rdx: 0n, r8: 0n, r9: 0n, r10: 0n, r11: 0n };
  const pa = ctx.call.regs.rcx;
  if (!hpaOk(ctx.config, pa, 0x1000n)) return invalid('rcx', `${hex(pa)} is not a 4 KiB-aligned HPA without KeyID bits`, zero);
  if (!coveringTdmr(ctx.state, pa)) return withOperand('TDX_OPERAND_ADDR_RANGE_ERROR', 'rcx', `${hex(pa)} is not in an initialised TDMR`, zero);
  const busy = lockBusy(ctx, 'page', () => withOperand('TDX_OPERAND_BUSY', 'rcx', `${hex(pa)}'s PAMT entry is locked by another LP`, zero));
  if (busy) return busy;
  const e = pamtEntry(ctx.state, pa);
  const names: Record<number, string> = { 0: 'PT_NDA', 1: 'PT_RSVD', 3: 'PT_REG', 4: 'PT_TDR', 5: 'PT_TDCX', 6: 'PT_TDVPR', 8: 'PT_EPT' };
  return ret(STATUS.TDX_SUCCESS, { ...zero, rcx: BigInt(e.pt), rdx: e.owner, r8: BigInt(e.size), r9: e.bepoch ?? 0n }, `${hex(pa)}: ${names[e.pt]}${e.owner ? `, owner ${hex(e.owner)}` : ''}`);
}

/**
 * TDH.PHYMEM.CACHE.WB (tdh_phymem_cache_wb.c): RCX = 0 start, 1 resume.
 * Writes back `cacheSubBlocks` sub-blocks with an interrupt check between
 * each: a pending interrupt saves the point and answers
 * TDX_INTERRUPTED_RESUMABLE (the SEAMCALL returns normally; the kernel calls
 * again with RCX = 1). Start with no reclaimed HKID → TDX_NO_HKID_READY_TO_WBCACHE.
 */
export function phymemCacheWb(ctx: LeafContext): Outcome {
  const cmd = ctx.call.regs.rcx;
  if (cmd > 1n) return invalid('rcx', `command ${cmd} (0 start, 1 resume)`);
  const pkg = packageOf(ctx);
  const wb = lockBusy(ctx, 'wbcache', () => withOperand('TDX_OPERAND_BUSY', 'WBCACHE', `package ${pkg}'s cache write-back is running on another LP`));
  if (wb) return wb;
  const kot = lockBusy(ctx, 'kot', () => withOperand('TDX_OPERAND_BUSY', 'KOT', 'the KeyID ownership table is locked'));
  if (kot) return kot;
  let point: number;
  if (cmd === 0n) {
    ctx.state.cacheWbResume.delete(pkg);
    // KOT_STATE_HKID_FLUSHED entries are what TDH.MNG.KEY.RECLAIMID leaves; that leaf is not modelled, so none exist.
    return status('TDX_NO_HKID_READY_TO_WBCACHE', 'no KeyID has been reclaimed and flushed (TDH.MNG.KEY.RECLAIMID is not modelled)');
  }
  const saved = ctx.state.cacheWbResume.get(pkg);
  if (saved === undefined) return status('TDX_WBCACHE_RESUME_ERROR', `no interrupted write-back to resume on package ${pkg}`);
  point = saved;
  while (point < ctx.config.cacheSubBlocks) {
    point++;
    if (point < ctx.config.cacheSubBlocks && interruptPending(ctx.state)) {
      ctx.state.cacheWbResume.set(pkg, point);
      return status('TDX_INTERRUPTED_RESUMABLE', `interrupt pending after sub-block ${point} of ${ctx.config.cacheSubBlocks}; call again with RCX = 1`);
    }
  }
  ctx.state.cacheWbResume.delete(pkg);
  return status('TDX_SUCCESS', `${ctx.config.cacheSubBlocks} cache sub-blocks written back`);
}

/** check_td_in_correct_build_state + the op-state check of check_state_map_tdcs_and_lock (helpers.c). */
export function tdStateCheck(td: TdState, leaf: string): Outcome | undefined {
  if (td.fatal) return status('TDX_TD_FATAL', 'the TD is in a fatal state');
  if (td.lifecycle !== 'keys-configured') return status('TDX_TD_KEYS_NOT_CONFIGURED', 'TD keys not configured on every package');
  if (td.tdcx.length < MIN_TDCS_PAGES) return status('TDX_TDCS_NOT_ALLOCATED', `${td.tdcx.length} of ${MIN_TDCS_PAGES} TDCS pages`);
  if (!OP_ALLOWED[leaf]!.includes(td.op)) return status('TDX_OP_STATE_INCORRECT', `TD op state ${td.op}`);
  return undefined;
}

/** The TD whose TDR is at `pa`, after the explicit-TDR page check (check_lock_and_map_explicit_tdr). */
export function tdrOf(ctx: LeafContext, pa: bigint, operand: 'rcx' | 'rdx'): TdState | Outcome {
  const bad = checkPrivatePage(ctx, pa, operand, PAGE_TYPE.TDR, 'TDR');
  if (bad) return bad;
  return ctx.state.tds.get(pa)!;
}

export const isOutcome = (x: unknown): x is Outcome => typeof x === 'object' && x !== null && 'kind' in x;

/** TDH.MNG.CREATE (tdh_mng_create.c): RCX = a free 4 KiB page for the TDR, RDX = the TD's private HKID. */
export function mngCreate(ctx: LeafContext): Outcome {
  const { rcx, rdx } = ctx.call.regs;
  if (rdx >> 16n !== 0n || !isPrivateHkid(ctx.config, rdx)) return invalid('rdx', `HKID ${rdx} is not a private KeyID`);
  const bad = checkPrivatePage(ctx, rcx, 'rcx', PAGE_TYPE.NDA, 'TDR page');
  if (bad) return bad;
  const kot = lockBusy(ctx, 'kot', () => withOperand('TDX_OPERAND_BUSY', 'KOT', 'the KeyID ownership table is locked'));
  if (kot) return kot;
  const hkid = Number(rdx);
  const cur = ctx.state.kot.get(hkid) ?? 'free';
  if (cur !== 'free') return status('TDX_HKID_NOT_FREE', `HKID ${hkid} is ${cur}`);
  // generate_256bit_random for TD_UUID.
  if (!drawEntropy(ctx.state)) return status('TDX_RND_NO_ENTROPY', 'no entropy for the TD UUID');
  ctx.state.kot.set(hkid, 'assigned');
  ctx.state.pages.set(rcx, { pt: PAGE_TYPE.TDR, owner: 0n, size: 0 });
  ctx.state.tds.set(rcx, {
    tdr: rcx, hkid, lifecycle: 'hkid-assigned', pkgConfigured: new Set(), tdcx: [], op: 'uninitialized', fatal: false,
    noRbpMod: false, maxVcpus: 0, vcpus: new Map(), gpas: new Map(), epoch: 1n,
  });
  return status('TDX_SUCCESS', `TD created: TDR ${hex(rcx)}, HKID ${hkid}`);
}

/** TDH.MNG.KEY.CONFIG (tdh_mng_key_config.c): RCX = TDR; once per package. */
export function mngKeyConfig(ctx: LeafContext): Outcome {
  const td = tdrOf(ctx, ctx.call.regs.rcx, 'rcx');
  if (isOutcome(td)) return td;
  if (td.fatal) return status('TDX_TD_FATAL', 'the TD is in a fatal state');
  if (td.lifecycle !== 'hkid-assigned') return status('TDX_LIFECYCLE_STATE_INCORRECT', `TD lifecycle ${td.lifecycle}`);
  const pkg = packageOf(ctx);
  if (td.pkgConfigured.has(pkg)) return status('TDX_KEY_CONFIGURED', `package ${pkg} already has this TD's key`);
  const key = programKey(ctx);
  if (key) return key;
  td.pkgConfigured.add(pkg);
  if (td.pkgConfigured.size === ctx.config.packages) td.lifecycle = 'keys-configured';
  return status('TDX_SUCCESS', `package ${pkg}: HKID ${td.hkid} key programmed${td.lifecycle === 'keys-configured' ? ' (all packages)' : ''}`);
}

/** TDH.MNG.ADDCX (tdh_mng_add_cx.c): RCX = a free page for the next TDCS page, RDX = TDR. */
export function mngAddCx(ctx: LeafContext): Outcome {
  const td = tdrOf(ctx, ctx.call.regs.rdx, 'rdx');
  if (isOutcome(td)) return td;
  if (td.fatal) return status('TDX_TD_FATAL', 'the TD is in a fatal state');
  if (td.lifecycle !== 'keys-configured') return status('TDX_TD_KEYS_NOT_CONFIGURED', 'TD keys not configured on every package');
  if (td.tdcx.length > MAX_TDCS_PAGES - 1) return status('TDX_TDCX_NUM_INCORRECT', `the TD already has ${td.tdcx.length} TDCS pages`);
  const pa = ctx.call.regs.rcx;
  const bad = checkPrivatePage(ctx, pa, 'rcx', PAGE_TYPE.NDA, 'TDCX page');
  if (bad) return bad;
  // The sixth page completes the TDCS: its migration key is generated then; later pages need OP_STATE to allow ADDCX.
  if (td.tdcx.length + 1 === MIN_TDCS_PAGES && !drawEntropy(ctx.state)) return status('TDX_RND_NO_ENTROPY', 'no entropy for the migration key');
  if (td.tdcx.length + 1 > MIN_TDCS_PAGES && !OP_ALLOWED['TDH.MNG.ADDCX']!.includes(td.op)) return status('TDX_OP_STATE_INCORRECT', `TD op state ${td.op}`);
  td.tdcx.push(pa);
  ctx.state.pages.set(pa, { pt: PAGE_TYPE.TDCX, owner: td.tdr, size: 0 });
  return status('TDX_SUCCESS', `TDCS page ${td.tdcx.length} at ${hex(pa)}`);
}

/**
 * TDH.MNG.INIT (tdh_mng_init.c): RCX = TDR, RDX = TD_PARAMS (1 KiB-aligned
 * shared); RCX = 0 first. TD_PARAMS checks modelled: ATTRIBUTES against
 * ATTRIBUTES_FIXED0/1 and "migratable ⇒ not debug, not PERFMON"
 * (verify_td_attributes), XFAM against XFAM_FIXED0/1 (check_xfam's first
 * two tests), MAX_VCPUS ≠ 0, NUM_L2_VMS ≤ 3 and enough TDCS pages for them.
 * EPTP, CONFIG_FLAGS, TSC and CPUID configuration are not checked.
 */
export function mngInit(ctx: LeafContext): Outcome {
  const out = { rcx: 0n };
  const td = tdrOf(ctx, ctx.call.regs.rcx, 'rcx');
  if (isOutcome(td)) return td;
  const st = tdStateCheck(td, 'TDH.MNG.INIT');
  if (st) return st;
  const pa = ctx.call.regs.rdx;
  if (!sharedHpaOk(ctx.config, pa, 1024n)) return invalid('rdx', 'TD_PARAMS is not a 1 KiB-aligned shared HPA', out);
  if (!ctx.call.mem.contains(pa, 1024)) return invalid('rdx', `TD_PARAMS ${hex(pa)} is outside seamlab's physical-memory area`, out);
  const m = ctx.call.mem;
  const attributes = m.readU64(pa);
  const xfam = m.readU64(pa + 8n);
  const p = m.read(pa + 16n, 3);
  const maxVcpus = p[0]! | (p[1]! << 8);
  const numL2 = p[2]!;
  const configFlags = m.readU64(pa + 32n);
  const migratable = (attributes >> 29n) & 1n;
  if ((attributes & ~ATTRIBUTES_FIXED0) !== 0n || (attributes & ATTRIBUTES_FIXED1) !== ATTRIBUTES_FIXED1 || (migratable && ((attributes & 1n) || (attributes >> 63n)))) {
    return invalid('ATTRIBUTES', `ATTRIBUTES ${hex(attributes)} not allowed`, out);
  }
  if ((xfam & ~XFAM_FIXED0) !== 0n || (xfam & XFAM_FIXED1) !== XFAM_FIXED1) return invalid('XFAM', `XFAM ${hex(xfam)} not allowed`, out);
  if (maxVcpus === 0) return invalid('MAX_VCPUS', 'MAX_VCPUS is 0', out);
  if (numL2 > MAX_L2_VMS) return invalid('NUM_L2_VMS', `NUM_L2_VMS ${numL2} > ${MAX_L2_VMS}`, out);
  if (td.tdcx.length < MIN_TDCS_PAGES + numL2) return status('TDX_TDCS_NOT_ALLOCATED', `${numL2} L2 VMs need ${MIN_TDCS_PAGES + numL2} TDCS pages`, out);
  td.maxVcpus = maxVcpus;
  td.noRbpMod = ((configFlags >> 2n) & 1n) === 1n;
  td.op = 'initialized';
  return status('TDX_SUCCESS', `TD ${hex(td.tdr)} initialised: ${maxVcpus} VCPUs max${td.noRbpMod ? ', NO_RBP_MOD' : ''}`, out);
}

/** Bytes a Secure EPT entry of `level` maps (0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB …). */
export const levelSize = (level: number): bigint => 0x1000n << (9n * BigInt(level));

/**
 * page_info_api_input_t (tdx_api_defs.h) checked by verify_page_info_input(min_level, max_level)
 * and check_gpa_validity (helpers.c), GPAW 52.
 */
export function pageInfo(rcx: bigint, maxLevel: number, minLevel = 0): { gpa: bigint; level: number } | undefined {
  const level = Number(rcx & 7n);
  const reserved = (rcx & 0xff8n) | (rcx >> 52n);
  const gpa = rcx & 0x000FFFFFFFFFF000n;
  if (reserved !== 0n || level < minLevel || level > maxLevel || gpa % levelSize(level) !== 0n || ((gpa >> 51n) & 1n) === 1n) return undefined;
  return { gpa, level };
}

/**
 * TDH.MEM.PAGE.ADD (tdh_mem_page_add.c): RCX = GPA (4 KiB level), RDX = TDR,
 * R8 = the new private page, R9 = the source page (shared); RCX = RDX = 0
 * first. An already-mapped GPA → TDX_EPT_ENTRY_STATE_INCORRECT|RCX.
 */
export function memPageAdd(ctx: LeafContext): Outcome {
  return addOrAug(ctx, 'TDH.MEM.PAGE.ADD');
}

/** TDH.MEM.PAGE.AUG (tdh_mem_page_aug.c): RCX = GPA | level (4K/2M), RDX = TDR, R8 = page; the GPA becomes PENDING for TDG.MEM.PAGE.ACCEPT. */
export function memPageAug(ctx: LeafContext): Outcome {
  return addOrAug(ctx, 'TDH.MEM.PAGE.AUG');
}

function addOrAug(ctx: LeafContext, leaf: 'TDH.MEM.PAGE.ADD' | 'TDH.MEM.PAGE.AUG'): Outcome {
  const zero = { rcx: 0n, rdx: 0n };
  const { rcx, rdx, r8, r9 } = ctx.call.regs;
  const td = tdrOf(ctx, rdx, 'rdx');
  if (isOutcome(td)) return { ...td, ...(td.kind === 'return' ? { regs: { ...zero, ...td.regs } } : {}) };
  const st = tdStateCheck(td, leaf);
  if (st) return st.kind === 'return' ? { ...st, regs: zero } : st;
  const info = pageInfo(rcx, leaf === 'TDH.MEM.PAGE.ADD' ? 0 : 1);
  if (!info) return invalid('rcx', `${hex(rcx)} is not a valid private GPA and level`, zero);
  if (td.gpas.has(info.gpa)) return withOperand('TDX_EPT_ENTRY_STATE_INCORRECT', 'rcx', `GPA ${hex(info.gpa)} is already mapped`, zero);
  if (leaf === 'TDH.MEM.PAGE.ADD' && !sharedHpaOk(ctx.config, r9, 0x1000n)) return invalid('r9', 'the source page is not a 4 KiB-aligned shared HPA', zero);
  const bad = checkPrivatePage(ctx, r8, 'r8', PAGE_TYPE.NDA, 'target page');
  if (bad) return bad.kind === 'return' ? { ...bad, regs: zero } : bad;
  ctx.state.pages.set(r8, { pt: PAGE_TYPE.REG, owner: td.tdr, size: info.level as 0 | 1 });
  td.gpas.set(info.gpa, { hpa: r8, level: info.level, state: leaf === 'TDH.MEM.PAGE.ADD' ? 'mapped' : 'pending' });
  return status('TDX_SUCCESS', `GPA ${hex(info.gpa)} → ${hex(r8)} ${leaf === 'TDH.MEM.PAGE.ADD' ? 'mapped (measured contents)' : 'pending until the TD accepts it'}`, zero);
}

/** vmcs_defs.h VMEXIT_REASON_TDCALL. */
export const VMEXIT_REASON_TDCALL = 77;

/**
 * TDH.VP.ENTER (tdh_vp_enter.c tdh_vp_enter): RCX = TDVPR page | flags
 * (vcpu_and_flags_t: bit 52 host recoverability hint, bit 53 resume L1,
 * bits 11:0 and 63:54 reserved). The VCPU then runs until its next
 * configured exit, which the VMM sees as the SEAMCALL's result:
 * - TDG.VP.VMCALL (tdg_vp_vmcall.c copy_gprs_data_from_td_to_vmm): RAX = 77
 *   (the TDCALL exit reason), RCX = gpr_select | xmm_select << 16, the
 *   selected GPRs RDX…R15 with the TD's values and the others 0 — except
 *   RBP, which the module leaves alone when the TD has NO_RBP_MOD;
 * - asynchronous exits (td_exit.c async_tdexit_internal): RAX = status |
 *   exit reason, RCX = exit qualification, RDX = extended qualification,
 *   R8 = GPA, R9 = interruption information, R10–R15, RBX, RBP, RSI, RDI = 0.
 */
export function vpEnter(ctx: LeafContext): Outcome {
  const rcx = ctx.call.regs.rcx;
  if ((rcx & 0xfffn) !== 0n || rcx >> 54n !== 0n) return invalid('rcx', `reserved bits set in ${hex(rcx)}`);
  const tdvpr = rcx & 0x000FFFFFFFFFF000n;
  const bad = checkPrivatePage(ctx, tdvpr, 'rcx', PAGE_TYPE.TDVPR, 'TDVPR');
  if (bad) return bad;
  const owner = pamtEntry(ctx.state, tdvpr).owner;
  const td = ctx.state.tds.get(owner)!;
  const st = tdStateCheck(td, 'TDH.VP.ENTER');
  if (st) return st;
  const vcpu = td.vcpus.get(tdvpr);
  if (!vcpu) return withOperand('TDX_PAGE_METADATA_INCORRECT', 'rcx', 'no VCPU on this TDVPR');
  const hint = ((rcx >> 52n) & 1n) === 1n;
  if (hint && vcpu.lastExit !== 'async-trap') return invalid('rcx', 'host recoverability hint without a preceding trap-like exit');
  if ((rcx >> 53n) & 1n) return invalid('rcx', 'resume-L1 is only for exits from an L2 VM');
  const epoch = lockBusy(ctx, 'td-epoch', () => withOperand('TDX_OPERAND_BUSY', 'TD_EPOCH', 'TLB tracking epoch is being advanced'));
  if (epoch) return epoch;
  return runUntilExit(td, vcpu);
}

function runUntilExit(td: TdState, vcpu: VcpuState): Outcome {
  const exit = vcpu.exits[vcpu.nextExit];
  if (!exit) {
    return status('TDX_SUCCESS', 'the VCPU has no further configured exit (nothing the TD does is simulated)', { rcx: 0n, rdx: 0n, r8: 0n, r9: 0n });
  }
  vcpu.nextExit++;
  const regs: Partial<Record<OutputReg, bigint>> = {};
  if (exit.kind === 'tdvmcall') {
    vcpu.lastExit = 'tdvmcall';
    const sel = BigInt(exit.gprSelect & 0xffff);
    regs.rcx = sel | (BigInt((exit.xmmSelect ?? 0) & 0xffff) << 16n);
    for (let i = 2; i < 16; i++) {
      const name = GPR_NAMES[i]!;
      if (name === 'rsp') continue;
      if ((sel >> BigInt(i)) & 1n) regs[name as OutputReg] = exit.regs?.[name] ?? 0n;
      else if (!(td.noRbpMod && name === 'rbp')) regs[name as OutputReg] = 0n;
    }
    return ret(BigInt(VMEXIT_REASON_TDCALL), regs, `TD exit: TDG.VP.VMCALL, GPRs ${hex(sel)} exposed${td.noRbpMod ? ', RBP kept (NO_RBP_MOD)' : ''}`);
  }
  // Fault-like exits report TDX_SUCCESS | reason; the trap-like one a VMM sees from a TD is the host-priority
  // lock timeout (tdx_td_dispatcher.c td_call → async_tdexit_empty_reason(TDX_HOST_PRIORITY_BUSY_TIMEOUT)), bit 60 set.
  vcpu.lastExit = exit.trap ? 'async-trap' : 'async-fault';
  const base = exit.trap ? STATUS.TDX_HOST_PRIORITY_BUSY_TIMEOUT : STATUS.TDX_SUCCESS;
  Object.assign(regs, {
    rcx: (exit.qualification ?? 0n) & 0xFFFFFFFFn, rdx: exit.extQualification ?? 0n, r8: exit.gpa ?? 0n, r9: exit.interruptionInfo ?? 0n,
    r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n, r15: 0n, rbx: 0n, rbp: 0n, rsi: 0n, rdi: 0n,
  });
  return ret(base | BigInt(exit.reason >>> 0), regs, `TD exit: VM exit reason ${exit.reason}`);
}
