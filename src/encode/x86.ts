/**
 * The x86-64 instruction layer the GNU-as front end calls: parse one AT&T
 * statement into operands with expression text, and encode one resolved
 * instruction at its final address with GNU as 2.40's exact bytes.
 *
 * How an instruction is encoded:
 * - direct jmp/jcc/call/loop: by seamlab (src/encode/branches.ts), in the
 *   form the front end's relaxation asks for;
 * - operand-less instructions Keystone does not know (seamcall, tdcall,
 *   endbr64, …) and bare prefixes: from a table (src/encode/mnemonics.ts);
 * - everything else: seamlab chooses every size like GNU as
 *   (src/encode/forms.ts), Keystone encodes text with placeholder values
 *   forcing those sizes, seamlab writes the real values and orders the
 *   prefixes like GNU as (src/encode/prefixes.ts).
 *
 * Keystone's output depends only on the placeholder text, so it is
 * memoised by that text (a hit costs no worker round trip): per process,
 * and across processes in a store under $SEAMLAB_CACHE (keystone-cache.ts)
 * loaded on the first miss and written by flushEncodeMemo(), so a build of
 * known forms never starts the Keystone worker. `encodeMany` sends all
 * misses of a batch in one round trip (~40 µs per distinct form).
 */
import { SeamlabError, isSeamlabError } from '../errors.js';
import type { BranchForm, ResolvedInstruction } from './types.js';
import { sharedKeystone, type KeystoneEncoder, type KeystoneResult } from './keystone.js';
import { keystoneStore, type KeystoneAnswerStore } from './keystone-cache.js';
import { FIXED_OPCODES, PREFIX_BYTES, REG_OPCODES } from './mnemonics.js';
import { regInfo } from './registers.js';
import { branchBodyLength, defaultBranchForm, directBranch, directBranchKind, encodeBranchBody, isRelaxable, type BranchShape } from './branches.js';
import { mergePrefixes, orderPrefixes, writtenPrefixBytes } from './prefixes.js';
import { planForm, unsupported, type FormPlan, type ValueField } from './forms.js';
import { fixEncoding, rewriteInstruction } from './parity.js';
import { toLittleEndian } from '../support/memory.js';

export { parseInstruction } from './operands.js';

/** Texts per Keystone round trip (~40 µs each in a batch: ~20 ms, far below the worker's 3 s timeout). */
const KEYSTONE_CHUNK = 500;

export interface EncodeItem {
  insn: ResolvedInstruction;
  /** Address of the instruction's first byte. */
  address: bigint;
  /** For jmp/jcc: the relaxation's choice; default: short when the target is known and in range. */
  form?: BranchForm;
}

export type EncodeOutcome = { ok: true; bytes: Uint8Array } | { ok: false; error: SeamlabError };

type Plan =
  | { kind: 'done'; bytes: Uint8Array }
  | { kind: 'keystone'; form: FormPlan; insn: ResolvedInstruction }
  | { kind: 'error'; error: SeamlabError };

/** Keystone's answer for one placeholder text, memoised. */
type KsAnswer = { ok: true; bytes: Uint8Array } | { ok: false; message: string; kind: string };

const memo = new Map<string, KsAnswer>();
let keystoneOverride: KeystoneEncoder | undefined;
/** Whether the override stands for the real Keystone (its answers may be stored; tests only). */
let overridePersistent = false;
/** Persistent stores already merged into the memo (one per $SEAMLAB_CACHE seen). */
const loadedStores = new Set<KeystoneAnswerStore>();

/**
 * Tests may give a private encoder (e.g. with a short timeout); default: the
 * shared one. A private encoder neither reads nor writes the persistent
 * store, unless `persistent` says it stands for the real Keystone.
 */
export function useKeystone(encoder: KeystoneEncoder | undefined, opts: { persistent?: boolean } = {}): void {
  keystoneOverride = encoder;
  overridePersistent = encoder !== undefined && opts.persistent === true;
}

/** Figures for benchmarks and tests. */
export const encoderStats = { keystoneCalls: 0, keystoneTexts: 0, memoHits: 0, persistentLoads: 0 };

/**
 * Drops the in-process memo. By default the persistent store is not read
 * again either, so the next encodings ask Keystone (tests measure cold
 * encoding this way); `reloadPersistent` reads it again on the next miss,
 * as a new process would.
 */
export function clearEncodeMemo(opts: { reloadPersistent?: boolean } = {}): void {
  memo.clear();
  loadedStores.clear();
  if (!opts.reloadPersistent) {
    const store = keystoneStore();
    if (store) loadedStores.add(store);
  }
}

