/**
 * Numbers of the TDX interfaces: SEAMCALL/TDCALL/P-SEAMLDR leaves, the
 * completion statuses (all of them, from status-table.ts) with the
 * kernel's software statuses, global metadata field IDs, GHCI TDVMCALL
 * numbers, and the names `seamlab run` shows for them.
 * Sources: intel/tdx-module tdx_api_defs.h (leaf enums, 1.5 and 2.0),
 * auto_gen/tdx_error_codes_defs.h, pseamldr_api_defs.h, and the kernel's
 * arch/x86/include/asm/tdx.h, asm/shared/tdx.h and virt/vmx/tdx/tdx.h.
 */
import { OPERAND_IDS, PSEAMLDR_STATUS, STATUS_BITS, TDX_STATUS, statusClass } from './status-table.js';

/**
 * SEAMCALL leaves (tdx_api_defs.h `seamcall_leaf_opcode_e`; 1.5 branch,
 * plus TDH.PHYMEM.PAMT.ADD/REMOVE 58/59 and the TDX-IO leaves 128–166 of the
 * 2.0 header at intel/tdx-module a56a9173; TDH.SYS.DISABLE 69 from 2026 kernel mails).
 */
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
  'TDH.EXPORT.ABORT': 64, 'TDH.EXPORT.BLOCKW': 65, 'TDH.EXPORT.RESTORE': 66, 'TDH.EXPORT.MEM': 68, 'TDH.SYS.DISABLE': 69,
  'TDH.EXPORT.PAUSE': 70, 'TDH.EXPORT.TRACK': 71, 'TDH.EXPORT.STATE.IMMUTABLE': 72, 'TDH.EXPORT.STATE.TD': 73,
  'TDH.EXPORT.STATE.VP': 74, 'TDH.EXPORT.UNBLOCKW': 75, 'TDH.IMPORT.ABORT': 80, 'TDH.IMPORT.END': 81,
  'TDH.IMPORT.COMMIT': 82, 'TDH.IMPORT.MEM': 83, 'TDH.IMPORT.TRACK': 84, 'TDH.IMPORT.STATE.IMMUTABLE': 85,
  'TDH.IMPORT.STATE.TD': 86, 'TDH.IMPORT.STATE.VP': 87, 'TDH.MIG.STREAM.CREATE': 96,
  'TDH.IOMMU.SETREG': 128, 'TDH.IOMMU.GETREG': 129, 'TDH.SPDM.CREATE': 130, 'TDH.SPDM.DELETE': 131,
  'TDH.IDE.STREAM.CREATE': 132, 'TDH.IDE.STREAM.BLOCK': 133, 'TDH.IDE.STREAM.DELETE': 134, 'TDH.IDE.STREAM.IDEKMREQ': 135,
  'TDH.IDE.STREAM.IDEKMRSP': 136, 'TDH.DEVIF.CREATE': 137, 'TDH.DEVIF.REMOVE': 138, 'TDH.DEVIF.REQUEST': 139,
  'TDH.DEVIF.RESPONSE': 140, 'TDH.DMAR.ADD': 150, 'TDH.DMAR.BLOCK': 151, 'TDH.DMAR.READ': 152, 'TDH.DMAR.REMOVE': 153,
  'TDH.MMIO.MT.ADD': 154, 'TDH.MMIO.MT.SET': 155, 'TDH.MMIO.MT.RD': 156, 'TDH.MMIO.MT.REMOVE': 157, 'TDH.MMIO.MAP': 158,
  'TDH.MMIO.BLOCK': 159, 'TDH.MMIO.UNMAP': 160, 'TDH.IQ.INV.REQUEST': 161, 'TDH.IQ.INV.PROCESS': 162,
  'TDH.MEM.SHARED.SEPT.WR': 163, 'TDH.DEVIF.MT.ADD': 164, 'TDH.DEVIF.MT.REMOVE': 165, 'TDH.DEVIF.MT.RD': 166,
} as const;
export type SeamcallLeafName = keyof typeof SEAMCALL_LEAF;

