/**
 * The TDX module's platform-initialisation leaves, as the 6.8–6.12 kernel
 * drives them (arch/x86/virt/vmx/tdx/tdx.c: try_init_module_global →
 * TDH.SYS.INIT, tdx_cpu_enable → TDH.SYS.LP.INIT, read_sys_metadata_field →
 * TDH.SYS.RD, config_tdx_module → TDH.SYS.CONFIG, config_global_keyid →
 * TDH.SYS.KEY.CONFIG per package, init_tdmr → TDH.SYS.TDMR.INIT until done)
 * and the host series v3 read (TDH.SYS.INFO), plus TDH.SYS.LP.SHUTDOWN.
 * Each handler follows the file of the same name in intel/tdx-module tdx_1.5
 * src/vmm_dispatcher/api_calls/ (check order, default outputs, statuses);
 * version differences are marked where they apply.
 */
import { STATUS } from './codes.js';
import { fieldAndElement, findEntry, isNullFieldId, isSingleElementId, MD_FIELD_ID_NA, nextElement, withContext } from './metadata.js';
import { hex, hkidOfPa, invalid, isPrivateHkid, lockBusy, MAX_PA, packageOf, ret, sharedHpaOk, status, withOperand, type LeafContext } from './module-kit.js';
import { drawEntropy, GIB, type ModuleVersion, type TdmrState, type TdxModuleConfig } from './module-state.js';
import type { Outcome } from './types.js';

/** tdh_sys_info.c / tdx_global_data.h MAX_TDMRS, tdx_api_defs.h MAX_RESERVED_AREAS, MAX_CMR; pamt_entry_t is 16 bytes. */
export const MAX_TDMRS = 64;
export const MAX_RESERVED_AREAS = 16;
export const MAX_CMR = 32;
export const PAMT_ENTRY_SIZE = 16;
export const TDSYSINFO_SIZE = 1024;
/** tdx_api_defs.h TDMR_INFO_ENTRY_PTR_ARRAY_ALIGNMENT: the PA array and each TDMR_INFO entry (tdh_sys_config.c). */
const TDMR_INFO_ALIGN = 512n;
/** tdx_api_defs.h tdmr_info_entry_t: 8 qwords, then 16 reserved areas of (offset, size). */
const TDMR_INFO_SIZE = 64 + 16 * MAX_RESERVED_AREAS;
/** tdh_sys_tdmr_init.c TDMR_4K_PAMT_INIT_COUNT (1024 4 KiB pages) per call. */
export const TDMR_INIT_CHUNK = 1024n * 0x1000n;

/** td_control_structures.h TDX_ATTRIBUTES_FIXED0/1 (DEBUG, SEPT_VE_DISABLE, MIGRATABLE, PKS, PERFMON), CONFIG_FLAGS_FIXED0/1. */
export const ATTRIBUTES_FIXED0 = 0x1n | (1n << 28n) | (1n << 29n) | (1n << 30n) | (1n << 63n);
export const ATTRIBUTES_FIXED1 = 0n;
export const CONFIG_FLAGS_FIXED0 = 0x7n;
/**
 * td_control_structures.h TDX_XFAM_FIXED0 0x6DBE7 & the CPU's XCR0|XSS support,
 * TDX_XFAM_FIXED1 3. The model's CPU supports every one of those bits.
 */
export const XFAM_FIXED0 = 0x0006DBE7n;
export const XFAM_FIXED1 = 0x3n;

/** Module identity per version: proj_defs.mk TDX_MODULE_MAJOR_VER/MINOR_VER (1.5 branch: 1 and 5); 1.0 and 2.0 [B]. */
export function versionNumbers(v: ModuleVersion): { major: number; minor: number } {
  return v === '1.0' ? { major: 1, minor: 0 } : v === '2.0' ? { major: 2, minor: 0 } : { major: 1, minor: 5 };
}
/** Build date and number are make-time values (proj_defs.mk); these are seamlab's. */
export const BUILD_DATE = 20240222;
export const BUILD_NUM = 0x2f0;

