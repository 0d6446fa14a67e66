/**
 * Include guards (gcc's multiple-include optimisation): a file wholly
 * wrapped in `#ifndef X` … `#endif` (or `#if !defined X`) produces nothing
 * when X is defined, so it is not read again.
 */
import type { LexedFile, LogicalLine } from './lexer.js';

const guardCache = new WeakMap<LexedFile, string | null>();

/**
 * The controlling macro of a file wholly wrapped in `#ifndef X` … `#endif`
 * (or `#if !defined X`), or null. When X is defined, including the file
 * again cannot produce anything, so it is not read again (as in gcc).
 */
export function includeGuard(f: LexedFile): string | null {
  const cached = guardCache.get(f);
  if (cached !== undefined) return cached;
  let guard: string | null = null;
  const lines = f.lines.filter((l) => l.tokens.length > 0);
  const first = lines[0];
  const isDir = (l: LogicalLine, names: string[]): boolean => l.tokens[0]?.text === '#' && l.tokens[0].kind === 'punct' && names.includes(l.tokens[1]?.text ?? '');
  if (first && lines.length >= 2 && isDir(lines[lines.length - 1]!, ['endif'])) {
    const t = first.tokens;
    let cand: string | undefined;
    if (isDir(first, ['ifndef']) && t[2]?.kind === 'name' && t.length === 3) cand = t[2].text;
    else if (isDir(first, ['if']) && t[2]?.text === '!' && t[3]?.text === 'defined') {
      if (t[4]?.kind === 'name' && t.length === 5) cand = t[4].text;
      else if (t[4]?.text === '(' && t[5]?.kind === 'name' && t[6]?.text === ')' && t.length === 7) cand = t[5].text;
    }
    if (cand) {
      // The #endif on the last line must close the first #if.
      let depth = 0;
      let closesAtEnd = false;
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i]!;
        if (isDir(l, ['if', 'ifdef', 'ifndef'])) depth++;
        else if (isDir(l, ['endif'])) {
          depth--;
          if (depth === 0) {
            closesAtEnd = i === lines.length - 1;
            break;
          }
        } else if (depth === 1 && isDir(l, ['else', 'elif', 'elifdef', 'elifndef'])) break;
      }
      if (closesAtEnd) guard = cand;
    }
  }
  guardCache.set(f, guard);
  return guard;
}
