/**
 * The TDX module model's configuration and its state — one object that
 * persists across SEAMCALLs, so a sequence of calls (the kernel's bring-up,
 * a retry loop, a TD being built and entered) runs against one module.
 *
 * The state mirrors the module's global data (intel/tdx-module tdx_1.5
 * src/common/data_structures/tdx_global_data.h: sys_state, num_of_init_lps,
 * pkg_config_bitmap, tdmr_table, KOT, WBT) and, per page, the PAMT entry
 * (pamt_manager.h page types); TDs keep the TDR/TDCS fields the modelled
 * leaves read. Configuration adds the platform (LPs, packages, CMRs, KeyID
 * partitioning) and the conditions under which the module answers busy,
 * interrupted or "no entropy" by itself.
 */
import type { GprName } from './types.js';

/** Module versions with different behaviour (see `VERSION_NOTES` in tdx-module.ts). */
export type ModuleVersion = '1.0' | '1.5' | '2.0';
export const MODULE_VERSIONS: readonly ModuleVersion[] = ['1.0', '1.5', '2.0'];

/**
 * Platform states (tdx_global_data.h sysinit_state_e): SYSINIT_PENDING,
 * SYSINIT_DONE, SYSCONFIG_DONE, SYS_READY, SYS_SHUTDOWN.
 */
export type SysState = 'uninitialized' | 'sys-init-done' | 'config-done' | 'ready' | 'shutdown';
export const SYS_STATES: readonly SysState[] = ['uninitialized', 'sys-init-done', 'config-done', 'ready', 'shutdown'];

/**
 * Locks whose acquisition can fail, as the leaves that take them report it:
 * `global` (TDX_SYS_BUSY: tdh_sys_init/lp_init/config/key_config), `tdmr`
 * (TDX_OPERAND_BUSY|RCX: tdh_sys_tdmr_init), `ket` (PCONFIG device busy →
 * TDX_OPERAND_BUSY|KET: helpers.c program_mktme_keys), `kot` (TDX_OPERAND_BUSY|KOT:
 * tdh_mng_create, tdh_phymem_cache_wb), `wbcache` (TDX_OPERAND_BUSY|WBCACHE:
 * tdh_phymem_cache_wb), `page` (a PAMT entry lock: TDX_OPERAND_BUSY or, with
 * `hostPriority`, TDX_OPERAND_BUSY_HOST_PRIORITY, plus the operand — tdx_locks.h
 * acquire_sharex_lock_hp), `td-epoch` (TDX_OPERAND_BUSY|TD_EPOCH: tdh_vp_enter, tdh_mem_track),
 * `sept` (guest side: TDG.MEM.PAGE.ACCEPT's SEPT entry lock, td-guest.ts).
 */
export type LockName = 'global' | 'tdmr' | 'ket' | 'kot' | 'wbcache' | 'page' | 'td-epoch' | 'sept';
export const LOCK_NAMES: readonly LockName[] = ['global', 'tdmr', 'ket', 'kot', 'wbcache', 'page', 'td-epoch', 'sept'];

/** "The next `times` attempts to take `lock` fail" (another LP holds it). */
export interface BusyRule {
  lock: LockName;
  times?: number;
  /** The holder has host priority: TDX_OPERAND_BUSY_HOST_PRIORITY (host side; a TD sees TDX_OPERAND_BUSY, td_call). */
  hostPriority?: boolean;
}

export interface Cmr { base: bigint; size: bigint }

/** A TDMR already configured (for a module whose state starts at config-done or later). */
export interface TdmrSpec {
  base: bigint;
  size: bigint;
  /** Already fully initialised by TDH.SYS.TDMR.INIT (default: true when the module starts READY). */
  initialized?: boolean;
}