/**
 * TDX_FEATURES0 (metadata_sys.c md_sys_get_first_element_val_and_ptr, 1.5):
 * TD migration 0, TD preserving 1, service TD 2, TDG.VP.RD/WR 3, relaxed
 * memory-management concurrency 4, CPUID virtualisation guest control 5,
 * TD partitioning 7, TD entry enhancements 9, host-priority locks 10,
 * IA32_ARCH_CAPABILITIES config 11, pending EPT violation v2 16, FMS config
 * 17, NO_RBP_MOD 18, L2 TLB invalidation optimisation 19 (local attestation,
 * bit 8, only when SEAMVERIFYREPORT exists: off here).
 */
export const TDX_FEATURES0_1_5 = [0, 1, 2, 3, 4, 5, 7, 9, 10, 11, 16, 17, 18, 19].reduce((a, b) => a | (1n << BigInt(b)), 0n);

/** Values of the global (SYS) metadata fields, by field name and field number; undefined = not modelled. */
export function sysFieldValue(c: TdxModuleConfig, name: string, field: number): bigint | undefined {
  const v = versionNumbers(c.version);
  const cmr = c.cmrs[field];
  switch (name) {
    case 'NUM_PKGS': return BigInt(c.packages);
    case 'VENDOR_ID': return 0x8086n;
    case 'BUILD_DATE': return BigInt(BUILD_DATE);
    case 'BUILD_NUM': return BigInt(BUILD_NUM);
    case 'MINOR_VERSION': return BigInt(v.minor);
    case 'MAJOR_VERSION': return BigInt(v.major);
    case 'UPDATE_VERSION': case 'INTERNAL_VERSION': case 'SYS_ATTRIBUTES': return 0n;
    case 'NUM_TDX_FEATURES': return 1n;
    case 'TDX_FEATURES0': return TDX_FEATURES0_1_5;
    case 'NUM_CMRS': return BigInt(MAX_CMR);
    case 'CMR_BASE': return cmr?.base ?? 0n;
    case 'CMR_SIZE': return cmr?.size ?? 0n;
    case 'MAX_TDMRS': return BigInt(MAX_TDMRS);
    case 'MAX_RESERVED_PER_TDMR': return BigInt(MAX_RESERVED_AREAS);
    case 'PAMT_4K_ENTRY_SIZE': case 'PAMT_2M_ENTRY_SIZE': case 'PAMT_1G_ENTRY_SIZE': return BigInt(PAMT_ENTRY_SIZE);
    // sizeof(tdr_t) = 4 KiB; MIN_NUM_TDCS_PAGES 6, TDCS_PAGES_PER_L2_VM 1, MIN_TDVPS_PAGES 6, TDVPS_PAGES_PER_L2_VM 3.
    case 'TDR_BASE_SIZE': return 0x1000n;
    case 'TDCS_BASE_SIZE': return 6n * 0x1000n;
    case 'TDCS_SIZE_PER_L2_VM': return 0x1000n;
    case 'TDVPS_BASE_SIZE': return 6n * 0x1000n;
    case 'TDVPS_SIZE_PER_L2_VM': return 3n * 0x1000n;
    case 'ATTRIBUTES_FIXED0': return ATTRIBUTES_FIXED0;
    case 'ATTRIBUTES_FIXED1': return ATTRIBUTES_FIXED1;
    case 'XFAM_FIXED0': return XFAM_FIXED0;
    case 'XFAM_FIXED1': return XFAM_FIXED1;
    case 'NUM_CPUID_CONFIG': return 12n; // cpuid_configurations_defines.h MAX_NUM_CPUID_CONFIG
    case 'CONFIG_FLAGS_FIXED0': return CONFIG_FLAGS_FIXED0;
    case 'CONFIG_FLAGS_FIXED1': return 0n;
    case 'MAX_MIGS': return 512n; // service_td.h MAX_MIGS
    case 'MAX_SERV_TDS': return 1n; // service_td.h MAX_SERVTDS
    case 'MIG_ATTRIBUTES': case 'MIN_EXPORT_VERSION': case 'MAX_EXPORT_VERSION': case 'MIN_IMPORT_VERSION': case 'MAX_IMPORT_VERSION':
    case 'VM_CTLS_FIXED1': case 'VCPU_L2_CTLS_FIXED1': case 'VCPU_L2_DEBUG_CTLS_FIXED1':
      return 0n;
    default: return undefined;
  }
}

