/**
 * Instruction statements: the encoder parses the AT&T syntax, the front end
 * evaluates every operand expression when the statement is read (so the
 * encoder knows what GNU as knew then: `ResolvedValue.known`), and the
 * length comes from the encoder in batches (one round trip for many
 * instructions). Direct jmp/jcc end their frag as a relaxable tail, like
 * GNU as's rs_machine_dependent frags.
 */
import type { MemSyntax, OperandSyntax, ResolvedMem, ResolvedOperand, ResolvedValue } from '../encode/types.js';
import { isSeamlabError, SeamlabError } from '../errors.js';
import type { Assembler } from './assembler.js';
import type { Expr } from './expr.js';
import type { Val } from './evaluate.js';
import type { Frag, InsnItem } from './model.js';

/** What GNU as knows about an operand value when it reads the instruction. */
export function readValue(v: Val): ResolvedValue {
  switch (v.k) {
    case 'abs':
      return { value: v.v, known: true };
    case 'rel':
    case 'ext':
      return { value: 0n, known: false, relocatable: true };
    case 'opaque':
      return { value: 0n, known: false };
    default:
      throw new Error(`internal: readValue(${v.k})`);
  }
}

/** Re-raises an encoder error at the statement's position. */
export function positionEncoderError(e: SeamlabError, where: InsnItem['where']): SeamlabError {
  return new SeamlabError(e.code, e.message, e.hint, { where, notes: e.notes, cause: e });
}

/**
 * Symbols set to registers (`KEY = %rcx`, `.set A, %ecx`) stand for the
 * register in operands, as GNU as's i386 parser resolves them
 * (tc-i386.c parse_register): rewritten to `%reg` before parsing.
 */
function substituteRegisterSymbols(asm: Assembler, text: string): string {
  const first = /^\s*\S+/.exec(text)?.[0] ?? '';
  const ops = text.slice(first.length).replace(/(^|[^A-Za-z0-9_.$%\\])([A-Za-z_.$][A-Za-z0-9_.$]*)/g, (all, pre: string, name: string) => {
    const sym = asm.symbols.get(name);
    return sym?.kind === 'register' ? `${pre}%${sym.reg}` : all;
  });
  return first + ops;
}

export function instructionStatement(asm: Assembler, text: string): void {
  if (asm.registerSymbols > 0) text = substituteRegisterSymbols(asm, text);
  let parsed;
  try {
    parsed = asm.layer.parseInstruction(text);
  } catch (e) {
    if (isSeamlabError(e)) throw positionEncoderError(e, asm.where());
    throw e;
  }
  const dot = asm.here();
  const exprs: (Expr | undefined)[] = [];
  const value = (exprText: string): ResolvedValue => {
    const e = asm.parseExpr(exprText);
    exprs.push(e);
    const v = asm.evalNow(e, dot);
    if (v.k === 'reg') {
      throw asm.error('GAS_BAD_OPERAND', `register %${v.reg} used where a value is expected in \`${text}'`, 'write the register directly as %reg');
    }
    return readValue(v);
  };
  const mem = (m: MemSyntax): ResolvedMem => {
    const out: ResolvedMem = { kind: 'mem' };
    if (m.segment) out.segment = m.segment;
    if (m.base) out.base = m.base;
    if (m.index) out.index = m.index;
    if (m.scale) out.scale = m.scale;
    if (m.disp !== undefined) out.disp = value(m.disp);
    else exprs.push(undefined);
    return out;
  };
  const operand = (o: OperandSyntax): ResolvedOperand => {
    switch (o.kind) {
      case 'reg':
        exprs.push(undefined);
        return { kind: 'reg', reg: o.reg };
      case 'imm':
        return { kind: 'imm', value: value(o.expr) };
      case 'mem':
        return mem(o);
      case 'target':
        return { kind: 'target', address: value(o.expr) };
      case 'indirect':
        if (o.operand.kind === 'reg') {
          exprs.push(undefined);
          return { kind: 'indirect', operand: { kind: 'reg', reg: o.operand.reg } };
        }
        return { kind: 'indirect', operand: mem(o.operand) };
    }
  };
  const resolved = { prefixes: parsed.prefixes, mnemonic: parsed.mnemonic, operands: parsed.operands.map(operand) };
  const item: InsnItem = { kind: 'insn', text: text.trim(), parsed, exprs, resolved, dot, origin: asm.origin(), where: asm.where(), frag: asm.currentFrag };
  if (asm.layer.isRelaxableBranch(parsed)) {
    const target = exprs[0]!;
    item.size = asm.layer.branchLength(parsed, 'short');
    asm.countBytes(item.size);
    asm.closeFrag({ kind: 'branch', insn: item, target, form: 'short', fixedNear: false });
    return;
  }
  if (asm.layer.isDirectBranch(parsed)) {
    item.branch = true;
    item.size = asm.layer.branchLength(parsed, 'near');
    asm.addItem(item, item.size);
    return;
  }
  asm.addItem(item, undefined);
  asm.pendingInsns.push(item);
}

/** Asks the encoder for the lengths of all instructions read since the last flush. */
export function flushLengths(asm: Assembler): void {
  if (asm.pendingInsns.length === 0) return;
  const items = asm.pendingInsns;
  asm.pendingInsns = [];
  // Encoded at address 0: the length is the layout's, and when every operand value was known
  // when read the bytes are already final (nothing here depends on the address).
  const results = asm.layer.encodeMany(items.map((i) => ({ insn: i.resolved, address: 0n })));
  const frags = new Set<Frag>();
  results.forEach((r, k) => {
    const item = items[k]!;
    if (!r.ok) throw positionEncoderError(r.error, item.where);
    item.size = r.bytes.length;
    if (allKnown(item)) item.bytes = r.bytes;
    frags.add(item.frag);
  });
  for (const f of frags) recomputeOffsets(f);
}

/** No operand value waits for layout or linking. */
function allKnown(item: InsnItem): boolean {
  const known = (v: ResolvedValue | undefined) => v === undefined || v.known;
  return item.resolved.operands.every((o) => {
    switch (o.kind) {
      case 'imm':
        return known(o.value);
      case 'mem':
        return known(o.disp);
      case 'target':
        return false;
      case 'indirect':
        return o.operand.kind === 'reg' || known(o.operand.disp);
      default:
        return true;
    }
  });
}

export function recomputeOffsets(f: Frag): void {
  const offsets = [0];
  let at = 0;
  for (const it of f.items) {
    if (it.kind === 'insn' && it.size === undefined) return;
    at += it.kind === 'insn' ? it.size! : it.size;
    offsets.push(at);
  }
  f.offsets = offsets;
  f.fix = at;
  f.sizesKnown = true;
}
