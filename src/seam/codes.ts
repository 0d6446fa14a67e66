/**
 * Numbers of the TDX interfaces: SEAMCALL/TDCALL leaves, completion statuses,
 * global metadata field IDs. Sources: intel/tdx-module include/tdx_api_defs.h
 * (leaf enums, api_error_code_t), include/auto_gen_1_5/tdx_error_codes_defs.h
 * (statuses), and the kernel's arch/x86/include/asm/tdx.h and
 * arch/x86/virt/vmx/tdx/tdx.h (software statuses, field IDs).
 */

/** SEAMCALL leaves (tdx_api_defs.h `seamcall_leaf_opcode_e`). */
export const SEAMCALL_LEAF = {
  'TDH.VP.ENTER': 0, 'TDH.MNG.ADDCX': 1, 'TDH.MEM.PAGE.ADD': 2, 'TDH.MEM.SEPT.ADD': 3, 'TDH.VP.ADDCX': 4,
  'TDH.MEM.PAGE.RELOCATE': 5, 'TDH.MEM.PAGE.AUG': 6, 'TDH.MEM.RANGE.BLOCK': 7, 'TDH.MNG.KEY.CONFIG': 8,
  'TDH.MNG.CREATE': 9, 'TDH.VP.CREATE': 10, 'TDH.MNG.RD': 11, 'TDH.MEM.RD': 12, 'TDH.MNG.WR': 13, 'TDH.MEM.WR': 14,
  'TDH.MEM.PAGE.DEMOTE': 15, 'TDH.MR.EXTEND': 16, 'TDH.MR.FINALIZE': 17, 'TDH.VP.FLUSH': 18,
  'TDH.MNG.VPFLUSHDONE': 19, 'TDH.MNG.KEY.FREEID': 20, 'TDH.MNG.INIT': 21, 'TDH.VP.INIT': 22,
  'TDH.MEM.PAGE.PROMOTE': 23, 'TDH.PHYMEM.PAGE.RDMD': 24, 'TDH.MEM.SEPT.RD': 25, 'TDH.VP.RD': 26,
  'TDH.MNG.KEY.RECLAIMID': 27, 'TDH.PHYMEM.PAGE.RECLAIM': 28, 'TDH.MEM.PAGE.REMOVE': 29, 'TDH.MEM.SEPT.REMOVE': 30,
  'TDH.SYS.KEY.CONFIG': 31, 'TDH.SYS.INFO': 32, 'TDH.SYS.INIT': 33, 'TDH.SYS.RD': 34, 'TDH.SYS.LP.INIT': 35,
  'TDH.SYS.TDMR.INIT': 36, 'TDH.SYS.RDALL': 37, 'TDH.MEM.TRACK': 38, 'TDH.MEM.RANGE.UNBLOCK': 39,
  'TDH.PHYMEM.CACHE.WB': 40, 'TDH.PHYMEM.PAGE.WBINVD': 41, 'TDH.MEM.SEPT.WR': 42, 'TDH.VP.WR': 43,
  'TDH.SYS.LP.SHUTDOWN': 44, 'TDH.SYS.CONFIG': 45, 'TDH.SERVTD.BIND': 48, 'TDH.SERVTD.PREBIND': 49,
  'TDH.SYS.SHUTDOWN': 52, 'TDH.SYS.UPDATE': 53, 'TDH.PHYMEM.PAMT.ADD': 58, 'TDH.PHYMEM.PAMT.REMOVE': 59,
  'TDH.SYS.DISABLE': 69, 'TDH.MIG.STREAM.CREATE': 96,
} as const;
export type SeamcallLeafName = keyof typeof SEAMCALL_LEAF;

/** TDCALL leaves (tdx_api_defs.h `tdcall_leaf_opcode_e`). */
export const TDCALL_LEAF = {
  'TDG.VP.VMCALL': 0, 'TDG.VP.INFO': 1, 'TDG.MR.RTMR.EXTEND': 2, 'TDG.VP.VEINFO.GET': 3, 'TDG.MR.REPORT': 4,
  'TDG.VP.CPUIDVE.SET': 5, 'TDG.MEM.PAGE.ACCEPT': 6, 'TDG.VM.RD': 7, 'TDG.VM.WR': 8, 'TDG.VP.RD': 9, 'TDG.VP.WR': 10,
  'TDG.SYS.RD': 11, 'TDG.SYS.RDALL': 12, 'TDG.SERVTD.RD': 18, 'TDG.SERVTD.WR': 20, 'TDG.MR.VERIFYREPORT': 22,
  'TDG.MEM.PAGE.ATTR.RD': 23, 'TDG.MEM.PAGE.ATTR.WR': 24, 'TDG.VP.ENTER': 25, 'TDG.VP.INVEPT': 26, 'TDG.VP.INVVPID': 27,
} as const;
export type TdcallLeafName = keyof typeof TDCALL_LEAF;

