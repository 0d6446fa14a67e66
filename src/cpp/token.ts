/**
 * Preprocessing tokens, as the C standard (and GNU cpp) defines them.
 *
 * The token model follows GNU cpp's because seamlab's output must be
 * token-for-token what `gcc -E` prints, and gcc decides where a space goes
 * from per-token flags (whitespace before the token, first on its line) and
 * from "padding" pseudo-tokens that macro expansion inserts. Tokens are
 * immutable once made: marking a token unexpandable (the "blue paint" rule)
 * makes a copy.
 */

export type TokenKind =
  | 'name'
  | 'number'
  | 'string'
  | 'char'
  /** `<...>` after #include (only lexed in that context). */
  | 'header'
  | 'punct'
  /** A character that is no other token (`$`, `@`, `\`, unterminated quotes in assembler mode). */
  | 'other'
  /** Zero-width marker from macro expansion that only influences spacing. */
  | 'padding'
  /** A macro parameter inside a replacement list. */
  | 'param'
  | 'eof';

/** Whitespace (or a comment) precedes the token. */
export const PREV_WHITE = 1 << 0;
/** First token of a source line. */
export const BOL = 1 << 1;
/** Parameter operand of `#` in a replacement list. */
export const STRINGIFY_ARG = 1 << 2;
/** Left operand of `##` in a replacement list. */
export const PASTE_LEFT = 1 << 3;
/** Painted blue: a macro name met inside its own expansion; never expanded again. */
export const NO_EXPAND = 1 << 4;
/** The `##` that followed this token had whitespace before it (kept for macro comparison). */
export const SP_PREV_WHITE = 1 << 5;

export interface Token {
  readonly kind: TokenKind;
  /** Spelling (for strings and chars, with the quotes). Empty for padding/eof. */
  readonly text: string;
  readonly flags: number;
  /** 1-based physical line in the file the token was lexed from. */
  readonly line: number;
  /** 1-based byte column (a tab counts as one column, as in gcc's line maps). */
  readonly col: number;
  /** For padding: the token whose PREV_WHITE decides the spacing (null = avoid paste only). */
  readonly source?: Token | null;
  /** For param tokens: 1-based parameter index. */
  readonly argNo?: number;
}

export function makeToken(kind: TokenKind, text: string, flags: number, line: number, col: number): Token {
  return { kind, text, flags, line, col };
}

export function withFlags(t: Token, flags: number): Token {
  return flags === t.flags ? t : { ...t, flags };
}

/** A padding token whose spacing comes from `source`. */
export function padding(source: Token | null): Token {
  return { kind: 'padding', text: '', flags: 0, line: source?.line ?? 0, col: source?.col ?? 0, source };
}

/** The padding GNU cpp pushes after a macro expansion or an argument: "avoid pasting, no whitespace of its own". */
export const AVOID_PASTE: Token = Object.freeze({ kind: 'padding', text: '', flags: 0, line: 0, col: 0, source: null });

/** End of a macro argument (collect_args terminates each argument with one). */
export const END_ARG: Token = Object.freeze({ kind: 'eof', text: '', flags: 0, line: 0, col: 0 });

/** Punctuators that GNU cpp's paste-avoidance treats as "can be followed by =". */
const PASTES_WITH_EQ = new Set(['=', '!', '>', '<', '+', '-', '*', '/', '%', '&', '|', '^', '>>', '<<']);

/**
 * Whether printing `b` right after `a` would lex differently (GNU cpp's
 * cpp_avoid_paste): then the printer separates them with a space.
 */
export function avoidPaste(a: Token, b: Token): boolean {
  const c = b.kind === 'punct' ? b.text[0]! : '';
  if (a.kind === 'punct') {
    if (c === '=' && PASTES_WITH_EQ.has(a.text)) return true;
    switch (a.text) {
      case '>':
        return c === '>';
      case '<':
        return c === '<' || c === '%' || c === ':';
      case '+':
        return c === '+';
      case '-':
        return c === '-' || c === '>';
      case '/':
        return c === '/' || c === '*';
      case '%':
        return c === ':' || c === '%';
      case '&':
        return c === '&';
      case '|':
        return c === '|';
      case ':':
        return c === ':' || c === '>';
      case '->':
        return c === '*';
      case '.':
        return c === '.' || c === '%' || b.kind === 'number';
      case '#':
        return c === '#' || c === '%';
      case '<=':
        return c === '>';
      default:
        return false;
    }
  }
  switch (a.kind) {
    case 'name':
      return b.kind === 'name' || b.kind === 'char' || b.kind === 'string';
    case 'number':
      return b.kind === 'number' || b.kind === 'name' || b.kind === 'char' || c === '.' || c === '+' || c === '-';
    case 'other':
      return a.text[0] === '\\' && b.kind === 'name';
    default:
      return false;
  }
}
