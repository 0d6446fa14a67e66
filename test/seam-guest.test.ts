/**
 * The TDX module as a TD guest sees it (TDCALL), as plain handlers: the TD
 * dispatcher (intel/tdx-module tdx_1.5 src/td_dispatcher/tdx_td_dispatcher.c
 * td_call) and the leaves in src/td_dispatcher/vm_exits/tdg_*.c, with the
 * GHCI VMM behind TDG.VP.VMCALL as KVM's tdx_map_gpa serves MapGPA.
 * Statuses are tdx_error_codes_defs.h values typed in here.
 */
import { describe, expect, it } from 'vitest';
import { PhysMemory } from '../src/machine/memory.js';
import { GhciVmm, TdGuestModel, type VmcallRequest } from '../src/seam/td-guest.js';
import type { CpuEnv, GprName } from '../src/seam/types.js';
import { mkCall, PHYS, ret, strip } from './support/seam-calls.js';

const TDX_OPERAND_INVALID = 0xC000010000000000n;
const TDX_OPERAND_BUSY = 0x8000020000000000n;
const TDX_PAGE_ALREADY_ACCEPTED = 0x00000B0A00000000n;
const TDX_PAGE_SIZE_MISMATCH = 0xC0000B0B00000000n;
const TDX_NO_VALID_VE_INFO = 0xC000070400000000n;
const TDX_METADATA_FIELD_ID_INCORRECT = 0xC0000C0000000000n;
const TDX_METADATA_FIELD_NOT_WRITABLE = 0xC0000C0100000000n;
const TDX_METADATA_FIELD_VALUE_NOT_VALID = 0xC0000C0300000000n;
const MD_FIELD_ID_NA = 0xFFFFFFFFFFFFFFFFn;
const HOST_HINT = 1n << 60n;
// 6.12 asm/shared/tdx.h
const TDCS_CONFIG_FLAGS = 0x1110000300000016n;
const TDCS_TD_CTLS = 0x1110000300000017n;
const TDCS_NOTIFY_ENABLES = 0x9100000000000010n;

const g = (regs: Partial<Record<GprName, bigint>>, opts: { env?: Partial<CpuEnv>; mem?: PhysMemory } = {}, model = new TdGuestModel()) =>
  strip(model.handle(mkCall(regs, { kind: 'tdcall', ...opts })));

describe('TD dispatcher (td_call)', () => {
  it('RAX[63:24] not zero, a version on any leaf but TDG.VM.RD, or an unknown leaf → TDX_OPERAND_INVALID|RAX', () => {
    expect(g({ rax: 1n << 24n })).toEqual(ret(TDX_OPERAND_INVALID));
    expect(g({ rax: (1n << 16n) | 1n })).toEqual(ret(TDX_OPERAND_INVALID));
    expect(g({ rax: (1n << 16n) | 8n })).toEqual(ret(TDX_OPERAND_INVALID)); // TDG.VM.WR v1
    expect(g({ rax: 99n })).toEqual(ret(TDX_OPERAND_INVALID));
  });
});

describe('TDG.VP.INFO (tdg_vp_info.c)', () => {
  it('RCX = GPAW (48 or 52), RDX = attributes, R8 = NUM | MAX << 32, R9 = VCPU index, R10 bit 0 = TDG.SYS.RD available, R11 = 0', () => {
    expect(g({ rax: 1n }, { env: { lp: 2 } })).toEqual(ret(0n, { rcx: 48n, rdx: 0n, r8: (4n << 32n) | 4n, r9: 2n, r10: 1n, r11: 0n }));
    expect(g({ rax: 1n }, {}, new TdGuestModel({ gpaw: 52 })).regs).toMatchObject({ rcx: 52n });
  });
  it('1.0 writes R10 = 0 (the 1.0 source\'s tdg_vp_info: "Reserved for future use")', () => {
    expect(g({ rax: 1n }, {}, new TdGuestModel({ version: '1.0' })).regs).toMatchObject({ r10: 0n, r11: 0n });
  });
});

