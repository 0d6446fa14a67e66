/**
 * Splits a source file into logical lines of preprocessing tokens, the way
 * GNU cpp's lexer does in assembler-with-cpp mode (and in C mode for the
 * few C files seamlab reads): backslash-newline splices (also with blanks
 * between the backslash and the newline, which gcc accepts with a warning),
 * `/* *\/` and `//` comments as whitespace, a block comment that spans
 * lines keeps the following tokens on the same logical line.
 *
 * Assembler mode differs from C: `$` is not an identifier character, and a
 * `'` or `"` without its closing quote on the line is not an error but one
 * "other" token running to the end of the line (so `# don't` survives).
 *
 * A lexed file is immutable and cached by content hash, so a header read
 * by many .S files (or many profiles) is lexed once per process.
 */
import { BOL, makeToken, PREV_WHITE, type Token } from './token.js';

export type LexMode = 'asm' | 'c';

export interface LogicalLine {
  tokens: Token[];
  /** Physical line where the logical line starts. */
  line: number;
  /** Offset of the line start in the cleaned text (for re-lexing #include operands). */
  start: number;
  /** Offset just past the end of the logical line in the cleaned text. */
  end: number;
}

export interface LexedFile {
  lines: LogicalLine[];
  /** Splice-free text the tokens were lexed from. */
  cleaned: string;
  /** Problems the lexer found (unterminated comment, backslash-space-newline…). */
  warnings: { line: number; col: number; message: string }[];
  errors: { line: number; col: number; message: string }[];
  /** Maps an offset of `cleaned` to its physical line and column. */
  position(offset: number): { line: number; col: number };
}

const PUNCT3 = new Set(['...', '<<=', '>>=']);
const PUNCT2 = new Set(['->', '++', '--', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '*=', '/=', '%=', '+=', '-=', '&=', '^=', '|=', '##']);
const PUNCT1 = new Set(['[', ']', '(', ')', '{', '}', '.', '&', '*', '+', '-', '~', '!', '/', '%', '<', '>', '^', '|', '?', ':', ';', '=', ',', '#']);

function isIdStart(c: number, dollar: boolean): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (dollar && c === 36);
}
function isIdChar(c: number, dollar: boolean): boolean {
  return isIdStart(c, dollar) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Removes line splices; returns the cleaned text and, for each physical
 * line, the cleaned offset where it starts (a spliced continuation starts
 * right after the removed backslash-newline).
 */
function clean(text: string, warnings: LexedFile['warnings']): { cleaned: string; lineStarts: number[] } {
  if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
  const lineStarts = [0];
  if (!text.includes('\\')) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
    return { cleaned: text, lineStarts };
  }
  const parts: string[] = [];
  let outLen = 0;
  let from = 0;
  let phys = 1;
  let rawLineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      phys++;
      rawLineStart = i + 1;
      lineStarts.push(outLen + (i + 1 - from));
      continue;
    }
    if (c !== 92) continue;
    let j = i + 1;
    while (j < text.length && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
    if (j < text.length && text.charCodeAt(j) !== 10) continue;
    if (j > i + 1) warnings.push({ line: phys, col: i - rawLineStart + 1, message: 'backslash and newline separated by space' });
    if (j + 1 >= text.length) warnings.push({ line: phys, col: i - rawLineStart + 1, message: 'backslash-newline at end of file' });
    parts.push(text.slice(from, i));
    outLen += i - from;
    from = j + 1;
    i = j;
    phys++;
    rawLineStart = j + 1;
    lineStarts.push(outLen);
  }
  parts.push(text.slice(from));
  return { cleaned: parts.join(''), lineStarts };
}

