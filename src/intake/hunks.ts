/**
 * Applying a file's unified-diff hunks the way GNU patch does: each hunk is
 * looked for near where its header says (shifted by the offsets earlier
 * hunks needed), first with all of its context, then with fuzz — up to
 * `maxFuzz` context lines ignored at each end — and never before the end
 * of the previous hunk's changes. Context lines in the result are the
 * file's own. What a hunk needed (fuzz, offset, whitespace-insensitive
 * comparison) is reported per hunk.
 *
 * The search mirrors GNU patch 2.7's `locate_hunk` and `patch_match`
 * (src/patch.c) and the prefix/suffix context counts of `another_hunk`
 * (src/pch.c); the differential test against a real `patch` run is in
 * test/intake-fuzz.test.ts. Whitespace-insensitive comparison (for
 * web-archive copies that lost their tabs) is tried at each fuzz level
 * after the exact one.
 *
 * The search is GNU's, candidate for candidate, but indexed: the file's
 * lines are numbered (equal lines, equal numbers) once per file, and a hunk
 * is tried only where its rarest compared line occurs, in GNU's order of
 * offsets (0, +1, −1, +2, −2 …). A hunk whose context is not in the file —
 * the costly case, GNU scans the whole file for it at each fuzz level — is
 * refused in time proportional to its own size, so applying a patch is
 * linear in the file and the patch rather than file lines × hunks.
 */

/** GNU patch's default maximum fuzz (`-F 2`). */
export const DEFAULT_MAX_FUZZ = 2;

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

/** JavaScript's `\s` (what normalizeWs collapses), as a test on a UTF-16 code unit. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a)
    || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** FNV-1a of a line, or of its normalizeWs form (without building it): whitespace runs as one space, none at the ends. */
function lineHash(s: string, loose: boolean): number {
  let h = 0x811c9dc5;
  if (!loose) {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h >>> 0;
  }
  let space = false;
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) {
      space = any;
      continue;
    }
    if (space) h = Math.imul(h ^ 32, 0x01000193);
    space = false;
    any = true;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A file's lines under one comparison (exact, or whitespace-insensitive):
 * each line as a number — the index of the first line equal to it — and,
 * per number, the lines where it occurs, ascending (0-based). An open
 * hash table over the lines' hashes (equality checked on the lines, so a
 * hash collision costs a comparison, never a wrong match); typed arrays
 * throughout, as a Map of 200,000 strings costs ten times more.
 */
class LineIndex {
  readonly ids: Int32Array;
  private readonly hashes: Uint32Array;
  private readonly table: Int32Array;
  private readonly mask: number;
  private readonly starts: Int32Array;
  private readonly at: Int32Array;

  constructor(private readonly lines: readonly string[], private readonly loose: boolean) {
    const n = lines.length;
    let size = 1;
    while (size < 2 * n + 2) size <<= 1;
    this.mask = size - 1;
    this.table = new Int32Array(size).fill(-1);
    this.ids = new Int32Array(n);
    this.hashes = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const line = lines[i]!;
      const h = lineHash(line, loose);
      this.hashes[i] = h;
      let slot = h & this.mask;
      for (;;) {
        const j = this.table[slot]!;
        if (j < 0) {
          this.table[slot] = i;
          this.ids[i] = i;
          break;
        }
        if (this.hashes[j] === h && this.equal(lines[j]!, line)) {
          this.ids[i] = j;
          break;
        }
        slot = (slot + 1) & this.mask;
      }
    }
    // Counting sort of line positions by number (CSR layout).
    this.starts = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) this.starts[this.ids[i]! + 1]!++;
    for (let i = 1; i <= n; i++) this.starts[i]! += this.starts[i - 1]!;
    this.at = new Int32Array(n);
    const fill = this.starts.slice(0, n);
    for (let i = 0; i < n; i++) this.at[fill[this.ids[i]!]!++] = i;
  }

  private equal(a: string, b: string): boolean {
    return a === b || (this.loose && normalizeWs(a) === normalizeWs(b));
  }

  /** The number of a (pattern) line, or -1 when no line of the file is equal to it. */
  idOf(line: string): number {
    const h = lineHash(line, this.loose);
    let slot = h & this.mask;
    for (;;) {
      const j = this.table[slot]!;
      if (j < 0) return -1;
      if (this.hashes[j] === h && this.equal(this.lines[j]!, line)) return j;
      slot = (slot + 1) & this.mask;
    }
  }

  count(id: number): number {
    return id < 0 ? 0 : this.starts[id + 1]! - this.starts[id]!;
  }

  /** The 0-based positions of `id`, ascending: `at[from] … at[to - 1]`. */
  positions(id: number): { at: Int32Array; from: number; to: number } {
    return { at: this.at, from: this.starts[id]!, to: this.starts[id + 1]! };
  }
}

/** How lines are compared: as they are, or with runs of whitespace as one space (each line is indexed by its key). */
type Compare = 'exact' | 'loose';
const EXACT: Compare = 'exact';
const LOOSE: Compare = 'loose';

