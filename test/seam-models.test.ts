/**
 * The built-in SEAM-side models as plain handlers (no machine): the CPU's
 * checks, the TDX module's dispatcher and platform-initialisation leaves,
 * module versions, and the P-SEAMLDR. Every expected status is a value of
 * intel/tdx-module tdx_1.5 include/auto_gen/tdx_error_codes_defs.h (or the
 * P-SEAMLDR's pseamldr_api_defs.h) typed in here, and every test names the
 * source file and function whose behaviour it checks.
 */
import { describe, expect, it } from 'vitest';
import { PhysMemory } from '../src/machine/memory.js';
import { TdxModuleModel } from '../src/seam/tdx-module.js';
import { PSeamldrModel, SeamRoot } from '../src/seam/p-seamldr.js';
import { ScriptedHandler } from '../src/seam/scripted.js';
import { asCpuApplies, environmentFault } from '../src/seam/env.js';
import { GUEST_ENV, HOST_ENV, type GprName } from '../src/seam/types.js';

import { mkCall, PHYS, ret, strip } from './support/seam-calls.js';

// tdx_api_defs.h seamcall_leaf_opcode_e: SYS.KEY.CONFIG 31, SYS.INFO 32, SYS.INIT 33, SYS.RD 34, SYS.LP.INIT 35,
// SYS.TDMR.INIT 36, SYS.LP.SHUTDOWN 44, SYS.CONFIG 45, MNG.CREATE 9, MEM.SEPT.ADD 3, MNG.RD 11, VP.INIT 22.
// tdx_error_codes_defs.h:
const TDX_SUCCESS = 0n;
const TDX_OPERAND_INVALID = 0xC000010000000000n;
const TDX_OPERAND_BUSY = 0x8000020000000000n;
const TDX_SYS_BUSY = 0x8000020200000000n;
const TDX_RND_NO_ENTROPY = 0x8000020300000000n;
const TDX_SYS_INIT_NOT_PENDING = 0xC000050000000000n;
const TDX_SYS_LP_INIT_NOT_DONE = 0xC000050200000000n;
const TDX_SYS_LP_INIT_DONE = 0xC000050300000000n;
const TDX_SYS_NOT_READY = 0xC000050500000000n;
const TDX_SYS_SHUTDOWN = 0xC000050600000000n;
const TDX_SYS_KEY_CONFIG_NOT_PENDING = 0xC000050700000000n;
const TDX_SYS_LP_INIT_NOT_PENDING = 0xC000050B00000000n;
const TDX_SYS_CONFIG_NOT_PENDING = 0xC000050C00000000n;
const TDX_KEY_GENERATION_FAILED = 0x8000080000000000n;
const TDX_KEY_CONFIGURED = 0x0000081500000000n;
const TDX_INVALID_TDMR = 0xC0000A0000000000n;
const TDX_NON_ORDERED_TDMR = 0xC0000A0100000000n;
const TDX_TDMR_OUTSIDE_CMRS = 0xC0000A0200000000n;
const TDX_TDMR_ALREADY_INITIALIZED = 0x00000A0300000000n;
const TDX_INVALID_PAMT = 0xC0000A1000000000n;
const TDX_PAMT_OVERLAP = 0xC0000A1200000000n;
const TDX_METADATA_FIELD_ID_INCORRECT = 0xC0000C0000000000n;
const TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT = 0x00000C0B00000000n;
const KET = 187n; // OPERAND_ID_KET
const MD_FIELD_ID_NA = 0xFFFFFFFFFFFFFFFFn; // metadata_generic.h
const GIB = 1n << 30n;