/** What a VCPU does when TDH.VP.ENTER runs it, until it exits back to the VMM. */
export type VpExit =
  /** TDG.VP.VMCALL with RCX = gpr_select | xmm_select << 16 (tdg_vp_vmcall.c); `regs` are the TD's registers then. */
  | { kind: 'tdvmcall'; gprSelect: number; xmmSelect?: number; regs?: Partial<Record<GprName, bigint>> }
  /**
   * An asynchronous TD exit (td_exit.c async_tdexit_internal): VMX exit reason and its qualification data;
   * `trap`: the trap-like exit of a host-priority lock timeout (TDX_HOST_PRIORITY_BUSY_TIMEOUT, reason 0).
   */
  | { kind: 'async'; reason: number; qualification?: bigint; extQualification?: bigint; gpa?: bigint; interruptionInfo?: bigint; trap?: boolean };

export type TdOpState = 'uninitialized' | 'initialized' | 'runnable';
export type TdLifecycle = 'hkid-assigned' | 'keys-configured';

/** A TD already built (for scenarios that start at TDH.VP.ENTER or TDH.MEM.PAGE.AUG). */
export interface TdSpec {
  tdr: bigint;
  hkid: number;
  /** default 'runnable'. */
  state?: TdLifecycle | TdOpState;
  /** TD_PARAMS.CONFIG_FLAGS.NO_RBP_MOD (tdx_api_defs.h config_flags_t bit 2). */
  noRbpMod?: boolean;
  vcpus?: { tdvpr: bigint; exits?: VpExit[] }[];
}

export interface TdxModuleConfig {
  /** false: the module is not loaded, every call is VMfailInvalid. */
  loaded: boolean;
  version: ModuleVersion;
  state: SysState;
  /** Logical processors and packages (LP n is on package n mod packages). */
  lps: number;
  packages: number;
  /**
   * The RNG: true = entropy always there; false = RDRAND/RDSEED and PCONFIG's
   * key generation always fail; a number n = the next n draws fail, then succeed.
   */
  entropy: boolean | number;
  /** TDH.SYS.RD values that replace the model's, by field ID. */
  fields: ReadonlyMap<bigint, bigint>;
  /** Convertible memory ranges (the sysinfo table's CMR_INFO, MCHECK-verified). */
  cmrs: readonly Cmr[];
  /** IA32_MKTME_KEYID_PARTITIONING: MKTME and TDX KeyIDs; private HKIDs are mktme+1 … mktme+tdx (tdh_sys_init.c). */
  keyIds: { mktme: number; tdx: number };
  /** TDMRs configured before the first call (state config-done or later). */
  tdmrs: readonly TdmrSpec[];
  /** The global private KeyID of a module past TDH.SYS.CONFIG (default: the first TDX KeyID). */
  globalKeyId?: number;
  busy: readonly BusyRule[];
  /**
   * Pending-interrupt checks that find an interrupt, in order (is_interrupt_pending_host_side in
   * TDH.PHYMEM.CACHE.WB → TDX_INTERRUPTED_RESUMABLE, TDH.MEM.PAGE.DEMOTE → TDX_INTERRUPTED_RESTARTABLE).
   */
  interrupts: number;
  /** IA32_WBINVDP: cache sub-blocks TDH.PHYMEM.CACHE.WB writes back, one interrupt check between each. */
  cacheSubBlocks: number;
  tds: readonly TdSpec[];
}

/** tdx_global_data.h tdmr_entry_t: base, size, PAMT bases, last_initialized. */
export interface TdmrState {
  base: bigint;
  size: bigint;
  pamt: { base4k: bigint; base2m: bigint; base1g: bigint };
  /** Reserved areas (offset, size): their pages are PT_RSVD once initialised (pamt_manager.c pamt_init). */
  rsvd: { offset: bigint; size: bigint }[];
  lastInitialized: bigint;
}

/** pamt_manager.h page types (PT_NDA 0, PT_RSVD 1, PT_REG 3, PT_TDR 4, PT_TDCX 5, PT_TDVPR 6, PT_EPT 8). */
export const PAGE_TYPE = { NDA: 0, RSVD: 1, REG: 3, TDR: 4, TDCX: 5, TDVPR: 6, EPT: 8 } as const;
export type PageType = (typeof PAGE_TYPE)[keyof typeof PAGE_TYPE];

export interface PamtEntry {
  pt: PageType;
  owner: bigint;
  size: 0 | 1 | 2;
  /** pamt_entry_t.bepoch: TDCS.TD_EPOCH when TDH.MEM.RANGE.BLOCK blocked the page (absent = 0). */
  bepoch?: bigint;
}

