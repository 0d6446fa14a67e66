/**
 * The TDX module's Secure-EPT maintenance leaves KVM uses to split a huge
 * page: TDH.MEM.RANGE.BLOCK (leaf 7), TDH.MEM.TRACK (38) and
 * TDH.MEM.PAGE.DEMOTE (15), the leaf that answers TDX_INTERRUPTED_RESTARTABLE
 * (KVM re-issues the same DEMOTE). Each follows the same-named file of
 * intel/tdx-module tdx_1.5 src/vmm_dispatcher/api_calls/ in check order and
 * statuses; SEPT-state rules are the generated tables
 * include/auto_gen/sept_state_lookup.c (seamcall_sept_state_lookup rows 7 and
 * 15, sept_special_flags_lookup any_blocked / tlb_tracking_required) and
 * op_state_lookup.c (state_flags_lookup tlb_tracking_required: RUNNABLE yes,
 * INITIALIZED no).
 *
 * Simplifications, said where they apply (besides module-td.ts's "every SEPT
 * level is present"): the SEPT tree lock and SEPT-entry host lock
 * (lock_sept_check_and_walk_private_gpa, sept_lock_acquire_host) never find
 * contention; the SEPT-entry details the module puts in RCX/RDX on
 * EPT_WALK_FAILED / EPT_ENTRY_STATE_INCORRECT / GPA_RANGE_* errors
 * (set_arch_septe_details_in_vmm_regs) are not produced — RCX/RDX stay 0;
 * blocking a non-leaf entry (NL_MAPPED → NL_BLOCKED) is not modelled and
 * answered as unmodelled; L2 VMs (NUM_L2_VMS) are taken as 0, so DEMOTE
 * reads no L2 SEPT page (R9–R11) and walks no L2 SEPT; the BLOCKEDW,
 * EXPORTED and migration states do not exist.
 */
import { checkPrivatePage, hex, invalid, lockBusy, status, withOperand, type LeafContext } from './module-kit.js';
import { contend, interruptPending, PAGE_TYPE, type SeptLeaf, type TdState } from './module-state.js';
import { isOutcome, levelSize, pageInfo, tdrOf, tdStateCheck } from './module-td.js';
import type { Outcome } from './types.js';

/** What secure_ept_walk finds walking to `level` for `gpa`, with every SEPT level present (module-td.ts). */
type SeptEntry =
  | { kind: 'leaf'; leaf: SeptLeaf }
  /** The walk stopped at a leaf above the requested level (SEPT_WALK_TO_LEVEL: level ≠ requested → TDX_EPT_WALK_FAILED). */
  | { kind: 'walk-failed'; level: number }
  /** NL_MAPPED: smaller mappings live below this entry. */
  | { kind: 'non-leaf' }
  | { kind: 'free' };

/** Highest SEPT level: GPAW 52 (what pageInfo checks) means a 5-level Secure EPT, EPTP.ept_pwl 4. */
const EPT_PWL = 4;

function septWalk(td: TdState, gpa: bigint, level: number): SeptEntry {
  for (let l = EPT_PWL; l > level; l--) {
    const m = td.gpas.get(gpa & ~(levelSize(l) - 1n));
    if (m && m.level === l) return { kind: 'walk-failed', level: l };
  }
  const m = td.gpas.get(gpa);
  if (m && m.level === level) return { kind: 'leaf', leaf: m };
  const end = gpa + levelSize(level);
  for (const [g, x] of td.gpas) if (g >= gpa && g < end && x.level < level) return { kind: 'non-leaf' };
  return { kind: 'free' };
}

const isBlocked = (l: SeptLeaf) => l.state === 'blocked' || l.state === 'pending-blocked';

/**
 * helpers.h is_tlb_tracked: BEPOCH (no migration flag) tracked when it is
 * TD_EPOCH − 1 and that epoch's REFCOUNT is 0, or older. REFCOUNTs count
 * VCPUs inside the TD (tdh_vp_enter increments, td_exit.c decrements); the
 * model's TDH.VP.ENTER returns at the TD exit, so between SEAMCALLs they are 0
 * and "tracked" is BEPOCH < TD_EPOCH.
 */
const isTlbTracked = (td: TdState, bepoch: bigint) => bepoch < td.epoch;

/**
 * TDH.MEM.RANGE.BLOCK (tdh_mem_range_block.c tdh_mem_range_block): RCX =
 * page info (GPA | level), RDX = TDR; RCX = RDX = 0 first. A MAPPED or
 * PENDING leaf becomes BLOCKED / PENDING_BLOCKED (block_sept_entry) and the
 * page's PAMT.BEPOCH = TDCS.TD_EPOCH.
 */
