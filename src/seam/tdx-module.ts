/**
 * A model of the TDX module's host interface (SEAMCALL with RAX[63] = 0):
 * the VMM dispatcher's checks, then a leaf table — leaf number → handler,
 * like GNU as's pseudo-op table — whose handlers live in module-sys.ts
 * (platform initialisation), module-td.ts (TD and physical-memory
 * leaves) and module-sept.ts (Secure-EPT block / track / demote), all against one persistent `ModuleState` (module-state.ts).
 *
 * The dispatcher follows intel/tdx-module tdx_1.5
 * src/vmm_dispatcher/tdx_vmm_dispatcher.c tdx_vmm_dispatcher: RAX bits 63:24
 * reserved; a version above 0 only for the leaves that have versions; in
 * SYS_SHUTDOWN only TDH.SYS.LP.SHUTDOWN; before SYS_READY only the SYS
 * leaves; then the leaf switch, whose default is TDX_OPERAND_INVALID|RAX.
 *
 * Module versions (`version`): 1.5 is the source read. 2.0 differences are
 * from the 2.0 tree (intel/tdx-module 1666adc4 / a56a9173: dispatcher,
 * tdx_api_defs.h); 1.0 ones from a copy of the 1.0 source in the search
 * index (tdh_sys_lp_shutdown.c, tdg_vp_info.c). What is marked [B] is
 * believed, not read.
 */
import { SEAMCALL_LEAF, type SeamcallLeafName } from './codes.js';
import { invalid, status, type LeafContext } from './module-kit.js';
import { lpInit, lpShutdown, sysConfig, sysInfo, sysInit, sysKeyConfig, sysRd, tdmrInit } from './module-sys.js';
import { memPageDemote, memRangeBlock, memTrack } from './module-sept.js';
import { memPageAdd, memPageAug, mngAddCx, mngCreate, mngInit, mngKeyConfig, phymemCacheWb, phymemPageRdmd, vpEnter } from './module-td.js';
import { DEFAULT_MODULE_CONFIG, initialState, type ModuleState, type ModuleVersion, type SysState, type TdxModuleConfig } from './module-state.js';
import type { Outcome, SeamCall, SeamHandler } from './types.js';

export { DEFAULT_MODULE_CONFIG, SYS_STATES, MODULE_VERSIONS, type ModuleVersion, type SysState, type TdxModuleConfig } from './module-state.js';
export { TDSYSINFO_SIZE, MAX_CMR as CMR_INFO_ENTRIES } from './module-sys.js';

const L = SEAMCALL_LEAF;

export interface LeafEntry {
  readonly handler: (ctx: LeafContext) => Outcome;
  /** The intel/tdx-module file the handler follows. */
  readonly source: string;
}

/** The modelled leaves. Every other leaf the module knows answers TDX_OPERAND_INVALID|RAX with a note saying seamlab does not model it. */
export const MODULE_LEAVES: Readonly<Partial<Record<SeamcallLeafName, LeafEntry>>> = {
  'TDH.SYS.INIT': { handler: sysInit, source: 'tdh_sys_init.c' },
  'TDH.SYS.LP.INIT': { handler: lpInit, source: 'tdh_sys_lp_init.c' },
  'TDH.SYS.INFO': { handler: sysInfo, source: 'tdh_sys_info.c' },
  'TDH.SYS.RD': { handler: sysRd, source: 'tdh_sys_rd.c' },
  'TDH.SYS.CONFIG': { handler: sysConfig, source: 'tdh_sys_config.c' },
  'TDH.SYS.KEY.CONFIG': { handler: sysKeyConfig, source: 'tdh_sys_key_config.c' },
  'TDH.SYS.TDMR.INIT': { handler: tdmrInit, source: 'tdh_sys_tdmr_init.c' },
  'TDH.SYS.LP.SHUTDOWN': { handler: lpShutdown, source: 'tdh_sys_lp_shutdown.c' },
  'TDH.PHYMEM.PAGE.RDMD': { handler: phymemPageRdmd, source: 'tdh_phymem_page_rdmd.c' },
  'TDH.PHYMEM.CACHE.WB': { handler: phymemCacheWb, source: 'tdh_phymem_cache_wb.c' },
  'TDH.MNG.CREATE': { handler: mngCreate, source: 'tdh_mng_create.c' },
  'TDH.MNG.KEY.CONFIG': { handler: mngKeyConfig, source: 'tdh_mng_key_config.c' },
  'TDH.MNG.ADDCX': { handler: mngAddCx, source: 'tdh_mng_add_cx.c' },
  'TDH.MNG.INIT': { handler: mngInit, source: 'tdh_mng_init.c' },
  'TDH.MEM.PAGE.ADD': { handler: memPageAdd, source: 'tdh_mem_page_add.c' },
  'TDH.MEM.PAGE.AUG': { handler: memPageAug, source: 'tdh_mem_page_aug.c' },
  'TDH.MEM.RANGE.BLOCK': { handler: memRangeBlock, source: 'tdh_mem_range_block.c' },
  'TDH.MEM.TRACK': { handler: memTrack, source: 'tdh_mem_track.c' },
  'TDH.MEM.PAGE.DEMOTE': { handler: memPageDemote, source: 'tdh_mem_page_demote.c' },
  'TDH.VP.ENTER': { handler: vpEnter, source: 'tdh_vp_enter.c' },
};
const MODULE_LEAF_BY_NUMBER = new Map<number, LeafEntry>(Object.entries(MODULE_LEAVES).map(([n, e]) => [L[n as SeamcallLeafName], e]));

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** seamcall_leaf_opcode_e of the 1.5 tdx_api_defs.h. */
const LEAVES_1_5 = [...range(0, 45), 48, 49, 52, 53, 64, 65, 66, 68, ...range(70, 75), ...range(80, 87), 96];
/** 2.0 (a56a9173): TDH.PHYMEM.PAMT.ADD/REMOVE and the TDX-IO leaves. */
const LEAVES_2_0 = [...LEAVES_1_5, 58, 59, ...range(128, 140), ...range(150, 166)];
/** 1.0 [B]: the 1.5 leaves without TDH.SYS.RD/RDALL and the features 1.5 added (service TDs, TD preserving, migration). */
const LEAVES_1_0 = LEAVES_1_5.filter((n) => n !== 34 && n !== 37 && n < 48);

