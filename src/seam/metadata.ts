/**
 * TDX metadata: field identifiers, the 1.5 module's field tables for the
 * global (SYS) and TD contexts, and the rules TDH.SYS.RD and TDG.VM.RD/WR
 * apply to them — single-element id checks, table lookup, the "next
 * element" returned in RDX, element-size masks.
 *
 * Follows intel/tdx-module tdx_1.5: tdx_api_defs.h (md_field_id_t),
 * metadata_handlers/metadata_generic.c (md_check_as_single_element_id,
 * md_find_entry_idx, md_get_next_item_with_iterator,
 * md_get_next_accessible_item), metadata_generic.h (MD_FIELD_ID_NA,
 * is_null_field_id, md_check_forbidden_bits_unchanged), and the tables in
 * include/auto_gen/global_sys_fields_lookup.c (every SYS field is host-readable)
 * and tdr_tdcs_fields_lookup.c (guest read/write masks). The tables are the
 * 1.5 ones; 1.0 and 2.0 modules have other tables [B: not modelled].
 */

/** metadata_generic.h MD_FIELD_ID_NA: "no field" (−1). */
export const MD_FIELD_ID_NA = 0xFFFFFFFFFFFFFFFFn;

/** md_field_id_t (tdx_api_defs.h). */
const FIELD_CODE = 0xFFFFFFn;
const CONTEXT_SHIFT = 52n;
const CONTEXT_MASK = 7n << CONTEXT_SHIFT;
const CLASS_SHIFT = 56n;
/** RESERVED_0 (31:24), LAST_ELEMENT_IN_FIELD (37:34), LAST_FIELD_IN_SEQUENCE (46:38), RESERVED_1 (49:47), RESERVED_2 (55), RESERVED_3 (62). */
const SINGLE_ELEMENT_MUST_BE_ZERO = (0xFFn << 24n) | (0xFn << 34n) | (0x1FFn << 38n) | (7n << 47n) | (1n << 55n) | (1n << 62n);

export type MdContext = 'sys' | 'td';
const CONTEXT_CODE: Record<MdContext, bigint> = { sys: 0n, td: 1n };

/** One lookup-table entry: a field id (of the first element of the first field), fields × elements, access masks. */
export interface MdEntry {
  readonly name: string;
  readonly id: bigint;
  readonly fields: number;
  readonly elements: number;
  /** Read mask for the accessor (host for SYS, guest for TD); 0 = not readable. */
  readonly rdMask: bigint;
  readonly wrMask: bigint;
}

const ALL = -1n;

/** Bits 33:32: element size code 0..3 = 1, 2, 4, 8 bytes. */
export function elementBytes(id: bigint): number {
  return 1 << Number((id >> 32n) & 3n);
}

function sizeMask(id: bigint): bigint {
  return (1n << BigInt(8 * elementBytes(id))) - 1n;
}

function entry(name: string, id: bigint, fields: number, elements: number, rd: bigint, wr: bigint): MdEntry {
  const m = sizeMask(id);
  return { name, id, fields, elements, rdMask: rd === ALL ? m : rd & m, wrMask: wr === ALL ? m : wr & m };
}

