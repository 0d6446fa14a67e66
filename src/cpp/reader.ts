/**
 * The reading side of the preprocessor: the stack of files being read,
 * lexing line by line with directives recognised at the start of a line
 * (gcc's _cpp_lex_token), output line changes for the printer, include
 * frames and positioned errors. Directives themselves are the subclass's
 * (preprocessor.ts); macro expansion is the base class's (expand.ts).
 */
import { SeamlabError } from '../errors.js';
import { locationAt, type ErrorWhere, type SourceLocation, type SourcePos } from '../support/source-location.js';
import type { ReadonlyFs } from '../support/vfs.js';
import { MacroEngine } from './expand.js';
import type { FoundFile, SearchChain } from './include-search.js';
import { lexCached, type LexedFile, type LexMode, type LogicalLine } from './lexer.js';
import type { Macro } from './macro.js';
import { Printer } from './printer.js';
import { BOL, PREV_WHITE, type Token } from './token.js';
import type { CppDiagnostic } from './types.js';
import type { ErrorCode } from '../error-codes.js';

export interface CppConfig {
  mode: LexMode;
  chain: SearchChain;
  /** `-include` files, spelled as on the command line (tree-relative). */
  forcedIncludes: string[];
  /** `#define` lines processed before anything (gcc's <built-in> and -D). */
  predefines: string;
  /** `-fmacro-prefix-map=OLD=NEW` pairs applied to __FILE__ / __BASE_FILE__. */
  macroPrefixMap?: [string, string][];
  maxIncludeDepth?: number;
  maxExpansionTokens?: number;
  /** Seconds since the epoch for __DATE__/__TIME__ (gcc honours SOURCE_DATE_EPOCH the same way). */
  sourceDateEpoch?: number;
  /** Decides whether an include is entered (the asm-offsets scan skips C headers). */
  includeFilter?: (name: string, angled: boolean) => boolean;
  /** Names whose use is an error (asm-offsets entries seamlab could not compute), with why. */
  forbiddenNames?: Map<string, { message: string; hint: string; notes?: string[] }>;
  /** Lines of the main file whose conditional context is reported in `CppRun.probes`. */
  probeLines?: Set<number>;
}

/** The conditional context of a probed line. */
export interface LineProbe {
  /** The line is in a group that is not skipped. */
  live: boolean;
  /** Enclosing conditionals, outermost first, with the undefined names their conditions tested. */
  frames: { directive: string; at: SourcePos; undefinedNames: string[] }[];
}

export interface CppRun {
  lines: string[];
  origins: SourceLocation[];
  lineTokens: Token[][];
  diagnostics: CppDiagnostic[];
  /** Tree paths of the files read, in first-read order. */
  filesRead: string[];
  /** For CppConfig.probeLines: line → its conditional context. */
  probes: Map<number, LineProbe>;
}

export interface SourceFile extends FoundFile {
  lexed: LexedFile;
  text: string;
}

export interface IfFrame {
  directive: string;
  at: SourcePos;
  wasSkipping: boolean;
  /** A group of this conditional was taken (or the whole conditional is being skipped). */
  skipElses: boolean;
  sawElse: boolean;
  /** Names the conditions of this #if/#elif chain tested that were not defined. */
  undefinedNames: Set<string>;
}

export interface FileBuffer {
  file: SourceFile;
  lineIdx: number;
  line: LogicalLine | undefined;
  tokIdx: number;
  ifs: IfFrame[];
  includedAt: SourcePos | undefined;
  prev: FileBuffer | undefined;
  /** #line: presumed line = physical + delta; presumed file name. */
  lineDelta: number;
  presumedName: string;
  /** Depth for __INCLUDE_LEVEL__ (main file 0). */
  level: number;
}

const DIRECTIVE_EOF: Token = Object.freeze({ kind: 'eof', text: '', flags: 0, line: 0, col: 0 });
const MAX_SHOWN_FRAMES = 12;