describe('TDG.MR.REPORT (tdg_mr_report.c)', () => {
  it('copies REPORTDATA to offset 128 of a type-0x81 report; TDINFO carries ATTRIBUTES and XFAM', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x1000));
    for (let i = 0; i < 64; i++) mem.buffer[0x400 + i] = 0xa0 + (i & 7);
    expect(g({ rax: 4n, rcx: PHYS, rdx: PHYS + 0x400n, r8: 0n }, { mem }, new TdGuestModel({ attributes: 0x10000000n }))).toEqual(ret(0n));
    expect(mem.buffer[0]).toBe(0x81);
    expect([...mem.buffer.subarray(128, 136)]).toEqual([0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7]);
    expect(mem.buffer.readBigUInt64LE(512)).toBe(0x10000000n);
    expect(mem.buffer.readBigUInt64LE(520)).toBe(3n);
  });
  it('checks in order: RCX 1024-aligned → |RCX, RDX 64-aligned → |RDX, sub-type 0 → |R8', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x1000));
    expect(g({ rax: 4n, rcx: PHYS + 8n, rdx: PHYS + 0x408n, r8: 1n }, { mem })).toEqual(ret(TDX_OPERAND_INVALID | 1n));
    expect(g({ rax: 4n, rcx: PHYS, rdx: PHYS + 0x408n, r8: 1n }, { mem })).toEqual(ret(TDX_OPERAND_INVALID | 2n));
    expect(g({ rax: 4n, rcx: PHYS, rdx: PHYS + 0x400n, r8: 1n }, { mem })).toEqual(ret(TDX_OPERAND_INVALID | 8n));
  });
  it('a pending interrupt → interrupted: re-execute, nothing written (the TDCALL runs again after the interrupt)', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x1000));
    const m = new TdGuestModel({ interrupts: 1 });
    expect(m.handle(mkCall({ rax: 4n, rcx: PHYS, rdx: PHYS + 0x400n, r8: 0n }, { kind: 'tdcall', mem })).kind).toBe('interrupted');
    expect(mem.buffer[0]).toBe(0);
    expect(g({ rax: 4n, rcx: PHYS, rdx: PHYS + 0x400n, r8: 0n }, { mem }, m)).toEqual(ret(0n));
  });
});

describe('TDG.MEM.PAGE.ACCEPT (tdg_mem_page_accept.c)', () => {
  it('a pending 4 KiB page is zeroed and accepted; again → TDX_PAGE_ALREADY_ACCEPTED (level 0)', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x3000, 0xee));
    const m = new TdGuestModel();
    expect(g({ rax: 6n, rcx: PHYS + 0x1000n }, { mem }, m)).toEqual(ret(0n));
    expect([mem.buffer[0x1000], mem.buffer[0x1fff], mem.buffer[0x2000]]).toEqual([0, 0, 0xee]);
    expect(g({ rax: 6n, rcx: PHYS + 0x1000n }, { mem }, m)).toEqual(ret(TDX_PAGE_ALREADY_ACCEPTED));
    expect(m.pageState(PHYS + 0x1000n)).toBe('accepted');
  });
  it('level 2 (1 GiB), reserved bits, misalignment or a shared/too-wide GPA → TDX_OPERAND_INVALID|RCX (verify_page_info_input, check_gpa_validity)', () => {
    expect(g({ rax: 6n, rcx: PHYS | 2n })).toEqual(ret(TDX_OPERAND_INVALID | 1n));
    expect(g({ rax: 6n, rcx: PHYS | 0x10n })).toEqual(ret(TDX_OPERAND_INVALID | 1n));
    expect(g({ rax: 6n, rcx: (PHYS + 0x1000n) | 1n })).toEqual(ret(TDX_OPERAND_INVALID | 1n));
    expect(g({ rax: 6n, rcx: (1n << 47n) | PHYS })).toEqual(ret(TDX_OPERAND_INVALID | 1n)); // the shared bit for GPAW 48
    expect(g({ rax: 6n, rcx: 1n << 48n })).toEqual(ret(TDX_OPERAND_INVALID | 1n));
  });
  it('2 MiB over 4 KiB pages → TDX_PAGE_SIZE_MISMATCH + level 1 (what the 6.12 guest\'s try_accept_one falls back from)', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x200000));
    expect(g({ rax: 6n, rcx: PHYS | 1n }, { mem })).toEqual(ret(TDX_PAGE_SIZE_MISMATCH | 1n));
  });
  it('2 MiB pending: interrupted after each pending interrupt (RIP not advanced), resuming the counter; then accepted; a 4 KiB accept inside → TDX_PAGE_ALREADY_ACCEPTED + level 1', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x200000, 0xee));
    const m = new TdGuestModel({ pages: '2m-pending', interrupts: 2 });
    const accept2m = () => m.handle(mkCall({ rax: 6n, rcx: PHYS | 1n }, { kind: 'tdcall', mem }));
    expect(accept2m()).toMatchObject({ kind: 'interrupted', note: expect.stringMatching(/after 1 of 512/) });
    expect(accept2m()).toMatchObject({ kind: 'interrupted', note: expect.stringMatching(/after 2 of 512/) });
    expect(strip(accept2m())).toEqual(ret(0n));
    expect(mem.buffer.every((b) => b === 0)).toBe(true);
    expect(g({ rax: 6n, rcx: PHYS + 0x3000n }, { mem }, m)).toEqual(ret(TDX_PAGE_ALREADY_ACCEPTED | 1n));
  });
  it('a GPA outside the TD\'s memory: an EPT-violation TD exit — the TDCALL re-executes (async_tdexit_ept_violation)', () => {
    expect(new TdGuestModel().handle(mkCall({ rax: 6n, rcx: 0x10000000n }, { kind: 'tdcall' })).kind).toBe('interrupted');
  });
  it('the SEPT entry locked by the host → TDX_OPERAND_BUSY|RCX; with host priority still TDX_OPERAND_BUSY (td_call converts it), with bit 60 once the VMM re-entered with the hint', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x2000));
    const m = new TdGuestModel({ busy: [{ lock: 'sept' }, { lock: 'sept', hostPriority: true, hostRecoverabilityHint: true }] });
    expect(g({ rax: 6n, rcx: PHYS }, { mem }, m)).toEqual(ret(TDX_OPERAND_BUSY | 1n));
    expect(g({ rax: 6n, rcx: PHYS }, { mem }, m)).toEqual(ret(TDX_OPERAND_BUSY | HOST_HINT | 1n));
    expect(g({ rax: 6n, rcx: PHYS }, { mem }, m)).toEqual(ret(0n));
  });
});

