/**
 * The hunk search as it was before it was indexed (src/intake/hunks.ts at
 * 7464717): GNU patch's locate_hunk scanning every offset, comparing line
 * strings. Kept as the reference the indexed search is checked against
 * (test/intake-fuzz.test.ts): same hunks, same offsets, same text.
 */
/** GNU patch's default maximum fuzz (`-F 2`). */
const DEFAULT_MAX_FUZZ = 2;

export interface HunkInput {
  /**
   * First old line, in jsdiff's convention (as src/intake/diff-parse.ts gives
   * it): for a hunk with no old lines, the line the new text goes before
   * (`@@ -5,0 …` has oldStart 6) — GNU patch's pch_first.
   */
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** ' ', '-', '+' lines and '\' ("No newline at end of file") markers. */
  lines: string[];
}

export type HunkMatch = 'exact' | 'whitespace-insensitive';

export interface HunkOutcome {
  /** How the hunk's lines were compared, or why it was not applied. */
  result: HunkMatch | 'not-applied';
  /** Context lines ignored at each end (GNU patch's "with fuzz N"). */
  fuzz: number;
  /** Lines between where the header says and where the hunk applied (GNU patch's "offset N lines"). */
  offset: number;
  /** The line of the result where the hunk's text starts (GNU patch's "succeeded at N"). */
  line: number;
  /** For a hunk refused because of the fuzz limit: the fuzz it would have needed. */
  neededFuzz?: number;
}

export interface ApplyHunksResult {
  text: string;
  hunks: HunkOutcome[];
}

/** A hunk split into GNU patch's terms: the old side (pattern) and the operations, each line with its newline or not. */
interface PreparedHunk {
  pattern: string[];
  ops: { op: ' ' | '-' | '+'; text: string }[];
  prefix: number;
  suffix: number;
  /** pch_first: the first old line (one past it for a hunk with no old lines). */
  first: number;
  oldLines: number;
  newLines: number;
}

function prepare(h: HunkInput): PreparedHunk {
  const ops: PreparedHunk['ops'] = [];
  for (const l of h.lines) {
    if (l[0] === '\\') {
      // "\ No newline at end of file" belongs to the line before it.
      const last = ops[ops.length - 1];
      if (last && last.text.endsWith('\n')) last.text = last.text.slice(0, -1);
      continue;
    }
    const op = l[0] === '-' || l[0] === '+' ? l[0] : ' ';
    ops.push({ op, text: `${l.slice(1)}\n` });
  }
  const pattern = ops.filter((o) => o.op !== '+').map((o) => o.text);
  // Leading and trailing context: the ' ' lines before the first and after the last change.
  let prefix = 0;
  while (prefix < ops.length && ops[prefix]!.op === ' ') prefix++;
  let suffix = 0;
  while (suffix < ops.length - prefix && ops[ops.length - 1 - suffix]!.op === ' ') suffix++;
  return { pattern, ops, prefix, suffix, first: h.oldStart, oldLines: h.oldLines, newLines: h.newLines };
}

/** The file's lines, each with its newline (the last one may have none). */
function splitLines(text: string): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf('\n', at);
    const end = nl < 0 ? text.length : nl + 1;
    out.push(text.slice(at, end));
    at = end;
  }
  return out;
}