/** TDH.SYS.INIT (tdh_sys_init.c tdh_sys_init): RCX/RDX/R8–R10 zeroed first. */
export function sysInit(ctx: LeafContext): Outcome {
  const zero = { rcx: 0n, rdx: 0n, r8: 0n, r9: 0n, r10: 0n };
  const busy = lockBusy(ctx, 'global', () => status('TDX_SYS_BUSY', 'the global lock is held by another LP', zero));
  if (busy) return busy;
  // 2.0 passes the leaf version instead of RCX (tdx_vmm_dispatcher.c at a56a9173: tdh_sys_init((uint8_t)leaf_opcode.version)) [B: body not read].
  if (ctx.config.version !== '2.0' && ctx.call.regs.rcx !== 0n) return invalid('rcx', 'sys_attributes: every bit is reserved', zero);
  if (ctx.state.sys !== 'uninitialized') return status('TDX_SYS_INIT_NOT_PENDING', `module state ${ctx.state.sys}`, zero);
  // tdx_init_stack_canary draws from the RNG; on failure the state stays SYSINIT_PENDING, so the call can be retried.
  if (!drawEntropy(ctx.state)) return status('TDX_RND_NO_ENTROPY', 'no entropy for the stack canary', zero);
  ctx.state.sys = 'sys-init-done';
  return status('TDX_SUCCESS', 'TDH.SYS.INIT done', zero);
}

/** TDH.SYS.LP.INIT (tdh_sys_lp_init.c tdh_sys_lp_init): RCX/RDX/R8 zeroed first. */
export function lpInit(ctx: LeafContext): Outcome {
  const zero = { rcx: 0n, rdx: 0n, r8: 0n };
  const lp = ctx.call.env.lp;
  const busy = lockBusy(ctx, 'global', () => status('TDX_SYS_BUSY', 'the global lock is held exclusively by another LP', zero));
  if (busy) return busy;
  if (ctx.state.sys !== 'sys-init-done') return status('TDX_SYS_LP_INIT_NOT_PENDING', `module state ${ctx.state.sys}`, zero);
  if (ctx.state.lpInit.has(lp)) return status('TDX_SYS_LP_INIT_DONE', `LP ${lp} already initialised`, zero);
  // lfsr_init_seed (helpers.c) draws RDRAND.
  if (!drawEntropy(ctx.state)) return status('TDX_RND_NO_ENTROPY', `no entropy for LP ${lp}'s LFSR seed`, zero);
  ctx.state.lpInit.add(lp);
  return status('TDX_SUCCESS', `LP ${lp} initialised`, zero);
}

function requireLpInit(ctx: LeafContext, regs: Record<string, bigint>): Outcome | undefined {
  return ctx.state.lpInit.has(ctx.call.env.lp) ? undefined : status('TDX_SYS_LP_INIT_NOT_DONE', `LP ${ctx.call.env.lp} not initialised`, regs);
}

/**
 * TDH.SYS.INFO (tdh_sys_info.c): RDX = R9 = 0 first; TDSYSINFO_STRUCT (1 KiB,
 * 1 KiB-aligned) at RCX is zeroed before the CMR_INFO checks, then filled;
 * all 32 CMR_INFO entries at R8; RDX = 1024, R9 = 32.
 */
export function sysInfo(ctx: LeafContext): Outcome {
  const zero = { rdx: 0n, r9: 0n };
  const notLp = requireLpInit(ctx, zero);
  if (notLp) return notLp;
  const { rcx, rdx, r8, r9 } = ctx.call.regs;
  const mem = ctx.call.mem;
  if (!sharedHpaOk(ctx.config, rcx, 1024n)) return invalid('rcx', 'TDSYSINFO_STRUCT is not a 1 KiB-aligned shared HPA', zero);
  if (rdx < BigInt(TDSYSINFO_SIZE)) return invalid('rdx', `TDSYSINFO_STRUCT size ${rdx} < ${TDSYSINFO_SIZE}`, zero);
  if (!mem.contains(rcx, TDSYSINFO_SIZE)) return invalid('rcx', `TDSYSINFO_STRUCT ${hex(rcx)} is outside seamlab's physical-memory area`, zero);
  mem.write(rcx, new Uint8Array(TDSYSINFO_SIZE));
  const cmrBytes = 16 * MAX_CMR;
  if (!sharedHpaOk(ctx.config, r8, BigInt(cmrBytes))) return invalid('r8', 'CMR_INFO array is not a 512-byte-aligned shared HPA', zero);
  if (r9 < BigInt(MAX_CMR)) return invalid('r9', `CMR_INFO entries ${r9} < ${MAX_CMR}`, zero);
  if (!mem.contains(r8, cmrBytes)) return invalid('r8', `CMR_INFO ${hex(r8)} is outside seamlab's physical-memory area`, zero);
  mem.write(rcx, tdsysinfo(ctx.config));
  const cmrs = new Uint8Array(cmrBytes);
  const cv = new DataView(cmrs.buffer);
  ctx.config.cmrs.slice(0, MAX_CMR).forEach((c, i) => {
    cv.setBigUint64(i * 16, c.base, true);
    cv.setBigUint64(i * 16 + 8, c.size, true);
  });
  mem.write(r8, cmrs);
  return status('TDX_SUCCESS', `TDSYSINFO_STRUCT and ${MAX_CMR} CMR_INFO entries written`, { rdx: BigInt(TDSYSINFO_SIZE), r9: BigInt(MAX_CMR) });
}