/** global_sys_fields_lookup.c (1.5), in table order; every entry has vmm_rd_mask −1 and no write access. */
const SYS_TABLE_DATA: [string, bigint, number, number][] = [
  ['NUM_PKGS', 0x0000000200000000n, 1, 1], ['PKG_FMS', 0x0000000200000001n, 8, 1], ['VENDOR_ID', 0x0800000200000000n, 1, 1],
  ['BUILD_DATE', 0x8800000200000001n, 1, 1], ['BUILD_NUM', 0x8800000100000002n, 1, 1], ['MINOR_VERSION', 0x0800000100000003n, 1, 1],
  ['MAJOR_VERSION', 0x0800000100000004n, 1, 1], ['UPDATE_VERSION', 0x0800000100000005n, 1, 1], ['INTERNAL_VERSION', 0x0800000100000006n, 1, 1],
  ['MODULE_HV', 0x8900000100000000n, 1, 1], ['MIN_UPDATE_HV', 0x8900000100000001n, 1, 1], ['NO_DOWNGRADE', 0x8900000000000002n, 1, 1],
  ['NUM_HANDOFF_PAGES', 0x8900000100000003n, 1, 1], ['HANDOFF_DATA_VALID', 0x8900000000000004n, 1, 1], ['HANDOFF_DATA_HV', 0x8900000100000005n, 1, 1],
  ['HANDOFF_DATA_SIZE', 0x8900000200000006n, 1, 1], ['SYS_ATTRIBUTES', 0x0A00000200000000n, 1, 1], ['NUM_TDX_FEATURES', 0x0A00000000000001n, 1, 1],
  ['TDX_FEATURES0', 0x0A00000300000008n, 1, 1], ['NUM_CMRS', 0x9000000100000000n, 1, 1], ['CMR_BASE', 0x9000000300000080n, 32, 1],
  ['CMR_SIZE', 0x9000000300000100n, 32, 1], ['MAX_TDMRS', 0x9100000100000008n, 1, 1], ['MAX_RESERVED_PER_TDMR', 0x9100000100000009n, 1, 1],
  ['PAMT_4K_ENTRY_SIZE', 0x9100000100000010n, 1, 1], ['PAMT_2M_ENTRY_SIZE', 0x9100000100000011n, 1, 1], ['PAMT_1G_ENTRY_SIZE', 0x9100000100000012n, 1, 1],
  ['TDR_BASE_SIZE', 0x9800000100000000n, 1, 1], ['TDCS_BASE_SIZE', 0x9800000100000100n, 1, 1], ['TDCS_SIZE_PER_L2_VM', 0x9800000100000101n, 1, 1],
  ['TDVPS_BASE_SIZE', 0x9800000100000200n, 1, 1], ['TDVPS_SIZE_PER_L2_VM', 0x9800000100000201n, 1, 1], ['ATTRIBUTES_FIXED0', 0x1900000300000000n, 1, 1],
  ['ATTRIBUTES_FIXED1', 0x1900000300000001n, 1, 1], ['XFAM_FIXED0', 0x1900000300000002n, 1, 1], ['XFAM_FIXED1', 0x1900000300000003n, 1, 1],
  ['NUM_CPUID_CONFIG', 0x9900000100000004n, 1, 1], ['CONFIG_FLAGS_FIXED0', 0x9900000300000006n, 1, 1], ['CONFIG_FLAGS_FIXED1', 0x9900000300000007n, 1, 1],
  ['CPUID_CONFIG_LEAVES', 0x9900000300000400n, 32, 1], ['CPUID_CONFIG_VALUES', 0x9900000300000500n, 32, 2], ['IA32_ARCH_CAPABILITIES_CONFIG_MASK', 0x9900000300000600n, 1, 1],
  ['NUM_ALLOWED_FMS', 0x9900000100000800n, 1, 1], ['NUM_DISALLOWED_FMS', 0x9900000100000801n, 1, 1], ['ALLOWED_FMS', 0x9900000300000810n, 64, 1],
  ['DISALLOWED_FMS', 0x9900000300000850n, 64, 1], ['MIG_ATTRIBUTES', 0xA000000300000000n, 1, 1], ['MIN_EXPORT_VERSION', 0x2000000100000001n, 1, 1],
  ['MAX_EXPORT_VERSION', 0x2000000100000002n, 1, 1], ['MIN_IMPORT_VERSION', 0x2000000100000003n, 1, 1], ['MAX_IMPORT_VERSION', 0x2000000100000004n, 1, 1],
  ['MAX_MIGS', 0xA000000100000010n, 1, 1], ['NUM_IMMUTABLE_STATE_PAGES', 0xA000000000000020n, 1, 1], ['NUM_TD_STATE_PAGES', 0xA000000000000021n, 1, 1],
  ['NUM_VP_STATE_PAGES', 0xA000000000000022n, 1, 1], ['MAX_SERV_TDS', 0xA100000100000000n, 1, 1], ['SERVTD_ATTR_FIXED0', 0xA100000300000001n, 1, 1],
  ['SERVTD_ATTR_FIXED1', 0xA100000300000002n, 1, 1], ['GUEST_L2_GPA_ATTR_MASK', 0xA200000100000000n, 1, 1], ['VM_CTLS_FIXED0', 0xA200000300000001n, 1, 1],
  ['VM_CTLS_FIXED1', 0xA200000300000002n, 1, 1], ['VPCU_L2_CTLS_FIXED0', 0xA200000300000003n, 1, 1], ['VCPU_L2_CTLS_FIXED1', 0xA200000300000004n, 1, 1],
  ['VPCU_L2_DEBUG_CTLS_FIXED0', 0xA200000300000005n, 1, 1], ['VCPU_L2_DEBUG_CTLS_FIXED1', 0xA200000300000006n, 1, 1],
];

