/**
 * What every modelled TDX-module leaf needs: the context a leaf handler is
 * given, outcome helpers, and the address and page checks the module's
 * helpers perform before touching memory (intel/tdx-module tdx_1.5
 * src/common/helpers/helpers.c: hpa_check_with_pwr_2_alignment,
 * shared_hpa_check, non_shared_hpa_metadata_check_and_lock,
 * check_and_lock_explicit_private_hpa; memory_handlers/pamt_manager.c:
 * pamt_get_block; helpers/tdx_locks.h for busy locks).
 */
import { OPERAND_ID, STATUS, type StatusName } from './codes.js';
import { contend, GIB, PAGE_TYPE, privateHkidRange, type LockName, type ModuleState, type PageType, type PamtEntry, type TdmrState, type TdxModuleConfig } from './module-state.js';
import type { Outcome, OutputReg, SeamCall } from './types.js';
import { OPERAND_IDS, type OperandIdName } from './status-table.js';

export interface LeafContext {
  readonly call: SeamCall;
  readonly config: TdxModuleConfig;
  readonly state: ModuleState;
  /** RAX[23:16]. */
  readonly version: number;
}

export type RegName = keyof typeof OPERAND_ID;

export function ret(rax: bigint, regs?: Partial<Record<OutputReg, bigint>>, note?: string): Outcome {
  return { kind: 'return', rax, ...(regs && Object.keys(regs).length ? { regs } : {}), ...(note ? { note } : {}) };
}

export function status(name: StatusName, note?: string, regs?: Partial<Record<OutputReg, bigint>>): Outcome {
  return ret(STATUS[name], regs, note);
}

/** api_error_with_operand_id(status, OPERAND_ID_x): bits 31:0 name the operand. */
export function withOperand(name: StatusName, operand: RegName | OperandIdName, note?: string, regs?: Partial<Record<OutputReg, bigint>>): Outcome {
  const id = operand in OPERAND_ID ? OPERAND_ID[operand as RegName] : OPERAND_IDS[operand as OperandIdName];
  return ret(STATUS[name] | id, regs, note);
}

export function invalid(operand: RegName | OperandIdName, note: string, regs?: Partial<Record<OutputReg, bigint>>): Outcome {
  return withOperand('TDX_OPERAND_INVALID', operand, note, regs);
}

export const hex = (v: bigint) => `0x${v.toString(16)}`;

/** MAX_PA of the modelled platform (is_pa_smaller_than_max_pa). */
export const MAX_PA = 52n;

/** KeyID bits at the top of a physical address: enough for every MKTME and TDX KeyID (tdh_sys_init.c hkid_start_bit). */
export function hkidOfPa(c: TdxModuleConfig, pa: bigint): number {
  const ids = c.keyIds.mktme + c.keyIds.tdx;
  const bits = BigInt(Math.max(1, Math.ceil(Math.log2(ids + 1))));
  return Number((pa >> (MAX_PA - bits)) & ((1n << bits) - 1n));
}

export function isPrivateHkid(c: TdxModuleConfig, hkid: bigint): boolean {
  const r = privateHkidRange(c);
  return hkid >= BigInt(r.min) && hkid <= BigInt(r.max);
}

/** hpa_check_with_pwr_2_alignment: aligned, no HKID bits, below MAX_PA. */
export function hpaOk(c: TdxModuleConfig, pa: bigint, align: bigint): boolean {
  return pa % align === 0n && pa < 1n << MAX_PA && hkidOfPa(c, pa) === 0;
}

/** shared_hpa_check_with_pwr_2_alignment: aligned, below MAX_PA, a shared (MKTME, not TDX) KeyID. */
export function sharedHpaOk(c: TdxModuleConfig, pa: bigint, align: bigint): boolean {
  return pa % align === 0n && pa < 1n << MAX_PA && hkidOfPa(c, pa) < privateHkidRange(c).min;
}

/** pamt_get_block: the TDMR covering `pa`, if its 1 GiB block is initialised (below last_initialized rounded down to 1 GiB). */
export function coveringTdmr(st: ModuleState, pa: bigint): TdmrState | undefined {
  const t = st.tdmrs.filter((x) => x.base <= pa).at(-1);
  if (!t || pa >= t.base + t.size) return undefined;
  return pa < (t.lastInitialized & ~(GIB - 1n)) ? t : undefined;
}

/** The PAMT entry of a 4 KiB page in a TDMR: recorded, else PT_RSVD inside a reserved area, else PT_NDA (pamt_init). */
export function pamtEntry(st: ModuleState, pa: bigint): PamtEntry {
  const known = st.pages.get(pa);
  if (known) return known;
  const t = st.tdmrs.find((x) => pa >= x.base && pa < x.base + x.size);
  const rsvd = t?.rsvd.some((r) => pa >= t.base + r.offset && pa < t.base + r.offset + r.size);
  return { pt: rsvd ? PAGE_TYPE.RSVD : PAGE_TYPE.NDA, owner: 0n, size: 0 };
}

/**
 * check_and_lock_explicit_private_hpa for a 4 KiB page expected to be of
 * type `pt`: undefined when it passes, else the module's answer with the
 * operand id (OPERAND_INVALID, OPERAND_ADDR_RANGE_ERROR, OPERAND_BUSY[_HOST_PRIORITY],
 * PAGE_METADATA_INCORRECT).
 */
export function checkPrivatePage(ctx: LeafContext, pa: bigint, operand: RegName | OperandIdName, pt: PageType, what: string): Outcome | undefined {
  if (!hpaOk(ctx.config, pa, 0x1000n)) return invalid(operand, `${what} 0x${pa.toString(16)} is not a 4 KiB-aligned HPA without KeyID bits`);
  if (!coveringTdmr(ctx.state, pa)) return withOperand('TDX_OPERAND_ADDR_RANGE_ERROR', operand, `${what} 0x${pa.toString(16)} is not in an initialised TDMR`);
  const busy = contend(ctx.state, 'page');
  if (busy) return withOperand(busy.hostPriority ? 'TDX_OPERAND_BUSY_HOST_PRIORITY' : 'TDX_OPERAND_BUSY', operand, `${what}'s PAMT entry is locked by another LP`);
  const e = pamtEntry(ctx.state, pa);
  if (e.pt !== pt) return withOperand('TDX_PAGE_METADATA_INCORRECT', operand, `${what} 0x${pa.toString(16)} has page type ${e.pt}, expected ${pt}`);
  return undefined;
}

/** A lock the leaf takes; the busy outcome when the configuration says another LP holds it. */
export function lockBusy(ctx: LeafContext, lock: LockName, answer: () => Outcome): Outcome | undefined {
  return contend(ctx.state, lock) ? answer() : undefined;
}

/** The package of an LP in the model's topology (tdx_local_data lp_info.pkg). */
export function packageOf(ctx: LeafContext): number {
  return ctx.call.env.lp % ctx.config.packages;
}
