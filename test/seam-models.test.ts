/**
 * The built-in SEAM-side models as plain handlers (no machine): the TDX
 * module's dispatcher checks and initialisation state machine, the
 * P-SEAMLDR, the TD-guest leaves and TDG.VP.VMCALL's exposure mask.
 * Statuses are the tdx-module tdx_error_codes_defs.h values, typed in here.
 */
import { describe, expect, it } from 'vitest';
import { PhysMemory } from '../src/machine/memory.js';
import { TdxModuleModel } from '../src/seam/tdx-module.js';
import { PSeamldrModel, SeamRoot } from '../src/seam/p-seamldr.js';
import { GhciVmm, TdGuestModel, type VmcallRequest } from '../src/seam/td-guest.js';
import { ScriptedHandler } from '../src/seam/scripted.js';
import { environmentFault } from '../src/seam/env.js';
import { leafName, statusName } from '../src/seam/codes.js';
import { GUEST_ENV, HOST_ENV, type CpuEnv, type GprName, type Outcome, type SeamCall, type SeamKind } from '../src/seam/types.js';

const PHYS = 0x40000000n;

function mkCall(regs: Partial<Record<GprName, bigint>>, opts: { env?: Partial<CpuEnv>; kind?: SeamKind; mem?: PhysMemory } = {}): SeamCall {
  const all = Object.fromEntries(['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'].map((r) => [r, 0n])) as Record<GprName, bigint>;
  const kind = opts.kind ?? 'seamcall';
  return {
    kind, index: 0, rip: 0n, rflags: 2n, regs: { ...all, ...regs },
    env: { ...(kind === 'seamcall' ? HOST_ENV : GUEST_ENV), ...opts.env },
    mem: opts.mem ?? new PhysMemory(PHYS, Buffer.alloc(0x10000)),
  };
}

const ret = (rax: bigint, regs?: Record<string, bigint>) => (regs ? { kind: 'return', rax, regs } : { kind: 'return', rax });
const strip = (o: Outcome) => { const { note: _n, ...rest } = o as Outcome & { note?: string }; return rest; };

// Leaves (tdx_api_defs.h): SYS.KEY.CONFIG 31, SYS.INFO 32, SYS.INIT 33, SYS.RD 34, SYS.LP.INIT 35, SYS.TDMR.INIT 36, SYS.LP.SHUTDOWN 44, SYS.CONFIG 45; TDH.MNG.CREATE 9, TDH.MEM.SEPT.ADD 3.
const TDX_SUCCESS = 0n;
const TDX_OPERAND_INVALID = 0xC000010000000000n;
const TDX_SYS_NOT_READY = 0xC000050500000000n;
const TDX_SYS_SHUTDOWN = 0xC000050600000000n;
const TDX_SYS_INIT_NOT_PENDING = 0xC000050000000000n;
const TDX_SYS_LP_INIT_DONE = 0xC000050300000000n;
const TDX_SYS_LP_INIT_NOT_DONE = 0xC000050200000000n;
const TDX_RND_NO_ENTROPY = 0x8000020300000000n;
const TDX_KEY_CONFIGURED = 0x0000081500000000n;
const TDX_METADATA_FIELD_ID_INCORRECT = 0xC0000C0000000000n;

describe('CPU environment checks', () => {
  it('orders SEAMCALL checks #UD (not VMX) before #GP (CPL, SEAMRR)', () => {
    expect(environmentFault('seamcall', { ...HOST_ENV, vmx: false, cpl: 3, seamrr: false })).toMatchObject({ vector: 'UD' });
    expect(environmentFault('seamcall', { ...HOST_ENV, cpl: 1, seamrr: false })).toMatchObject({ vector: 'GP' });
    expect(environmentFault('seamcall', { ...HOST_ENV, seamrr: false })).toMatchObject({ vector: 'GP' });
    expect(environmentFault('seamcall', HOST_ENV)).toBeUndefined();
    expect(environmentFault('tdcall', GUEST_ENV)).toBeUndefined();
    expect(environmentFault('tdcall', HOST_ENV)).toMatchObject({ vector: 'UD' });
    expect(environmentFault('tdcall', { ...GUEST_ENV, cpl: 3 })).toMatchObject({ vector: 'GP' });
  });
});