/** tdr_tdcs_fields_lookup.c (1.5), in table order, with guest_rd_mask / guest_wr_mask (ALL = −1). */
const TD_TABLE_DATA: [string, bigint, number, number, bigint, bigint][] = [
  ['FATAL', 0x8010000000000001n, 1, 1, 0n, 0n], ['NUM_TDCX', 0x8010000200000002n, 1, 1, 0n, 0n], ['CHLDCNT', 0x8010000300000004n, 1, 1, 0n, 0n],
  ['LIFECYCLE_STATE', 0x8010000200000005n, 1, 1, 0n, 0n], ['TDCX_PA', 0x8010000300000010n, 9, 1, 0n, 0n], ['TD_UUID', 0x8010000300000020n, 1, 4, ALL, 0n],
  ['HKID', 0x8110000100000001n, 1, 1, 0n, 0n], ['PKG_CONFIG_BITMAP', 0x8110000300000002n, 1, 1, 0n, 0n], ['HANDOFF_VERSION', 0x8210000100000000n, 1, 1, 0n, 0n],
  ['SEAMDB_INDEX', 0x8210000300000001n, 1, 1, 0n, 0n], ['SEAMDB_NONCE', 0x8210000300000002n, 1, 4, 0n, 0n], ['NUM_VCPUS', 0x9010000200000001n, 1, 1, ALL, 0n],
  ['NUM_ASSOC_VCPUS', 0x9010000200000002n, 1, 1, 0n, 0n], ['OP_STATE', 0x9010000200000004n, 1, 1, 0n, 0n], ['NUM_L2_VMS', 0x9010000100000005n, 1, 1, ALL, 0n],
  ['ATTRIBUTES', 0x1110000300000000n, 1, 1, ALL, 0n], ['XFAM', 0x1110000300000001n, 1, 1, ALL, 0n], ['MAX_VCPUS', 0x1110000200000002n, 1, 1, ALL, 0n],
  ['GPAW', 0x1110000000000003n, 1, 1, ALL, 0n], ['EPTP', 0x1110000300000004n, 1, 1, 0n, 0n], ['TSC_OFFSET', 0x111000030000000An, 1, 1, 0n, 0n],
  ['TSC_MULTIPLIER', 0x111000030000000Bn, 1, 1, 0n, 0n], ['TSC_FREQUENCY', 0x111000010000000Cn, 1, 1, ALL, 0n], ['VIRTUAL_TSC', 0x111000030000000Dn, 1, 1, 0n, 0n],
  ['NUM_CPUID_VALUES', 0x911000010000000En, 1, 1, 0n, 0n], ['XBUFF_SIZE', 0x911000020000000Fn, 1, 1, 0n, 0n], ['NOTIFY_ENABLES', 0x9110000300000010n, 1, 1, 1n, 1n],
  ['HP_LOCK_TIMEOUT', 0x9110000300000011n, 1, 1, 0n, 0n], ['VM_CTLS', 0x9110000300000012n, 4, 1, 0n, 0n], ['CONFIG_FLAGS', 0x1110000300000016n, 1, 1, ALL, 0n],
  ['TD_CTLS', 0x1110000300000017n, 1, 1, ALL, 1n], ['CPUID_VALID', 0x9110000000000080n, 80, 1, 0n, 0n], ['XBUFF_OFFSETS', 0x9110000200000800n, 19, 1, 0n, 0n],
  ['TD_EPOCH', 0x9210000300000000n, 1, 1, 0n, 0n], ['REFCOUNT', 0x9210000100000001n, 2, 1, 0n, 0n], ['MRTD', 0x1310000300000000n, 1, 6, ALL, 0n],
  ['MRCONFIGID', 0x1310000300000010n, 1, 6, ALL, 0n], ['MROWNER', 0x1310000300000018n, 1, 6, ALL, 0n], ['MROWNERCONFIG', 0x1310000300000020n, 1, 6, ALL, 0n],
  ['RTMR', 0x1310000300000040n, 4, 6, ALL, 0n], ['CPUID_VALUES', 0x9410000300000000n, 80, 2, 0n, 0n], ['VIRTUAL_IA32_ARCH_CAPABILITIES', 0x961000030000010An, 1, 1, 0n, 0n],
  ['VIRTUAL_IA32_VMX_BASIC', 0x9610000300000480n, 1, 1, 0n, 0n], ['VIRTUAL_IA32_VMX_MISC', 0x9610000300000485n, 1, 1, 0n, 0n], ['VIRTUAL_IA32_VMX_CR0_FIXED0', 0x9610000300000486n, 1, 1, 0n, 0n],
  ['VIRTUAL_IA32_VMX_CR0_FIXED1', 0x9610000300000487n, 1, 1, 0n, 0n], ['VIRTUAL_IA32_VMX_CR4_FIXED0', 0x9610000300000488n, 1, 1, 0n, 0n], ['VIRTUAL_IA32_VMX_CR4_FIXED1', 0x9610000300000489n, 1, 1, 0n, 0n],
  ['VIRTUAL_IA32_VMX_PROCBASED_CTLS2', 0x961000030000048Bn, 1, 1, 0n, 0n], ['VIRTUAL_IA32_VMX_EPT_VPID_CAP', 0x961000030000048Cn, 1, 1, 0n, 0n], ['VIRTUAL_IA32_VMX_TRUE_PINBASED_CTLS', 0x961000030000048Dn, 1, 1, 0n, 0n],
  ['VIRTUAL_IA32_VMX_TRUE_PROCBASED_CTLS', 0x961000030000048En, 1, 1, 0n, 0n], ['VIRTUAL_IA32_VMX_TRUE_EXIT_CTLS', 0x961000030000048Fn, 1, 1, 0n, 0n], ['VIRTUAL_IA32_VMX_TRUE_ENTRY_CTLS', 0x9610000300000490n, 1, 1, 0n, 0n],
  ['VIRTUAL_IA32_VMX_VMFUNC', 0x9610000300000491n, 1, 1, 0n, 0n], ['VIRTUAL_IA32_VMX_PROCBASED_CTLS3', 0x9610000300000492n, 1, 1, 0n, 0n], ['VIRTUAL_IA32_VMX_EXIT_CTLS2', 0x9610000300000493n, 1, 1, 0n, 0n],
  ['MIG_DEC_KEY_SET', 0x9810000000000001n, 1, 1, 0n, 0n], ['EXPORT_COUNT', 0x9810000200000002n, 1, 1, 0n, 0n], ['IMPORT_COUNT', 0x9810000200000003n, 1, 1, 0n, 0n],
  ['MIG_EPOCH', 0x9810000200000004n, 1, 1, 0n, 0n], ['BW_EPOCH', 0x9810000300000005n, 1, 1, 0n, 0n], ['TOTAL_MB_COUNT', 0x9810000300000006n, 1, 1, 0n, 0n],
  ['MIG_DEC_KEY', 0x9810000300000010n, 1, 4, 0n, 0n], ['MIG_DEC_WORKING_KEY', 0x9810000300000014n, 1, 4, 0n, 0n], ['MIG_ENC_KEY', 0x9810000300000018n, 1, 4, 0n, 0n],
  ['MIG_ENC_WORKING_KEY', 0x981000030000001Cn, 1, 4, 0n, 0n], ['MIG_VERSION', 0x9810000100000020n, 1, 1, 0n, 0n], ['MIG_WORKING_VERSION', 0x9810000100000021n, 1, 1, 0n, 0n],
  ['DIRTY_COUNT', 0x9810000300000030n, 1, 1, 0n, 0n], ['MIG_COUNT', 0x9810000300000031n, 1, 1, 0n, 0n], ['NUM_MIGS', 0x9810000100000032n, 1, 1, 0n, 0n],
  ['NUM_MIGRATED_VCPUS', 0x9810000200000034n, 1, 1, 0n, 0n], ['PRE_IMPORT_UUID', 0x9810000300000040n, 1, 4, ALL, 0n], ['SERVTD_HASH', 0x9910000300000000n, 1, 6, ALL, 0n],
  ['SERVTD_NUM', 0x9910000100000006n, 1, 1, ALL, 0n], ['SERVTD_BINDINGS_TABLE', 0x9910000300000080n, 1, 16, ALL, 0n], ['MIGSC_LINKS', 0x9A10000300000000n, 512, 1, 0n, 0n],
  ['MSR_BITMAPS', 0x2010000300000000n, 512, 1, 0n, 0n], ['SEPT_ROOT', 0x2110000300000000n, 512, 1, 0n, 0n], ['L2_SEPT_ROOT_1', 0x2510000300000000n, 512, 1, 0n, 0n],
  ['L2_SEPT_ROOT_2', 0x2910000300000000n, 512, 1, 0n, 0n], ['L2_SEPT_ROOT_3', 0x2D10000300000000n, 512, 1, 0n, 0n],
];