export interface VcpuState {
  tdvpr: bigint;
  exits: VpExit[];
  nextExit: number;
  /** tdx_tdvps.h last_td_exit: none yet, LAST_EXIT_ASYNC_FAULT, LAST_EXIT_ASYNC_TRAP, LAST_EXIT_TDVMCALL. */
  lastExit: 'none' | 'async-fault' | 'async-trap' | 'tdvmcall';
}

export interface TdState {
  tdr: bigint;
  hkid: number;
  lifecycle: TdLifecycle;
  pkgConfigured: Set<number>;
  tdcx: bigint[];
  op: TdOpState;
  fatal: boolean;
  noRbpMod: boolean;
  maxVcpus: number;
  vcpus: Map<bigint, VcpuState>;
  /**
   * Private GPA → HPA mappings made by TDH.MEM.PAGE.ADD/AUG/DEMOTE (the Secure EPT leaves) and their
   * SEPT state (sept_state_lookup.h: MAPPED, PENDING, BLOCKED, PENDING_BLOCKED — what TDH.MEM.RANGE.BLOCK
   * makes of the first two).
   */
  gpas: Map<bigint, SeptLeaf>;
  /** TDCS.epoch_tracking.td_epoch: 1 from TDH.MNG.INIT (tdh_mng_init.c), +1 per TDH.MEM.TRACK. */
  epoch: bigint;
}

export type SeptLeafState = 'mapped' | 'pending' | 'blocked' | 'pending-blocked';
export interface SeptLeaf { hpa: bigint; level: number; state: SeptLeafState }

export type KotState = 'free' | 'reserved' | 'assigned';

export interface ModuleState {
  sys: SysState;
  lpInit: Set<number>;
  pkgConfigured: Set<number>;
  globalKeyId: number | undefined;
  tdmrs: TdmrState[];
  kot: Map<number, KotState>;
  pages: Map<bigint, PamtEntry>;
  tds: Map<bigint, TdState>;
  /** tdx_global_data.h wbt_entries[pkg].intr_point: where an interrupted TDH.PHYMEM.CACHE.WB resumes. */
  cacheWbResume: Map<number, number>;
  entropyFailures: number;
  interruptsLeft: number;
  busy: { lock: LockName; left: number; hostPriority: boolean }[];
}

export const GIB = 1n << 30n;

export const DEFAULT_MODULE_CONFIG: Readonly<TdxModuleConfig> = Object.freeze({
  loaded: true, version: '1.5', state: 'ready', lps: 4, packages: 1, entropy: true, fields: new Map(),
  cmrs: [{ base: 0n, size: 4n * GIB }], keyIds: { mktme: 31, tdx: 32 }, tdmrs: [], busy: [], interrupts: 0,
  cacheSubBlocks: 4, tds: [],
});

const STATE_ORDER: Record<SysState, number> = { uninitialized: 0, 'sys-init-done': 1, 'config-done': 2, ready: 3, shutdown: 4 };
const OP_ORDER: Record<TdOpState, number> = { uninitialized: 0, initialized: 1, runnable: 2 };

/** The first private (TDX) KeyID: MKTME KeyIDs + 1 (tdh_sys_init.c check_key_management_config). */
export function privateHkidRange(c: TdxModuleConfig): { min: number; max: number } {
  return { min: c.keyIds.mktme + 1, max: c.keyIds.mktme + c.keyIds.tdx };
}

/** Where a PAMT would sit for a pre-configured TDMR: just past the TDMR (bookkeeping only; never read). */
function pamtFor(base: bigint, size: bigint): TdmrState['pamt'] {
  return { base1g: base + size, base2m: base + size + 0x1000n, base4k: base + size + 0x2000n };
}

