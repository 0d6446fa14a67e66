/**
 * A model of the TDX module's host interface (SEAMCALL with RAX[63] = 0):
 * the VMM dispatcher's checks and the platform initialisation state machine
 * the kernel drives (TDH.SYS.INIT → TDH.SYS.LP.INIT per LP → TDH.SYS.CONFIG →
 * TDH.SYS.KEY.CONFIG per package → READY → TDH.SYS.TDMR.INIT per TDMR),
 * with TDH.SYS.INFO / TDH.SYS.RD answering realistic values.
 *
 * Dispatcher rules follow intel/tdx-module src/vmm_dispatcher/tdx_vmm_dispatcher.c;
 * statuses are tdx_error_codes_defs.h values. Leaves the kernel never calls
 * during initialisation (the KVM TD-management leaves) are recognised but not
 * modelled: they answer TDX_OPERAND_INVALID with a note saying so.
 */
import { OPERAND_ID, SEAMCALL_LEAF, STATUS, SYS_FIELD } from './codes.js';
import type { GuestMemory, Outcome, SeamCall, SeamHandler } from './types.js';

/**
 * Platform states: TDH.SYS.INIT → sys-init-done; TDH.SYS.CONFIG → config-done;
 * TDH.SYS.KEY.CONFIG on every package → ready (TDMRs are then initialised with
 * TDH.SYS.TDMR.INIT, which the dispatcher only accepts once READY).
 */
export type SysState = 'uninitialized' | 'sys-init-done' | 'config-done' | 'ready' | 'shutdown';
export const SYS_STATES: readonly SysState[] = ['uninitialized', 'sys-init-done', 'config-done', 'ready', 'shutdown'];

export interface TdxModuleConfig {
  /** false: the module is not loaded, every call is VMfailInvalid. */
  loaded: boolean;
  state: SysState;
  /** Logical processors and packages of the platform. */
  lps: number;
  packages: number;
  /** false: the RNG has no entropy, leaves that generate keys answer TDX_RND_NO_ENTROPY. */
  entropy: boolean;
  /** Values TDH.SYS.RD returns, by field ID. */
  fields: ReadonlyMap<bigint, bigint>;
}

const L = SEAMCALL_LEAF;

/** TDH.SYS.RD values of a typical module (kernel: MAX_TDMRS 64, 16 reserved areas, 16-byte PAMT entries). */
export const DEFAULT_SYS_FIELDS: ReadonlyMap<bigint, bigint> = new Map([
  [SYS_FIELD.MAX_TDMRS, 64n],
  [SYS_FIELD.MAX_RESERVED_PER_TDMR, 16n],
  [SYS_FIELD.PAMT_4K_ENTRY_SIZE, 16n],
  [SYS_FIELD.PAMT_2M_ENTRY_SIZE, 16n],
  [SYS_FIELD.PAMT_1G_ENTRY_SIZE, 16n],
]);

export const DEFAULT_MODULE_CONFIG: Readonly<TdxModuleConfig> = Object.freeze({
  loaded: true, state: 'ready', lps: 4, packages: 1, entropy: true, fields: DEFAULT_SYS_FIELDS,
});

/** Leaves whose version field (RAX[23:16]) may be above 0 (tdx_vmm_dispatcher.c). SHARED_SEPT_WR has no kernel number here. */
const VERSIONED = new Set<number>([L['TDH.MEM.PAGE.PROMOTE'], L['TDH.MEM.SEPT.ADD'], L['TDH.MEM.SEPT.REMOVE'], L['TDH.MNG.RD'], L['TDH.VP.RD'], L['TDH.VP.INIT'], L['TDH.SYS.INIT']]);

/** Leaves allowed before the module is READY. */
const ALLOWED_NOT_READY = new Set<number>([L['TDH.SYS.INFO'], L['TDH.SYS.RD'], L['TDH.SYS.RDALL'], L['TDH.SYS.INIT'], L['TDH.SYS.LP.INIT'], L['TDH.SYS.CONFIG'], L['TDH.SYS.KEY.CONFIG'], L['TDH.SYS.LP.SHUTDOWN'], L['TDH.SYS.UPDATE']]);