export interface ApplyHunksOptions {
  /** Largest fuzz allowed (default DEFAULT_MAX_FUZZ; 0 refuses every hunk whose context does not all match). */
  maxFuzz?: number;
  /** Also compare ignoring whitespace when the exact comparison finds nothing (default true). */
  looseWhitespace?: boolean;
}

/** Applies the hunks of one file to its text, in order; hunks that cannot be placed are reported and skipped. */
export function applyHunksLikePatch(text: string, hunks: HunkInput[], opts: ApplyHunksOptions = {}): ApplyHunksResult {
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

  // The indexes, made when first needed (the whitespace-insensitive one only when an exact search failed).
  const indexes = new Map<Compare, LineIndex>();
  const indexFor = (cmp: Compare): LineIndex => {
    let ix = indexes.get(cmp);
    if (!ix) indexes.set(cmp, (ix = new LineIndex(input, cmp === LOOSE)));
    return ix;
  };

  /** patch_match: do the pattern's lines [prefixFuzz, length − suffixFuzz) equal the file's from line `base` on? */
  const matches = (ids: Int32Array, pattern: Int32Array, base: number, prefixFuzz: number, suffixFuzz: number): boolean => {
    const last = pattern.length - suffixFuzz;
    for (let p = prefixFuzz; p < last; p++) {
      const i = base + p - 1;
      if (i < 0 || i >= inputLines || ids[i] !== pattern[p]) return false;
    }
    return true;
  };

  /** locate_hunk: the input line where the hunk's pattern starts, or 0. */
  const locate = (h: PreparedHunk, fuzz: number, cmp: Compare): { where: number; offset: number } | undefined => {
    const patLines = h.pattern.length;
    const firstGuess = h.first + inOffset;
    if (patLines === 0) return { where: firstGuess, offset: 0 };
    const index = indexFor(cmp);
    const ids = index.ids;
    const pattern = Int32Array.from(h.pattern, (l) => index.idOf(l));
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
      return lastFrozen <= h.prefix && offset <= maxPos && matches(ids, pattern, firstGuess + offset, 0, suffixFuzz) ? { where: firstGuess + offset, offset } : undefined;
    }
    if (prefixFuzz < 0) prefixFuzz = 0;
    if (suffixFuzz < 0) {
      // Fewer trailing than leading context lines: the hunk ends the file.
      const offset = firstGuess - (inputLines - patLines + 1);
      return offset <= maxNeg && matches(ids, pattern, firstGuess - offset, prefixFuzz, 0) ? { where: firstGuess - offset, offset: -offset } : undefined;
    }
    const minOffset = maxPos < 0 ? firstGuess - maxWhere : maxNeg < 0 ? firstGuess - minWhere : 0;
    // GNU tries, for offset = minOffset … maxOffset, firstGuess + offset (while offset ≤ maxPos), then
    // firstGuess − offset (while offset ≤ maxNeg): an ascending run of positions and a descending one.
    const lastUp = Math.min(maxOffset, maxPos);
    const lastDown = Math.min(maxOffset, maxNeg);
    const last = patLines - suffixFuzz;
    if (last <= prefixFuzz) {
      // No line is compared: the first position tried matches.
      if (minOffset <= lastUp) return { where: firstGuess + minOffset, offset: minOffset };
      if (minOffset <= lastDown) return { where: firstGuess - minOffset, offset: -minOffset };
      return undefined;
    }
    // Only positions where the rarest compared line of the pattern is in its place can match.
    let anchor = prefixFuzz;
    for (let p = prefixFuzz; p < last; p++) {
      if (pattern[p]! < 0) return undefined; // a line the file does not have: no position matches
      if (index.count(pattern[p]!) < index.count(pattern[anchor]!)) anchor = p;
    }
    const { at, from, to } = index.positions(pattern[anchor]!);
    // Candidate k starts at line at[k] − anchor + 1 (ascending in k).
    const whereOf = (k: number): number => at[k]! - anchor + 1;
    const firstAtOrAbove = (w: number): number => {
      let lo = from;
      let hi = to;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (whereOf(mid) < w) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    let up = minOffset <= lastUp ? firstAtOrAbove(firstGuess + minOffset) : to;
    let down = minOffset <= lastDown ? firstAtOrAbove(firstGuess - minOffset + 1) - 1 : from - 1;
    for (;;) {
      const upOffset = up < to && whereOf(up) - firstGuess <= lastUp ? whereOf(up) - firstGuess : Infinity;
      const downOffset = down >= from && firstGuess - whereOf(down) <= lastDown ? firstGuess - whereOf(down) : Infinity;
      if (upOffset === Infinity && downOffset === Infinity) return undefined;
      // At equal offsets GNU tries the upward position first.
      if (upOffset <= downOffset) {
        if (matches(ids, pattern, firstGuess + upOffset, prefixFuzz, suffixFuzz)) return { where: firstGuess + upOffset, offset: upOffset };
        up++;
      } else {
        if (matches(ids, pattern, firstGuess - downOffset, prefixFuzz, suffixFuzz)) return { where: firstGuess - downOffset, offset: -downOffset };
        down--;
      }
    }
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