/** TDCALL leaves (tdx_api_defs.h `tdcall_leaf_opcode_e`; TDX-IO 64–72 from the 2.0 header). */
export const TDCALL_LEAF = {
  'TDG.VP.VMCALL': 0, 'TDG.VP.INFO': 1, 'TDG.MR.RTMR.EXTEND': 2, 'TDG.VP.VEINFO.GET': 3, 'TDG.MR.REPORT': 4,
  'TDG.VP.CPUIDVE.SET': 5, 'TDG.MEM.PAGE.ACCEPT': 6, 'TDG.VM.RD': 7, 'TDG.VM.WR': 8, 'TDG.VP.RD': 9, 'TDG.VP.WR': 10,
  'TDG.SYS.RD': 11, 'TDG.SYS.RDALL': 12, 'TDG.SERVTD.RD': 18, 'TDG.SERVTD.WR': 20, 'TDG.MR.VERIFYREPORT': 22,
  'TDG.MEM.PAGE.ATTR.RD': 23, 'TDG.MEM.PAGE.ATTR.WR': 24, 'TDG.VP.ENTER': 25, 'TDG.VP.INVEPT': 26, 'TDG.VP.INVVPID': 27,
  'TDG.SPDM.TPA.SET': 64, 'TDG.SPDM.TPA.GET': 65, 'TDG.DEVIF.VALIDATE': 66, 'TDG.DEVIF.RD': 67, 'TDG.DEVIF.REQUEST': 68,
  'TDG.DEVIF.RESPONSE': 69, 'TDG.DMAR.ACCEPT': 70, 'TDG.MMIO.ACCEPT': 71, 'TDG.IQ.INV.REQUEST': 72,
} as const;
export type TdcallLeafName = keyof typeof TDCALL_LEAF;

/** P-SEAMLDR leaves, RAX bit 63 set (pseamldr_api_defs.h `SEAMCALL_LEAVES_OPCODES`). */
export const SEAMLDR_LEAF = {
  'SEAMLDR.INFO': 0x8000000000000000n,
  'SEAMLDR.INSTALL': 0x8000000000000001n,
  'SEAMLDR.SHUTDOWN': 0x8000000000000002n,
  'SEAMLDR.SEAMINFO': 0x8000000000000003n,
  'SEAMLDR.CLEANUP': 0x8000000000000004n,
} as const;
export type SeamldrLeafName = keyof typeof SEAMLDR_LEAF;

/** The kernel's software statuses (asm/tdx.h): class 0xFF, "reserved, never used by the TDX module". */
export const SOFTWARE_STATUS = {
  TDX_SW_ERROR: 0x8000FF0000000000n,
  TDX_SEAMCALL_VMFAILINVALID: 0x8000FF00FFFF0000n,
  TDX_SEAMCALL_GP: 0x8000FF000000000Dn,
  TDX_SEAMCALL_UD: 0x8000FF0000000006n,
  /** intel/tdx downstream only. */
  TDX_SEAMCALL_VMFAILVALID: 0x8000FF00FFFE0000n,
} as const;

/** Every TDX module status (status-table.ts) and the kernel's software statuses. */
export const STATUS = { ...TDX_STATUS, ...SOFTWARE_STATUS } as const;
export type StatusName = keyof typeof STATUS;

/** OPERAND_ID_* of the registers, by the register names handlers use (rcx, rdx, r8 …). */
export const OPERAND_ID = {
  rax: OPERAND_IDS.RAX, rcx: OPERAND_IDS.RCX, rdx: OPERAND_IDS.RDX, rbx: OPERAND_IDS.RBX, rbp: OPERAND_IDS.RBP,
  rsi: OPERAND_IDS.RSI, rdi: OPERAND_IDS.RDI, r8: OPERAND_IDS.R8, r9: OPERAND_IDS.R9, r10: OPERAND_IDS.R10,
  r11: OPERAND_IDS.R11, r12: OPERAND_IDS.R12, r13: OPERAND_IDS.R13, r14: OPERAND_IDS.R14, r15: OPERAND_IDS.R15,
} as const;

/** Global metadata field IDs the 6.8–6.12 kernel reads with TDH.SYS.RD (6.12 arch/x86/virt/vmx/tdx/tdx.h). */
export const SYS_FIELD = {
  MAX_TDMRS: 0x9100000100000008n,
  MAX_RESERVED_PER_TDMR: 0x9100000100000009n,
  PAMT_4K_ENTRY_SIZE: 0x9100000100000010n,
  PAMT_2M_ENTRY_SIZE: 0x9100000100000011n,
  PAMT_1G_ENTRY_SIZE: 0x9100000100000012n,
} as const;