export function memRangeBlock(ctx: LeafContext): Outcome {
  const zero = { rcx: 0n, rdx: 0n };
  const z = (o: Outcome): Outcome => (o.kind === 'return' ? { ...o, regs: { ...zero, ...o.regs } } : o);
  const { rcx, rdx } = ctx.call.regs;
  // check_lock_and_map_explicit_tdr(RDX), then check_state_map_tdcs_and_lock(TDH_MEM_RANGE_BLOCK_LEAF).
  const td = tdrOf(ctx, rdx, 'rdx');
  if (isOutcome(td)) return z(td);
  const st = tdStateCheck(td, 'TDH.MEM.RANGE.BLOCK');
  if (st) return z(st);
  // verify_page_info_input(LVL_PT, eptp.ept_pwl), then check_gpa_validity in lock_sept_check_and_walk_private_gpa.
  const info = pageInfo(rcx, EPT_PWL);
  if (!info) return invalid('rcx', `${hex(rcx)} is not a valid private GPA and level`, zero);
  const e = septWalk(td, info.gpa, info.level);
  if (e.kind === 'walk-failed') return withOperand('TDX_EPT_WALK_FAILED', 'rcx', `GPA ${hex(info.gpa)} is mapped by a level-${e.level} leaf, above level ${info.level}`, zero);
  // sept_state_is_seamcall_leaf_allowed(TDH_MEM_RANGE_BLOCK_LEAF): NL_MAPPED, MAPPED, BLOCKEDW, PENDING, PENDING_BLOCKEDW;
  // otherwise any_blocked → TDX_GPA_RANGE_ALREADY_BLOCKED|RCX, else TDX_EPT_ENTRY_STATE_INCORRECT|RCX.
  if (e.kind === 'free') return withOperand('TDX_EPT_ENTRY_STATE_INCORRECT', 'rcx', `GPA ${hex(info.gpa)} level ${info.level} is SEPT_FREE`, zero);
  if (e.kind === 'non-leaf') return invalid('rcx', `GPA ${hex(info.gpa)} level ${info.level} is a non-leaf entry; blocking one (NL_BLOCKED) is not modelled by seamlab`, zero);
  if (isBlocked(e.leaf)) return withOperand('TDX_GPA_RANGE_ALREADY_BLOCKED', 'rcx', `GPA ${hex(info.gpa)} is already blocked`, zero);
  e.leaf.state = e.leaf.state === 'pending' ? 'pending-blocked' : 'blocked';
  // pamt_implicit_get(page, level)->bepoch = TDCS.TD_EPOCH.
  const pamt = ctx.state.pages.get(e.leaf.hpa) ?? { pt: PAGE_TYPE.REG, owner: td.tdr, size: e.leaf.level as 0 | 1 | 2 };
  ctx.state.pages.set(e.leaf.hpa, { ...pamt, bepoch: td.epoch });
  return status('TDX_SUCCESS', `GPA ${hex(info.gpa)} level ${info.level} blocked in TD epoch ${td.epoch}`, zero);
}

/**
 * TDH.MEM.TRACK (tdh_mem_track.c tdh_mem_track): RCX = TDR. Takes the TD
 * epoch lock (busy → TDX_OPERAND_BUSY|TD_EPOCH), checks that no VCPU is
 * still in the previous epoch (REFCOUNT — always 0 in the model, see
 * isTlbTracked, so TDX_PREVIOUS_TLB_EPOCH_BUSY is never produced) and
 * increments TDCS.TD_EPOCH. No output registers.
 */
export function memTrack(ctx: LeafContext): Outcome {
  const td = tdrOf(ctx, ctx.call.regs.rcx, 'rcx');
  if (isOutcome(td)) return td;
  const st = tdStateCheck(td, 'TDH.MEM.TRACK');
  if (st) return st;
  const epoch = lockBusy(ctx, 'td-epoch', () => withOperand('TDX_OPERAND_BUSY', 'TD_EPOCH', 'TLB tracking epoch is locked by another LP'));
  if (epoch) return epoch;
  td.epoch++;
  return status('TDX_SUCCESS', `TD epoch ${td.epoch - 1n} → ${td.epoch}`);
}

/**
 * TDH.MEM.PAGE.DEMOTE (tdh_mem_page_demote.c tdh_mem_page_demote): RCX =
 * page info of the large page (level 1 or 2: verify_page_info_input(LVL_PD,
 * LVL_PDPT)), RDX = TDR | bit 0 L2_SEPT_ADD_MODE (td_handle_and_flags_t),
 * R8 = a free page for the new Secure EPT page, R9–R11 = L2 SEPT pages
 * (unread with no L2 VMs). RCX = RDX = 0 first. Splits the leaf into 512
 * leaves of the level below; they are unblocked (sept_unblock before
 * sept_split_entry), PENDING stays PENDING.
 *
 * A pending interrupt before the PAMT split → TDX_INTERRUPTED_RESTARTABLE
 * with the original RCX/RDX restored and nothing committed ("Interruption is
 * not restartable, no need to save state"): the same call starts over.
 *
 * Not modelled: the new SEPT page's contents (sept_split_entry's 512 entries
 * live in `gpas`), TDR.CHLDCNT, the L2 SEPT split and its interrupt check
 * (one per L2 VM), the 2 MiB PAMT entry itself after the split. The 512
 * child PAMT entries are recorded (PT_REG, owner TDR, BEPOCH 0, as
 * pamt_demote copies them).
 */
