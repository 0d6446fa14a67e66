/**
 * The TDX module's TD and physical-memory leaves kernel code calls, as plain
 * handlers: TDH.PHYMEM.PAGE.RDMD (6.12 tdx.c paddr_is_tdx_private),
 * TDH.PHYMEM.CACHE.WB, TDH.MNG.CREATE / KEY.CONFIG / ADDCX / INIT,
 * TDH.MEM.PAGE.ADD / AUG and TDH.VP.ENTER (KVM TDX). Each test follows the
 * intel/tdx-module tdx_1.5 file of the same name (api_calls/*.c,
 * td_transitions/tdh_vp_enter.c, td_exit.c, td_dispatcher/vm_exits/tdg_vp_vmcall.c);
 * statuses are tdx_error_codes_defs.h values typed in here.
 */
import { describe, expect, it } from 'vitest';
import { PhysMemory } from '../src/machine/memory.js';
import { TdxModuleModel } from '../src/seam/tdx-module.js';
import type { TdxModuleConfig } from '../src/seam/module-state.js';
import type { GprName } from '../src/seam/types.js';
import { mkCall, PHYS, ret, strip } from './support/seam-calls.js';

const GIB = 1n << 30n;
const TDX_SUCCESS = 0n;
const TDX_OPERAND_INVALID = 0xC000010000000000n;
const TDX_OPERAND_ADDR_RANGE_ERROR = 0xC000010100000000n;
const TDX_OPERAND_BUSY = 0x8000020000000000n;
const TDX_OPERAND_BUSY_HOST_PRIORITY = 0x8000020400000000n;
const TDX_RND_NO_ENTROPY = 0x8000020300000000n;
const TDX_INTERRUPTED_RESUMABLE = 0x8000000300000000n;
const TDX_PAGE_METADATA_INCORRECT = 0xC000030000000000n;
const TDX_KEY_GENERATION_FAILED = 0x8000080000000000n;
const TDX_TD_KEYS_NOT_CONFIGURED = 0x8000081000000000n;
const TDX_KEY_CONFIGURED = 0x0000081500000000n;
const TDX_HKID_NOT_FREE = 0xC000082000000000n;
const TDX_NO_HKID_READY_TO_WBCACHE = 0x0000082100000000n;
const TDX_WBCACHE_RESUME_ERROR = 0xC000082300000000n;
const TDX_TDCS_NOT_ALLOCATED = 0xC000060600000000n;
const TDX_OP_STATE_INCORRECT = 0xC000060800000000n;
const TDX_LIFECYCLE_STATE_INCORRECT = 0xC000060700000000n;
const TDX_EPT_ENTRY_STATE_INCORRECT = 0xC0000B0D00000000n;
const TDX_HOST_PRIORITY_BUSY_TIMEOUT = 0x9000020500000000n;
// OPERAND_ID_*: RCX 1, RDX 2, R8 8, MAX_VCPUS 68, KOT 186, WBCACHE 188, TD_EPOCH 169.
const [RCX, RDX, R8, MAX_VCPUS, KOT, WBCACHE, TD_EPOCH] = [1n, 2n, 8n, 68n, 186n, 188n, 169n];
// pamt_manager.h page types.
const [PT_NDA, PT_REG, PT_TDR, PT_TDCX, PT_TDVPR] = [0n, 3n, 4n, 5n, 6n];

/** A READY module with one initialised 2 GiB TDMR at 0. */
function ready(extra: Partial<TdxModuleConfig> = {}) {
  const mem = new PhysMemory(PHYS, Buffer.alloc(0x10000));
  const m = new TdxModuleModel({ tdmrs: [{ base: 0n, size: 2n * GIB }], ...extra });
  const call = (regs: Partial<Record<GprName, bigint>>, lp = 0) => strip(m.handle(mkCall(regs, { env: { lp }, mem })));
  return { m, mem, call };
}