/** tdx_api_defs.h td_sys_info_t as tdh_sys_info.c fills it (the CPUID_CONFIG list is not modelled: NUM_CPUID_CONFIG 0). */
function tdsysinfo(c: TdxModuleConfig): Uint8Array {
  const b = new Uint8Array(TDSYSINFO_SIZE);
  const dv = new DataView(b.buffer);
  const v = versionNumbers(c.version);
  dv.setUint32(4, 0x8086, true); // vendor_id
  dv.setUint32(8, BUILD_DATE, true);
  dv.setUint16(12, BUILD_NUM, true);
  dv.setUint16(14, v.minor, true);
  dv.setUint16(16, v.major, true);
  // sys_rd = 1 ("TDH.SYS.RD* should be used"); the byte is reserved in 1.0 [B].
  if (c.version !== '1.0') b[18] = 1;
  dv.setUint16(32, MAX_TDMRS, true);
  dv.setUint16(34, MAX_RESERVED_AREAS, true);
  dv.setUint16(36, PAMT_ENTRY_SIZE, true);
  dv.setUint16(48, 6 * 0x1000, true); // tdcs_base_size
  dv.setUint16(52, 6 * 0x1000, true); // tdvps_base_size
  dv.setBigUint64(64, ATTRIBUTES_FIXED0, true);
  dv.setBigUint64(72, ATTRIBUTES_FIXED1, true);
  dv.setBigUint64(80, XFAM_FIXED0, true);
  dv.setBigUint64(88, XFAM_FIXED1, true);
  return b;
}

/**
 * TDH.SYS.RD (tdh_sys_rd.c): RDX = MD_FIELD_ID_NA and R8 = 0 first; a null
 * id returns the first field id with TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT;
 * on success R8 = the element (masked to its size) and RDX = the next
 * readable element's id (md_get_next_element_in_context).
 */
export function sysRd(ctx: LeafContext): Outcome {
  const out = { rdx: MD_FIELD_ID_NA, r8: 0n };
  const notLp = requireLpInit(ctx, out);
  if (notLp) return notLp;
  const id = withContext(ctx.call.regs.rdx, 'sys');
  if (isNullFieldId(id)) return status('TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT', 'null field id: RDX = the first field', { rdx: nextElement('sys', id), r8: 0n });
  if (!isSingleElementId(id)) return status('TDX_METADATA_FIELD_ID_INCORRECT', `${hex(ctx.call.regs.rdx)} is not a single-element field id`, out);
  const found = findEntry('sys', id);
  if (!found) return status('TDX_METADATA_FIELD_ID_INCORRECT', `no global field ${hex(ctx.call.regs.rdx)}`, out);
  const { field } = fieldAndElement(found.entry, id);
  const override = ctx.config.fields.get(ctx.call.regs.rdx);
  const modelled = sysFieldValue(ctx.config, found.entry.name, field);
  const value = (override ?? modelled ?? 0n) & found.entry.rdMask;
  const label = found.entry.fields > 1 ? `${found.entry.name}[${field}]` : found.entry.name;
  const note = `${label} = ${value}${override === undefined && modelled === undefined ? ' (value not modelled)' : ''}`;
  return ret(STATUS.TDX_SUCCESS, { rdx: nextElement('sys', id), r8: value }, note);
}