export function lex(text: string, mode: LexMode): LexedFile {
  const warnings: LexedFile['warnings'] = [];
  const errors: LexedFile['errors'] = [];
  const { cleaned: s, lineStarts } = clean(text, warnings);
  const dollar = mode === 'c';
  const n = s.length;

  // physical line lookup: lineStarts is sorted; advance a cursor while lexing forward.
  let li = 0;
  const lineOf = (off: number): number => {
    while (li + 1 < lineStarts.length && lineStarts[li + 1]! <= off) li++;
    while (li > 0 && lineStarts[li]! > off) li--;
    return li;
  };
  const position = (off: number): { line: number; col: number } => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: off - lineStarts[lo]! + 1 };
  };

  const lines: LogicalLine[] = [];
  let i = 0;
  while (i < n) {
    const lineStart = i;
    const startLine = lineOf(i) + 1;
    const tokens: Token[] = [];
    let flags = BOL;
    let lineEnd: number;
    for (;;) {
      if (i >= n) {
        lineEnd = n;
        break;
      }
      const c = s.charCodeAt(i);
      if (c === 10) {
        lineEnd = i;
        i++;
        break;
      }
      if (c === 32 || c === 9 || c === 12 || c === 11 || c === 0) {
        flags |= PREV_WHITE;
        i++;
        continue;
      }
      if (c === 47 /* / */ && s.charCodeAt(i + 1) === 42 /* * */) {
        const close = s.indexOf('*/', i + 2);
        if (close < 0) {
          const p = position(i);
          errors.push({ line: p.line, col: p.col, message: 'unterminated comment' });
          i = n;
        } else i = close + 2;
        flags |= PREV_WHITE;
        continue;
      }
      if (c === 47 && s.charCodeAt(i + 1) === 47) {
        const nl = s.indexOf('\n', i);
        i = nl < 0 ? n : nl;
        flags |= PREV_WHITE;
        continue;
      }
      const line = lineOf(i) + 1;
      const col = i - lineStarts[line - 1]! + 1;
      const start = i;
      let kind: Token['kind'];
      if (isIdStart(c, dollar)) {
        // L'x', L"x" (and u/U/u8 in C) are one token in GNU cpp.
        i++;
        while (i < n && isIdChar(s.charCodeAt(i), dollar)) i++;
        const word = s.slice(start, i);
        const q = s.charCodeAt(i);
        if ((q === 39 || q === 34) && (word === 'L' || (mode === 'c' && (word === 'u' || word === 'U' || word === 'u8')))) {
          i = scanQuoted(s, i, q);
          kind = i < 0 ? 'other' : q === 39 ? 'char' : 'string';
          if (i < 0) i = lineEndOf(s, start);
        } else kind = 'name';
      } else if (c === 60 /* < */ && wantsHeaderName(tokens)) {
        // A header-name: `<…>` after #include (or inside __has_include) is one token,
        // so nothing in it is macro-expanded (gcc: angled_headers).
        const close = s.indexOf('>', i + 1);
        const eol = lineEndOf(s, i);
        if (close >= 0 && close < eol) {
          i = close + 1;
          kind = 'header';
        } else {
          i += 1;
          kind = 'punct';
        }
      } else if (isDigit(c) || (c === 46 && isDigit(s.charCodeAt(i + 1)))) {
        i++;
        for (;;) {
          const d = s.charCodeAt(i);
          if ((d === 43 || d === 45) && /[eEpP]/.test(s[i - 1]!)) i++;
          else if (isIdChar(d, dollar) || d === 46) i++;
          else break;
        }
        kind = 'number';
      } else if (c === 39 || c === 34) {
        const end = scanQuoted(s, i, c);
        if (end < 0) {
          // Unterminated: gcc makes the rest of the line one CPP_OTHER token
          // (an error in C, accepted silently in assembler).
          i = lineEndOf(s, i);
          kind = 'other';
          if (mode === 'c') {
            warnings.push({ line, col, message: `missing terminating ${s[start]} character` });
          }
        } else {
          i = end;
          kind = c === 39 ? 'char' : 'string';
        }
      } else {
        const three = s.slice(i, i + 3);
        const two = s.slice(i, i + 2);
        if (PUNCT3.has(three)) i += 3;
        else if (PUNCT2.has(two)) i += 2;
        else if (PUNCT1.has(s[i]!)) i += 1;
        else {
          i += 1;
          tokens.push(makeToken('other', s.slice(start, i), flags, line, col));
          flags = 0;
          continue;
        }
        kind = 'punct';
      }
      tokens.push(makeToken(kind, s.slice(start, i), flags, line, col));
      flags = 0;
    }
    lines.push({ tokens, line: startLine, start: lineStart, end: lineEnd });
    if (i >= n) break;
  }
  return { lines, cleaned: s, warnings, errors, position };
}

const INCLUDE_DIRECTIVES = new Set(['include', 'include_next', 'import']);
const IF_DIRECTIVES = new Set(['if', 'elif']);

/** Whether `<` at this point of a line starts a header-name (gcc lexes those only there). */
function wantsHeaderName(tokens: Token[]): boolean {
  const first = tokens[0];
  if (!first || first.kind !== 'punct' || first.text !== '#') return false;
  const dir = tokens[1];
  if (!dir || dir.kind !== 'name') return false;
  if (tokens.length === 2 && INCLUDE_DIRECTIVES.has(dir.text)) return true;
  if (!IF_DIRECTIVES.has(dir.text) || tokens.length < 4) return false;
  const paren = tokens[tokens.length - 1]!;
  const op = tokens[tokens.length - 2]!;
  return paren.text === '(' && (op.text === '__has_include' || op.text === '__has_include_next');
}

/** End of the quoted literal starting at `i` (index after the closing quote), or -1 when the line ends first. */
function scanQuoted(s: string, i: number, quote: number): number {
  let j = i + 1;
  for (;;) {
    if (j >= s.length) return -1;
    const c = s.charCodeAt(j);
    if (c === 10) return -1;
    if (c === 92) {
      if (s.charCodeAt(j + 1) === 10) return -1;
      j += 2;
      continue;
    }
    if (c === quote) return j + 1;
    j++;
  }
}

function lineEndOf(s: string, i: number): number {
  const nl = s.indexOf('\n', i);
  return nl < 0 ? s.length : nl;
}

const caches: Record<LexMode, Map<string, LexedFile>> = { asm: new Map(), c: new Map() };

/**
 * Lexes with a per-process cache keyed by content: the map hashes the text
 * (V8 keeps a string's hash once computed), so the same header read through
 * any path, revision or profile is lexed once.
 */
export function lexCached(text: string, mode: LexMode): LexedFile {
  const cache = caches[mode];
  let f = cache.get(text);
  if (!f) {
    f = lex(text, mode);
    cache.set(text, f);
  }
  return f;
}

/** Lexes a one-line fragment (used for pasting and builtin macro text). */
export function lexFragment(text: string, mode: LexMode): Token[] {
  const f = lex(text, mode);
  return f.lines.flatMap((l) => l.tokens);
}