/** P-SEAMLDR leaves (RAX bit 63 set). SEAMLDR.SHUTDOWN's number is not confirmed by any kernel source. */
export const SEAMLDR_LEAF = {
  'SEAMLDR.INFO': 0x8000000000000000n,
  'SEAMLDR.INSTALL': 0x8000000000000001n,
  'SEAMLDR.SHUTDOWN': 0x8000000000000002n,
} as const;

/** Completion statuses (tdx_error_codes_defs.h) and the kernel's software statuses (asm/tdx.h). */
export const STATUS = {
  TDX_SUCCESS: 0x0000000000000000n,
  TDX_NON_RECOVERABLE_VCPU: 0x4000000100000000n,
  TDX_NON_RECOVERABLE_TD: 0x6000000200000000n,
  TDX_INTERRUPTED_RESUMABLE: 0x8000000300000000n,
  TDX_INTERRUPTED_RESTARTABLE: 0x8000000400000000n,
  TDX_OPERAND_INVALID: 0xC000010000000000n,
  TDX_OPERAND_ADDR_RANGE_ERROR: 0xC000010100000000n,
  TDX_OPERAND_BUSY: 0x8000020000000000n,
  TDX_PREVIOUS_TLB_EPOCH_BUSY: 0x8000020100000000n,
  TDX_SYS_BUSY: 0x8000020200000000n,
  TDX_RND_NO_ENTROPY: 0x8000020300000000n,
  TDX_OPERAND_BUSY_HOST_PRIORITY: 0x8000020400000000n,
  TDX_PAGE_METADATA_INCORRECT: 0xC000030000000000n,
  TDX_PAGE_ALREADY_FREE: 0x0000030100000000n,
  TDX_VCPU_NOT_ASSOCIATED: 0x8000070200000000n,
  TDX_SYS_INIT_NOT_PENDING: 0xC000050000000000n,
  TDX_SYS_LP_INIT_NOT_DONE: 0xC000050200000000n,
  TDX_SYS_LP_INIT_DONE: 0xC000050300000000n,
  TDX_SYS_NOT_READY: 0xC000050500000000n,
  TDX_SYS_SHUTDOWN: 0xC000050600000000n,
  TDX_SYS_KEY_CONFIG_NOT_PENDING: 0xC000050700000000n,
  TDX_SYS_STATE_INCORRECT: 0xC000050800000000n,
  TDX_SYS_CONFIG_NOT_PENDING: 0xC000050C00000000n,
  TDX_KEY_GENERATION_FAILED: 0x8000080000000000n,
  TDX_KEY_STATE_INCORRECT: 0xC000081100000000n,
  TDX_KEY_CONFIGURED: 0x0000081500000000n,
  TDX_NO_HKID_READY_TO_WBCACHE: 0x0000082100000000n,
  TDX_FLUSHVP_NOT_DONE: 0x8000082400000000n,
  TDX_INCORRECT_CPUID_VALUE: 0xC000090000000000n,
  TDX_INCONSISTENT_CPUID_FIELD: 0xC000090200000000n,
  TDX_INCORRECT_MSR_VALUE: 0xC000092100000000n,
  TDX_INVALID_TDMR: 0xC0000A0000000000n,
  TDX_NON_ORDERED_TDMR: 0xC0000A0100000000n,
  TDX_TDMR_OUTSIDE_CMRS: 0xC0000A0200000000n,
  TDX_TDMR_ALREADY_INITIALIZED: 0x00000A0300000000n,
  TDX_INVALID_PAMT: 0xC0000A1000000000n,
  TDX_PAMT_OUTSIDE_CMRS: 0xC0000A1100000000n,
  TDX_PAMT_OVERLAP: 0xC0000A1200000000n,
  TDX_EPT_WALK_FAILED: 0xC0000B0000000000n,
  TDX_EPT_ENTRY_STATE_INCORRECT: 0xC0000B0D00000000n,
  TDX_METADATA_FIELD_ID_INCORRECT: 0xC0000C0000000000n,
  TDX_METADATA_FIELD_NOT_READABLE: 0xC0000C0200000000n,
  // Software statuses the kernel makes up (class 0xFF "reserved, never used by the TDX module").
  TDX_SW_ERROR: 0x8000FF0000000000n,
  TDX_SEAMCALL_VMFAILINVALID: 0x8000FF00FFFF0000n,
  TDX_SEAMCALL_GP: 0x8000FF000000000Dn,
  TDX_SEAMCALL_UD: 0x8000FF0000000006n,
  /** intel/tdx downstream only. */
  TDX_SEAMCALL_VMFAILVALID: 0x8000FF00FFFE0000n,
} as const;
export type StatusName = keyof typeof STATUS;

