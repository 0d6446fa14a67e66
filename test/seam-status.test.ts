/**
 * Status and leaf names: the whole TDX module error table
 * (intel/tdx-module tdx_1.5 include/auto_gen/tdx_error_codes_defs.h), the
 * detail each status class carries in bits 31:0 (api_error_code_t in
 * tdx_api_defs.h; the helpers that fill it: api_error_with_operand_id,
 * api_error_with_multiple_info), the P-SEAMLDR's own codes
 * (pseamldr_api_defs.h) and the kernel's software statuses (asm/tdx.h).
 */
import { describe, expect, it } from 'vitest';
import { leafKind, leafName, parseLeaf, statusName, STATUS } from '../src/seam/codes.js';
import { OPERAND_IDS, PSEAMLDR_STATUS, TDX_STATUS } from '../src/seam/status-table.js';

describe('the module\'s status table', () => {
  it('has every status of tdx_error_codes_defs.h (165 plus UNINITIALIZE_ERROR = 166)', () => {
    expect(Object.keys(TDX_STATUS)).toHaveLength(165);
    // Spot values from the header, first, middle and last.
    expect(TDX_STATUS.TDX_SUCCESS).toBe(0n);
    expect(TDX_STATUS.TDX_NON_RECOVERABLE_TD).toBe(0x6000000200000000n);
    expect(TDX_STATUS.TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE).toBe(0xE000000700000000n);
    expect(TDX_STATUS.TDX_HOST_PRIORITY_BUSY_TIMEOUT).toBe(0x9000020500000000n);
    expect(TDX_STATUS.TDX_SYS_LP_INIT_NOT_PENDING).toBe(0xC000050B00000000n);
    expect(TDX_STATUS.TDX_PAGE_ALREADY_ACCEPTED).toBe(0x00000B0A00000000n);
    expect(TDX_STATUS.TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT).toBe(0x00000C0B00000000n);
    expect(TDX_STATUS.TD_VMCS_FIELD_ERROR).toBe(0xC000073100000000n);
    expect(TDX_STATUS.TDX_GLA_NOT_CANONICAL).toBe(0xC000116000000000n);
  });
  it('has the operand ids, including the ones KVM names (TDR 0x80, SEPT 0x92, TD_EPOCH 0xA9)', () => {
    expect(OPERAND_IDS.TDR).toBe(0x80n);
    expect(OPERAND_IDS.SEPT_TREE).toBe(0x92n);
    expect(OPERAND_IDS.TD_EPOCH).toBe(0xA9n);
    expect(OPERAND_IDS.WBCACHE).toBe(188n);
  });
});