describe('CPU environment checks (SDM SEAMCALL/TDCALL; KVM 9d7dfb95 for the CPL order)', () => {
  it('SEAMCALL: #UD outside VMX operation first, then #GP at CPL > 0 — even inside a TD — then #UD in a TD, then #GP without SEAMRR', () => {
    expect(environmentFault('seamcall', { ...HOST_ENV, vmx: false, cpl: 3, seamrr: false })).toMatchObject({ vector: 'UD' });
    expect(environmentFault('seamcall', { ...HOST_ENV, cpl: 1, seamrr: false })).toMatchObject({ vector: 'GP' });
    expect(environmentFault('seamcall', { ...GUEST_ENV, cpl: 3 })).toMatchObject({ vector: 'GP' });
    expect(environmentFault('seamcall', GUEST_ENV)).toMatchObject({ vector: 'UD' });
    expect(environmentFault('seamcall', { ...HOST_ENV, seamrr: false })).toMatchObject({ vector: 'GP' });
    expect(environmentFault('seamcall', HOST_ENV)).toBeUndefined();
  });
  it('TDCALL: #UD outside a TD, #GP at CPL > 0', () => {
    expect(environmentFault('tdcall', GUEST_ENV)).toBeUndefined();
    expect(environmentFault('tdcall', HOST_ENV)).toMatchObject({ vector: 'UD' });
    expect(environmentFault('tdcall', { ...GUEST_ENV, cpl: 3 })).toMatchObject({ vector: 'GP' });
  });
  it('a TDCALL return keeps RFLAGS (tdx_td_dispatcher.c td_call writes only RAX); a TDCALL VMfail answer is refused (SDM TDCALL has none)', () => {
    expect(asCpuApplies('tdcall', { kind: 'return', rax: 0n })).toEqual({ kind: 'return', rax: 0n, flags: 'preserve' });
    expect(asCpuApplies('seamcall', { kind: 'return', rax: 0n })).toEqual({ kind: 'return', rax: 0n });
    expect(() => asCpuApplies('tdcall', { kind: 'vmfailinvalid' })).toThrow(/TDCALL cannot produce/);
  });
});

describe('TDX module dispatcher (tdx_vmm_dispatcher.c tdx_vmm_dispatcher)', () => {
  const ready = () => new TdxModuleModel();
  it('RAX[63:24] not zero → TDX_OPERAND_INVALID|RAX', () => {
    expect(strip(ready().handle(mkCall({ rax: (1n << 24n) | 34n })))).toEqual(ret(TDX_OPERAND_INVALID));
  });
  it('1.5: a version above 0 only for PAGE.PROMOTE, SEPT.ADD, SEPT.REMOVE, MNG.RD, VP.RD — not TDH.SYS.INIT', () => {
    expect(strip(ready().handle(mkCall({ rax: (1n << 16n) | 34n })))).toEqual(ret(TDX_OPERAND_INVALID));
    expect(strip(new TdxModuleModel({ state: 'uninitialized' }).handle(mkCall({ rax: (1n << 16n) | 33n })))).toEqual(ret(TDX_OPERAND_INVALID));
    // MNG.RD v1 passes the dispatcher (and is not modelled beyond it).
    expect(ready().handle(mkCall({ rax: (1n << 16n) | 11n })).note).toMatch(/not modelled/);
  });
  it('2.0 adds VP.INIT, SYS.INIT and MEM.SHARED.SEPT.WR to the versioned leaves (dispatcher at 1666adc4)', () => {
    expect(strip(new TdxModuleModel({ version: '2.0', state: 'uninitialized' }).handle(mkCall({ rax: (1n << 16n) | 33n })))).toEqual(ret(TDX_SUCCESS, { rcx: 0n, rdx: 0n, r8: 0n, r9: 0n, r10: 0n }));
  });
  it('an unknown leaf → TDX_OPERAND_INVALID|RAX when READY, TDX_SYS_NOT_READY before (the not-ready check comes before the switch)', () => {
    expect(strip(ready().handle(mkCall({ rax: 250n })))).toEqual(ret(TDX_OPERAND_INVALID));
    expect(strip(new TdxModuleModel({ state: 'sys-init-done' }).handle(mkCall({ rax: 250n })))).toEqual(ret(TDX_SYS_NOT_READY));
    // TDH.PHYMEM.PAMT.ADD (58) exists in 2.0 only.
    expect(ready().handle(mkCall({ rax: 58n })).note).toMatch(/no leaf 58 in module 1.5/);
  });
  it('not READY: only the SYS leaves, others → TDX_SYS_NOT_READY', () => {
    expect(strip(new TdxModuleModel({ state: 'sys-init-done' }).handle(mkCall({ rax: 9n })))).toEqual(ret(TDX_SYS_NOT_READY));
  });
  it('module not loaded → VMfailInvalid', () => {
    expect(new TdxModuleModel({ loaded: false }).handle(mkCall({ rax: 33n })).kind).toBe('vmfailinvalid');
  });
});