/**
 * TDG.VP.VMCALL sub-functions (GHCI; 6.12 asm/shared/tdx.h) and the VMM's
 * statuses in R10: SUCCESS 0, RETRY 1 (asm/shared/tdx.h), INVALID_OPERAND
 * 0x8000000000000000, ALIGN_ERROR 0x8000000000000002 (KVM tdx_map_gpa),
 * SUBFUNC_UNSUPPORTED 0x8000000000000003 (newer KVM).
 */
export const TDVMCALL = {
  GET_TD_VM_CALL_INFO: 0x10000n,
  MAP_GPA: 0x10001n,
  GET_QUOTE: 0x10002n,
  REPORT_FATAL_ERROR: 0x10003n,
  SETUP_EVENT_NOTIFY_INTERRUPT: 0x10004n,
  STATUS_SUCCESS: 0n,
  STATUS_RETRY: 1n,
  STATUS_INVALID_OPERAND: 0x8000000000000000n,
  STATUS_ALIGN_ERROR: 0x8000000000000002n,
  STATUS_SUBFUNC_UNSUPPORTED: 0x8000000000000003n,
} as const;

const STATUS_BY_VALUE = new Map<bigint, string>();
for (const [name, value] of Object.entries(STATUS)) if (!STATUS_BY_VALUE.has(value)) STATUS_BY_VALUE.set(value, name);
const OPERAND_BY_ID = new Map<bigint, string>();
for (const [name, id] of Object.entries(OPERAND_IDS)) OPERAND_BY_ID.set(id, name);
const PSEAMLDR_BY_VALUE = new Map<bigint, string>(Object.entries(PSEAMLDR_STATUS).map(([n, v]) => [v, n]));

/** pamt_manager.h page_size_t: PT_4KB 0, PT_2MB 1, PT_1GB 2 (also the SEPT level of TDG.MEM.PAGE.ACCEPT). */
const PAGE_SIZE_NAMES = ['4K', '2M', '1G'];
const sizeName = (n: number) => PAGE_SIZE_NAMES[n] ?? String(n);

/** Statuses whose bits 31:0 are an EPT level (tdg_mem_page_accept.c: api_error_with_operand_id(…, ept_level)). */
const LEVEL_DETAIL = new Set(['TDX_PAGE_ALREADY_ACCEPTED', 'TDX_PAGE_SIZE_MISMATCH']);
/** Statuses that carry an MSR address (tdh_sys_init.c / tdh_sys_lp_init.c: api_error_with_operand_id(…, MSR address)). */
const MSR_DETAIL = new Set(['TDX_INCORRECT_MSR_VALUE', 'TDX_INCONSISTENT_MSR']);

/**
 * Bits 31:0 by class (api_error_code_t): operand ids for the operand (0x01),
 * busy (0x02), page-metadata (0x03) and EPT (0x0B) classes; the TDMR index,
 * page size and second index that tdh_sys_config.c packs with
 * api_error_with_multiple_info() for the TDMR/PAMT class (0x0A); an EPT
 * level for accept; an MSR address; otherwise plain hex.
 */
function detailText(base: string, low: bigint): string {
  if (LEVEL_DETAIL.has(base)) return `level=${low} (${sizeName(Number(low))})`;
  if (MSR_DETAIL.has(base)) return `msr=0x${low.toString(16)}`;
  const cls = statusClass(TDX_STATUS[base as keyof typeof TDX_STATUS] ?? 0n);
  if (cls === 0x01 || cls === 0x02 || cls === 0x03 || cls === 0x0b) {
    const op = OPERAND_BY_ID.get(low);
    if (op) return op;
  }
  if (cls === 0x0a) {
    const b = [0, 8, 16, 24].map((s) => Number((low >> BigInt(s)) & 0xffn));
    if (base === 'TDX_PAMT_OVERLAP') return `tdmr=${b[0]},pamt=${sizeName(b[1]!)},tdmr=${b[2]}`;
    if (base === 'TDX_INVALID_PAMT' || base === 'TDX_PAMT_OUTSIDE_CMRS') return `tdmr=${b[0]},pamt=${sizeName(b[1]!)}`;
    if (base === 'TDX_INVALID_RESERVED_IN_TDMR' || base === 'TDX_NON_ORDERED_RESERVED_IN_TDMR') return `tdmr=${b[0]},rsvd=${b[1]}`;
    return `tdmr=${b[0]}`;
  }
  return `0x${low.toString(16)}`;
}

