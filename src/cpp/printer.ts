/**
 * Turns the token stream into output lines exactly as `gcc -E -P` spaces
 * them (gcc's token streamer): a new output line starts at the first token
 * of a source line (not while collecting macro arguments, so a macro call
 * spread over lines prints on one line), indented to the token's column;
 * between tokens a space is printed when the source had whitespace there,
 * or — after a macro expansion boundary (a padding token) — when the next
 * token would otherwise paste onto the previous one.
 *
 * Each output line records where it came from (the source map).
 */
import type { CppMacroUse, SourceLocation, SourcePos } from '../support/source-location.js';
import { avoidPaste, PREV_WHITE, type Token } from './token.js';

const NO_EXPANSION: readonly never[] = Object.freeze([]);

export class Printer {
  readonly lines: string[] = [];
  readonly origins: SourceLocation[] = [];
  /** Output tokens per line, for the asm-offsets reference check and tests. */
  readonly lineTokens: Token[][] = [];

  private cur = '';
  private curTokens: Token[] = [];
  private curOrigin: SourceLocation | undefined;
  /** Macro uses on the current line, in order of use. */
  private curMacros: CppMacroUse[] = [];
  private printed = false;
  private prev: Token | null = null;
  private source: Token | null = null;
  private avoidPasteNext = false;

  /** gcc's cb_line_change: the first token of a source line starts an output line. */
  lineChange(tok: Token, pos: SourcePos, includeStack: readonly SourcePos[]): void {
    this.endLine();
    this.prev = null;
    this.source = null;
    this.cur = tok.col > 2 ? ' '.repeat(tok.col - 2) : '';
    this.curOrigin = { pos, includeStack, cppStack: NO_EXPANSION, gasStack: NO_EXPANSION };
    this.printed = true;
  }

  /** Records a macro expanded on the current line (for the source map); a repeated use of the same macro is noted once. */
  noteMacro(name: string, at: SourcePos): void {
    if (this.curMacros[this.curMacros.length - 1]?.macro !== name) this.curMacros.push({ macro: name, at });
  }

  /** gcc's token_streamer::stream without line markers. */
  stream(tok: Token): void {
    if (tok.kind === 'padding') {
      this.avoidPasteNext = true;
      if (this.source === null || (!(this.source.flags & PREV_WHITE) && (tok.source ?? null) === null)) this.source = tok.source ?? null;
      return;
    }
    if (tok.kind === 'eof') return;
    if (this.avoidPasteNext) {
      const source = this.source ?? tok;
      if (source.flags & PREV_WHITE || (this.prev && avoidPaste(this.prev, tok)) || (this.prev === null && tok.kind === 'punct' && tok.text === '#')) this.cur += ' ';
    } else if (tok.flags & PREV_WHITE) this.cur += ' ';
    this.avoidPasteNext = false;
    this.source = null;
    this.prev = tok;
    this.cur += tok.text;
    this.curTokens.push(tok);
    this.printed = true;
  }

  endLine(): void {
    if (!this.printed) return;
    // gcc prints lines whose tokens all expanded to nothing as blank lines;
    // they carry no assembly, so they are dropped here.
    if (this.curTokens.length > 0 && this.curOrigin) {
      this.lines.push(this.cur);
      this.lineTokens.push(this.curTokens);
      // The line's cppStack: latest use first (innermost first for nested uses).
      this.origins.push(this.curMacros.length ? { ...this.curOrigin, cppStack: this.curMacros.reverse() } : this.curOrigin);
    }
    this.cur = '';
    this.curTokens = [];
    this.curMacros = [];
    this.printed = false;
  }
}