describe('TDH.SYS.LP.SHUTDOWN per module version', () => {
  it('1.5 and 2.0: deprecated, TDX_SUCCESS and nothing else (tdh_sys_lp_shutdown.c)', () => {
    for (const version of ['1.5', '2.0'] as const) {
      const m = new TdxModuleModel({ version });
      expect(strip(m.handle(mkCall({ rax: 44n })))).toEqual(ret(TDX_SUCCESS));
      expect(strip(m.handle(mkCall({ rax: 34n, rdx: 0x9100000100000008n })))).toEqual(ret(TDX_SUCCESS, { rdx: 0x9100000100000009n, r8: 64n }));
    }
  });
  it('1.0: marks the module SYS_SHUTDOWN; then every leaf but LP.SHUTDOWN → TDX_SYS_SHUTDOWN (1.0 tdh_sys_lp_shutdown; dispatcher)', () => {
    const m = new TdxModuleModel({ version: '1.0' });
    expect(strip(m.handle(mkCall({ rax: 44n })))).toEqual(ret(TDX_SUCCESS));
    expect(m.sysState).toBe('shutdown');
    expect(strip(m.handle(mkCall({ rax: 33n })))).toEqual(ret(TDX_SYS_SHUTDOWN));
    expect(strip(m.handle(mkCall({ rax: 44n })))).toEqual(ret(TDX_SUCCESS));
  });
});

describe('TDH.SYS.INIT and TDH.SYS.LP.INIT (tdh_sys_init.c, tdh_sys_lp_init.c)', () => {
  it('SYS.INIT zeroes RCX, RDX, R8–R10; RCX must be 0; twice → TDX_SYS_INIT_NOT_PENDING', () => {
    const m = new TdxModuleModel({ state: 'uninitialized' });
    const zero = { rcx: 0n, rdx: 0n, r8: 0n, r9: 0n, r10: 0n };
    expect(strip(m.handle(mkCall({ rax: 33n, rcx: 1n })))).toEqual(ret(TDX_OPERAND_INVALID | 1n, zero));
    expect(strip(m.handle(mkCall({ rax: 33n, rdx: 5n, r10: 7n })))).toEqual(ret(TDX_SUCCESS, zero));
    expect(strip(m.handle(mkCall({ rax: 33n })))).toEqual(ret(TDX_SYS_INIT_NOT_PENDING, zero));
  });
  it('SYS.INIT without entropy → TDX_RND_NO_ENTROPY and the state stays SYSINIT_PENDING, so the retry succeeds (tdx_init_stack_canary)', () => {
    const m = new TdxModuleModel({ state: 'uninitialized', entropy: 1 });
    expect(strip(m.handle(mkCall({ rax: 33n }))).rax).toBe(TDX_RND_NO_ENTROPY);
    expect(m.sysState).toBe('uninitialized');
    expect(strip(m.handle(mkCall({ rax: 33n }))).rax).toBe(TDX_SUCCESS);
  });
  it('the global lock held elsewhere → TDX_SYS_BUSY', () => {
    const m = new TdxModuleModel({ state: 'uninitialized', busy: [{ lock: 'global' }] });
    expect(strip(m.handle(mkCall({ rax: 33n }))).rax).toBe(TDX_SYS_BUSY);
    expect(strip(m.handle(mkCall({ rax: 33n }))).rax).toBe(TDX_SUCCESS);
  });
  it('LP.INIT zeroes RCX, RDX, R8; before SYS.INIT or after SYS.CONFIG → TDX_SYS_LP_INIT_NOT_PENDING; twice → TDX_SYS_LP_INIT_DONE; no LFSR seed → TDX_RND_NO_ENTROPY', () => {
    const zero = { rcx: 0n, rdx: 0n, r8: 0n };
    expect(strip(new TdxModuleModel({ state: 'uninitialized' }).handle(mkCall({ rax: 35n })))).toEqual(ret(TDX_SYS_LP_INIT_NOT_PENDING, zero));
    expect(strip(new TdxModuleModel({ state: 'config-done' }).handle(mkCall({ rax: 35n })))).toEqual(ret(TDX_SYS_LP_INIT_NOT_PENDING, zero));
    const m = new TdxModuleModel({ state: 'sys-init-done', entropy: 1 });
    expect(strip(m.handle(mkCall({ rax: 35n })))).toEqual(ret(TDX_RND_NO_ENTROPY, zero));
    expect(strip(m.handle(mkCall({ rax: 35n, rcx: 9n })))).toEqual(ret(TDX_SUCCESS, zero));
    expect(strip(m.handle(mkCall({ rax: 35n })))).toEqual(ret(TDX_SYS_LP_INIT_DONE, zero));
  });
});

