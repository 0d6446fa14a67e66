/**
 * Splitting a TD's 2 MiB page as KVM does it: TDH.MEM.PAGE.AUG (2 MiB) →
 * TDH.MEM.RANGE.BLOCK → TDH.MEM.TRACK → TDH.MEM.PAGE.DEMOTE, one module
 * state across the calls. Expected statuses and check order follow
 * intel/tdx-module tdx_1.5 src/vmm_dispatcher/api_calls/tdh_mem_range_block.c,
 * tdh_mem_track.c, tdh_mem_page_demote.c, the generated
 * include/auto_gen/sept_state_lookup.c / op_state_lookup.c tables and
 * helpers.h is_tlb_tracked; status values are tdx_error_codes_defs.h's, typed in.
 */
import { describe, expect, it } from 'vitest';
import { PhysMemory } from '../src/machine/memory.js';
import { TdxModuleModel } from '../src/seam/tdx-module.js';
import type { TdxModuleConfig } from '../src/seam/module-state.js';
import type { GprName } from '../src/seam/types.js';
import { mkCall, PHYS, ret, strip } from './support/seam-calls.js';

const GIB = 1n << 30n;
const TDX_SUCCESS = 0n;
const TDX_INTERRUPTED_RESTARTABLE = 0x8000000400000000n;
const TDX_OPERAND_INVALID = 0xC000010000000000n;
const TDX_OPERAND_BUSY = 0x8000020000000000n;
const TDX_EPT_WALK_FAILED = 0xC0000B0000000000n;
const TDX_GPA_RANGE_NOT_BLOCKED = 0xC0000B0600000000n;
const TDX_GPA_RANGE_ALREADY_BLOCKED = 0x00000B0700000000n;
const TDX_TLB_TRACKING_NOT_DONE = 0xC0000B0800000000n;
const TDX_EPT_ENTRY_STATE_INCORRECT = 0xC0000B0D00000000n;
const TDX_OP_STATE_INCORRECT = 0xC000060800000000n;
// OPERAND_ID_RCX 1, RDX 2, TD_EPOCH 169; pamt_manager.h PT_NDA 0, PT_REG 3, PT_EPT 8.
const [RCX, RDX, TD_EPOCH] = [1n, 2n, 169n];
const [PT_NDA, PT_REG, PT_EPT] = [0n, 3n, 8n];
// seamcall_leaf_opcode_e: AUG 6, RANGE.BLOCK 7, PAGE.DEMOTE 15, PHYMEM.PAGE.RDMD 24, MEM.TRACK 38.
const [AUG, BLOCK, DEMOTE, RDMD, TRACK] = [6n, 7n, 15n, 24n, 38n];

const TDR = 0x100000n;
const GPA = 0x400000n; // 2 MiB-aligned private GPA
const HPA = 0x600000n; // the 2 MiB page
const SEPT = 0x10000000n; // a free page for the new Secure EPT page
const L4K = 0n;
const L2M = 1n;
const z = { rcx: 0n, rdx: 0n };

function td(extra: Partial<TdxModuleConfig> = {}, state: 'initialized' | 'runnable' = 'runnable') {
  const mem = new PhysMemory(PHYS, Buffer.alloc(0x10000));
  const m = new TdxModuleModel({ tdmrs: [{ base: 0n, size: 2n * GIB }], tds: [{ tdr: TDR, hkid: 40, state }], ...extra });
  const call = (regs: Partial<Record<GprName, bigint>>) => strip(m.handle(mkCall(regs, { mem })));
  // tdh_mem_page_aug.c: a 2 MiB PENDING leaf; RCX = RDX = 0.
  expect(call({ rax: AUG, rcx: GPA | L2M, rdx: TDR, r8: HPA })).toEqual(ret(TDX_SUCCESS, z));
  return { m, call, tdState: m.state.tds.get(TDR)! };
}