describe('TDX module dispatcher', () => {
  const ready = () => new TdxModuleModel();
  it('RAX[63:24] not zero → TDX_OPERAND_INVALID (operand RAX)', () => {
    expect(strip(ready().handle(mkCall({ rax: (1n << 24n) | 34n })))).toEqual(ret(TDX_OPERAND_INVALID));
  });
  it('a version above 0 only for the leaves that have versions', () => {
    expect(strip(ready().handle(mkCall({ rax: (1n << 16n) | 34n })))).toEqual(ret(TDX_OPERAND_INVALID));
    const m = new TdxModuleModel({ state: 'uninitialized' });
    expect(strip(m.handle(mkCall({ rax: (1n << 16n) | 33n })))).toEqual(ret(TDX_SUCCESS));
  });
  it('unknown leaf → TDX_OPERAND_INVALID', () => {
    expect(strip(ready().handle(mkCall({ rax: 250n })))).toEqual(ret(TDX_OPERAND_INVALID));
  });
  it('not READY: only the SYS leaves are allowed, others → TDX_SYS_NOT_READY', () => {
    const m = new TdxModuleModel({ state: 'sys-init-done' });
    expect(strip(m.handle(mkCall({ rax: 9n })))).toEqual(ret(TDX_SYS_NOT_READY));
  });
  it('SHUTDOWN: every leaf but TDH.SYS.LP.SHUTDOWN → TDX_SYS_SHUTDOWN', () => {
    const m = ready();
    expect(strip(m.handle(mkCall({ rax: 44n })))).toEqual(ret(TDX_SUCCESS));
    expect(strip(m.handle(mkCall({ rax: 34n, rdx: 0x9100000100000008n })))).toEqual(ret(TDX_SYS_SHUTDOWN));
    expect(strip(m.handle(mkCall({ rax: 44n })))).toEqual(ret(TDX_SUCCESS));
  });
  it('module not loaded → VMfailInvalid', () => {
    expect(new TdxModuleModel({ loaded: false }).handle(mkCall({ rax: 33n })).kind).toBe('vmfailinvalid');
  });
});