/** Merges the persistent store into the memo, once per store; never with a test's private encoder. */
function loadPersistent(): void {
  if (keystoneOverride && !overridePersistent) return;
  const store = keystoneStore();
  if (!store || loadedStores.has(store)) return;
  loadedStores.add(store);
  encoderStats.persistentLoads++;
  for (const [text, a] of store.read()) if (!memo.has(text)) memo.set(text, a);
}

/** Writes the Keystone answers learnt in this process to the persistent store (the image builder calls it after each build). */
export function flushEncodeMemo(): void {
  keystoneStore()?.flush();
}

/**
 * Called when a build starts: loads the persistent answers and, when none
 * are known (first run, or disk caches off), starts the Keystone worker in
 * the background so that its start overlaps preprocessing.
 */
export function prepareEncoder(): void {
  if (keystoneOverride) return;
  loadPersistent();
  if (memo.size === 0) sharedKeystone().prestart();
}

function normalize(insn: ResolvedInstruction): ResolvedInstruction {
  return { ...insn, mnemonic: insn.mnemonic.toLowerCase(), prefixes: insn.prefixes.map((p) => p.toLowerCase()) };
}

function planOne(item: EncodeItem, withValues: boolean): Plan {
  try {
    const insn = rewriteInstruction(normalize(item.insn));
    // Only instruction names reach Keystone (a directive there can hang or crash the wasm).
    if (!/^[a-z][a-z0-9]*$/.test(insn.mnemonic)) {
      throw new SeamlabError('ENCODE_UNKNOWN_MNEMONIC', `no such instruction: \`${insn.mnemonic}'`, 'check the spelling; directives are handled by the assembler front end, not the encoder');
    }
    const own = writtenPrefixBytes(insn.prefixes);
    const branch = directBranch(insn);
    if (branch) {
      const prefix = orderPrefixes(own);
      const form = item.form ?? defaultBranchForm(branch, item.address, prefix.length);
      // For lengths only, a provisional (out-of-range) target must not fail the layout pass.
      const body = withValues
        ? encodeBranchBody(insn.mnemonic, branch, item.address + BigInt(prefix.length), form)
        : new Uint8Array(branchBodyLength({ kind: branch.kind }, branch.kind.kind === 'call' ? 'near' : branch.kind.kind === 'rel8only' ? 'short' : form));
      return { kind: 'done', bytes: concat(prefix, body) };
    }
    if (insn.operands.some((o) => o.kind === 'target')) {
      throw unsupported(`\`${insn.mnemonic}' does not take a branch target`, 'only jmp/jcc/call/loop/jrcxz take a label operand; write `*` for an indirect branch');
    }
    const prefixOnly = PREFIX_BYTES[insn.mnemonic];
    if (prefixOnly !== undefined && insn.operands.length === 0) {
      return { kind: 'done', bytes: Uint8Array.from(orderPrefixes([...own, prefixOnly])) };
    }
    const fixed = FIXED_OPCODES[insn.mnemonic];
    if (fixed && insn.operands.length === 0) {
      return { kind: 'done', bytes: concat(orderPrefixes(own), Uint8Array.from(fixed)) };
    }
    const regForm = REG_OPCODES[insn.mnemonic];
    const op = insn.operands[0];
    if (regForm && insn.operands.length === 1 && op?.kind === 'reg') {
      const r = regInfo(op.reg);
      if (r?.cls !== 'gpr' || !regForm.bits.includes(r.bits)) throw unsupported(`operand type mismatch for \`${insn.mnemonic}'`);
      const rex = r.num >= 8 ? [0x41] : [];
      const modrm = 0xc0 | (regForm.digit << 3) | (r.num & 7);
      return { kind: 'done', bytes: Uint8Array.from([...orderPrefixes([...own, ...regForm.prefix]), ...rex, ...regForm.opcode, modrm]) };
    }
    return { kind: 'keystone', form: planForm(insn, own), insn };
  } catch (e) {
    if (isSeamlabError(e)) return { kind: 'error', error: e };
    throw e;
  }
}

