/**
 * The persistent SEAM loader (SEAMCALL with RAX[63] = 1) and the SEAM-root
 * router the host side sees: RAX[63] selects the P-SEAMLDR, otherwise the
 * TDX module (SDM SEAMCALL "submode select"). SEAMEXTEND's SEAM_READY and
 * P_SEAMLDR_READY gate each side: a SEAMCALL to a side that is not ready is
 * VMfailInvalid, as is a call while another LP is inside the P-SEAMLDR.
 *
 * Follows the P-SEAMLDR source (pseamldr_api_defs.h: leaves, error codes,
 * seamldr_info_t and seamextend_t; seamldr_info.c, seamldr_seaminfo.c,
 * seamldr_shutdown.c, seamldr_install.c's parameter checks), read in the
 * search index's copies (the repository is not named there). Its errors are
 * its own PSEAMLDR_* codes, not TDX module statuses.
 * Installing a module image (signature and hash verification, loading) is
 * not simulated: once SEAMLDR.INSTALL has run on every LP with valid
 * parameters, the module is taken as freshly loaded (state SYSINIT_PENDING).
 */
import { SEAMLDR_LEAF, type SeamldrLeafName } from './codes.js';
import { PSEAMLDR_STATUS, type PseamldrStatusName } from './status-table.js';
import { sharedHpaOk } from './module-kit.js';
import { TdxModuleModel, type TdxModuleConfig } from './tdx-module.js';
import { initialState } from './module-state.js';
import type { Outcome, OutputReg, SeamCall, SeamHandler } from './types.js';

export interface SeamldrConfig {
  loaded: boolean;
  /** Another LP is inside the P-SEAMLDR. */
  busy: boolean;
  version: { major: number; minor: number; build: number; buildDate: number };
  /** P_SYS_INFO_TABLE.ACM_X2APICID: the LP NP-SEAMLDR ran on; SEAMLDR.SHUTDOWN's last call must come from it. */
  acmLp: number;
  /** Module updates left (get_num_of_remaining_updates: platform-specific; this default is seamlab's). */
  remainingUpdates: number;
}

export const DEFAULT_SEAMLDR_CONFIG: Readonly<SeamldrConfig> = Object.freeze({
  loaded: true, busy: false, version: { major: 1, minor: 0, build: 0x100, buildDate: 20220401 }, acmLp: 0, remainingUpdates: 0,
});

export const P_SEAMLDR_INFO_SIZE = 256;
export const P_SEAMLDR_INFO_ALIGN = 256n;
/** seamldr_seaminfo: the low 2 KiB of P_SYS_INFO_TABLE (MCHECK's part), 2 KiB-aligned. */
export const SEAMINFO_SIZE = 2048;
/** pseamldr_api_defs.h SEAMLDR_PARAMS_SIZE, SEAMLDR_PARAMS_MAX_MODULE_PAGES (V0). */
const SEAMLDR_PARAMS_SIZE = 4096;
const MAX_MODULE_PAGES = 496n;

/** seamldr_info_t offsets (pseamldr_api_defs.h); seamextend_t starts at 32. */
export const SEAMLDR_INFO_OFFSETS = {
  version: 0, attributes: 4, vendorId: 8, buildDate: 12, buildNum: 16, minor: 18, major: 20, acmX2apic: 24,
  numRemainingUpdates: 28, seamextendValid: 32, teeTcbSvn: 40, mrseam: 56, mrsigner: 104, seamAttributes: 152,
  seamReady: 160, systemUnderDebug: 161, pSeamldrReady: 162, features0: 168,
} as const;

function code(name: PseamldrStatusName, note: string, regs?: Partial<Record<OutputReg, bigint>>): Outcome {
  return { kind: 'return', rax: PSEAMLDR_STATUS[name], ...(regs ? { regs } : {}), note };
}

export class PSeamldrModel implements SeamHandler {
  readonly name = 'p-seamldr';
  readonly config: SeamldrConfig;
  /** SEAMEXTEND.P_SEAMLDR_READY: cleared by the last SEAMLDR.SHUTDOWN. */
  pSeamldrReady = true;
  private readonly shutdownLps = new Set<number>();
  private readonly installLps = new Set<number>();

  constructor(config: Partial<SeamldrConfig> = {}, private readonly module?: TdxModuleModel, private readonly moduleGate?: { seamReady: boolean }) {
    this.config = { ...DEFAULT_SEAMLDR_CONFIG, ...config };
  }