describe('TDH.MEM.RANGE.BLOCK → TDH.MEM.TRACK → TDH.MEM.PAGE.DEMOTE on a runnable TD', () => {
  it('runs the split as KVM does, with an interrupt making DEMOTE answer TDX_INTERRUPTED_RESTARTABLE once', () => {
    const { call, tdState } = td({ interrupts: 1 });
    const demote = { rax: DEMOTE, rcx: GPA | L2M, rdx: TDR, r8: SEPT };
    // tdh_mem_page_demote.c: the leaf is PENDING (tlb_tracking_required) in a RUNNABLE TD and not blocked → GPA_RANGE_NOT_BLOCKED|RCX.
    expect(call(demote)).toEqual(ret(TDX_GPA_RANGE_NOT_BLOCKED | RCX, z));
    // verify_page_info_input(LVL_PD, LVL_PDPT): a 4 KiB level → OPERAND_INVALID|RCX; td_handle_and_flags_t reserved bits → |RDX.
    expect(call({ ...demote, rcx: GPA | L4K })).toEqual(ret(TDX_OPERAND_INVALID | RCX, z));
    expect(call({ ...demote, rdx: TDR | 2n })).toEqual(ret(TDX_OPERAND_INVALID | RDX, z));
    // tdh_mem_range_block.c: walking to 4 KiB stops at the 2 MiB leaf → EPT_WALK_FAILED|RCX; an unmapped GPA is SEPT_FREE →
    // not allowed, not blocked → EPT_ENTRY_STATE_INCORRECT|RCX.
    expect(call({ rax: BLOCK, rcx: GPA | L4K, rdx: TDR })).toEqual(ret(TDX_EPT_WALK_FAILED | RCX, z));
    expect(call({ rax: BLOCK, rcx: (GPA + 0x200000n) | L2M, rdx: TDR })).toEqual(ret(TDX_EPT_ENTRY_STATE_INCORRECT | RCX, z));
    expect(call({ rax: BLOCK, rcx: GPA | L2M, rdx: TDR })).toEqual(ret(TDX_SUCCESS, z));
    expect(tdState.gpas.get(GPA)).toMatchObject({ level: 1, state: 'pending-blocked' });
    // PENDING_BLOCKED is any_blocked and not allowed for leaf 7 → GPA_RANGE_ALREADY_BLOCKED|RCX (a warning-class status).
    expect(call({ rax: BLOCK, rcx: GPA | L2M, rdx: TDR })).toEqual(ret(TDX_GPA_RANGE_ALREADY_BLOCKED | RCX, z));
    // PAMT.BEPOCH = TD_EPOCH (1 after TDH.MNG.INIT, tdh_mng_init.c); RDMD shows it in R9 (tdh_phymem_page_rdmd.c).
    expect(call({ rax: RDMD, rcx: HPA }).regs).toMatchObject({ rcx: PT_REG, rdx: TDR, r8: 1n, r9: 1n });
    // is_tlb_tracked: BEPOCH 1 is not older than TD_EPOCH 1 → TLB_TRACKING_NOT_DONE|RCX.
    expect(call(demote)).toEqual(ret(TDX_TLB_TRACKING_NOT_DONE | RCX, z));
    expect(call({ rax: TRACK, rcx: TDR })).toEqual(ret(TDX_SUCCESS));
    expect(tdState.epoch).toBe(2n);
    // Step 4's is_interrupt_pending_host_side: RESTARTABLE, original RCX/RDX restored, nothing committed.
    expect(call(demote)).toEqual(ret(TDX_INTERRUPTED_RESTARTABLE, { rcx: GPA | L2M, rdx: TDR }));
    expect(tdState.gpas.get(GPA)).toMatchObject({ level: 1, state: 'pending-blocked' });
    expect(call({ rax: RDMD, rcx: SEPT }).regs).toMatchObject({ rcx: PT_NDA });
    // The same call again: success; 512 4 KiB leaves, unblocked (sept_unblock), still PENDING; R8 is now PT_EPT of the TD.
    expect(call(demote)).toEqual(ret(TDX_SUCCESS, z));
    expect(tdState.gpas.size).toBe(512);
    expect(tdState.gpas.get(GPA + 0x1ff000n)).toEqual({ hpa: HPA + 0x1ff000n, level: 0, state: 'pending' });
    expect(call({ rax: RDMD, rcx: SEPT }).regs).toMatchObject({ rcx: PT_EPT, rdx: TDR });
    // pamt_demote: children PT_REG, owner TDR, 4 KiB, BEPOCH 0.
    expect(call({ rax: RDMD, rcx: HPA + 0x1000n }).regs).toMatchObject({ rcx: PT_REG, rdx: TDR, r8: 0n, r9: 0n });
    // The 2 MiB entry is a non-leaf now: not allowed for leaf 15 → EPT_ENTRY_STATE_INCORRECT|RCX; a 4 KiB child can be blocked.
    expect(call(demote)).toEqual(ret(TDX_EPT_ENTRY_STATE_INCORRECT | RCX, z));
    expect(call({ rax: BLOCK, rcx: (GPA + 0x1000n) | L4K, rdx: TDR })).toEqual(ret(TDX_SUCCESS, z));
  });

  it('TDH.MEM.TRACK: the TD epoch lock held elsewhere → TDX_OPERAND_BUSY|TD_EPOCH; a TD not yet initialised → TDX_OP_STATE_INCORRECT', () => {
    const { call, tdState } = td({ busy: [{ lock: 'td-epoch' }] });
    expect(call({ rax: TRACK, rcx: TDR })).toEqual(ret(TDX_OPERAND_BUSY | TD_EPOCH));
    expect(tdState.epoch).toBe(1n);
    expect(call({ rax: TRACK, rcx: TDR })).toEqual(ret(TDX_SUCCESS));
    tdState.op = 'uninitialized';
    expect(call({ rax: TRACK, rcx: TDR })).toEqual(ret(TDX_OP_STATE_INCORRECT));
    expect(call({ rax: BLOCK, rcx: GPA | L2M, rdx: TDR })).toEqual(ret(TDX_OP_STATE_INCORRECT, z));
  });
});

describe('TDH.MEM.PAGE.DEMOTE on an INITIALIZED TD (op_state_lookup.c: no TLB tracking required)', () => {
  it('splits an unblocked page without BLOCK/TRACK', () => {
    const { call, tdState } = td({}, 'initialized');
    expect(call({ rax: DEMOTE, rcx: GPA | L2M, rdx: TDR, r8: SEPT })).toEqual(ret(TDX_SUCCESS, z));
    expect(tdState.gpas.get(GPA)).toEqual({ hpa: HPA, level: 0, state: 'pending' });
  });
});