const KNOWN_LEAVES = new Set<number>(Object.values(SEAMCALL_LEAF));

/** TDSYSINFO_STRUCT (1024 bytes, 1024-aligned) and CMR_INFO entries as the host series v3 reads them. */
export const TDSYSINFO_SIZE = 1024;
export const CMR_INFO_ENTRIES = 32;
const TDMR_INFO_ALIGN = 512n;

function invalid(operand: keyof typeof OPERAND_ID, note: string): Outcome {
  return { kind: 'return', rax: STATUS.TDX_OPERAND_INVALID | OPERAND_ID[operand], note };
}

function status(name: keyof typeof STATUS, note?: string): Outcome {
  return note ? { kind: 'return', rax: STATUS[name], note } : { kind: 'return', rax: STATUS[name] };
}

function aligned(mem: GuestMemory, pa: bigint, size: number, align: bigint): boolean {
  return pa % align === 0n && mem.contains(pa, size);
}

interface Tdmr { base: bigint; size: bigint; next: bigint }

export class TdxModuleModel implements SeamHandler {
  readonly name = 'tdx-module';
  readonly config: TdxModuleConfig;
  state: SysState;
  readonly lpInit = new Set<number>();
  readonly packagesConfigured = new Set<number>();
  tdmrs: Tdmr[] = [];

  constructor(config: Partial<TdxModuleConfig> = {}) {
    this.config = { ...DEFAULT_MODULE_CONFIG, ...config };
    this.state = this.config.state;
    // A module past TDH.SYS.CONFIG has every LP initialised (TDH.SYS.CONFIG requires it).
    if (this.state !== 'uninitialized' && this.state !== 'sys-init-done') for (let i = 0; i < this.config.lps; i++) this.lpInit.add(i);
    if (this.state === 'ready') for (let p = 0; p < this.config.packages; p++) this.packagesConfigured.add(p);
  }

  handle(call: SeamCall): Outcome {
    if (!this.config.loaded) return { kind: 'vmfailinvalid', note: 'TDX module not loaded' };
    const rax = call.regs.rax;
    if (rax >> 24n !== 0n) return invalid('rax', 'RAX[63:24] not zero');
    const leaf = Number(rax & 0xffffn);
    const version = Number((rax >> 16n) & 0xffn);
    if (!KNOWN_LEAVES.has(leaf)) return invalid('rax', `unknown leaf ${leaf}`);
    if (version > 0 && !VERSIONED.has(leaf)) return invalid('rax', `leaf ${leaf} has no version ${version}`);
    if (this.state === 'shutdown' && leaf !== L['TDH.SYS.LP.SHUTDOWN']) return status('TDX_SYS_SHUTDOWN', 'module is shut down');
    if (this.state !== 'ready' && !ALLOWED_NOT_READY.has(leaf)) return status('TDX_SYS_NOT_READY', `module state ${this.state}`);
    switch (leaf) {
      case L['TDH.SYS.INIT']: return this.sysInit();
      case L['TDH.SYS.LP.INIT']: return this.lpInitLeaf(call);
      case L['TDH.SYS.INFO']: return this.sysInfo(call);
      case L['TDH.SYS.RD']: return this.sysRd(call);
      case L['TDH.SYS.CONFIG']: return this.sysConfig(call);
      case L['TDH.SYS.KEY.CONFIG']: return this.keyConfig(call);
      case L['TDH.SYS.TDMR.INIT']: return this.tdmrInit(call);
      case L['TDH.SYS.LP.SHUTDOWN']:
        this.state = 'shutdown';
        return status('TDX_SUCCESS', 'module shut down');
      default:
        return invalid('rax', `leaf ${leaf} is not modelled by seamlab's TDX module`);
    }
  }

  private requireLpInit(call: SeamCall): Outcome | undefined {
    return this.lpInit.has(call.env.lp) ? undefined : status('TDX_SYS_LP_INIT_NOT_DONE', `LP ${call.env.lp} not initialised`);
  }