interface TdmrInfo { base: bigint; size: bigint; pamt: [bigint, bigint][]; rsvd: { offset: bigint; size: bigint }[] }

function readTdmrInfo(ctx: LeafContext, pa: bigint): TdmrInfo {
  const m = ctx.call.mem;
  const q = (i: number) => m.readU64(pa + BigInt(i * 8));
  const rsvd: TdmrInfo['rsvd'] = [];
  for (let j = 0; j < MAX_RESERVED_AREAS; j++) rsvd.push({ offset: q(8 + 2 * j), size: q(9 + 2 * j) });
  // tdmr_info_entry_t: base, size, PAMT_1G base/size, PAMT_2M base/size, PAMT_4K base/size.
  return { base: q(0), size: q(1), pamt: [[q(6), q(7)], [q(4), q(5)], [q(2), q(3)]], rsvd };
}

const overlap = (a: bigint, as: bigint, b: bigint, bs: bigint) => as > 0n && bs > 0n && a < b + bs && b < a + as;
const PAGE_BYTES = [0x1000n, 0x200000n, GIB];

/** is_area_in_cmr (tdh_sys_config.c): inside one CMR, adjacent CMRs counting as one. */
function inCmr(c: TdxModuleConfig, start: bigint, end: bigint): boolean {
  let lastStart = 0n;
  let lastEnd = 0n;
  for (const cmr of c.cmrs) {
    if (cmr.size === 0n) continue;
    const s = cmr.base === lastEnd ? lastStart : cmr.base;
    const e = cmr.base + cmr.size;
    if (start >= s && end <= e) return true;
    lastStart = s;
    lastEnd = e;
  }
  return false;
}

/** The non-reserved parts of a TDMR (check_tdmr_available_areas). */
function availableAreas(t: TdmrInfo): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  let start = t.base;
  const end = t.base + t.size;
  for (const r of t.rsvd) {
    if (r.size === 0n) break;
    const rs = t.base + r.offset;
    if (rs > start) out.push([start, rs]);
    start = rs + r.size;
  }
  if (end > start) out.push([start, end]);
  return out;
}