/** Leaves the dispatcher lets have a version above 0: 1.5 (tdx_vmm_dispatcher.c), 2.0 (1666adc4); 1.0 none [B]. */
const VERSIONED_1_5 = [L['TDH.MEM.PAGE.PROMOTE'], L['TDH.MEM.SEPT.ADD'], L['TDH.MEM.SEPT.REMOVE'], L['TDH.MNG.RD'], L['TDH.VP.RD']];
const VERSIONED_2_0 = [...VERSIONED_1_5, L['TDH.VP.INIT'], L['TDH.SYS.INIT'], L['TDH.MEM.SHARED.SEPT.WR']];

export const VERSION_LEAVES: Readonly<Record<ModuleVersion, { known: ReadonlySet<number>; versioned: ReadonlySet<number> }>> = {
  '1.0': { known: new Set(LEAVES_1_0), versioned: new Set() },
  '1.5': { known: new Set(LEAVES_1_5), versioned: new Set(VERSIONED_1_5) },
  '2.0': { known: new Set(LEAVES_2_0), versioned: new Set(VERSIONED_2_0) },
};

/** Leaves allowed before SYS_READY (tdx_vmm_dispatcher.c; the same list in 2.0). */
const ALLOWED_NOT_READY = new Set<number>([L['TDH.SYS.INFO'], L['TDH.SYS.RD'], L['TDH.SYS.RDALL'], L['TDH.SYS.INIT'], L['TDH.SYS.LP.INIT'], L['TDH.SYS.CONFIG'], L['TDH.SYS.KEY.CONFIG'], L['TDH.SYS.LP.SHUTDOWN'], L['TDH.SYS.UPDATE']]);

export class TdxModuleModel implements SeamHandler {
  readonly name = 'tdx-module';
  readonly config: TdxModuleConfig;
  /** The module's state; persists across calls (one object per session). */
  readonly state: ModuleState;
  /** A module is in SEAM range (SEAMLDR.INSTALL can load one later). */
  loaded: boolean;

  constructor(config: Partial<TdxModuleConfig> = {}) {
    this.config = { ...DEFAULT_MODULE_CONFIG, ...config };
    this.state = initialState(this.config);
    this.loaded = this.config.loaded;
  }

  /** The platform state (SYSINIT_PENDING … SYS_SHUTDOWN). */
  get sysState(): SysState {
    return this.state.sys;
  }

  handle(call: SeamCall): Outcome {
    if (!this.loaded) return { kind: 'vmfailinvalid', note: 'TDX module not loaded' };
    const rax = call.regs.rax;
    if (rax >> 24n !== 0n) return invalid('rax', 'RAX[63:24] not zero');
    const leaf = Number(rax & 0xffffn);
    const version = Number((rax >> 16n) & 0xffn);
    const v = VERSION_LEAVES[this.config.version];
    if (version > 0 && !v.versioned.has(leaf)) return invalid('rax', `leaf ${leaf} has no version ${version} in module ${this.config.version}`);
    if (this.state.sys === 'shutdown' && leaf !== L['TDH.SYS.LP.SHUTDOWN']) return status('TDX_SYS_SHUTDOWN', 'module is shut down');
    if (this.state.sys !== 'ready' && !ALLOWED_NOT_READY.has(leaf)) return status('TDX_SYS_NOT_READY', `module state ${this.state.sys}`);
    if (!v.known.has(leaf)) return invalid('rax', `no leaf ${leaf} in module ${this.config.version}`);
    const entry = MODULE_LEAF_BY_NUMBER.get(leaf);
    if (!entry) return invalid('rax', `leaf ${leaf} is not modelled by seamlab's TDX module`);
    return entry.handler({ call, config: this.config, state: this.state, version });
  }
}