export const SYS_FIELDS: readonly MdEntry[] = SYS_TABLE_DATA.map(([n, id, f, e]) => entry(n, id, f, e, ALL, 0n));
/**
 * TD-scope fields as the guest (TDG.VM.RD/WR) sees them. The last three
 * (L2_SEPT_ROOT_1..3) are outside the table while the TD has no L2 VMs
 * (md_get_num_of_td_vp_ctx_unused_entries: TDCS_PAGES_PER_L2_VM × unused VMs).
 */
export const TD_GUEST_FIELDS: readonly MdEntry[] = TD_TABLE_DATA.slice(0, TD_TABLE_DATA.length - 3).map(([n, id, f, e, rd, wr]) => entry(n, id, f, e, rd, wr));

export function mdTable(ctx: MdContext): readonly MdEntry[] {
  return ctx === 'sys' ? SYS_FIELDS : TD_GUEST_FIELDS;
}

/** is_null_field_id (metadata_generic.h): every bit set, the context code ignored. */
export function isNullFieldId(id: bigint): boolean {
  return (id | CONTEXT_MASK) === MD_FIELD_ID_NA;
}

/** md_check_as_single_element_id: reserved bits and the sequence/last-element fields must be 0. */
export function isSingleElementId(id: bigint): boolean {
  return (id & SINGLE_ELEMENT_MUST_BE_ZERO) === 0n;
}