  private sysInit(): Outcome {
    if (this.state !== 'uninitialized') return status('TDX_SYS_INIT_NOT_PENDING', 'TDH.SYS.INIT already done');
    this.state = 'sys-init-done';
    return status('TDX_SUCCESS', 'TDH.SYS.INIT done');
  }

  private lpInitLeaf(call: SeamCall): Outcome {
    if (this.state === 'uninitialized') return status('TDX_SYS_STATE_INCORRECT', 'TDH.SYS.INIT not done');
    if (this.lpInit.has(call.env.lp)) return status('TDX_SYS_LP_INIT_DONE', `LP ${call.env.lp} already initialised`);
    this.lpInit.add(call.env.lp);
    return status('TDX_SUCCESS', `LP ${call.env.lp} initialised`);
  }

  /** TDH.SYS.INFO: RCX = TDSYSINFO_STRUCT PA, RDX = its size, R8 = CMR_INFO array PA, R9 = its entries. */
  private sysInfo(call: SeamCall): Outcome {
    const lp = this.requireLpInit(call);
    if (lp) return lp;
    const { rcx, rdx, r8, r9 } = call.regs;
    if (!aligned(call.mem, rcx, TDSYSINFO_SIZE, 1024n)) return invalid('rcx', 'TDSYSINFO_STRUCT not 1024-aligned physical memory');
    if (rdx < BigInt(TDSYSINFO_SIZE)) return invalid('rdx', `TDSYSINFO_STRUCT size ${rdx} < ${TDSYSINFO_SIZE}`);
    if (!aligned(call.mem, r8, 16 * CMR_INFO_ENTRIES, 512n)) return invalid('r8', 'CMR_INFO array not 512-aligned physical memory');
    if (r9 < BigInt(CMR_INFO_ENTRIES)) return invalid('r9', `CMR_INFO entries ${r9} < ${CMR_INFO_ENTRIES}`);
    const info = new Uint8Array(TDSYSINFO_SIZE);
    const dv = new DataView(info.buffer);
    dv.setUint32(0, 0, true); // attributes
    dv.setUint32(4, 0x8086, true); // vendor_id
    dv.setUint32(8, 20220401, true); // build_date
    dv.setUint16(12, 0x100, true); // build_num
    dv.setUint16(14, 0, true); // minor_version
    dv.setUint16(16, 1, true); // major_version
    dv.setUint16(32, Number(this.config.fields.get(SYS_FIELD.MAX_TDMRS) ?? 64n), true); // max_tdmrs
    dv.setUint16(34, Number(this.config.fields.get(SYS_FIELD.MAX_RESERVED_PER_TDMR) ?? 16n), true); // max_reserved_per_tdmr
    dv.setUint16(36, Number(this.config.fields.get(SYS_FIELD.PAMT_4K_ENTRY_SIZE) ?? 16n), true); // pamt_entry_size
    call.mem.write(rcx, info);
    // One convertible memory range: the whole physical-memory area.
    const cmr = new Uint8Array(16);
    const cv = new DataView(cmr.buffer);
    cv.setBigUint64(0, call.mem.base, true);
    cv.setBigUint64(8, BigInt(call.mem.size), true);
    call.mem.write(r8, cmr);
    return { kind: 'return', rax: STATUS.TDX_SUCCESS, regs: { rdx: BigInt(TDSYSINFO_SIZE), r9: 1n }, note: 'TDSYSINFO_STRUCT and 1 CMR written' };
  }

  /** TDH.SYS.RD: RDX = field ID; R8 = value. On failure the model clears R8. */
  private sysRd(call: SeamCall): Outcome {
    const lp = this.requireLpInit(call);
    if (lp) return lp;
    const id = call.regs.rdx;
    const value = this.config.fields.get(id);
    if (value === undefined) {
      return { kind: 'return', rax: STATUS.TDX_METADATA_FIELD_ID_INCORRECT, regs: { r8: 0n }, note: `no field 0x${id.toString(16)}` };
    }
    const name = Object.entries(SYS_FIELD).find(([, v]) => v === id)?.[0] ?? `0x${id.toString(16)}`;
    return { kind: 'return', rax: STATUS.TDX_SUCCESS, regs: { r8: value }, note: `${name} = ${value}` };
  }