describe('TDH.PHYMEM.PAGE.RDMD (tdh_phymem_page_rdmd.c; 6.12 tdx.c paddr_is_tdx_private)', () => {
  it('RCX = page type, RDX = owner, R8 = size, R9–R11 = 0 — a free page is PT_NDA', () => {
    const { call } = ready();
    expect(call({ rax: 24n, rcx: 0x1000n })).toEqual(ret(TDX_SUCCESS, { rcx: PT_NDA, rdx: 0n, r8: 0n, r9: 0n, r10: 0n, r11: 0n }));
  });
  it('not 4 KiB-aligned → TDX_OPERAND_INVALID|RCX; outside every TDMR → TDX_OPERAND_ADDR_RANGE_ERROR|RCX, outputs zeroed', () => {
    const { call } = ready();
    const zero = { rcx: 0n, rdx: 0n, r8: 0n, r9: 0n, r10: 0n, r11: 0n };
    expect(call({ rax: 24n, rcx: 0x1008n })).toEqual(ret(TDX_OPERAND_INVALID | RCX, zero));
    expect(call({ rax: 24n, rcx: 3n * GIB })).toEqual(ret(TDX_OPERAND_ADDR_RANGE_ERROR | RCX, zero));
  });
  it('a TDMR whose 1 GiB block is not yet initialised is no TDMR to RDMD (pamt_get_block)', () => {
    const { call } = ready({ tdmrs: [{ base: 0n, size: GIB, initialized: false }] });
    expect(call({ rax: 24n, rcx: 0x1000n }).rax).toBe(TDX_OPERAND_ADDR_RANGE_ERROR | RCX);
  });
  it('before the module is READY the dispatcher answers TDX_SYS_NOT_READY — which the kernel reads as "not private"', () => {
    expect(strip(new TdxModuleModel({ state: 'config-done' }).handle(mkCall({ rax: 24n, rcx: 0x1000n }))).rax).toBe(0xC000050500000000n);
  });
});

describe('TDH.PHYMEM.CACHE.WB (tdh_phymem_cache_wb.c)', () => {
  it('RCX > 1 → TDX_OPERAND_INVALID|RCX; a start with no reclaimed KeyID → TDX_NO_HKID_READY_TO_WBCACHE; a resume with nothing saved → TDX_WBCACHE_RESUME_ERROR', () => {
    const { call } = ready();
    expect(call({ rax: 40n, rcx: 2n })).toEqual(ret(TDX_OPERAND_INVALID | RCX));
    expect(call({ rax: 40n, rcx: 0n })).toEqual(ret(TDX_NO_HKID_READY_TO_WBCACHE));
    expect(call({ rax: 40n, rcx: 1n })).toEqual(ret(TDX_WBCACHE_RESUME_ERROR));
  });
  it('busy write-back table or KOT → TDX_OPERAND_BUSY|WBCACHE / |KOT', () => {
    const { call } = ready({ busy: [{ lock: 'wbcache' }, { lock: 'kot' }] });
    expect(call({ rax: 40n, rcx: 0n })).toEqual(ret(TDX_OPERAND_BUSY | WBCACHE));
    expect(call({ rax: 40n, rcx: 0n })).toEqual(ret(TDX_OPERAND_BUSY | KOT));
  });
  it('an interrupted write-back answers TDX_INTERRUPTED_RESUMABLE (a normal SEAMCALL return) and resumes with RCX = 1', () => {
    const { m, call } = ready({ interrupts: 2, cacheSubBlocks: 4 });
    m.state.cacheWbResume.set(0, 0); // as if a start had found reclaimed KeyIDs and been interrupted before block 0
    expect(call({ rax: 40n, rcx: 1n })).toEqual(ret(TDX_INTERRUPTED_RESUMABLE));
    expect(call({ rax: 40n, rcx: 1n })).toEqual(ret(TDX_INTERRUPTED_RESUMABLE));
    expect(call({ rax: 40n, rcx: 1n })).toEqual(ret(TDX_SUCCESS));
    expect(call({ rax: 40n, rcx: 1n })).toEqual(ret(TDX_WBCACHE_RESUME_ERROR));
  });
});