describe('TDG.VM.RD / TDG.VM.WR (tdg_vm_rd_wr.c; tdr_tdcs_fields_lookup.c; metadata_td.c)', () => {
  it('v0 reads R8 and leaves RDX; v1 also returns the next guest-readable field in RDX', () => {
    const m = new TdGuestModel({ flexiblePendingVe: true });
    expect(g({ rax: 7n, rdx: TDCS_CONFIG_FLAGS }, {}, m)).toEqual(ret(0n, { r8: 2n }));
    expect(g({ rax: 0x10007n, rdx: TDCS_CONFIG_FLAGS }, {}, m)).toEqual(ret(0n, { r8: 2n, rdx: TDCS_TD_CTLS }));
    expect(g({ rax: 0x10007n, rdx: 0x1110000300000001n }, {}, m).regs).toMatchObject({ r8: 3n, rdx: 0x1110000200000002n }); // XFAM → MAX_VCPUS
  });
  it('RD v2 → TDX_OPERAND_INVALID|RAX with RDX = −1, R8 = 0; VM ≠ 0 → |RCX; an unknown field → TDX_METADATA_FIELD_ID_INCORRECT', () => {
    expect(g({ rax: 0x20007n, rdx: TDCS_TD_CTLS })).toEqual(ret(TDX_OPERAND_INVALID, { r8: 0n, rdx: MD_FIELD_ID_NA }));
    expect(g({ rax: 7n, rdx: TDCS_TD_CTLS, rcx: 1n })).toEqual(ret(TDX_OPERAND_INVALID | 1n, { r8: 0n }));
    expect(g({ rax: 7n, rdx: 0x1110000300000fffn })).toEqual(ret(TDX_METADATA_FIELD_ID_INCORRECT, { r8: 0n }));
  });
  it('the 6.12 guest\'s tdg_vm_wr(TDCS_NOTIFY_ENABLES, 0, -1): only bit 0 is writable, so mask −1 with value 0 succeeds; R8 = the old value', () => {
    expect(g({ rax: 8n, rdx: TDCS_NOTIFY_ENABLES, r8: 0n, r9: 0xFFFFFFFFFFFFFFFFn })).toEqual(ret(0n, { r8: 0n }));
    expect(g({ rax: 8n, rdx: TDCS_NOTIFY_ENABLES, r8: 2n, r9: 0xFFFFFFFFFFFFFFFFn })).toEqual(ret(TDX_METADATA_FIELD_VALUE_NOT_VALID, { r8: 0n }));
    expect(g({ rax: 8n, rdx: TDCS_CONFIG_FLAGS, r8: 0n, r9: 1n })).toEqual(ret(TDX_METADATA_FIELD_NOT_WRITABLE, { r8: 0n }));
  });
  it('TD_CTLS.PENDING_VE_DISABLE may change only with CONFIG_FLAGS.FLEXIBLE_PENDING_VE (md_td_write_element special case)', () => {
    expect(g({ rax: 8n, rdx: TDCS_TD_CTLS, r8: 1n, r9: 1n })).toEqual(ret(TDX_METADATA_FIELD_VALUE_NOT_VALID, { r8: 0n }));
    const m = new TdGuestModel({ flexiblePendingVe: true });
    expect(g({ rax: 8n, rdx: TDCS_TD_CTLS, r8: 1n, r9: 1n }, {}, m)).toEqual(ret(0n, { r8: 0n }));
    expect(g({ rax: 7n, rdx: TDCS_TD_CTLS }, {}, m)).toEqual(ret(0n, { r8: 1n }));
  });
});