describe('TDX module initialisation as the 6.8+ kernel drives it', () => {
  it('SYS.INIT → LP.INIT per LP → SYS.CONFIG → KEY.CONFIG per package (READY) → TDMR.INIT', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x10000));
    const m = new TdxModuleModel({ state: 'uninitialized', lps: 2, packages: 1 });
    const call = (regs: Partial<Record<GprName, bigint>>, lp = 0) => strip(m.handle(mkCall(regs, { env: { lp }, mem })));
    expect(call({ rax: 35n })).toEqual(ret(0xC000050800000000n)); // LP.INIT before SYS.INIT: TDX_SYS_STATE_INCORRECT
    expect(call({ rax: 33n })).toEqual(ret(TDX_SUCCESS));
    expect(call({ rax: 33n })).toEqual(ret(TDX_SYS_INIT_NOT_PENDING));
    expect(call({ rax: 34n, rdx: 0x9100000100000008n })).toEqual(ret(TDX_SYS_LP_INIT_NOT_DONE));
    expect(call({ rax: 35n }, 0)).toEqual(ret(TDX_SUCCESS));
    expect(call({ rax: 35n }, 0)).toEqual(ret(TDX_SYS_LP_INIT_DONE));
    expect(call({ rax: 34n, rdx: 0x9100000100000008n })).toEqual(ret(TDX_SUCCESS, { r8: 64n }));
    // SYS.CONFIG before every LP is initialised.
    expect(call({ rax: 45n, rcx: PHYS, rdx: 1n, r8: 1n })).toEqual(ret(TDX_SYS_LP_INIT_NOT_DONE));
    expect(call({ rax: 35n }, 1)).toEqual(ret(TDX_SUCCESS));
    // One TDMR_INFO at PHYS+0x200 describing 2 GiB at 0; the PA array at PHYS.
    mem.writeU64(PHYS, PHYS + 0x200n);
    mem.writeU64(PHYS + 0x200n, 0n);
    mem.writeU64(PHYS + 0x208n, 2n << 30n);
    expect(call({ rax: 45n, rcx: PHYS + 8n, rdx: 1n, r8: 1n })).toEqual(ret(TDX_OPERAND_INVALID | 1n)); // not 512-aligned: operand RCX
    expect(call({ rax: 45n, rcx: PHYS, rdx: 0n, r8: 1n })).toEqual(ret(TDX_OPERAND_INVALID | 2n)); // 0 TDMRs: operand RDX
    expect(call({ rax: 45n, rcx: PHYS, rdx: 1n, r8: 1n })).toEqual(ret(TDX_SUCCESS));
    expect(call({ rax: 36n, rcx: 0n })).toEqual(ret(TDX_SYS_NOT_READY)); // TDMR.INIT is not among the leaves allowed before READY
    expect(call({ rax: 31n })).toEqual(ret(TDX_SUCCESS));
    expect(m.state).toBe('ready');
    expect(call({ rax: 31n })).toEqual(ret(0xC000050700000000n)); // TDX_SYS_KEY_CONFIG_NOT_PENDING after the last package
    expect(call({ rax: 36n, rcx: 1n << 30n })).toEqual(ret(0xC0000A0000000000n)); // TDX_INVALID_TDMR: no TDMR there
    expect(call({ rax: 36n, rcx: 0n })).toEqual(ret(TDX_SUCCESS, { rdx: 1n << 30n }));
    expect(call({ rax: 36n, rcx: 0n })).toEqual(ret(TDX_SUCCESS, { rdx: 2n << 30n }));
    expect(call({ rax: 36n, rcx: 0n })).toEqual(ret(0x00000A0300000000n)); // TDX_TDMR_ALREADY_INITIALIZED
  });

  it('KEY.CONFIG: no entropy → TDX_RND_NO_ENTROPY; a configured package → TDX_KEY_CONFIGURED', () => {
    expect(strip(new TdxModuleModel({ state: 'config-done', entropy: false }).handle(mkCall({ rax: 31n })))).toEqual(ret(TDX_RND_NO_ENTROPY));
    const m = new TdxModuleModel({ state: 'config-done', packages: 2 });
    expect(strip(m.handle(mkCall({ rax: 31n }, { env: { lp: 0 } })))).toEqual(ret(TDX_SUCCESS));
    expect(strip(m.handle(mkCall({ rax: 31n }, { env: { lp: 2 } })))).toEqual(ret(TDX_KEY_CONFIGURED));
  });

  it('SYS.RD answers the field IDs the kernel reads; an unknown field → TDX_METADATA_FIELD_ID_INCORRECT', () => {
    const m = new TdxModuleModel();
    const rd = (id: bigint) => strip(m.handle(mkCall({ rax: 34n, rdx: id })));
    expect(rd(0x9100000100000008n)).toEqual(ret(0n, { r8: 64n }));
    expect(rd(0x9100000100000009n)).toEqual(ret(0n, { r8: 16n }));
    expect(rd(0x9100000100000010n)).toEqual(ret(0n, { r8: 16n }));
    expect(rd(0x9100000100000011n)).toEqual(ret(0n, { r8: 16n }));
    expect(rd(0x9100000100000012n)).toEqual(ret(0n, { r8: 16n }));
    expect(rd(0x9100000100000fffn)).toEqual(ret(TDX_METADATA_FIELD_ID_INCORRECT, { r8: 0n }));
  });

  it('SYS.INFO writes TDSYSINFO_STRUCT and one CMR into physical memory', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x10000));
    const o = strip(new TdxModuleModel().handle(mkCall({ rax: 32n, rcx: PHYS + 0x400n, rdx: 1024n, r8: PHYS + 0x1000n, r9: 32n }, { mem })));
    expect(o).toEqual(ret(0n, { rdx: 1024n, r9: 1n }));
    expect(mem.buffer.readUInt32LE(0x404)).toBe(0x8086);
    expect(mem.buffer.readUInt16LE(0x400 + 32)).toBe(64);
    expect(mem.readU64(PHYS + 0x1000n)).toBe(PHYS);
    expect(mem.readU64(PHYS + 0x1008n)).toBe(0x10000n);
    expect(strip(new TdxModuleModel().handle(mkCall({ rax: 32n, rcx: PHYS + 0x200n, rdx: 1024n, r8: PHYS + 0x1000n, r9: 32n }, { mem })))).toEqual(ret(TDX_OPERAND_INVALID | 1n));
  });
});