describe('TDH.SYS.RD (tdh_sys_rd.c; global_sys_fields_lookup.c; metadata_generic.c)', () => {
  const rd = (id: bigint, m = new TdxModuleModel()) => strip(m.handle(mkCall({ rax: 34n, rdx: id })));
  it('R8 = the value; RDX = the next field id in table order', () => {
    expect(rd(0x9100000100000008n)).toEqual(ret(0n, { rdx: 0x9100000100000009n, r8: 64n })); // MAX_TDMRS → MAX_RESERVED_PER_TDMR
    expect(rd(0x9100000100000009n)).toEqual(ret(0n, { rdx: 0x9100000100000010n, r8: 16n }));
    expect(rd(0x9100000100000010n)).toEqual(ret(0n, { rdx: 0x9100000100000011n, r8: 16n }));
    expect(rd(0x9100000100000011n)).toEqual(ret(0n, { rdx: 0x9100000100000012n, r8: 16n }));
    expect(rd(0x9100000100000012n)).toEqual(ret(0n, { rdx: 0x9800000100000000n, r8: 16n })); // → TDR_BASE_SIZE
  });
  it('within a multi-element field the next id is the next element (CMR_BASE[0] → CMR_BASE[1]); the last field → MD_FIELD_ID_NA', () => {
    expect(rd(0x9000000300000080n)).toEqual(ret(0n, { rdx: 0x9000000300000081n, r8: 0n }));
    expect(rd(0x9000000300000100n)).toEqual(ret(0n, { rdx: 0x9000000300000101n, r8: 4n * GIB })); // CMR_SIZE[0] of the default CMR
    expect(rd(0xA200000300000006n).regs).toMatchObject({ rdx: MD_FIELD_ID_NA }); // VCPU_L2_DEBUG_CTLS_FIXED1, the last entry
  });
  it('values are masked to the element size: VENDOR_ID 0x8086, MAJOR/MINOR 1.5 (proj_defs.mk), TDX_FEATURES0 with NO_RBP_MOD (bit 18)', () => {
    expect(rd(0x0800000200000000n).regs).toMatchObject({ r8: 0x8086n });
    expect(rd(0x0800000100000004n).regs).toMatchObject({ r8: 1n });
    expect(rd(0x0800000100000003n).regs).toMatchObject({ r8: 5n });
    expect((rd(0x0A00000300000008n).regs!.r8! >> 18n) & 1n).toBe(1n);
  });
  it('RDX = −1 and R8 = 0 on errors: unknown field / not a single-element id → TDX_METADATA_FIELD_ID_INCORRECT; a null id → the first field', () => {
    expect(rd(0x9100000100000fffn)).toEqual(ret(TDX_METADATA_FIELD_ID_INCORRECT, { rdx: MD_FIELD_ID_NA, r8: 0n }));
    expect(rd(0x9100000100000008n | (1n << 34n))).toEqual(ret(TDX_METADATA_FIELD_ID_INCORRECT, { rdx: MD_FIELD_ID_NA, r8: 0n })); // LAST_ELEMENT_IN_FIELD ≠ 0
    expect(rd(MD_FIELD_ID_NA)).toEqual(ret(TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT, { rdx: 0x0000000200000000n, r8: 0n })); // NUM_PKGS
    expect(rd(0x9100000100000008n, new TdxModuleModel({ state: 'sys-init-done' }))).toEqual(ret(TDX_SYS_LP_INIT_NOT_DONE, { rdx: MD_FIELD_ID_NA, r8: 0n }));
  });
});