describe('TDG.VP.VEINFO.GET (tdg_vp_veinfo_get.c)', () => {
  it('no #VE pending → TDX_NO_VALID_VE_INFO with RCX, RDX, R8–R10 zeroed; else the #VE once', () => {
    const zero = { rcx: 0n, rdx: 0n, r8: 0n, r9: 0n, r10: 0n };
    expect(g({ rax: 3n, rcx: 5n })).toEqual(ret(TDX_NO_VALID_VE_INFO, zero));
    const m = new TdGuestModel({ veInfo: { exitReason: 48, exitQualification: 0x184n, gla: 0x7000n, gpa: 0x40001000n, instLenAndInfo: 3n } });
    expect(g({ rax: 3n }, {}, m)).toEqual(ret(0n, { rcx: 48n, rdx: 0x184n, r8: 0x7000n, r9: 0x40001000n, r10: 3n }));
    expect(g({ rax: 3n }, {}, m)).toEqual(ret(TDX_NO_VALID_VE_INFO, zero));
  });
});

describe('TDG.VP.VMCALL (tdg_vp_vmcall.c) and the GHCI VMM', () => {
  it('only exposed registers reach the VMM and come back; others are preserved', () => {
    const seen: VmcallRequest[] = [];
    const vmm = { name: 'spy', vmcall: (req: VmcallRequest) => { seen.push(req); return { r10: 0n, r11: 0x77n, r12: 0x88n, rbx: 0x99n }; } };
    const o = g({ rax: 0n, rcx: 0x1c00n, r10: 0n, r11: 0x10001n, r12: 0x5000n, r13: 0x1000n, rbx: 0x123n }, {}, new TdGuestModel({ vmm }));
    expect(seen[0]!.regs).toEqual({ r10: 0n, r11: 0x10001n, r12: 0x5000n });
    expect(o).toEqual(ret(0n, { r10: 0n, r11: 0x77n, r12: 0x88n }));
  });
  it('RCX bits 63:32, or exposing RAX, RCX, RSP — and RBP with NO_RBP_MOD — → TDX_OPERAND_INVALID|RCX', () => {
    expect(g({ rax: 0n, rcx: 1n << 32n })).toEqual(ret(TDX_OPERAND_INVALID | 1n));
    expect(g({ rax: 0n, rcx: 0x12n })).toEqual(ret(TDX_OPERAND_INVALID | 1n));
    expect(g({ rax: 0n, rcx: 0x20n, r10: 0n, r11: 12n }).rax).toBe(0n);
    expect(g({ rax: 0n, rcx: 0x20n }, {}, new TdGuestModel({ noRbpMod: true }))).toEqual(ret(TDX_OPERAND_INVALID | 1n));
  });
  it('MapGPA as KVM\'s tdx_map_gpa: aligned → success; misaligned → ALIGN_ERROR with R11 = GPA; empty, wrapping or straddling the shared bit → INVALID_OPERAND with R11 = GPA', () => {
    const v = new GhciVmm();
    const map = (gpa: bigint, size: bigint) => v.vmcall({ mask: 0xffccn, regs: { r10: 0n, r11: 0x10001n, r12: gpa, r13: size }, gpaw: 48 });
    expect(map(0x40000000n, 0x1000n)).toEqual({ r10: 0n });
    expect(map(0x40000008n, 0x1000n)).toEqual({ r10: 0x8000000000000002n, r11: 0x40000008n });
    expect(map(0x40000000n, 0n)).toEqual({ r10: 0x8000000000000000n, r11: 0x40000000n });
    expect(map(0xFFFFFFFFFFFFF000n, 0x2000n)).toEqual({ r10: 0x8000000000000000n, r11: 0xFFFFFFFFFFFFF000n });
    expect(map((1n << 47n) - 0x1000n, 0x2000n)).toEqual({ r10: 0x8000000000000000n, r11: (1n << 47n) - 0x1000n });
    expect(v.vmcall({ mask: 0xffccn, regs: { r10: 5n, r11: 0x10001n } })).toEqual({ r10: 0x8000000000000000n });
  });
});