/** The state a module configured as `c` starts in: everything the earlier steps of the state machine would have left. */
export function initialState(c: TdxModuleConfig): ModuleState {
  const sys = c.state;
  const past = (s: SysState) => STATE_ORDER[sys] >= STATE_ORDER[s];
  const st: ModuleState = {
    sys, lpInit: new Set(), pkgConfigured: new Set(), globalKeyId: undefined, tdmrs: [], kot: new Map(), pages: new Map(),
    tds: new Map(), cacheWbResume: new Map(),
    entropyFailures: c.entropy === true ? 0 : c.entropy === false ? Number.POSITIVE_INFINITY : c.entropy,
    interruptsLeft: c.interrupts,
    busy: c.busy.map((b) => ({ lock: b.lock, left: b.times ?? 1, hostPriority: b.hostPriority ?? false })),
  };
  // TDH.SYS.CONFIG requires every LP initialised (tdh_sys_config.c num_of_init_lps check).
  if (past('config-done')) for (let i = 0; i < c.lps; i++) st.lpInit.add(i);
  if (past('ready')) for (let p = 0; p < c.packages; p++) st.pkgConfigured.add(p);
  if (past('config-done')) {
    st.globalKeyId = c.globalKeyId ?? privateHkidRange(c).min;
    st.kot.set(st.globalKeyId, 'reserved');
    st.tdmrs = c.tdmrs.map((t) => ({
      base: t.base, size: t.size, pamt: pamtFor(t.base, t.size), rsvd: [],
      lastInitialized: (t.initialized ?? sys !== 'config-done') ? t.base + t.size : t.base,
    }));
  }
  for (const td of c.tds) addTd(st, c, td);
  return st;
}

function addTd(st: ModuleState, c: TdxModuleConfig, spec: TdSpec): void {
  const s = spec.state ?? 'runnable';
  const lifecycle: TdLifecycle = s === 'hkid-assigned' ? 'hkid-assigned' : 'keys-configured';
  const op: TdOpState = s === 'initialized' || s === 'runnable' ? s : 'uninitialized';
  const td: TdState = {
    tdr: spec.tdr, hkid: spec.hkid, lifecycle, pkgConfigured: new Set(), tdcx: [], op, fatal: false,
    noRbpMod: spec.noRbpMod ?? false, maxVcpus: Math.max(1, spec.vcpus?.length ?? 1), vcpus: new Map(), gpas: new Map(), epoch: 1n,
  };
  if (lifecycle === 'keys-configured') for (let p = 0; p < c.packages; p++) td.pkgConfigured.add(p);
  st.kot.set(spec.hkid, 'assigned');
  st.pages.set(spec.tdr, { pt: PAGE_TYPE.TDR, owner: 0n, size: 0 });
  // TDCS pages: MIN_NUM_TDCS_PAGES (6) once the TD is past TDH.MNG.ADDCX (td_control_structures.h).
  if (OP_ORDER[op] >= OP_ORDER.initialized) {
    for (let i = 0; i < 6; i++) {
      const pa = spec.tdr + BigInt(i + 1) * 0x1000n;
      td.tdcx.push(pa);
      st.pages.set(pa, { pt: PAGE_TYPE.TDCX, owner: spec.tdr, size: 0 });
    }
  }
  for (const v of spec.vcpus ?? []) {
    td.vcpus.set(v.tdvpr, { tdvpr: v.tdvpr, exits: v.exits ?? [], nextExit: 0, lastExit: 'none' });
    st.pages.set(v.tdvpr, { pt: PAGE_TYPE.TDVPR, owner: spec.tdr, size: 0 });
  }
  st.tds.set(spec.tdr, td);
}

/** Consumes one RNG draw: false when the configured entropy says it fails. */
export function drawEntropy(st: ModuleState): boolean {
  if (st.entropyFailures > 0) {
    st.entropyFailures--;
    return false;
  }
  return true;
}

/** Tries to take `lock`: undefined when it is free, else whether the holder has host priority. */
export function contend(st: ModuleState, lock: LockName): { hostPriority: boolean } | undefined {
  const rule = st.busy.find((b) => b.lock === lock && b.left > 0);
  if (!rule) return undefined;
  rule.left--;
  return { hostPriority: rule.hostPriority };
}

/** Consumes one pending-interrupt check. */
export function interruptPending(st: ModuleState): boolean {
  if (st.interruptsLeft > 0) {
    st.interruptsLeft--;
    return true;
  }
  return false;
}