/**
 * Names a completion status: an exact match in the module's table or the
 * kernel's software statuses; else the table entry of bits 63:32 (without
 * the host-recoverability and fatal bits the module may add) with the
 * detail of bits 31:0 decoded per class — "TDX_OPERAND_INVALID|RCX",
 * "TDX_OPERAND_BUSY|KET", "TDX_PAGE_ALREADY_ACCEPTED|level=1 (2M)",
 * "TDX_INVALID_TDMR|tdmr=3" — and "|HOST_RECOVERABLE" / "|FATAL" for
 * the added bits. `leaf` (the RAX the call was made with) selects the
 * P-SEAMLDR's own codes for SEAMCALLs with RAX bit 63 set.
 */
export function statusName(value: bigint, leaf?: { kind: 'seamcall' | 'tdcall'; rax: bigint }): string | undefined {
  if (leaf && leaf.kind === 'seamcall' && leaf.rax >> 63n === 1n) return PSEAMLDR_BY_VALUE.get(value);
  const exact = STATUS_BY_VALUE.get(value);
  if (exact) return exact;
  const flags = value & (STATUS_BITS.HOST_RECOVERABILITY_HINT | STATUS_BITS.FATAL);
  const high = value & 0xFFFFFFFF00000000n;
  let base = STATUS_BY_VALUE.get(high);
  let added = 0n;
  if (base === undefined && flags !== 0n) {
    base = STATUS_BY_VALUE.get(high & ~flags);
    added = flags;
  }
  if (base === undefined || base === 'TDX_SUCCESS' || base === 'TDX_SW_ERROR') return undefined;
  const low = value & 0xFFFFFFFFn;
  const parts = [base];
  if (low !== 0n) parts.push(detailText(base, low));
  if (added & STATUS_BITS.HOST_RECOVERABILITY_HINT) parts.push('HOST_RECOVERABLE');
  if (added & STATUS_BITS.FATAL) parts.push('FATAL');
  return parts.join('|');
}

export function leafName(kind: 'seamcall' | 'tdcall', rax: bigint): string | undefined {
  if (kind === 'seamcall' && rax >> 63n === 1n) return SEAMLDR_LEAF_NAME.get(rax);
  const name = (kind === 'seamcall' ? SEAMCALL_LEAF_NAME : TDCALL_LEAF_NAME).get(Number(rax & 0xffffn));
  if (name === undefined) return undefined;
  const version = Number((rax >> 16n) & 0xffn);
  return rax >> 24n !== 0n ? undefined : version ? `${name} v${version}` : name;
}

// Number → name, built once from the tables above (every SEAM call of a trace names its leaf); the first name of a number wins, as a search of the table in order would find it.
function byNumber<V>(table: Record<string, V>): Map<V, string> {
  const out = new Map<V, string>();
  for (const [name, v] of Object.entries(table)) if (!out.has(v)) out.set(v, name);
  return out;
}
const SEAMCALL_LEAF_NAME = byNumber<number>(SEAMCALL_LEAF);
const TDCALL_LEAF_NAME = byNumber<number>(TDCALL_LEAF);
const SEAMLDR_LEAF_NAME = byNumber<bigint>(SEAMLDR_LEAF);

/** Which instruction a leaf name belongs to: TDG.* → TDCALL, TDH.* and SEAMLDR.* → SEAMCALL. */
export function leafKind(name: string): 'seamcall' | 'tdcall' | undefined {
  if (name in TDCALL_LEAF) return 'tdcall';
  if (name in SEAMCALL_LEAF || name in SEAMLDR_LEAF) return 'seamcall';
  return undefined;
}

/** Parses a leaf given by name ("TDH.SYS.RD", "SEAMLDR.INFO", "TDG.VM.RD v1") or number. */
export function parseLeaf(text: string): bigint | undefined {
  const m = /^(\S+)\s+v(\d+)$/.exec(text.trim());
  const name = m ? m[1]! : text.trim();
  const version = m ? BigInt(m[2]!) : 0n;
  if (version > 0xffn) return undefined;
  if (name in SEAMCALL_LEAF) return BigInt(SEAMCALL_LEAF[name as SeamcallLeafName]) | (version << 16n);
  if (name in TDCALL_LEAF) return BigInt(TDCALL_LEAF[name as TdcallLeafName]) | (version << 16n);
  if (name in SEAMLDR_LEAF && version === 0n) return SEAMLDR_LEAF[name as SeamldrLeafName];
  return undefined;
}