describe('building a TD: MNG.CREATE → MNG.KEY.CONFIG per package → MNG.ADDCX ×6 → MNG.INIT', () => {
  const TDR = 0x100000n;
  it('follows tdh_mng_create.c, tdh_mng_key_config.c, tdh_mng_add_cx.c, tdh_mng_init.c in order', () => {
    const { m, mem, call } = ready({ packages: 2, entropy: true, busy: [{ lock: 'kot' }] });
    expect(call({ rax: 9n, rcx: TDR, rdx: 31n })).toEqual(ret(TDX_OPERAND_INVALID | RDX)); // 31 is an MKTME KeyID
    expect(call({ rax: 9n, rcx: TDR + 8n, rdx: 40n })).toEqual(ret(TDX_OPERAND_INVALID | RCX));
    expect(call({ rax: 9n, rcx: 3n * GIB, rdx: 40n })).toEqual(ret(TDX_OPERAND_ADDR_RANGE_ERROR | RCX));
    expect(call({ rax: 9n, rcx: TDR, rdx: 40n })).toEqual(ret(TDX_OPERAND_BUSY | KOT));
    expect(call({ rax: 9n, rcx: TDR, rdx: 40n })).toEqual(ret(TDX_SUCCESS));
    expect(call({ rax: 24n, rcx: TDR }).regs).toMatchObject({ rcx: PT_TDR });
    expect(call({ rax: 9n, rcx: TDR + 0x1000n, rdx: 40n })).toEqual(ret(TDX_HKID_NOT_FREE));
    expect(call({ rax: 9n, rcx: TDR, rdx: 41n })).toEqual(ret(TDX_PAGE_METADATA_INCORRECT | RCX)); // the page is a TDR now
    // ADDCX before the keys are on every package.
    expect(call({ rax: 1n, rcx: TDR + 0x1000n, rdx: TDR })).toEqual(ret(TDX_TD_KEYS_NOT_CONFIGURED));
    expect(call({ rax: 8n, rcx: TDR }, 0)).toEqual(ret(TDX_SUCCESS));
    expect(call({ rax: 8n, rcx: TDR }, 0)).toEqual(ret(TDX_KEY_CONFIGURED));
    expect(call({ rax: 8n, rcx: TDR }, 1)).toEqual(ret(TDX_SUCCESS));
    expect(call({ rax: 8n, rcx: TDR }, 1)).toEqual(ret(TDX_LIFECYCLE_STATE_INCORRECT)); // keys configured on all packages
    // MNG.INIT before six TDCS pages.
    expect(call({ rax: 21n, rcx: TDR, rdx: PHYS })).toEqual(ret(TDX_TDCS_NOT_ALLOCATED));
    for (let i = 1; i <= 6; i++) expect(call({ rax: 1n, rcx: TDR + BigInt(i) * 0x1000n, rdx: TDR })).toEqual(ret(TDX_SUCCESS));
    expect(call({ rax: 24n, rcx: TDR + 0x1000n }).regs).toMatchObject({ rcx: PT_TDCX, rdx: TDR });
    // TD_PARAMS at PHYS: MAX_VCPUS 0 → |MAX_VCPUS; then 4 VCPUs, CONFIG_FLAGS.NO_RBP_MOD.
    expect(call({ rax: 21n, rcx: TDR, rdx: PHYS + 0x200n })).toEqual(ret(TDX_OPERAND_INVALID | RDX, { rcx: 0n })); // not 1 KiB-aligned
    mem.writeU64(PHYS + 8n, 3n); // XFAM: x87 | SSE
    expect(call({ rax: 21n, rcx: TDR, rdx: PHYS })).toEqual(ret(TDX_OPERAND_INVALID | MAX_VCPUS, { rcx: 0n }));
    mem.buffer.writeUInt16LE(4, 16);
    mem.writeU64(PHYS + 32n, 4n);
    expect(call({ rax: 21n, rcx: TDR, rdx: PHYS })).toEqual(ret(TDX_SUCCESS, { rcx: 0n }));
    expect(call({ rax: 21n, rcx: TDR, rdx: PHYS })).toEqual(ret(TDX_OP_STATE_INCORRECT));
    expect(m.state.tds.get(TDR)).toMatchObject({ op: 'initialized', maxVcpus: 4, noRbpMod: true });
  });
  it('no entropy: MNG.CREATE → TDX_RND_NO_ENTROPY (TD UUID); MNG.KEY.CONFIG → TDX_KEY_GENERATION_FAILED (PCONFIG)', () => {
    const { call } = ready({ entropy: 1 });
    expect(call({ rax: 9n, rcx: TDR, rdx: 40n })).toEqual(ret(TDX_RND_NO_ENTROPY));
    expect(call({ rax: 9n, rcx: TDR, rdx: 40n })).toEqual(ret(TDX_SUCCESS));
    const { call: c2 } = ready({ entropy: 1, tds: [{ tdr: TDR, hkid: 40, state: 'hkid-assigned' }] });
    expect(c2({ rax: 8n, rcx: TDR })).toEqual(ret(TDX_KEY_GENERATION_FAILED));
  });
  it('a locked PAMT entry: TDX_OPERAND_BUSY|RCX, or TDX_OPERAND_BUSY_HOST_PRIORITY|RCX when the holder has host priority (tdx_locks.h)', () => {
    const { call } = ready({ busy: [{ lock: 'page' }, { lock: 'page', hostPriority: true }] });
    expect(call({ rax: 9n, rcx: TDR, rdx: 40n })).toEqual(ret(TDX_OPERAND_BUSY | RCX));
    expect(call({ rax: 9n, rcx: TDR, rdx: 40n })).toEqual(ret(TDX_OPERAND_BUSY_HOST_PRIORITY | RCX));
  });
});