function normalizeWs(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

type Compare = (fileLine: string, patternLine: string) => boolean;

const EXACT: Compare = (a, b) => a === b;
const LOOSE: Compare = (a, b) => normalizeWs(a) === normalizeWs(b);

export interface ApplyHunksOptions {
  /** Largest fuzz allowed (default DEFAULT_MAX_FUZZ; 0 refuses every hunk whose context does not all match). */
  maxFuzz?: number;
  /** Also compare ignoring whitespace when the exact comparison finds nothing (default true). */
  looseWhitespace?: boolean;
}

/** Applies the hunks of one file to its text, in order; hunks that cannot be placed are reported and skipped. */
export function referenceApplyHunks(text: string, hunks: HunkInput[], opts: ApplyHunksOptions = {}): ApplyHunksResult {
  const maxFuzz = opts.maxFuzz ?? DEFAULT_MAX_FUZZ;
  const loose = opts.looseWhitespace ?? true;
  const input = splitLines(text);
  const inputLines = input.length;
  const out: string[] = [];
  let lastFrozen = 0; // input lines 1..lastFrozen are settled (copied or deleted)
  let inOffset = 0;
  let outOffset = 0;

  /**
   * Writes a line. GNU patch ends a line that lacks its newline before writing
   * the next one when copying file lines and when appending the lines that
   * end a hunk, but not for added lines inside a hunk (`apply_hunk`): so do we.
   */
  const push = (line: string, endPrevious: boolean) => {
    const prev = out.length - 1;
    if (endPrevious && prev >= 0 && !out[prev]!.endsWith('\n')) out[prev] += '\n';
    out.push(line);
  };
  const copyTill = (n: number) => {
    while (lastFrozen < n) {
      lastFrozen++;
      if (lastFrozen <= inputLines) push(input[lastFrozen - 1]!, true);
    }
  };

  const matches = (h: PreparedHunk, base: number, prefixFuzz: number, suffixFuzz: number, cmp: Compare): boolean => {
    const last = h.pattern.length - suffixFuzz;
    for (let p = prefixFuzz; p < last; p++) {
      const line = input[base + p - 1];
      if (line === undefined || !cmp(line, h.pattern[p]!)) return false;
    }
    return true;
  };

  /** locate_hunk: the input line where the hunk's pattern starts, or 0. */
  const locate = (h: PreparedHunk, fuzz: number, cmp: Compare): { where: number; offset: number } | undefined => {
    const patLines = h.pattern.length;
    const firstGuess = h.first + inOffset;
    if (patLines === 0) return { where: firstGuess, offset: 0 };
    const context = Math.max(h.prefix, h.suffix);
    let prefixFuzz = fuzz + h.prefix - context;
    const suffixFuzz = fuzz + h.suffix - context;
    const maxWhere = inputLines - (patLines - suffixFuzz) + 1;
    const minWhere = lastFrozen + 1;
    const maxPos = maxWhere - firstGuess;
    let maxNeg = firstGuess - minWhere;
    const maxOffset = Math.max(maxPos, maxNeg);
    if (firstGuess <= maxNeg) maxNeg = firstGuess - 1;

    if (prefixFuzz < 0 && h.first <= 1) {
      // Fewer leading than trailing context lines and the hunk starts the file: it can only match there.
      if (suffixFuzz < 0 && (patLines !== inputLines || h.prefix < lastFrozen)) return undefined;
      const offset = 1 - firstGuess;
      return lastFrozen <= h.prefix && offset <= maxPos && matches(h, firstGuess + offset, 0, suffixFuzz, cmp) ? { where: firstGuess + offset, offset } : undefined;
    }
    if (prefixFuzz < 0) prefixFuzz = 0;
    if (suffixFuzz < 0) {
      // Fewer trailing than leading context lines: the hunk ends the file.
      const offset = firstGuess - (inputLines - patLines + 1);
      return offset <= maxNeg && matches(h, firstGuess - offset, prefixFuzz, 0, cmp) ? { where: firstGuess - offset, offset: -offset } : undefined;
    }
    const minOffset = maxPos < 0 ? firstGuess - maxWhere : maxNeg < 0 ? firstGuess - minWhere : 0;
    for (let offset = minOffset; offset <= maxOffset; offset++) {
      if (offset <= maxPos && matches(h, firstGuess + offset, prefixFuzz, suffixFuzz, cmp)) return { where: firstGuess + offset, offset };
      if (offset <= maxNeg && matches(h, firstGuess - offset, prefixFuzz, suffixFuzz, cmp)) return { where: firstGuess - offset, offset: -offset };
    }
    return undefined;
  };

  const results: HunkOutcome[] = [];
  for (const raw of hunks) {
    const h = prepare(raw);
    // Searched up to GNU's default even when fewer is allowed, so that a refusal can say what was needed.
    const limit = Math.min(Math.max(DEFAULT_MAX_FUZZ, maxFuzz), Math.max(h.prefix, h.suffix));
    let found: { where: number; offset: number; fuzz: number; result: HunkMatch } | undefined;
    for (let fuzz = 0; fuzz <= limit && !found; fuzz++) {
      for (const [cmp, result] of [[EXACT, 'exact'], ...(loose ? [[LOOSE, 'whitespace-insensitive']] : [])] as [Compare, HunkMatch][]) {
        const at = locate(h, fuzz, cmp);
        if (at) {
          found = { ...at, fuzz, result };
          break;
        }
      }
    }
    if (!found || found.fuzz > maxFuzz) {
      results.push({ result: 'not-applied', fuzz: 0, offset: 0, line: h.first + outOffset, ...(found ? { neededFuzz: found.fuzz } : {}) });
      continue;
    }
    // The offset search starts from where the previous hunks were found.
    inOffset += found.offset;
    const where = found.where;
    const line = where + outOffset;
    // Added lines after the last context or removed line end the hunk.
    let trailing = h.ops.length;
    while (trailing > 0 && h.ops[trailing - 1]!.op === '+') trailing--;
    let i = 0;
    h.ops.forEach((o, k) => {
      if (o.op === ' ') i++;
      else if (o.op === '-') {
        copyTill(where + i - 1);
        lastFrozen++;
        i++;
      } else {
        copyTill(where + i - 1);
        push(o.text, k >= trailing);
      }
    });
    outOffset += h.newLines - h.oldLines;
    results.push({ result: found.result, fuzz: found.fuzz, offset: where - h.first, line });
  }
  copyTill(inputLines);
  return { text: out.join(''), hunks: results };
}