describe('statusName', () => {
  it('names every status of the table exactly', () => {
    for (const [name, value] of Object.entries(TDX_STATUS)) expect(statusName(value) ?? (value === 0n ? 'TDX_SUCCESS' : undefined), name).toBe(name);
  });
  it('operand classes: register and structure operand ids', () => {
    expect(statusName(0xC000010000000002n)).toBe('TDX_OPERAND_INVALID|RDX');
    expect(statusName(0x8000020000000000n | 187n)).toBe('TDX_OPERAND_BUSY|KET');
    expect(statusName(0x8000020000000000n | 0xA9n)).toBe('TDX_OPERAND_BUSY|TD_EPOCH');
    expect(statusName(0xC000030000000000n | 0x80n)).toBe('TDX_PAGE_METADATA_INCORRECT|TDR');
    expect(statusName(0xC0000B0D00000001n)).toBe('TDX_EPT_ENTRY_STATE_INCORRECT|RCX');
  });
  it('TDG.MEM.PAGE.ACCEPT statuses carry the EPT level (tdg_mem_page_accept.c)', () => {
    expect(statusName(0x00000B0A00000001n)).toBe('TDX_PAGE_ALREADY_ACCEPTED|level=1 (2M)');
    expect(statusName(0xC0000B0B00000001n)).toBe('TDX_PAGE_SIZE_MISMATCH|level=1 (2M)');
  });
  it('TDMR/PAMT statuses carry TDMR index, page size and second index (tdh_sys_config.c api_error_with_multiple_info)', () => {
    expect(statusName(0xC0000A0000000003n)).toBe('TDX_INVALID_TDMR|tdmr=3');
    expect(statusName(0xC0000A1000000102n)).toBe('TDX_INVALID_PAMT|tdmr=2,pamt=2M');
    expect(statusName(0xC0000A1200010002n)).toBe('TDX_PAMT_OVERLAP|tdmr=2,pamt=4K,tdmr=1');
    expect(statusName(0xC0000A2100000501n)).toBe('TDX_NON_ORDERED_RESERVED_IN_TDMR|tdmr=1,rsvd=5');
  });
  it('MSR statuses carry the MSR address; unknown details are hex', () => {
    expect(statusName(0xC000092100000087n)).toBe('TDX_INCORRECT_MSR_VALUE|msr=0x87');
    expect(statusName(0xC000092000000010n)).toBe('TDX_INCONSISTENT_MSR|msr=0x10');
    expect(statusName(0xC000050800001234n)).toBe('TDX_SYS_STATE_INCORRECT|0x1234');
  });
  it('the added host-recoverability (60) and fatal (61) bits', () => {
    expect(statusName(0x9000020000000001n)).toBe('TDX_OPERAND_BUSY|RCX|HOST_RECOVERABLE');
    expect(statusName(0xE000010000000001n)).toBe('TDX_OPERAND_INVALID|RCX|FATAL');
  });
  it('the kernel\'s software statuses; plain values and TDX_SUCCESS with a detail are not statuses', () => {
    expect(statusName(0x8000FF00FFFF0000n)).toBe('TDX_SEAMCALL_VMFAILINVALID');
    expect(statusName(0x8000FF0000000006n)).toBe('TDX_SEAMCALL_UD');
    expect(statusName(0x8000FF000000000Dn)).toBe('TDX_SEAMCALL_GP');
    expect(statusName(0x21n)).toBeUndefined();
    expect(statusName(0x4dn)).toBeUndefined();
  });
  it('P-SEAMLDR leaves answer the loader\'s own codes', () => {
    const info = { kind: 'seamcall' as const, rax: 0x8000000000000000n };
    expect(statusName(PSEAMLDR_STATUS.PSEAMLDR_EBADPARAM, info)).toBe('PSEAMLDR_EBADPARAM');
    expect(statusName(0x8000000000030001n, info)).toBe('PSEAMLDR_ENOENTROPY');
    expect(statusName(0n, info)).toBe('PSEAMLDR_SUCCESS');
    expect(statusName(0x8000000000000000n)).toBeUndefined();
  });
  it('STATUS keeps every name handlers use', () => {
    expect(STATUS.TDX_KEY_GENERATION_FAILED).toBe(0x8000080000000000n);
    expect(STATUS.TDX_SEAMCALL_VMFAILVALID).toBe(0x8000FF00FFFE0000n);
  });
});

describe('leaf names', () => {
  it('names leaves with their version, 2.0 and TDX-IO ones included (tdx_api_defs.h)', () => {
    expect(leafName('seamcall', 34n)).toBe('TDH.SYS.RD');
    expect(leafName('seamcall', 0x10021n)).toBe('TDH.SYS.INIT v1');
    expect(leafName('seamcall', 58n)).toBe('TDH.PHYMEM.PAMT.ADD');
    expect(leafName('seamcall', 163n)).toBe('TDH.MEM.SHARED.SEPT.WR');
    expect(leafName('seamcall', 0x8000000000000003n)).toBe('SEAMLDR.SEAMINFO');
    expect(leafName('tdcall', 0n)).toBe('TDG.VP.VMCALL');
    expect(leafName('tdcall', 0x10007n)).toBe('TDG.VM.RD v1');
  });
  it('parses names, versions and kinds', () => {
    expect(parseLeaf('TDG.VM.RD v1')).toBe(0x10007n);
    expect(parseLeaf('SEAMLDR.CLEANUP')).toBe(0x8000000000000004n);
    expect(parseLeaf('TDH.NOPE')).toBeUndefined();
    expect(leafKind('TDG.VP.INFO')).toBe('tdcall');
    expect(leafKind('SEAMLDR.INFO')).toBe('seamcall');
  });
});