/** check_and_set_tdmrs (tdh_sys_config.c) for entry i: the first failing check's status, with api_error_with_multiple_info details. */
function checkTdmr(c: TdxModuleConfig, all: TdmrInfo[], i: number): Outcome | undefined {
  const t = all[i]!;
  type TdmrStatus = 'TDX_INVALID_TDMR' | 'TDX_NON_ORDERED_TDMR' | 'TDX_TDMR_OUTSIDE_CMRS' | 'TDX_INVALID_PAMT' | 'TDX_PAMT_OVERLAP' | 'TDX_PAMT_OUTSIDE_CMRS' | 'TDX_INVALID_RESERVED_IN_TDMR' | 'TDX_NON_ORDERED_RESERVED_IN_TDMR';
  // api_error_with_multiple_info(status, info0, info1, info2, 0): bytes 0, 1, 2 of bits 31:0.
  const info = (name: TdmrStatus, note: string, b0: number, b1 = 0, b2 = 0) => ret(STATUS[name] | BigInt(b0) | (BigInt(b1) << 8n) | (BigInt(b2) << 16n), undefined, note);
  const err = (name: TdmrStatus, note: string, b1 = 0, b2 = 0) => info(name, note, i, b1, b2);
  const paOk = (pa: bigint) => pa < 1n << MAX_PA && hkidOfPa(c, pa) === 0;
  if (t.base + t.size >= 1n << 64n) return err('TDX_INVALID_TDMR', `TDMR ${i}: base + size overflows`);
  const prev = all[i - 1];
  if (prev && (t.base < prev.base || t.base < prev.base + prev.size)) return err('TDX_NON_ORDERED_TDMR', `TDMR ${i} at ${hex(t.base)} is below or overlaps TDMR ${i - 1}`);
  if (t.base % GIB !== 0n || t.size % GIB !== 0n || t.size === 0n || !paOk(t.base) || !paOk(t.base + t.size - 1n)) {
    return err('TDX_INVALID_TDMR', `TDMR ${i}: base ${hex(t.base)} size ${hex(t.size)} not 1 GiB-aligned and non-empty, without KeyID bits`);
  }
  // check_tdmr_reserved_areas: sorted, non-overlapping, 4 KiB-aligned, inside the TDMR; a null entry ends the list.
  for (let j = 0; j < MAX_RESERVED_AREAS; j++) {
    const r = t.rsvd[j]!;
    if (r.size === 0n) {
      if (j < MAX_RESERVED_AREAS - 1 && t.rsvd[j + 1]!.size !== 0n) return err('TDX_NON_ORDERED_RESERVED_IN_TDMR', `TDMR ${i}: reserved area ${j} is null but ${j + 1} is not`, j);
      continue;
    }
    const p = j > 0 ? t.rsvd[j - 1]! : undefined;
    if (p && (r.offset < p.offset || r.offset < p.offset + p.size)) return err('TDX_NON_ORDERED_RESERVED_IN_TDMR', `TDMR ${i}: reserved area ${j} is below or overlaps ${j - 1}`, j);
    if (r.offset % 0x1000n !== 0n || r.size % 0x1000n !== 0n || r.offset + r.size > t.size) return err('TDX_INVALID_RESERVED_IN_TDMR', `TDMR ${i}: reserved area ${j} not 4 KiB-aligned inside the TDMR`, j);
  }
  // check_pamt_addresses (1G, 2M, 4K): 4 KiB-aligned, below MAX_PA, big enough for one 16-byte entry per page.
  for (const lvl of [2, 1, 0]) {
    const [base, size] = t.pamt[lvl]!;
    if (base % 0x1000n !== 0n || size % 0x1000n !== 0n || !paOk(base) || !paOk(base + size - 1n) || size < (t.size / PAGE_BYTES[lvl]!) * BigInt(PAMT_ENTRY_SIZE)) {
      return err('TDX_INVALID_PAMT', `TDMR ${i}: PAMT_${['4K', '2M', '1G'][lvl]} ${hex(base)}+${hex(size)} invalid or too small`, lvl);
    }
  }
  // check_all_pamt_overlap: with earlier TDMRs' PAMTs, then among this TDMR's three.
  for (let j = 0; j < i; j++) {
    for (const lvl of [0, 1, 2]) {
      const [b, s] = t.pamt[lvl]!;
      if (all[j]!.pamt.some(([ob, os]) => overlap(b, s, ob, os))) return err('TDX_PAMT_OVERLAP', `TDMR ${i}: PAMT_${['4K', '2M', '1G'][lvl]} overlaps TDMR ${j}'s PAMT`, lvl, j);
    }
  }
  const [[b4, s4], [b2, s2], [b1, s1]] = t.pamt as [[bigint, bigint], [bigint, bigint], [bigint, bigint]];
  if (overlap(b4, s4, b2, s2) || overlap(b4, s4, b1, s1)) return err('TDX_PAMT_OVERLAP', `TDMR ${i}: its PAMT_4K overlaps its other PAMTs`, 0, i);
  if (overlap(b2, s2, b1, s1)) return err('TDX_PAMT_OVERLAP', `TDMR ${i}: its PAMT_2M overlaps its PAMT_1G`, 1, i);
  // check_pamt_overlaps_available_areas: a PAMT may only sit in reserved areas of any TDMR up to this one,
  // and no earlier TDMR's PAMT may sit in this TDMR's usable memory.
  const usable = (x: TdmrInfo, b: bigint, s: bigint) => availableAreas(x).some(([as, ae]) => overlap(b, s, as, ae - as));
  const lvlName = (lvl: number) => ['4K', '2M', '1G'][lvl];
  for (let j = 0; j <= i; j++) {
    for (const lvl of [0, 1, 2]) {
      const [b, s] = t.pamt[lvl]!;
      if (usable(all[j]!, b, s)) return err('TDX_PAMT_OVERLAP', `TDMR ${i}: PAMT_${lvlName(lvl)} overlaps usable memory of TDMR ${j}`, lvl, j);
    }
    if (j === i) break;
    for (const lvl of [0, 1, 2]) {
      const [b, s] = all[j]!.pamt[lvl]!;
      if (usable(t, b, s)) return info('TDX_PAMT_OVERLAP', `TDMR ${j}: PAMT_${lvlName(lvl)} overlaps usable memory of TDMR ${i}`, j, lvl, i);
    }
  }
  for (const lvl of [2, 1, 0]) {
    const [b, s] = t.pamt[lvl]!;
    if (!inCmr(c, b, b + s)) return err('TDX_PAMT_OUTSIDE_CMRS', `TDMR ${i}: PAMT_${['4K', '2M', '1G'][lvl]} is not in a CMR`, lvl);
  }
  for (const [s, e] of availableAreas(t)) if (!inCmr(c, s, e)) return err('TDX_TDMR_OUTSIDE_CMRS', `TDMR ${i}: ${hex(s)}..${hex(e)} is not in a CMR`);
  return undefined;
}