export abstract class SourceReader extends MacroEngine {
  protected buffer!: FileBuffer;
  protected readonly printer = new Printer();
  protected readonly diagnostics: CppDiagnostic[] = [];
  protected skipping = false;
  protected readonly filesRead: string[] = [];
  private readonly fileCache = new Map<string, SourceFile>();
  protected mainFile!: SourceFile;
  protected readonly maxIncludeDepth: number;
  /** While a condition is evaluated: the undefined names it looks at. */
  protected condNames: Set<string> | undefined;
  protected readonly probes = new Map<number, LineProbe>();
  /** Identifiers poisoned by #pragma GCC poison. */
  protected readonly poisoned = new Set<string>();

  protected constructor(
    protected readonly fs: ReadonlyFs,
    protected readonly config: CppConfig,
  ) {
    super(config.mode, { maxExpansionTokens: config.maxExpansionTokens ?? 2_000_000 });
    this.maxIncludeDepth = config.maxIncludeDepth ?? 200;
  }

  /** gcc's _cpp_handle_directive: true when the line was a directive (consumed). */
  protected abstract handleDirective(): boolean;

  // ---- files -----------------------------------------------------------

  protected openFile(f: FoundFile): SourceFile | undefined {
    const key = `${f.tree}\0${f.spelled}\0${f.dirIndex}`;
    const cached = this.fileCache.get(key);
    if (cached) return cached;
    const text = this.fs.readFile(f.tree);
    if (text === undefined) return undefined;
    if (!this.filesRead.includes(f.tree)) this.filesRead.push(f.tree);
    const sf: SourceFile = { ...f, text, lexed: lexCached(text, this.mode) };
    for (const e of sf.lexed.errors) {
      throw new SeamlabError('CPP_LEX_ERROR', e.message, 'close the comment', { where: locationAt({ file: f.tree, line: e.line, column: e.col }) });
    }
    for (const w of sf.lexed.warnings) this.warnAt({ file: f.tree, line: w.line, column: w.col }, w.message);
    this.fileCache.set(key, sf);
    return sf;
  }

  protected pushBuffer(file: SourceFile, includedAt: SourcePos | undefined): void {
    const prev = this.buffer as FileBuffer | undefined;
    this.buffer = { file, lineIdx: 0, line: undefined, tokIdx: 0, ifs: [], includedAt, prev, lineDelta: 0, presumedName: file.spelled, level: !prev ? 0 : includedAt?.file === '<command-line>' ? 1 : prev.level + 1 };
  }

  protected popBuffer(): void {
    const b = this.buffer;
    const open = b.ifs[b.ifs.length - 1];
    if (open) {
      throw new SeamlabError('CPP_UNTERMINATED_CONDITIONAL', `unterminated #${open.directive}`, `add the matching #endif to ${b.file.tree}`, {
        where: { ...locationAt(open.at, this.includeStack(b)), text: this.sourceLine(b.file, open.at.line) },
      });
    }
    this.buffer = b.prev!;
  }

  protected depth(): number {
    let n = 0;
    for (let b: FileBuffer | undefined = this.buffer; b; b = b.prev) n++;
    return n;
  }

  // ---- lexing with directives -------------------------------------------

  protected lexDirect(): Token {
    for (;;) {
      const b = this.buffer;
      const line = b.line;
      if (line && b.tokIdx < line.tokens.length) {
        let t = line.tokens[b.tokIdx++]!;
        if (b.tokIdx === 1 && this.parsingArgs === 2 && !(t.flags & PREV_WHITE)) t = { ...t, flags: t.flags | PREV_WHITE };
        return t;
      }
      if (this.inDirective) return DIRECTIVE_EOF;
      const lines = b.file.lexed.lines;
      if (b.lineIdx < lines.length) {
        const next = lines[b.lineIdx++]!;
        b.line = next;
        b.tokIdx = 0;
        if (this.config.probeLines && !b.prev && next.tokens[0] && this.config.probeLines.has(next.tokens[0].line)) {
          this.probes.set(next.tokens[0].line, { live: !this.skipping, frames: b.ifs.map((f) => ({ directive: f.directive, at: f.at, undefinedNames: [...f.undefinedNames] })) });
        }
        // A skipped group needs only its directives.
        if (this.skipping && !(next.tokens[0]?.kind === 'punct' && next.tokens[0].text === '#')) b.tokIdx = next.tokens.length;
        continue;
      }
      b.line = undefined;
      if (this.parsingArgs) return { kind: 'eof', text: '', flags: 0, line: 0, col: 0 };
      if (b.prev) {
        this.popBuffer();
        continue;
      }
      return { kind: 'eof', text: '', flags: BOL, line: 0, col: 0 };
    }
  }