describe('TDH.SYS.INFO (tdh_sys_info.c)', () => {
  it('writes TDSYSINFO_STRUCT (zeroed first) and all 32 CMR_INFO entries; RDX = 1024, R9 = 32', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x10000, 0xaa));
    const o = strip(new TdxModuleModel().handle(mkCall({ rax: 32n, rcx: PHYS + 0x400n, rdx: 1024n, r8: PHYS + 0x1000n, r9: 32n }, { mem })));
    expect(o).toEqual(ret(0n, { rdx: 1024n, r9: 32n }));
    const b = mem.buffer;
    expect(b.readUInt32LE(0x404)).toBe(0x8086);
    expect(b.readUInt16LE(0x40e)).toBe(5); // minor_version
    expect(b.readUInt16LE(0x410)).toBe(1); // major_version
    expect(b[0x412]).toBe(1); // sys_rd
    expect(b.readUInt16LE(0x420)).toBe(64); // max_tdmrs
    expect(b.readUInt16LE(0x422)).toBe(16); // max_reserved_per_tdmr
    expect(b.readUInt16LE(0x424)).toBe(16); // pamt_entry_size
    expect(b.readBigUInt64LE(0x440)).toBe(0x8000000070000001n); // attributes_fixed0 (td_control_structures.h)
    expect(b[0x7ff]).toBe(0); // the rest of the 1 KiB is zero
    expect(mem.readU64(PHYS + 0x1000n)).toBe(0n);
    expect(mem.readU64(PHYS + 0x1008n)).toBe(4n * GIB);
    expect(mem.readU64(PHYS + 0x1010n)).toBe(0n); // entries 1..31: empty CMRs
  });
  it('checks: RDX = R9 = 0 first; TDSYSINFO not 1 KiB-aligned → |RCX; size < 1024 → |RDX; CMR array not 512-aligned → |R8; fewer than 32 entries → |R9', () => {
    const m = new TdxModuleModel();
    const z = { rdx: 0n, r9: 0n };
    const info = (regs: Partial<Record<GprName, bigint>>) => strip(m.handle(mkCall({ rax: 32n, rcx: PHYS + 0x400n, rdx: 1024n, r8: PHYS + 0x1000n, r9: 32n, ...regs })));
    expect(info({ rcx: PHYS + 0x200n })).toEqual(ret(TDX_OPERAND_INVALID | 1n, z));
    expect(info({ rdx: 1023n })).toEqual(ret(TDX_OPERAND_INVALID | 2n, z));
    expect(info({ r8: PHYS + 0x1100n })).toEqual(ret(TDX_OPERAND_INVALID | 8n, z));
    expect(info({ r9: 31n })).toEqual(ret(TDX_OPERAND_INVALID | 9n, z));
  });
});

/** One TDMR_INFO (tdx_api_defs.h tdmr_info_entry_t) at PHYS + 0x200, its PA at PHYS. */
function tdmrInfo(mem: PhysMemory, at: bigint, t: { base: bigint; size: bigint; pamt?: [bigint, bigint, bigint]; rsvd?: [bigint, bigint] }): void {
  const [p1g, p2m, p4k] = t.pamt ?? [t.base + 0x30000000n, t.base + 0x30001000n, t.base + 0x30003000n];
  const q = [t.base, t.size, p1g, 0x1000n, p2m, 0x2000n, p4k, (t.size / 0x1000n) * 16n, ...(t.rsvd ?? [0x30000000n, 0x403000n])];
  q.forEach((v, i) => mem.writeU64(at + BigInt(i * 8), v));
}