/**
 * TDH.SYS.CONFIG (tdh_sys_config.c): RCX = PA of the TDMR_INFO PA array
 * (512-aligned), RDX = entries (1..64), R8 = the global private KeyID.
 * The KeyID is reserved in the KOT before the TDMRs are checked, and stays so.
 */
export function sysConfig(ctx: LeafContext): Outcome {
  const busy = lockBusy(ctx, 'global', () => status('TDX_SYS_BUSY', 'the global lock is held by another LP'));
  if (busy) return busy;
  const st = ctx.state;
  if (st.sys !== 'sys-init-done') return status('TDX_SYS_CONFIG_NOT_PENDING', `module state ${st.sys}`);
  const missing = ctx.config.lps - [...st.lpInit].filter((l) => l < ctx.config.lps).length;
  if (missing > 0) return status('TDX_SYS_CONFIG_NOT_PENDING', `${missing} of ${ctx.config.lps} LPs have not run TDH.SYS.LP.INIT`);
  const { rcx, rdx, r8 } = ctx.call.regs;
  if (!sharedHpaOk(ctx.config, rcx, TDMR_INFO_ALIGN)) return invalid('rcx', 'the TDMR_INFO PA array is not a 512-byte-aligned shared HPA');
  if (rdx > BigInt(MAX_TDMRS) || rdx < 1n) return invalid('rdx', `${rdx} TDMRs (1..${MAX_TDMRS})`);
  // 2.0 adds R8 bit 16 (dynamic PAMT, sys_config_options_t at a56a9173) [B: not modelled].
  if (r8 >> 16n !== 0n || !isPrivateHkid(ctx.config, r8 & 0xffffn)) return invalid('r8', `KeyID ${r8} is not a private (TDX) KeyID`);
  const hkid = Number(r8);
  st.kot.set(hkid, 'reserved');
  st.globalKeyId = hkid;
  const n = Number(rdx);
  if (!ctx.call.mem.contains(rcx, n * 8)) return invalid('rcx', `TDMR_INFO PA array ${hex(rcx)} is outside seamlab's physical-memory area`);
  const infos: TdmrInfo[] = [];
  for (let i = 0; i < n; i++) {
    const pa = ctx.call.mem.readU64(rcx + BigInt(i * 8));
    if (!sharedHpaOk(ctx.config, pa, TDMR_INFO_ALIGN)) return invalid('rcx', `TDMR_INFO ${i} at ${hex(pa)} is not a 512-byte-aligned shared HPA`);
    if (!ctx.call.mem.contains(pa, TDMR_INFO_SIZE)) return invalid('rcx', `TDMR_INFO ${i} at ${hex(pa)} is outside seamlab's physical-memory area`);
    infos.push(readTdmrInfo(ctx, pa));
    const bad = checkTdmr(ctx.config, infos, i);
    if (bad) return bad;
  }
  st.tdmrs = infos.map((t): TdmrState => ({
    base: t.base, size: t.size, pamt: { base1g: t.pamt[2]![0], base2m: t.pamt[1]![0], base4k: t.pamt[0]![0] },
    rsvd: t.rsvd.filter((r, j) => r.size !== 0n && t.rsvd.slice(0, j).every((x) => x.size !== 0n)), lastInitialized: t.base,
  }));
  st.pkgConfigured.clear();
  st.sys = 'config-done';
  return status('TDX_SUCCESS', `${n} TDMR${n === 1 ? '' : 's'}, global KeyID ${hkid}`);
}