  protected lexToken(): Token {
    for (;;) {
      const t = this.lookaheads.length ? this.lookaheads.pop()! : this.lexDirect();
      if (t.flags & BOL) {
        if (t.kind === 'punct' && t.text === '#' && this.parsingArgs !== 1 && !this.inDirective) {
          if (this.handleDirective()) continue;
        }
        if (!this.skipping && t.kind !== 'eof' && this.parsingArgs === 0) {
          this.printer.lineChange(t, { file: this.buffer.file.tree, line: t.line }, this.includeStack());
        }
      }
      if (this.inDirective) return t;
      if (!this.skipping || t.kind === 'eof') return t;
    }
  }

  protected basePos(line: number): SourcePos {
    return { file: this.buffer.file.tree, line };
  }

  protected curLine(): number {
    const l = this.buffer.line;
    if (!l) return 1;
    const t = l.tokens[Math.max(0, this.buffer.tokIdx - 1)];
    return t ? t.line : l.line;
  }

  protected includeStack(b: FileBuffer = this.buffer): SourcePos[] {
    const out: SourcePos[] = [];
    for (let x: FileBuffer | undefined = b; x; x = x.prev) if (x.includedAt) out.push(x.includedAt);
    return out;
  }

  protected sourceLine(f: SourceFile, line: number): string | undefined {
    return f.text.split('\n')[line - 1];
  }

  protected where(line = this.curLine()): ErrorWhere {
    return { pos: { file: this.buffer.file.tree, line }, includeStack: this.includeStack(), cppStack: this.macroStack(), gasStack: [], text: this.sourceLine(this.buffer.file, line) };
  }

  protected error(code: ErrorCode, message: string, hint: string, notes?: string[]): SeamlabError {
    const where = this.where();
    const extra: string[] = [];
    // A runaway recursion has hundreds of identical frames: show the innermost ones.
    const frames = where.cppStack.length + where.includeStack.length;
    if (frames > MAX_SHOWN_FRAMES) {
      extra.push(`${frames - MAX_SHOWN_FRAMES} outer frames not shown`);
      where.cppStack = where.cppStack.slice(0, MAX_SHOWN_FRAMES);
      where.includeStack = where.includeStack.slice(0, Math.max(0, MAX_SHOWN_FRAMES - where.cppStack.length));
    }
    return new SeamlabError(code, message, hint, { where, notes: [...(notes ?? []), ...extra] });
  }

  protected warnAt(pos: SourcePos, message: string): void {
    this.diagnostics.push({ severity: 'warning', message, where: locationAt(pos, this.buffer ? this.includeStack() : []) });
  }

  protected warn(message: string): void {
    this.diagnostics.push({ severity: 'warning', message, where: this.where() });
  }

  protected onMacroExpanded(m: Macro, at: SourcePos): void {
    this.printer.noteMacro(m.name, at);
  }

  protected onNameLookup(name: string): void {
    if (this.condNames && !this.macros.has(name) && name !== 'defined') this.condNames.add(name);
    if (this.poisoned.has(name) && !this.skipping) throw this.error('CPP_POISONED', `attempt to use poisoned "${name}"`, 'the headers forbid this identifier (#pragma GCC poison)');
    const f = this.config.forbiddenNames?.get(name);
    if (f && !this.skipping) throw new SeamlabError('CPP_FORBIDDEN_NAME', f.message, f.hint, { where: this.where(), notes: f.notes });
  }

}
