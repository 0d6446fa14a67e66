/**
 * The encoder differential fuzz: random AT&T instructions encoded by
 * seamlab (parse → resolve with the test evaluator → encodeMany) and by GNU
 * as + ld, compared byte for byte.
 */
import { encodeMany, isRelaxableBranch, parseInstruction, type EncodeItem } from '../../src/encode/x86.js';
import { isSeamlabError, type SeamlabError } from '../../src/errors.js';
import { Gen, instruction, rng } from './encode-grammar.js';
import { assembleWithGas } from './gas-oracle.js';
import { FORWARD_CONSTANTS, resolveInstruction } from './encode-eval.js';

export interface FuzzCase {
  text: string;
  gas?: string;
  gasError?: string;
  seamlab?: string;
  seamlabError?: string;
  seamlabCode?: string;
}

export interface FuzzReport {
  seed: number;
  total: number;
  matches: number;
  /** Both GNU as and seamlab reject the instruction. */
  bothReject: number;
  /** Those cases, for inspection. */
  rejectedByBoth: FuzzCase[];
  /** GNU as accepts, seamlab reports a SeamlabError. */
  unsupported: FuzzCase[];
  /** Different bytes, or seamlab accepts what GNU as rejects. */
  mismatches: FuzzCase[];
}

const BASE = 0xffffffff81000000n;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Runs `count` instructions in batches of `batch` (one as+ld run and one Keystone round trip per batch). */
export function runEncoderFuzz(seed: number, count: number, batch = 5000): FuzzReport {
  const report: FuzzReport = { seed, total: 0, matches: 0, bothReject: 0, rejectedByBoth: [], unsupported: [], mismatches: [] };
  const r = rng(seed);
  for (let done = 0; done < count; done += batch) {
    const n = Math.min(batch, count - done);
    const g = new Gen(r, n);
    const lines = Array.from({ length: n }, () => instruction(g));
    const gas = assembleWithGas(lines, BASE, FORWARD_CONSTANTS.map((v, k) => `.set F_${k}, ${v}`));
    const items: (EncodeItem | SeamlabError)[] = lines.map((text, i) => {
      try {
        const insn = resolveInstruction(parseInstruction(text), gas.labels);
        const len = gas.bytes[i]?.length;
        // Relaxation is the front end's job: take the form GNU as settled on.
        const form = isRelaxableBranch(insn) && len !== undefined ? (len <= 3 ? 'short' : 'near') : undefined;
        return { insn, address: gas.address[i]!, form };
      } catch (e) {
        if (isSeamlabError(e)) return e;
        throw e;
      }
    });
    const encodable = items.filter((x): x is EncodeItem => !isSeamlabError(x));
    const outcomes = encodeMany(encodable);
    let k = 0;
    for (let i = 0; i < n; i++) {
      report.total++;
      const it = items[i]!;
      const out = isSeamlabError(it) ? { ok: false as const, error: it } : outcomes[k++]!;
      const g8 = gas.bytes[i];
      const c: FuzzCase = { text: lines[i]! };
      if (g8) c.gas = hex(g8);
      else c.gasError = gas.rejected.get(i);
      if (out.ok) c.seamlab = hex(out.bytes);
      else {
        c.seamlabError = out.error.message;
        c.seamlabCode = out.error.code;
      }
      if (!g8 && !out.ok) {
        report.bothReject++;
        report.rejectedByBoth.push(c);
      }
      else if (g8 && !out.ok) report.unsupported.push(c);
      else if (g8 && out.ok && c.gas === c.seamlab) report.matches++;
      else report.mismatches.push(c);
    }
  }
  return report;
}