  /** TDH.SYS.CONFIG: RCX = PA of the TDMR_INFO PA array, RDX = entries, R8 = global KeyID. */
  private sysConfig(call: SeamCall): Outcome {
    if (this.state !== 'sys-init-done') {
      return this.state === 'uninitialized' ? status('TDX_SYS_STATE_INCORRECT', 'TDH.SYS.INIT not done') : status('TDX_SYS_CONFIG_NOT_PENDING');
    }
    for (let i = 0; i < this.config.lps; i++) if (!this.lpInit.has(i)) return status('TDX_SYS_LP_INIT_NOT_DONE', `LP ${i} not initialised`);
    const { rcx, rdx, r8 } = call.regs;
    const max = this.config.fields.get(SYS_FIELD.MAX_TDMRS) ?? 64n;
    if (rdx === 0n || rdx > max) return invalid('rdx', `${rdx} TDMRs (1..${max})`);
    if (!aligned(call.mem, rcx, Number(rdx) * 8, TDMR_INFO_ALIGN)) return invalid('rcx', 'TDMR PA array not 512-aligned physical memory');
    if (r8 === 0n || r8 > 0xffffn) return invalid('r8', `global KeyID ${r8}`);
    const tdmrs: Tdmr[] = [];
    for (let i = 0; i < Number(rdx); i++) {
      const pa = call.mem.readU64(rcx + BigInt(i * 8));
      if (!aligned(call.mem, pa, 16, TDMR_INFO_ALIGN)) return status('TDX_INVALID_TDMR', `TDMR_INFO ${i} at 0x${pa.toString(16)}`);
      const base = call.mem.readU64(pa);
      const size = call.mem.readU64(pa + 8n);
      if (size === 0n || base % (1n << 30n) !== 0n || size % (1n << 30n) !== 0n) return status('TDX_INVALID_TDMR', `TDMR ${i} base 0x${base.toString(16)} size 0x${size.toString(16)} not 1G-aligned`);
      if (i > 0 && base < tdmrs[i - 1]!.base + tdmrs[i - 1]!.size) return status('TDX_NON_ORDERED_TDMR', `TDMR ${i}`);
      tdmrs.push({ base, size, next: base });
    }
    this.tdmrs = tdmrs;
    this.state = 'config-done';
    return status('TDX_SUCCESS', `${tdmrs.length} TDMRs, global KeyID ${r8}`);
  }

  private keyConfig(call: SeamCall): Outcome {
    if (this.state !== 'config-done') {
      return this.state === 'uninitialized' || this.state === 'sys-init-done'
        ? status('TDX_SYS_STATE_INCORRECT', 'TDH.SYS.CONFIG not done') : status('TDX_SYS_KEY_CONFIG_NOT_PENDING');
    }
    const pkg = call.env.lp % this.config.packages;
    if (this.packagesConfigured.has(pkg)) return status('TDX_KEY_CONFIGURED', `package ${pkg} already configured`);
    if (!this.config.entropy) return status('TDX_RND_NO_ENTROPY', 'no entropy for the ephemeral key');
    this.packagesConfigured.add(pkg);
    if (this.packagesConfigured.size === this.config.packages) this.state = 'ready';
    return status('TDX_SUCCESS', `package ${pkg} key configured`);
  }

  /** TDH.SYS.TDMR.INIT (READY only): RCX = TDMR base; RDX = the next address to initialise (1 GiB per call). */
  private tdmrInit(call: SeamCall): Outcome {
    const t = this.tdmrs.find((x) => x.base === call.regs.rcx);
    if (!t) return status('TDX_INVALID_TDMR', `no TDMR at 0x${call.regs.rcx.toString(16)}`);
    if (t.next >= t.base + t.size) return status('TDX_TDMR_ALREADY_INITIALIZED');
    t.next += 1n << 30n;
    return { kind: 'return', rax: STATUS.TDX_SUCCESS, regs: { rdx: t.next }, note: `TDMR 0x${t.base.toString(16)} initialised to 0x${t.next.toString(16)}` };
  }
}