function concat(a: readonly number[], b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * Asks Keystone for every text not yet memoised, in one round trip. A wasm
 * crash fails the item that caused it and leaves the rest of the batch "not
 * attempted": those are retried in a new worker. Timeouts and crashes are
 * answers about the worker, not the text, so they go to `transient` (this
 * call only) rather than to the memo.
 */
function fillMemo(texts: Iterable<string>, transient: Map<string, KsAnswer>): void {
  let missing = [...new Set(texts)].filter((t) => !memo.has(t));
  if (missing.length === 0) return;
  const ks = keystoneOverride ?? sharedKeystone();
  // Only the real Keystone's deterministic answers go to the persistent store.
  const store = keystoneOverride && !overridePersistent ? undefined : keystoneStore();
  const remember = (text: string, a: KsAnswer & ({ ok: true } | { kind: 'rejected' })): void => {
    memo.set(text, a);
    store?.add(text, a.ok ? a : { ok: false, kind: 'rejected', message: a.message });
  };
  for (let round = 0; missing.length > 0 && round < 50; round++) {
    encoderStats.keystoneCalls++;
    encoderStats.keystoneTexts += missing.length;
    // Chunks keep each round trip well inside the worker's timeout on a loaded machine.
    const results: KeystoneResult[] = [];
    for (let i = 0; i < missing.length; i += KEYSTONE_CHUNK) {
      results.push(...ks.assembleMany(missing.slice(i, i + KEYSTONE_CHUNK).map((text) => ({ text, address: 0n }))));
    }
    const retry: string[] = [];
    results.forEach((r, i) => {
      const text = missing[i]!;
      if (r.ok && r.bytes.length > 0) remember(text, { ok: true, bytes: r.bytes });
      else if (r.ok) remember(text, { ok: false, kind: 'rejected', message: 'Keystone produced no bytes' });
      else if (r.kind === 'rejected') remember(text, { ok: false, kind: r.kind, message: r.message });
      else if (r.kind === 'crash' && r.message.startsWith('not attempted')) retry.push(text);
      else transient.set(text, { ok: false, kind: r.kind, message: r.message });
    });
    missing = retry;
  }
  for (const text of missing) transient.set(text, { ok: false, kind: 'crash', message: 'Keystone kept crashing on this batch' });
}

function keystoneAnswer(text: string, transient: Map<string, KsAnswer>): KsAnswer {
  const a = memo.get(text) ?? transient.get(text);
  if (a) return a;
  throw new Error(`internal: no Keystone answer for ${text}`);
}

function keystoneError(text: string, a: { message: string; kind: string }): SeamlabError {
  if (a.kind === 'rejected') {
    return new SeamlabError('ENCODE_REJECTED', `cannot encode \`${text}': ${a.message}`, 'check the mnemonic and operands (seamlab encodes what GNU as 2.40 accepts for x86-64)');
  }
  return new SeamlabError('ENCODE_KEYSTONE_FAILED', `Keystone failed on \`${text}' (${a.kind}): ${a.message}`, 'this is a Keystone defect; report the instruction to seamlab');
}


function fits(v: bigint, bytes: number, how: 'signed' | 'unsigned' | 'bitfield'): boolean {
  const bits = BigInt(bytes * 8);
  const half = 1n << (bits - 1n);
  const full = 1n << bits;
  if (how === 'signed') return v >= -half && v < half;
  if (how === 'unsigned') return v >= 0n && v < full;
  return v >= -full && v < full;
}

/**
 * Lays out a Keystone encoding: checks that Keystone used the forced form,
 * clears the SIB index for absolute addresses, merges prefixes. Returns the
 * bytes (values still placeholders) and where the value fields are.
 */
function layOut(form: FormPlan, ks: Uint8Array): { bytes: Uint8Array; fields: { at: number; field: ValueField }[] } {
  const body = Uint8Array.from(ks);
  const immTotal = form.imms.reduce((n, f) => n + f.bytes, 0);
  const dispBytes = form.disp?.bytes ?? 0;
  const fields: { at: number; field: ValueField }[] = [];
  let at = body.length - immTotal - form.rawTail - dispBytes;
  // A seamlab bug, not a user error; reported per instruction so one bad form does not fail a batch.
  const mismatch = () => new SeamlabError(
    'ENCODE_INTERNAL',
    `internal: Keystone did not use the form seamlab forced for \`${form.ksText}' (got ${Buffer.from(ks).toString('hex')})`,
    'this is a seamlab bug: please report the instruction',
  );
  if (at < 1) throw mismatch();
  const check = (pos: number, f: ValueField) => {
    const want = toLittleEndian(f.placeholder, f.bytes);
    for (let i = 0; i < f.bytes; i++) if (body[pos + i] !== want[i]) throw mismatch();
  };
  if (form.disp) {
    check(at, form.disp);
    if (form.sibNoIndex) {
      if (body[at - 1] !== 0x05) throw mismatch();
      body[at - 1] = 0x25;
    }
    fields.push({ at, field: form.disp });
    at += form.disp.bytes;
  }
  for (const f of form.imms) {
    check(at, f);
    fields.push({ at, field: f });
    at += f.bytes;
  }
  const merged = mergePrefixes(form.prefixBytes, body);
  const shift = merged.length - body.length;
  return { bytes: merged, fields: fields.map((x) => ({ at: x.at + shift, field: x.field })) };
}

function patchValues(laid: { bytes: Uint8Array; fields: { at: number; field: ValueField }[] }, address: bigint, text: string): Uint8Array {
  const out = laid.bytes;
  for (const { at, field } of laid.fields) {
    let v = field.value;
    if (field.pcRelative) v = BigInt.asIntN(64, v - (address + BigInt(out.length)));
    const how = field.pcRelative ? 'signed' : field.reloc;
    if (how && !fits(v, field.bytes, how)) {
      throw new SeamlabError(
        'ENCODE_RELOC_RANGE',
        `value 0x${BigInt.asUintN(64, v).toString(16)} does not fit the ${field.bytes * 8}-bit field of \`${text}' (relocation truncated to fit)`,
        'the symbol is too far away for this form; ld would reject it too',
      );
    }
    out.set(toLittleEndian(v, field.bytes), at);
  }
  return out;
}

function finishPlan(plan: Plan, item: EncodeItem, withValues: boolean, transient: Map<string, KsAnswer>): EncodeOutcome {
  if (plan.kind === 'done') return { ok: true, bytes: plan.bytes };
  if (plan.kind === 'error') return { ok: false, error: plan.error };
  const a = keystoneAnswer(plan.form.ksText, transient);
  if (!a.ok) return { ok: false, error: keystoneError(plan.form.ksText, a) };
  try {
    const laid = layOut(plan.form, fixEncoding(plan.insn, a.bytes));
    return { ok: true, bytes: withValues ? patchValues(laid, item.address, plan.form.ksText) : laid.bytes };
  } catch (e) {
    if (isSeamlabError(e)) return { ok: false, error: e };
    throw e;
  }
}

function run(items: readonly EncodeItem[], withValues: boolean): EncodeOutcome[] {
  const plans = items.map((item) => planOne(item, withValues));
  if (plans.some((p) => p.kind === 'keystone' && !memo.has(p.form.ksText))) loadPersistent();
  const texts: string[] = [];
  for (const p of plans) {
    if (p.kind !== 'keystone') continue;
    if (memo.has(p.form.ksText)) encoderStats.memoHits++;
    else texts.push(p.form.ksText);
  }
  const transient = new Map<string, KsAnswer>();
  fillMemo(texts, transient);
  return plans.map((p, i) => finishPlan(p, items[i]!, withValues, transient));
}

/**
 * Encodes many instructions with at most one Keystone round trip. Each item
 * gets its bytes or its own SeamlabError (no position: the caller adds it).
 */
export function encodeMany(items: readonly EncodeItem[]): EncodeOutcome[] {
  return run(items, true);
}

/** GNU as 2.40's bytes for one resolved instruction at `address`. Throws a SeamlabError. */
export function encodeInstruction(insn: ResolvedInstruction, address: bigint, form?: BranchForm): Uint8Array {
  const r = run([{ insn, address, form }], true)[0]!;
  if (!r.ok) throw r.error;
  return r.bytes;
}

/**
 * Lengths for layout: like encodeMany, but values are not written nor
 * range-checked (during relaxation, not-yet-known values are provisional).
 */
export function lengthMany(items: readonly EncodeItem[]): ({ ok: true; length: number } | { ok: false; error: SeamlabError })[] {
  return run(items, false).map((r) => (r.ok ? { ok: true, length: r.bytes.length } : r));
}

export function instructionLength(insn: ResolvedInstruction, address: bigint, form?: BranchForm): number {
  const r = lengthMany([{ insn, address, form }])[0]!;
  if (!r.ok) throw r.error;
  return r.length;
}

/** A parsed or a resolved instruction: branch questions need only the mnemonic, prefixes and operand kinds. */
export type InstructionShape = BranchShape & { prefixes: readonly string[] };

/** jmp/jcc with a direct target: the front end relaxes these between 'short' and 'near'. */
export function isRelaxableBranch(insn: InstructionShape): boolean {
  const k = directBranchKind(insn);
  return k !== undefined && isRelaxable(k);
}

/** A direct branch of any kind (jmp/jcc/call/loop/jrcxz with a target operand). */
export function isDirectBranch(insn: InstructionShape): boolean {
  return directBranchKind(insn) !== undefined;
}

/**
 * Length of a direct branch in a form (prefixes included); call and
 * loop/jrcxz have one form whatever `form` says. Throws for anything else.
 */
export function branchLength(insn: InstructionShape, form: BranchForm): number {
  const kind = directBranchKind(insn);
  if (!kind) throw unsupported(`\`${insn.mnemonic}' is not a direct branch`);
  const effective: BranchForm = kind.kind === 'call' ? 'near' : kind.kind === 'rel8only' ? 'short' : form;
  return orderPrefixes(writtenPrefixBytes(insn.prefixes.map((p) => p.toLowerCase()))).length + branchBodyLength({ kind }, effective);
}