/** The id with its context code replaced, as tdh_sys_rd / tdg_vm_rd_wr do before any lookup ("CONTEXT_CODE is ignored on input"). */
export function withContext(id: bigint, ctx: MdContext): bigint {
  return (id & ~CONTEXT_MASK) | (CONTEXT_CODE[ctx] << CONTEXT_SHIFT);
}

const classOf = (id: bigint) => (id >> CLASS_SHIFT) & 0x3Fn;

/** md_find_entry_idx: same class, field code within [first, first + fields × elements). */
export function findEntry(ctx: MdContext, id: bigint): { entry: MdEntry; index: number; element: number } | undefined {
  const table = mdTable(ctx);
  const code = id & FIELD_CODE;
  for (let index = 0; index < table.length; index++) {
    const e = table[index]!;
    const first = e.id & FIELD_CODE;
    if (classOf(e.id) === classOf(id) && code >= first && code < first + BigInt(e.fields * e.elements)) {
      return { entry: e, index, element: Number(code - first) };
    }
  }
  return undefined;
}

/**
 * md_get_next_element_in_context for a readable accessor: the next element
 * of the same entry (the input id with its field code + 1), else the first
 * element of the next readable entry, else MD_FIELD_ID_NA. A null id gives
 * the first readable entry.
 */
export function nextElement(ctx: MdContext, id: bigint): bigint {
  const table = mdTable(ctx);
  let start = 0;
  if (!isNullFieldId(id)) {
    const found = findEntry(ctx, id);
    if (!found) return MD_FIELD_ID_NA;
    if (found.element < found.entry.fields * found.entry.elements - 1) return withContext((id & ~FIELD_CODE) | ((id & FIELD_CODE) + 1n), ctx);
    start = found.index + 1;
  }
  for (let i = start; i < table.length; i++) if (table[i]!.rdMask !== 0n) return table[i]!.id;
  return MD_FIELD_ID_NA;
}

/** md_check_forbidden_bits_unchanged: a write may change only bits of the entry's write mask. */
export function forbiddenBitsUnchanged(original: bigint, value: bigint, requestMask: bigint, entryWrMask: bigint): boolean {
  const forbidden = requestMask & ~entryWrMask;
  return ((original ^ value) & forbidden) === 0n;
}

/** Which field of an entry and which element of it an id names (field_num, element in field). */
export function fieldAndElement(entry: MdEntry, id: bigint): { field: number; element: number } {
  const n = Number((id & FIELD_CODE) - (entry.id & FIELD_CODE));
  return { field: Math.floor(n / entry.elements), element: n % entry.elements };
}
