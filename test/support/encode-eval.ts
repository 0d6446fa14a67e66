/**
 * A tiny, test-only evaluator for the operand expressions the encoder fuzz
 * generates: numbers (decimal, hex, negative), `+`/`-`, parentheses and
 * labels (fuzz: `L_<n>`, whose addresses come from the GNU as + ld layout). The
 * real evaluator is the front end's (src/gas); this one only needs to agree
 * with GNU as on these few forms.
 */
import type { OperandSyntax, ParsedInstruction, ResolvedInstruction, ResolvedOperand, ResolvedValue } from '../../src/encode/types.js';

/**
 * Forward-referenced absolute constants (`.set F_<n>, v` at the end of the
 * fuzz file): GNU as does not know them when it sizes an operand.
 */
export const FORWARD_CONSTANTS: readonly bigint[] = [3n, 0n, 1n, -1n, 0x7fn, -0x80n, 8n, 0x10n, -8n, 0x40n, 2n, 5n, 0x7en, -0x7fn, 0x20n, 4n];

export function evalExpr(text: string, labels: ReadonlyMap<string, bigint>): ResolvedValue {
  const toks = text.match(/0x[0-9a-f]+|\d+|[a-z_.][\w.]*|[-+()]|\S/gi) ?? [];
  let i = 0;
  let symbolic = false;
  let forward = false;
  const primary = (): bigint => {
    const t = toks[i++];
    if (t === undefined) throw new Error(`bad expression ${text}`);
    if (t === '(') {
      const v = sum();
      if (toks[i++] !== ')') throw new Error(`bad expression ${text}`);
      return v;
    }
    if (t === '-') return -primary();
    if (t === '+') return primary();
    const fwd = /^F_(\d+)$/.exec(t);
    if (fwd) {
      forward = true;
      return FORWARD_CONSTANTS[Number(fwd[1])]!;
    }
    if (/^[a-z_.]/i.test(t)) {
      const a = labels.get(t);
      if (a === undefined) throw new Error(`unknown label ${t}`);
      symbolic = true;
      return a;
    }
    if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) return BigInt(t);
    throw new Error(`bad token ${t} in ${text}`);
  };
  const sum = (): bigint => {
    let v = primary();
    while (toks[i] === '+' || toks[i] === '-') {
      const op = toks[i++];
      const r = primary();
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  const value = BigInt.asIntN(64, sum());
  if (i !== toks.length) throw new Error(`trailing tokens in ${text}`);
  // A label is an address GNU as does not know when it sizes the operand: relocation-sized forms.
  if (symbolic) return { value, known: false, relocatable: true };
  return forward ? { value, known: false } : { value, known: true };
}

export function resolveOperand(op: OperandSyntax, labels: ReadonlyMap<string, bigint>): ResolvedOperand {
  switch (op.kind) {
    case 'reg': return op;
    case 'imm': return { kind: 'imm', value: evalExpr(op.expr, labels) };
    case 'mem': return { ...op, disp: op.disp === undefined ? undefined : evalExpr(op.disp, labels) };
    // Same-section branch targets are known (GNU as relaxes them).
    case 'target': return { kind: 'target', address: { ...evalExpr(op.expr, labels), known: true } };
    case 'indirect': return { kind: 'indirect', operand: resolveOperand(op.operand, labels) as never };
  }
}

export function resolveInstruction(p: ParsedInstruction, labels: ReadonlyMap<string, bigint>): ResolvedInstruction {
  return { prefixes: p.prefixes, mnemonic: p.mnemonic, operands: p.operands.map((o) => resolveOperand(o, labels)) };
}