describe('TDH.MEM.PAGE.ADD / AUG (tdh_mem_page_add.c, tdh_mem_page_aug.c)', () => {
  const TDR = 0x100000n;
  it('ADD needs OP_STATE_INITIALIZED, a 4 KiB GPA and a free target page (|R8); the page becomes PT_REG; RCX = RDX = 0', () => {
    const { call } = ready({ tds: [{ tdr: TDR, hkid: 40, state: 'initialized' }] });
    const z = { rcx: 0n, rdx: 0n };
    expect(call({ rax: 2n, rcx: 0x1000n | 1n, rdx: TDR, r8: 0x200000n, r9: PHYS })).toEqual(ret(TDX_OPERAND_INVALID | RCX, z));
    expect(call({ rax: 2n, rcx: 0x1000n, rdx: TDR, r8: TDR, r9: PHYS })).toEqual(ret(TDX_PAGE_METADATA_INCORRECT | R8, z));
    expect(call({ rax: 2n, rcx: 0x1000n, rdx: TDR, r8: 0x200000n, r9: PHYS })).toEqual(ret(TDX_SUCCESS, z));
    expect(call({ rax: 2n, rcx: 0x1000n, rdx: TDR, r8: 0x201000n, r9: PHYS })).toEqual(ret(TDX_EPT_ENTRY_STATE_INCORRECT | RCX, z));
    expect(call({ rax: 24n, rcx: 0x200000n }).regs).toMatchObject({ rcx: PT_REG, rdx: TDR });
  });
  it('ADD after the TD is runnable → TDX_OP_STATE_INCORRECT; AUG works then, and a TD that is not a TD → |RDX', () => {
    const { call } = ready({ tds: [{ tdr: TDR, hkid: 40 }] });
    expect(call({ rax: 2n, rcx: 0x1000n, rdx: TDR, r8: 0x200000n, r9: PHYS }).rax).toBe(TDX_OP_STATE_INCORRECT);
    expect(call({ rax: 6n, rcx: 0x1000n, rdx: TDR, r8: 0x200000n })).toEqual(ret(TDX_SUCCESS, { rcx: 0n, rdx: 0n }));
    expect(call({ rax: 6n, rcx: 0x1000n, rdx: 0x200000n, r8: 0x300000n }).rax).toBe(TDX_PAGE_METADATA_INCORRECT | RDX);
  });
});

