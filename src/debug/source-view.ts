/**
 * Source around a line for the debugger's `list`: the revision's own text
 * (the patched content for a patched revision), and under each line that
 * invokes a GAS macro or opens a repetition, the statements its expansion
 * produced as the assembler saw them (after cpp and macro substitution),
 * taken from the build's listing — the expansion instance of the context
 * being shown when the line is expanded more than once.
 */
import type { Listing } from '../image/listing.js';
import type { GasFrame, SourcePos } from '../support/source-location.js';
import { sameLine } from '../support/source-location.js';
import { stackKey } from './lines.js';

export interface ListedLine {
  line: number;
  text: string;
  /** For a line that invokes a macro: the statements its expansion produced, `depth` expansions below the line. */
  expansion?: { depth: number; pos: SourcePos; text: string }[];
}

/**
 * Lines `from`..`to` of `file` (1-based, clipped to the text), with the
 * expansions. `context` is the expansion stack the shown line is in, when
 * it is in `file` (picks the instance of a line expanded several times).
 */
export function listLines(text: string, file: string, from: number, to: number, listing: Listing, context: readonly GasFrame[] = []): ListedLine[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out: ListedLine[] = [];
  const contextKey = stackKey(context);
  for (let n = Math.max(1, from); n <= Math.min(to, lines.length); n++) {
    const pos = { file, line: n };
    // Instances of expansions invoked on this line: key → statements.
    const instances = new Map<string, { outer: string; items: { depth: number; pos: SourcePos; text: string }[] }>();
    for (const e of listing) {
      if (e.kind === 'function' || e.kind === 'directive' && !(e.size > 0)) continue;
      if (e.kind !== 'insn' && e.kind !== 'label' && !(e.size > 0)) continue;
      const stack = e.origin.gasStack;
      let i = -1;
      for (let k = stack.length - 1; k >= 0; k--) {
        if (sameLine(stack[k]!.invokedAt, pos)) {
          i = k;
          break;
        }
      }
      if (i < 0) continue;
      const key = stackKey(stack.slice(i));
      let inst = instances.get(key);
      if (!inst) instances.set(key, (inst = { outer: stackKey(stack.slice(i + 1)), items: [] }));
      inst.items.push({ depth: i, pos: e.origin.pos, text: e.origin.text });
    }
    const all = [...instances.values()];
    const chosen = all.find((x) => x.outer === contextKey) ?? all[0];
    out.push({ line: n, text: lines[n - 1]!, ...(chosen ? { expansion: chosen.items } : {}) });
  }
  return out;
}