describe('TDH.SYS.CONFIG, KEY.CONFIG, TDMR.INIT (tdh_sys_config.c, tdh_sys_key_config.c, tdh_sys_tdmr_init.c)', () => {
  const setup = (lps = 2, packages = 1) => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x10000));
    const m = new TdxModuleModel({ state: 'sys-init-done', lps, packages });
    const call = (regs: Partial<Record<GprName, bigint>>, lp = 0) => strip(m.handle(mkCall(regs, { env: { lp }, mem })));
    mem.writeU64(PHYS, PHYS + 0x200n);
    tdmrInfo(mem, PHYS + 0x200n, { base: 0n, size: GIB });
    return { m, mem, call };
  };
  it('SYS.CONFIG before every LP ran LP.INIT, or in the wrong state → TDX_SYS_CONFIG_NOT_PENDING', () => {
    const { call } = setup();
    call({ rax: 35n }, 0);
    expect(call({ rax: 45n, rcx: PHYS, rdx: 1n, r8: 32n })).toEqual(ret(TDX_SYS_CONFIG_NOT_PENDING));
    expect(strip(new TdxModuleModel({ state: 'uninitialized' }).handle(mkCall({ rax: 45n, rcx: PHYS, rdx: 1n, r8: 32n })))).toEqual(ret(TDX_SYS_CONFIG_NOT_PENDING));
  });
  it('operand checks in order: PA array not 512-aligned → |RCX; 0 or > 64 TDMRs → |RDX; KeyID not a TDX KeyID (32..63 here) → |R8', () => {
    const { call } = setup();
    call({ rax: 35n }, 0);
    call({ rax: 35n }, 1);
    expect(call({ rax: 45n, rcx: PHYS + 8n, rdx: 1n, r8: 32n })).toEqual(ret(TDX_OPERAND_INVALID | 1n));
    expect(call({ rax: 45n, rcx: PHYS, rdx: 0n, r8: 32n })).toEqual(ret(TDX_OPERAND_INVALID | 2n));
    expect(call({ rax: 45n, rcx: PHYS, rdx: 65n, r8: 32n })).toEqual(ret(TDX_OPERAND_INVALID | 2n));
    expect(call({ rax: 45n, rcx: PHYS, rdx: 1n, r8: 31n })).toEqual(ret(TDX_OPERAND_INVALID | 8n)); // an MKTME KeyID
  });
  it('TDMR checks carry the TDMR index (api_error_with_multiple_info): misaligned → TDX_INVALID_TDMR|i, PAMT too small → TDX_INVALID_PAMT|i|size<<8, PAMT in usable memory → TDX_PAMT_OVERLAP, outside CMRs', () => {
    const { mem, call } = setup();
    call({ rax: 35n }, 0);
    call({ rax: 35n }, 1);
    const cfg = () => call({ rax: 45n, rcx: PHYS, rdx: 1n, r8: 32n });
    tdmrInfo(mem, PHYS + 0x200n, { base: GIB / 2n, size: GIB });
    expect(cfg()).toEqual(ret(TDX_INVALID_TDMR));
    tdmrInfo(mem, PHYS + 0x200n, { base: 0n, size: GIB });
    mem.writeU64(PHYS + 0x200n + 7n * 8n, 0x1000n); // PAMT_4K size 4 KiB < 1 GiB / 4 KiB × 16
    expect(cfg()).toEqual(ret(TDX_INVALID_PAMT | (0n << 8n)));
    tdmrInfo(mem, PHYS + 0x200n, { base: 0n, size: GIB, rsvd: [0n, 0n] }); // no reserved area: the PAMTs sit in usable memory
    expect(cfg()).toEqual(ret(TDX_PAMT_OVERLAP)); // TDMR 0, PAMT_4K (0), TDMR 0
    tdmrInfo(mem, PHYS + 0x200n, { base: 4n * GIB, size: GIB }); // the default CMR is 0..4 GiB
    expect(cfg()).toEqual(ret(0xC0000A1100000000n | (2n << 8n))); // TDX_PAMT_OUTSIDE_CMRS, PAMT_1G checked first
  });
  it('a second TDMR below the first → TDX_NON_ORDERED_TDMR|1; a TDMR beyond the CMRs → TDX_TDMR_OUTSIDE_CMRS', () => {
    const { mem, call } = setup();
    call({ rax: 35n }, 0);
    call({ rax: 35n }, 1);
    mem.writeU64(PHYS, PHYS + 0x400n);
    mem.writeU64(PHYS + 8n, PHYS + 0x200n);
    tdmrInfo(mem, PHYS + 0x400n, { base: GIB, size: GIB, pamt: [0x70000000n, 0x70001000n, 0x70003000n], rsvd: [0x30000000n, 0x403000n] });
    tdmrInfo(mem, PHYS + 0x200n, { base: 0n, size: GIB });
    expect(call({ rax: 45n, rcx: PHYS, rdx: 2n, r8: 32n })).toEqual(ret(TDX_NON_ORDERED_TDMR | 1n));
    const m2 = new TdxModuleModel({ state: 'sys-init-done', lps: 1, cmrs: [{ base: 0n, size: 0x60000000n }] });
    m2.handle(mkCall({ rax: 35n }, { mem }));
    mem.writeU64(PHYS, PHYS + 0x200n);
    tdmrInfo(mem, PHYS + 0x200n, { base: GIB, size: GIB, pamt: [0x30000000n, 0x30001000n, 0x30003000n], rsvd: [0n, 0n] });
    expect(strip(m2.handle(mkCall({ rax: 45n, rcx: PHYS, rdx: 1n, r8: 32n }, { mem })))).toEqual(ret(TDX_TDMR_OUTSIDE_CMRS));
  });
  it('KEY.CONFIG: before CONFIG or after the last package → TDX_SYS_KEY_CONFIG_NOT_PENDING; per package; a configured package → TDX_KEY_CONFIGURED', () => {
    expect(strip(new TdxModuleModel({ state: 'sys-init-done' }).handle(mkCall({ rax: 31n })))).toEqual(ret(TDX_SYS_KEY_CONFIG_NOT_PENDING));
    const m = new TdxModuleModel({ state: 'config-done', lps: 4, packages: 2 });
    expect(strip(m.handle(mkCall({ rax: 31n }, { env: { lp: 0 } })))).toEqual(ret(TDX_SUCCESS));
    expect(strip(m.handle(mkCall({ rax: 31n }, { env: { lp: 2 } })))).toEqual(ret(TDX_KEY_CONFIGURED)); // LP 2 is on package 0
    expect(strip(m.handle(mkCall({ rax: 31n }, { env: { lp: 1 } })))).toEqual(ret(TDX_SUCCESS));
    expect(m.sysState).toBe('ready');
    expect(strip(m.handle(mkCall({ rax: 31n })))).toEqual(ret(TDX_SYS_KEY_CONFIG_NOT_PENDING));
  });
  it('KEY.CONFIG: an entropy error → TDX_KEY_GENERATION_FAILED, a busy key table → TDX_OPERAND_BUSY|KET (helpers.c program_mktme_keys); the package can retry', () => {
    const m = new TdxModuleModel({ state: 'config-done', entropy: 1, busy: [{ lock: 'ket' }] });
    expect(strip(m.handle(mkCall({ rax: 31n })))).toEqual(ret(TDX_OPERAND_BUSY | KET));
    expect(strip(m.handle(mkCall({ rax: 31n })))).toEqual(ret(TDX_KEY_GENERATION_FAILED));
    expect(strip(m.handle(mkCall({ rax: 31n })))).toEqual(ret(TDX_SUCCESS));
  });
  it('TDMR.INIT: RDX = 0 first; not 1 GiB-aligned or not a TDMR base → TDX_OPERAND_INVALID|RCX; 4 MiB per call, RDX = next rounded down to 1 GiB; then TDX_TDMR_ALREADY_INITIALIZED', () => {
    const m = new TdxModuleModel({ state: 'ready', tdmrs: [{ base: 0n, size: GIB, initialized: false }], busy: [{ lock: 'tdmr' }] });
    const init = (rcx: bigint) => strip(m.handle(mkCall({ rax: 36n, rcx })));
    expect(init(0x1000n)).toEqual(ret(TDX_OPERAND_INVALID | 1n, { rdx: 0n }));
    expect(init(GIB)).toEqual(ret(TDX_OPERAND_INVALID | 1n, { rdx: 0n }));
    expect(init(0n)).toEqual(ret(TDX_OPERAND_BUSY | 1n, { rdx: 0n }));
    for (let i = 1; i < 256; i++) expect(init(0n)).toEqual(ret(TDX_SUCCESS, { rdx: 0n }));
    expect(init(0n)).toEqual(ret(TDX_SUCCESS, { rdx: GIB })); // the 256th 4 MiB chunk completes the 1 GiB
    expect(init(0n)).toEqual(ret(TDX_TDMR_ALREADY_INITIALIZED, { rdx: 0n }));
  });
});