describe('P-SEAMLDR', () => {
  it('SEAMLDR.INFO writes p_seamldr_info (vendor 0x8086) at RCX', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x1000));
    expect(strip(new SeamRoot().handle(mkCall({ rax: 0x8000000000000000n, rcx: PHYS + 0x100n }, { mem })))).toEqual(ret(0n));
    expect(mem.buffer.readUInt32LE(0x100 + 8)).toBe(0x8086);
    expect(mem.buffer.readUInt16LE(0x100 + 20)).toBe(1);
  });
  it('not loaded, or busy on another LP → VMfailInvalid; RAX[63] routes to the loader even when the module is absent', () => {
    expect(new PSeamldrModel({ loaded: false }).handle(mkCall({ rax: 0x8000000000000000n })).kind).toBe('vmfailinvalid');
    expect(new PSeamldrModel({ busy: true }).handle(mkCall({ rax: 0x8000000000000000n })).kind).toBe('vmfailinvalid');
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x1000));
    expect(new SeamRoot({ loaded: false }).handle(mkCall({ rax: 0x8000000000000000n, rcx: PHYS }, { mem })).kind).toBe('return');
    expect(new SeamRoot({ loaded: false }).handle(mkCall({ rax: 33n })).kind).toBe('vmfailinvalid');
  });
  it('a misaligned p_seamldr_info is refused', () => {
    expect(strip(new SeamRoot().handle(mkCall({ rax: 0x8000000000000000n, rcx: PHYS + 8n })))).toEqual(ret(TDX_OPERAND_INVALID | 1n));
  });
});