  handle(call: SeamCall): Outcome {
    if (!this.config.loaded || !this.pSeamldrReady) return { kind: 'vmfailinvalid', note: 'no P-SEAMLDR (SEAMEXTEND.P_SEAMLDR_READY = 0)' };
    if (this.config.busy) return { kind: 'vmfailinvalid', note: 'P-SEAMLDR busy with another LP' };
    const leaf = Object.entries(SEAMLDR_LEAF).find(([, v]) => v === call.regs.rax)?.[0] as SeamldrLeafName | undefined;
    switch (leaf) {
      case 'SEAMLDR.INFO': return this.info(call);
      case 'SEAMLDR.SEAMINFO': return this.seaminfo(call);
      case 'SEAMLDR.SHUTDOWN': return this.shutdown(call);
      case 'SEAMLDR.INSTALL': return this.install(call);
      // seamldr_dispatcher: an unknown leaf (and CLEANUP, which is not modelled) → PSEAMLDR_EBADPARAM.
      default: return code('PSEAMLDR_EBADPARAM', leaf ? `${leaf} is not modelled` : 'unknown P-SEAMLDR leaf');
    }
  }

  private get seamReady(): boolean {
    return (this.moduleGate?.seamReady ?? true) && (this.module?.loaded ?? true);
  }

  /** seamldr_info.c: 256 bytes at RCX (256-aligned shared HPA), zeroed, then filled; SEAMEXTEND copied in. */
  private info(call: SeamCall): Outcome {
    const pa = call.regs.rcx;
    const platform = this.module?.config;
    if (!sharedHpaOk(platform ?? moduleDefaults(), pa, P_SEAMLDR_INFO_ALIGN)) return code('PSEAMLDR_EBADPARAM', 'seamldr_info is not a 256-byte-aligned shared HPA');
    if (!call.mem.contains(pa, P_SEAMLDR_INFO_SIZE)) return code('PSEAMLDR_EBADPARAM', `seamldr_info ${pa.toString(16)} is outside seamlab's physical-memory area`);
    const b = new Uint8Array(P_SEAMLDR_INFO_SIZE);
    const dv = new DataView(b.buffer);
    const o = SEAMLDR_INFO_OFFSETS;
    const v = this.config.version;
    dv.setUint32(o.vendorId, 0x8086, true);
    dv.setUint32(o.buildDate, v.buildDate, true);
    dv.setUint16(o.buildNum, v.build, true);
    dv.setUint16(o.minor, v.minor, true);
    dv.setUint16(o.major, v.major, true);
    dv.setUint32(o.acmX2apic, this.config.acmLp, true);
    dv.setUint32(o.numRemainingUpdates, this.config.remainingUpdates, true);
    // SEAMEXTEND: VALID and SEAM_READY while a module is loaded and not shut down; P_SEAMLDR_READY while the loader serves.
    // TEE_TCB_SVN, MRSEAM, MRSIGNER and the module's attributes are the loaded image's: not modelled (zero).
    const ready = this.seamReady;
    dv.setBigUint64(o.seamextendValid, ready ? 1n : 0n, true);
    b[o.seamReady] = ready ? 1 : 0;
    b[o.pSeamldrReady] = 1;
    dv.setBigUint64(o.features0, 1n << 1n, true); // features0.cleanup_supported (seamldr_info.c)
    call.mem.write(pa, b);
    return code('PSEAMLDR_SUCCESS', `seamldr_info written: P-SEAMLDR ${v.major}.${v.minor}, seam_ready ${b[o.seamReady]}, p_seamldr_ready 1`);
  }

  /** seamldr_seaminfo.c: the low 2 KiB of P_SYS_INFO_TABLE at RCX (2 KiB-aligned shared HPA). Its contents are MCHECK's: zero here. */
  private seaminfo(call: SeamCall): Outcome {
    const pa = call.regs.rcx;
    if (!sharedHpaOk(this.module?.config ?? moduleDefaults(), pa, BigInt(SEAMINFO_SIZE))) return code('PSEAMLDR_EBADPARAM', 'the SEAMINFO buffer is not a 2 KiB-aligned shared HPA');
    if (!call.mem.contains(pa, SEAMINFO_SIZE)) return code('PSEAMLDR_EBADPARAM', 'the SEAMINFO buffer is outside seamlab\'s physical-memory area');
    call.mem.write(pa, new Uint8Array(SEAMINFO_SIZE));
    return code('PSEAMLDR_SUCCESS', 'P_SYS_INFO_TABLE low 2 KiB copied (MCHECK data not modelled: zero)');
  }