/** api_error_code_t bits 31:0 when they name an operand (OPERAND_ID_*). */
export const OPERAND_ID = { rax: 0n, rcx: 1n, rdx: 2n, rbx: 3n, rsi: 6n, rdi: 7n, r8: 8n, r9: 9n, r10: 10n, r11: 11n, r12: 12n, r13: 13n, r14: 14n, r15: 15n } as const;

/** Global metadata field IDs read with TDH.SYS.RD (6.12 arch/x86/virt/vmx/tdx/tdx.h). */
export const SYS_FIELD = {
  MAX_TDMRS: 0x9100000100000008n,
  MAX_RESERVED_PER_TDMR: 0x9100000100000009n,
  PAMT_4K_ENTRY_SIZE: 0x9100000100000010n,
  PAMT_2M_ENTRY_SIZE: 0x9100000100000011n,
  PAMT_1G_ENTRY_SIZE: 0x9100000100000012n,
} as const;

/** TDG.VP.VMCALL sub-functions (GHCI) and VMM statuses returned in R10. */
export const TDVMCALL = {
  GET_TD_VM_CALL_INFO: 0x10000n,
  MAP_GPA: 0x10001n,
  GET_QUOTE: 0x10002n,
  REPORT_FATAL_ERROR: 0x10003n,
  SETUP_EVENT_NOTIFY_INTERRUPT: 0x10004n,
  STATUS_SUCCESS: 0n,
  STATUS_RETRY: 1n,
  STATUS_INVALID_OPERAND: 0x8000000000000000n,
} as const;

const STATUS_BY_VALUE = new Map<bigint, string>();
for (const [name, value] of Object.entries(STATUS)) if (!STATUS_BY_VALUE.has(value)) STATUS_BY_VALUE.set(value, name);

/**
 * Names a completion status: an exact match, else the class/detail match of
 * bits 63:32 with the operand id in bits 31:0 (e.g. "TDX_OPERAND_INVALID|RCX").
 */
export function statusName(value: bigint): string | undefined {
  const exact = STATUS_BY_VALUE.get(value);
  if (exact) return exact;
  const base = STATUS_BY_VALUE.get(value & 0xFFFFFFFF00000000n);
  if (base === undefined || base === 'TDX_SUCCESS' || base === 'TDX_SW_ERROR') return undefined;
  const low = value & 0xFFFFFFFFn;
  const op = Object.entries(OPERAND_ID).find(([, id]) => id === low);
  return op ? `${base}|${op[0].toUpperCase()}` : `${base}|0x${low.toString(16)}`;
}

export function leafName(kind: 'seamcall' | 'tdcall', rax: bigint): string | undefined {
  if (kind === 'seamcall' && rax >> 63n === 1n) {
    return Object.entries(SEAMLDR_LEAF).find(([, v]) => v === rax)?.[0];
  }
  const table: Record<string, number> = kind === 'seamcall' ? SEAMCALL_LEAF : TDCALL_LEAF;
  const leaf = Number(rax & 0xffffn);
  const name = Object.entries(table).find(([, v]) => v === leaf)?.[0];
  if (name === undefined) return undefined;
  const version = Number((rax >> 16n) & 0xffn);
  return rax >> 24n !== 0n ? undefined : version ? `${name} v${version}` : name;
}

/** Parses a leaf given by name ("TDH.SYS.RD", "SEAMLDR.INFO") or number. */
export function parseLeaf(text: string): bigint | undefined {
  if (text in SEAMCALL_LEAF) return BigInt(SEAMCALL_LEAF[text as SeamcallLeafName]);
  if (text in TDCALL_LEAF) return BigInt(TDCALL_LEAF[text as TdcallLeafName]);
  if (text in SEAMLDR_LEAF) return SEAMLDR_LEAF[text as keyof typeof SEAMLDR_LEAF];
  return undefined;
}
