/**
 * The persistent SEAM loader (SEAMCALL with RAX[63] = 1) and the SEAM-root
 * router the host side sees: RAX[63] selects the P-SEAMLDR, otherwise the
 * TDX module (SDM SEAMCALL "submode select").
 *
 * SEAMLDR.INFO writes a `struct p_seamldr_info` (256 bytes, 256-byte aligned)
 * at the physical address in RCX, as the host series RFC–v3 and the 2026
 * seamldr.c read it. Only one LP may be inside the P-SEAMLDR: a call while
 * another LP is there, or when no loader is present, is VMfailInvalid.
 */
import { OPERAND_ID, SEAMLDR_LEAF, STATUS } from './codes.js';
import { TdxModuleModel, type TdxModuleConfig } from './tdx-module.js';
import type { Outcome, SeamCall, SeamHandler } from './types.js';

export interface SeamldrConfig {
  loaded: boolean;
  /** Another LP is inside the P-SEAMLDR. */
  busy: boolean;
  version: { major: number; minor: number; build: number; buildDate: number };
}

export const DEFAULT_SEAMLDR_CONFIG: Readonly<SeamldrConfig> = Object.freeze({
  loaded: true, busy: false, version: { major: 1, minor: 0, build: 0x100, buildDate: 20220401 },
});

export const P_SEAMLDR_INFO_SIZE = 256;
export const P_SEAMLDR_INFO_ALIGN = 256n;

export class PSeamldrModel implements SeamHandler {
  readonly name = 'p-seamldr';
  readonly config: SeamldrConfig;

  constructor(config: Partial<SeamldrConfig> = {}, private readonly moduleLoaded: () => boolean = () => true) {
    this.config = { ...DEFAULT_SEAMLDR_CONFIG, ...config };
  }

  handle(call: SeamCall): Outcome {
    if (!this.config.loaded) return { kind: 'vmfailinvalid', note: 'P-SEAMLDR not loaded' };
    if (this.config.busy) return { kind: 'vmfailinvalid', note: 'P-SEAMLDR busy with another LP' };
    const rax = call.regs.rax;
    if (rax !== SEAMLDR_LEAF['SEAMLDR.INFO']) {
      const known = Object.entries(SEAMLDR_LEAF).find(([, v]) => v === rax)?.[0];
      // P-SEAMLDR error codes are not published with the kernel; the TDX module's code stands in.
      return { kind: 'return', rax: STATUS.TDX_OPERAND_INVALID | OPERAND_ID.rax, note: known ? `${known} is not modelled` : 'unknown P-SEAMLDR leaf' };
    }
    const pa = call.regs.rcx;
    if (pa % P_SEAMLDR_INFO_ALIGN !== 0n || !call.mem.contains(pa, P_SEAMLDR_INFO_SIZE)) {
      return { kind: 'return', rax: STATUS.TDX_OPERAND_INVALID | OPERAND_ID.rcx, note: 'p_seamldr_info not 256-aligned physical memory' };
    }
    const info = new Uint8Array(P_SEAMLDR_INFO_SIZE);
    const dv = new DataView(info.buffer);
    const v = this.config.version;
    dv.setUint32(0, 0, true); // version of the structure
    dv.setUint32(4, 0, true); // attributes
    dv.setUint32(8, 0x8086, true); // vendor_id
    dv.setUint32(12, v.buildDate, true); // build_date
    dv.setUint16(16, v.build, true); // build_num
    dv.setUint16(18, v.minor, true); // minor
    dv.setUint16(20, v.major, true); // major
    call.mem.write(pa, info);
    return { kind: 'return', rax: STATUS.TDX_SUCCESS, note: `p_seamldr_info written (module ${this.moduleLoaded() ? 'loaded' : 'not loaded'})` };
  }
}

/** The host's view of SEAM root: P-SEAMLDR for RAX[63] = 1, the TDX module otherwise. */
export class SeamRoot implements SeamHandler {
  readonly name = 'seam-root';
  readonly module: TdxModuleModel;
  readonly seamldr: PSeamldrModel;

  constructor(module: Partial<TdxModuleConfig> = {}, seamldr: Partial<SeamldrConfig> = {}) {
    this.module = new TdxModuleModel(module);
    this.seamldr = new PSeamldrModel(seamldr, () => this.module.config.loaded);
  }

  handle(call: SeamCall): Outcome {
    return call.regs.rax >> 63n === 1n ? this.seamldr.handle(call) : this.module.handle(call);
  }
}