/** TDH.SYS.KEY.CONFIG (tdh_sys_key_config.c) once per package; the last one makes the module READY. */
export function sysKeyConfig(ctx: LeafContext): Outcome {
  const busy = lockBusy(ctx, 'global', () => status('TDX_SYS_BUSY', 'the global lock is held by another LP'));
  if (busy) return busy;
  const st = ctx.state;
  if (st.sys !== 'config-done') return status('TDX_SYS_KEY_CONFIG_NOT_PENDING', `module state ${st.sys}`);
  const pkg = packageOf(ctx);
  if (st.pkgConfigured.has(pkg)) return status('TDX_KEY_CONFIGURED', `package ${pkg} already configured`);
  const key = programKey(ctx);
  if (key) return key;
  st.pkgConfigured.add(pkg);
  if (st.pkgConfigured.size === ctx.config.packages) st.sys = 'ready';
  return status('TDX_SUCCESS', `package ${pkg}: global KeyID ${st.globalKeyId} programmed${st.sys === 'ready' ? '; module READY' : ''}`);
}

/**
 * helpers.c program_mktme_keys: PCONFIG with a CPU-generated key. A busy
 * encryption engine → TDX_OPERAND_BUSY|KET; an entropy error →
 * TDX_KEY_GENERATION_FAILED (not TDX_RND_NO_ENTROPY).
 */
export function programKey(ctx: LeafContext): Outcome | undefined {
  const busy = lockBusy(ctx, 'ket', () => withOperand('TDX_OPERAND_BUSY', 'KET', 'PCONFIG: the MKTME key table is busy'));
  if (busy) return busy;
  if (!drawEntropy(ctx.state)) return status('TDX_KEY_GENERATION_FAILED', 'PCONFIG: entropy error generating the key');
  return undefined;
}

/**
 * TDH.SYS.TDMR.INIT (tdh_sys_tdmr_init.c): RDX = 0 first; RCX must be a
 * configured TDMR's base; each call initialises 1024 PAMT 4 KiB entries
 * (4 MiB of the TDMR) and returns RDX = the next-to-initialise address
 * rounded down to 1 GiB.
 */
export function tdmrInit(ctx: LeafContext): Outcome {
  const zero = { rdx: 0n };
  const pa = ctx.call.regs.rcx;
  if (pa % GIB !== 0n || pa >= 1n << MAX_PA || hkidOfPa(ctx.config, pa) !== 0) return invalid('rcx', `${hex(pa)} is not a 1 GiB-aligned address below MAX_PA without KeyID bits`, zero);
  const t = ctx.state.tdmrs.find((x) => x.base === pa);
  if (!t) return invalid('rcx', `no TDMR at ${hex(pa)}`, zero);
  const busy = lockBusy(ctx, 'tdmr', () => withOperand('TDX_OPERAND_BUSY', 'rcx', `TDMR ${hex(pa)} is being initialised on another LP`, zero));
  if (busy) return busy;
  if (t.lastInitialized >= t.base + t.size) return status('TDX_TDMR_ALREADY_INITIALIZED', `TDMR ${hex(pa)} is fully initialised`, zero);
  t.lastInitialized += TDMR_INIT_CHUNK;
  const next = t.lastInitialized & ~(GIB - 1n);
  return ret(STATUS.TDX_SUCCESS, { rdx: next }, `TDMR ${hex(pa)}: ${hex(t.lastInitialized - t.base)} of ${hex(t.size)} initialised, RDX = ${hex(next)}`);
}

/**
 * TDH.SYS.LP.SHUTDOWN: deprecated in 1.5 and 2.0 — "serves as place holder
 * for legacy VMMs", returns TDX_SUCCESS (tdh_sys_lp_shutdown.c, 1.5 and
 * 1666adc4). In 1.0 it marked the module SYS_SHUTDOWN (the 1.0 source's
 * tdh_sys_lp_shutdown: global lock shared, sys_state = SYS_SHUTDOWN).
 */
export function lpShutdown(ctx: LeafContext): Outcome {
  if (ctx.config.version !== '1.0') return status('TDX_SUCCESS', 'TDH.SYS.LP.SHUTDOWN is deprecated: nothing done');
  const busy = lockBusy(ctx, 'global', () => status('TDX_SYS_BUSY', 'the global lock is held exclusively by another LP'));
  if (busy) return busy;
  ctx.state.sys = 'shutdown';
  return status('TDX_SUCCESS', 'module shut down');
}