export function memPageDemote(ctx: LeafContext): Outcome {
  const zero = { rcx: 0n, rdx: 0n };
  const z = (o: Outcome): Outcome => (o.kind === 'return' ? { ...o, regs: { ...zero, ...o.regs } } : o);
  const { rcx, rdx, r8 } = ctx.call.regs;
  // td_handle_and_flags_t: reserved_0 (bits 11:1), reserved_1 (63:52) → TDX_OPERAND_INVALID|RDX.
  if ((rdx & 0xffen) !== 0n || rdx >> 52n !== 0n) return invalid('rdx', `TD handle ${hex(rdx)} has reserved bits set`, zero);
  const td = tdrOf(ctx, rdx & 0x000FFFFFFFFFF000n, 'rdx');
  if (isOutcome(td)) return z(td);
  const st = tdStateCheck(td, 'TDH.MEM.PAGE.DEMOTE');
  if (st) return z(st);
  const info = pageInfo(rcx, 2, 1);
  if (!info) return invalid('rcx', `${hex(rcx)} is not a valid private GPA and level (2 MiB or 1 GiB)`, zero);
  // Step 1: lock_sept_check_and_walk_private_gpa (walk to the requested level).
  const e = septWalk(td, info.gpa, info.level);
  if (e.kind === 'walk-failed') return withOperand('TDX_EPT_WALK_FAILED', 'rcx', `GPA ${hex(info.gpa)} is mapped by a level-${e.level} leaf, above level ${info.level}`, zero);
  // sept_state_is_seamcall_leaf_allowed(TDH_MEM_PAGE_DEMOTE_LEAF): MAPPED, BLOCKED, PENDING, PENDING_BLOCKED only.
  if (e.kind !== 'leaf') return withOperand('TDX_EPT_ENTRY_STATE_INCORRECT', 'rcx', `GPA ${hex(info.gpa)} level ${info.level} is ${e.kind === 'free' ? 'SEPT_FREE' : 'a non-leaf entry'}`, zero);
  const leaf = e.leaf;
  // All four leaf states have tlb_tracking_required; the op state has it when RUNNABLE (not INITIALIZED).
  if (td.op === 'runnable') {
    if (!isBlocked(leaf)) return withOperand('TDX_GPA_RANGE_NOT_BLOCKED', 'rcx', `GPA ${hex(info.gpa)} is not blocked (TDH.MEM.RANGE.BLOCK first)`, zero);
    const bepoch = ctx.state.pages.get(leaf.hpa)?.bepoch ?? 0n;
    if (!isTlbTracked(td, bepoch)) return withOperand('TDX_TLB_TRACKING_NOT_DONE', 'rcx', `blocked in epoch ${bepoch}, TD epoch ${td.epoch} (TDH.MEM.TRACK first)`, zero);
  }
  // Step 2: check_and_lock_explicit_4k_private_hpa(R8, PT_NDA).
  const bad = checkPrivatePage(ctx, r8, 'r8', PAGE_TYPE.NDA, 'new Secure EPT page');
  if (bad) return z(bad);
  // Step 3 (L2 SEPT pages and their interrupt checks): no L2 VMs in the model. Step 4: the interrupt check before pamt_demote.
  if (interruptPending(ctx.state)) {
    return status('TDX_INTERRUPTED_RESTARTABLE', `interrupt pending before the PAMT split of GPA ${hex(info.gpa)}; nothing committed, call again`, { rcx, rdx });
  }
  // pamt_demote: acquire_sharex_lock_hp_ex on the demoted PAMT entry → api_error_with_operand_id(busy, RCX).
  const busy = contend(ctx.state, 'page');
  if (busy) return withOperand(busy.hostPriority ? 'TDX_OPERAND_BUSY_HOST_PRIORITY' : 'TDX_OPERAND_BUSY', 'rcx', `the PAMT entry of ${hex(leaf.hpa)} is locked by another LP`, zero);
  // Step 5, commit: the entry becomes a non-leaf over the new SEPT page (PT_EPT, owner TDR), the children are
  // the split entry unblocked (sept_unblock), PAMT children PT_REG / owner TDR / BEPOCH 0 (pamt_demote).
  const child = levelSize(info.level - 1);
  const state = leaf.state === 'pending' || leaf.state === 'pending-blocked' ? 'pending' : 'mapped';
  td.gpas.delete(info.gpa);
  for (let i = 0n; i < 512n; i++) {
    td.gpas.set(info.gpa + i * child, { hpa: leaf.hpa + i * child, level: info.level - 1, state });
    ctx.state.pages.set(leaf.hpa + i * child, { pt: PAGE_TYPE.REG, owner: td.tdr, size: (info.level - 1) as 0 | 1, bepoch: 0n });
  }
  ctx.state.pages.set(r8, { pt: PAGE_TYPE.EPT, owner: td.tdr, size: 0 });
  return status('TDX_SUCCESS', `GPA ${hex(info.gpa)} split into 512 level-${info.level - 1} ${state} leaves; new SEPT page ${hex(r8)}`, zero);
}