describe('P-SEAMLDR (pseamldr_api_defs.h, seamldr_info.c, seamldr_shutdown.c)', () => {
  const PSEAMLDR_EBADPARAM = 0x8000000000000000n;
  const PSEAMLDR_EBADCALL = 0x8000000000000003n;
  it('SEAMLDR.INFO fills seamldr_info_t: vendor 0x8086, SEAMEXTEND valid, seam_ready (160) and p_seamldr_ready (162) set, features0.cleanup_supported', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x1000, 0xaa));
    expect(strip(new SeamRoot().handle(mkCall({ rax: 0x8000000000000000n, rcx: PHYS + 0x100n }, { mem })))).toEqual(ret(0n));
    const b = mem.buffer.subarray(0x100, 0x200);
    expect(b.readUInt32LE(8)).toBe(0x8086);
    expect(b.readUInt16LE(20)).toBe(1); // major
    expect(b.readBigUInt64LE(32)).toBe(1n); // seamextend.valid
    expect(b[160]).toBe(1);
    expect(b[161]).toBe(0);
    expect(b[162]).toBe(1);
    expect(b.readBigUInt64LE(168)).toBe(2n);
    expect(b[255]).toBe(0); // zeroed first
  });
  it('no module loaded: seam_ready is 0 while the loader itself is ready', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x1000));
    new SeamRoot({ loaded: false }).handle(mkCall({ rax: 0x8000000000000000n, rcx: PHYS }, { mem }));
    expect([mem.buffer[160], mem.buffer[162]]).toEqual([0, 1]);
  });
  it('errors are the loader\'s own codes: a misaligned buffer or an unknown leaf → PSEAMLDR_EBADPARAM', () => {
    expect(strip(new SeamRoot().handle(mkCall({ rax: 0x8000000000000000n, rcx: PHYS + 8n })))).toEqual(ret(PSEAMLDR_EBADPARAM));
    expect(strip(new SeamRoot().handle(mkCall({ rax: 0x8000000000000009n })))).toEqual(ret(PSEAMLDR_EBADPARAM));
  });
  it('not loaded, or busy on another LP → VMfailInvalid; RAX[63] routes to the loader even when the module is absent', () => {
    expect(new PSeamldrModel({ loaded: false }).handle(mkCall({ rax: 0x8000000000000000n })).kind).toBe('vmfailinvalid');
    expect(new PSeamldrModel({ busy: true }).handle(mkCall({ rax: 0x8000000000000000n })).kind).toBe('vmfailinvalid');
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x1000));
    expect(new SeamRoot({ loaded: false }).handle(mkCall({ rax: 0x8000000000000000n, rcx: PHYS }, { mem })).kind).toBe('return');
    expect(new SeamRoot({ loaded: false }).handle(mkCall({ rax: 33n })).kind).toBe('vmfailinvalid');
  });
  it('SEAMLDR.SHUTDOWN on every LP: the first clears SEAM_READY (module calls → VMfailInvalid); the last must be the ACM\'s LP, then the loader stops', () => {
    const root = new SeamRoot({ lps: 2 }, { acmLp: 0 });
    expect(strip(root.handle(mkCall({ rax: 0x8000000000000002n }, { env: { lp: 0 } })))).toEqual(ret(0n));
    expect(root.handle(mkCall({ rax: 34n, rdx: 0x9100000100000008n })).kind).toBe('vmfailinvalid');
    expect(strip(root.handle(mkCall({ rax: 0x8000000000000002n }, { env: { lp: 1 } })))).toEqual(ret(PSEAMLDR_EBADCALL));
    const root2 = new SeamRoot({ lps: 2 }, { acmLp: 1 });
    root2.handle(mkCall({ rax: 0x8000000000000002n }, { env: { lp: 0 } }));
    expect(strip(root2.handle(mkCall({ rax: 0x8000000000000002n }, { env: { lp: 1 } })))).toEqual(ret(0n));
    expect(root2.handle(mkCall({ rax: 0x8000000000000000n })).kind).toBe('vmfailinvalid');
  });
  it('SEAMLDR.INSTALL checks SEAMLDR_PARAMS (version 0, scenario LOAD/UPDATE, 1..496 pages) → PSEAMLDR_EBADPARAM with RDX = 0; on every LP it loads a fresh module', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x2000));
    const root = new SeamRoot({ lps: 1, loaded: false });
    const install = () => strip(root.handle(mkCall({ rax: 0x8000000000000001n, rcx: PHYS }, { mem })));
    expect(install()).toEqual(ret(PSEAMLDR_EBADPARAM, { rdx: 0n })); // num_module_pages 0
    mem.writeU64(PHYS + 120n, 10n);
    mem.buffer.writeUInt32LE(2, 4); // scenario 2
    expect(install()).toEqual(ret(PSEAMLDR_EBADPARAM, { rdx: 0n }));
    mem.buffer.writeUInt32LE(0, 4);
    expect(install()).toEqual(ret(0n));
    expect(strip(root.handle(mkCall({ rax: 33n })))).toMatchObject({ rax: 0n }); // TDH.SYS.INIT on the new module
  });
});

describe('scripted answers', () => {
  it('answers in order, then falls back to the model', () => {
    const h = new ScriptedHandler([{ kind: 'return', rax: TDX_RND_NO_ENTROPY }, { kind: 'vmfailinvalid' }], new TdxModuleModel());
    const c = mkCall({ rax: 34n, rdx: 0x9100000100000008n });
    expect(strip(h.handle(c))).toEqual(ret(TDX_RND_NO_ENTROPY));
    expect(h.handle(c).kind).toBe('vmfailinvalid');
    expect(strip(h.handle(c))).toEqual(ret(0n, { rdx: 0x9100000100000009n, r8: 64n }));
    const last = new ScriptedHandler([{ kind: 'vmfailvalid' }]);
    expect(last.handle(c).kind).toBe('vmfailvalid');
    expect(last.handle(c).kind).toBe('vmfailvalid');
  });
});