describe('TDH.VP.ENTER (tdh_vp_enter.c; exits from tdg_vp_vmcall.c and td_exit.c)', () => {
  const TDR = 0x100000n;
  const TDVPR = 0x108000n;
  const td = (noRbpMod: boolean) => ready({
    tds: [{
      tdr: TDR, hkid: 40, noRbpMod, vcpus: [{
        tdvpr: TDVPR, exits: [
          { kind: 'tdvmcall', gprSelect: 0xffcc, regs: { r10: 0n, r11: 0x10001n, r12: 0x40000000n, r13: 0x1000n, rbx: 5n, rdx: 7n } },
          { kind: 'async', reason: 48, qualification: 0x184n, gpa: 0x40001000n },
          { kind: 'async', reason: 0, trap: true },
        ],
      }],
    }],
  });
  it('a TDG.VP.VMCALL exit: RAX = 77 (TDCALL exit reason), RCX = the GPR mask, exposed GPRs, others 0; RBP kept with NO_RBP_MOD', () => {
    const { call } = td(true);
    const o = call({ rax: 0n, rcx: TDVPR, rbp: 0xbbbbn });
    expect(o.rax).toBe(77n);
    expect(o.regs).toMatchObject({ rcx: 0xffccn, rdx: 7n, rbx: 5n, r10: 0n, r11: 0x10001n, r12: 0x40000000n, r13: 0x1000n, r14: 0n, r15: 0n, rsi: 0n, rdi: 0n, r8: 0n, r9: 0n });
    expect(o.regs).not.toHaveProperty('rbp');
    const { call: c2 } = td(false);
    expect(c2({ rax: 0n, rcx: TDVPR }).regs).toMatchObject({ rbp: 0n });
  });
  it('an asynchronous exit: RAX = TDX_SUCCESS | exit reason, RCX qualification, R8 GPA, R10–R15, RBX, RBP, RSI, RDI = 0', () => {
    const { call } = td(true);
    call({ rax: 0n, rcx: TDVPR });
    expect(call({ rax: 0n, rcx: TDVPR })).toEqual(ret(48n, {
      rcx: 0x184n, rdx: 0n, r8: 0x40001000n, r9: 0n, r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n, r15: 0n, rbx: 0n, rbp: 0n, rsi: 0n, rdi: 0n,
    }));
  });
  it('the host-recoverability flag (RCX bit 52) only after a trap-like exit (the host-priority timeout, bit 60 in its status)', () => {
    const { call } = td(true);
    expect(call({ rax: 0n, rcx: TDVPR | (1n << 52n) })).toEqual(ret(TDX_OPERAND_INVALID | RCX));
    call({ rax: 0n, rcx: TDVPR });
    call({ rax: 0n, rcx: TDVPR });
    expect(call({ rax: 0n, rcx: TDVPR }).rax).toBe(TDX_HOST_PRIORITY_BUSY_TIMEOUT);
    expect(call({ rax: 0n, rcx: TDVPR | (1n << 52n) }).rax).toBe(TDX_SUCCESS);
  });
  it('reserved RCX bits → |RCX; not a TDVPR → TDX_PAGE_METADATA_INCORRECT|RCX; a TD not yet runnable → TDX_OP_STATE_INCORRECT; the TD epoch busy → TDX_OPERAND_BUSY|TD_EPOCH', () => {
    const { call } = td(true);
    expect(call({ rax: 0n, rcx: TDVPR | 1n })).toEqual(ret(TDX_OPERAND_INVALID | RCX));
    expect(call({ rax: 0n, rcx: TDR })).toEqual(ret(TDX_PAGE_METADATA_INCORRECT | RCX));
    const { call: c2 } = ready({ tds: [{ tdr: TDR, hkid: 40, state: 'initialized', vcpus: [{ tdvpr: TDVPR }] }] });
    expect(c2({ rax: 0n, rcx: TDVPR })).toEqual(ret(TDX_OP_STATE_INCORRECT));
    const { call: c3 } = ready({ busy: [{ lock: 'td-epoch' }], tds: [{ tdr: TDR, hkid: 40, vcpus: [{ tdvpr: TDVPR }] }] });
    expect(c3({ rax: 0n, rcx: TDVPR })).toEqual(ret(TDX_OPERAND_BUSY | TD_EPOCH));
  });
  it('the VCPU page reads back as PT_TDVPR owned by its TDR (RDMD)', () => {
    const { call } = td(true);
    expect(call({ rax: 24n, rcx: TDVPR }).regs).toMatchObject({ rcx: PT_TDVPR, rdx: TDR });
  });
});