  /**
   * seamldr_shutdown.c: every LP once; the first clears SEAM_READY (the
   * module then answers VMfailInvalid); the last must be the ACM's LP
   * (else PSEAMLDR_EBADCALL) and clears SEAMEXTEND, ending P-SEAMLDR service.
   */
  private shutdown(call: SeamCall): Outcome {
    const lps = this.module?.config.lps ?? 1;
    this.shutdownLps.add(call.env.lp);
    if (this.shutdownLps.size === 1 && this.moduleGate) this.moduleGate.seamReady = false;
    if (this.shutdownLps.size < lps) return code('PSEAMLDR_SUCCESS', `LP ${call.env.lp} in the shutdown session (${this.shutdownLps.size} of ${lps}); SEAM_READY cleared`);
    if (call.env.lp !== this.config.acmLp) return code('PSEAMLDR_EBADCALL', `the last LP must be the ACM's (${this.config.acmLp}), not ${call.env.lp}`);
    this.pSeamldrReady = false;
    return code('PSEAMLDR_SUCCESS', 'last LP: SEAMEXTEND cleared, the P-SEAMLDR stops serving');
  }

  /**
   * seamldr_install.c check_seamldr_params: RCX = 4 KiB-aligned shared
   * SEAMLDR_PARAMS with version 0, reserved bytes 0, scenario LOAD (0) or
   * UPDATE (1), 1..496 module pages; errors are PSEAMLDR_EBADPARAM with
   * RDX = 0 (recoverable). The first LP of the session clears SEAM_READY;
   * the last loads the module (not simulated: it starts SYSINIT_PENDING).
   */
  private install(call: SeamCall): Outcome {
    const pa = call.regs.rcx;
    const bad = (why: string) => code('PSEAMLDR_EBADPARAM', why, { rdx: 0n });
    if (!sharedHpaOk(this.module?.config ?? moduleDefaults(), pa, 0x1000n)) return bad('SEAMLDR_PARAMS is not a 4 KiB-aligned shared HPA');
    if (!call.mem.contains(pa, SEAMLDR_PARAMS_SIZE)) return bad('SEAMLDR_PARAMS is outside seamlab\'s physical-memory area');
    const m = call.mem;
    const head = m.read(pa, 16);
    const hv = new DataView(head.buffer);
    if (hv.getUint32(0, true) !== 0) return bad('SEAMLDR_PARAMS.version is not 0');
    if (m.read(pa + 16n, 104).some((x) => x !== 0)) return bad('SEAMLDR_PARAMS reserved bytes are not 0');
    const scenario = hv.getUint32(4, true);
    if (scenario !== 0 && scenario !== 1) return bad(`SEAMLDR_PARAMS.scenario ${scenario} is neither LOAD (0) nor UPDATE (1)`);
    const pages = m.readU64(pa + 120n);
    if (pages < 1n || pages > MAX_MODULE_PAGES) return bad(`SEAMLDR_PARAMS.num_module_pages ${pages} not in 1..${MAX_MODULE_PAGES}`);
    const lps = this.module?.config.lps ?? 1;
    this.installLps.add(call.env.lp);
    if (this.moduleGate) this.moduleGate.seamReady = false;
    if (this.installLps.size < lps) return code('PSEAMLDR_SUCCESS', `LP ${call.env.lp} in the install session (${this.installLps.size} of ${lps})`);
    this.installLps.clear();
    if (this.module) {
      Object.assign(this.module.state, initialState({ ...this.module.config, state: 'uninitialized', tds: [] }));
      this.module.loaded = true;
    }
    if (this.moduleGate) this.moduleGate.seamReady = true;
    return code('PSEAMLDR_SUCCESS', `module ${scenario === 0 ? 'loaded' : 'updated'} (${pages} pages; image not simulated): TDH.SYS.INIT pending`);
  }
}

function moduleDefaults(): TdxModuleConfig {
  return new TdxModuleModel().config;
}

/** The host's view of SEAM root: P-SEAMLDR for RAX[63] = 1, the TDX module otherwise. */
export class SeamRoot implements SeamHandler {
  readonly name = 'seam-root';
  readonly module: TdxModuleModel;
  readonly seamldr: PSeamldrModel;
  /** SEAMEXTEND.SEAM_READY: the module can be called (cleared by SEAMLDR.SHUTDOWN/INSTALL sessions). */
  readonly gate = { seamReady: true };

  constructor(module: Partial<TdxModuleConfig> = {}, seamldr: Partial<SeamldrConfig> = {}) {
    this.module = new TdxModuleModel(module);
    this.seamldr = new PSeamldrModel(seamldr, this.module, this.gate);
  }

  handle(call: SeamCall): Outcome {
    if (call.regs.rax >> 63n === 1n) return this.seamldr.handle(call);
    if (!this.gate.seamReady) return { kind: 'vmfailinvalid', note: 'SEAMEXTEND.SEAM_READY = 0 (a P-SEAMLDR shutdown or install session is running)' };
    return this.module.handle(call);
  }
}