describe('TD guest', () => {
  const g = (regs: Partial<Record<GprName, bigint>>, opts: { env?: Partial<CpuEnv>; mem?: PhysMemory } = {}, model = new TdGuestModel()) =>
    strip(model.handle(mkCall(regs, { kind: 'tdcall', ...opts })));
  it('TDG.VP.INFO: GPAW, attributes, VCPU counts, VCPU index', () => {
    expect(g({ rax: 1n }, { env: { lp: 2 } })).toEqual(ret(0n, { rcx: 48n, rdx: 0n, r8: (4n << 32n) | 4n, r9: 2n, r10: 0n, r11: 0n }));
  });
  it('TDG.MR.REPORT copies REPORTDATA into the report at offset 128', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x1000));
    for (let i = 0; i < 64; i++) mem.buffer[0x400 + i] = 0xa0 + (i & 7);
    expect(g({ rax: 4n, rcx: PHYS, rdx: PHYS + 0x400n, r8: 0n }, { mem })).toEqual(ret(0n));
    expect(mem.buffer[0]).toBe(0x81);
    expect([...mem.buffer.subarray(128, 136)]).toEqual([0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7]);
    expect(g({ rax: 4n, rcx: PHYS, rdx: PHYS + 0x408n, r8: 0n }, { mem })).toEqual(ret(TDX_OPERAND_INVALID | 2n));
    expect(g({ rax: 4n, rcx: PHYS, rdx: PHYS + 0x400n, r8: 1n }, { mem })).toEqual(ret(TDX_OPERAND_INVALID | 8n));
  });
  it('TDG.MEM.PAGE.ACCEPT zeroes the accepted page; a misaligned GPA or level > 1 is invalid', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(0x3000, 0xee));
    expect(g({ rax: 6n, rcx: PHYS + 0x1000n }, { mem })).toEqual(ret(0n));
    expect(mem.buffer[0x1000]).toBe(0);
    expect(mem.buffer[0x1fff]).toBe(0);
    expect(mem.buffer[0x2000]).toBe(0xee);
    expect(g({ rax: 6n, rcx: PHYS + 0x1000n | 2n }, { mem })).toEqual(ret(TDX_OPERAND_INVALID | 1n));
    expect(g({ rax: 6n, rcx: PHYS + 0x1000n | 1n }, { mem })).toEqual(ret(TDX_OPERAND_INVALID | 1n));
  });
  it('unknown TDCALL leaf → TDX_OPERAND_INVALID', () => {
    expect(g({ rax: 99n })).toEqual(ret(TDX_OPERAND_INVALID));
  });
  it('TDG.VP.VMCALL: only exposed registers reach the VMM and come back; others are preserved', () => {
    const seen: VmcallRequest[] = [];
    const vmm = { name: 'spy', vmcall: (req: VmcallRequest) => { seen.push(req); return { r10: 0n, r11: 0x77n, r12: 0x88n, rbx: 0x99n }; } };
    // Expose R10, R11, R12 only (bits 10–12).
    const o = g({ rax: 0n, rcx: 0x1c00n, r10: 0n, r11: 0x10001n, r12: 0x5000n, r13: 0x1000n, rbx: 0x123n }, {}, new TdGuestModel({ vmm }));
    expect(seen[0]!.regs).toEqual({ r10: 0n, r11: 0x10001n, r12: 0x5000n });
    expect(o).toEqual(ret(0n, { r10: 0n, r11: 0x77n, r12: 0x88n }));
  });
  it('TDG.VP.VMCALL: reserved mask bits or exposing RAX/RCX/RSP → TDX_OPERAND_INVALID (RCX)', () => {
    expect(g({ rax: 0n, rcx: 1n << 32n })).toEqual(ret(TDX_OPERAND_INVALID | 1n));
    expect(g({ rax: 0n, rcx: 0x12n })).toEqual(ret(TDX_OPERAND_INVALID | 1n));
  });
  it('the GHCI VMM serves MapGPA and refuses a misaligned GPA', () => {
    const v = new GhciVmm();
    expect(v.vmcall({ mask: 0xffccn, regs: { r10: 0n, r11: 0x10001n, r12: 0x40000000n, r13: 0x1000n } })).toEqual({ r10: 0n });
    expect(v.vmcall({ mask: 0xffccn, regs: { r10: 0n, r11: 0x10001n, r12: 0x40000008n, r13: 0x1000n } })).toEqual({ r10: 0x8000000000000000n });
    expect(v.vmcall({ mask: 0xffccn, regs: { r10: 5n, r11: 0x10001n } })).toEqual({ r10: 0x8000000000000000n });
  });
});

describe('scripted answers and names', () => {
  it('answers in order, then falls back to the model', () => {
    const h = new ScriptedHandler([{ kind: 'return', rax: TDX_RND_NO_ENTROPY }, { kind: 'vmfailinvalid' }], new TdxModuleModel());
    const c = mkCall({ rax: 34n, rdx: 0x9100000100000008n });
    expect(strip(h.handle(c))).toEqual(ret(TDX_RND_NO_ENTROPY));
    expect(h.handle(c).kind).toBe('vmfailinvalid');
    expect(strip(h.handle(c))).toEqual(ret(0n, { r8: 64n }));
    const last = new ScriptedHandler([{ kind: 'vmfailvalid' }]);
    expect(last.handle(c).kind).toBe('vmfailvalid');
    expect(last.handle(c).kind).toBe('vmfailvalid');
  });
  it('names statuses and leaves', () => {
    expect(statusName(0x8000FF00FFFF0000n)).toBe('TDX_SEAMCALL_VMFAILINVALID');
    expect(statusName(0xC000010000000002n)).toBe('TDX_OPERAND_INVALID|RDX');
    expect(statusName(0x8000FF0000000006n)).toBe('TDX_SEAMCALL_UD');
    expect(leafName('seamcall', 34n)).toBe('TDH.SYS.RD');
    expect(leafName('seamcall', 0x10021n)).toBe('TDH.SYS.INIT v1');
    expect(leafName('seamcall', 0x8000000000000000n)).toBe('SEAMLDR.INFO');
    expect(leafName('tdcall', 0n)).toBe('TDG.VP.VMCALL');
  });
});
