/**
 * The C preprocessor proper: directives (#define, #include, conditionals,
 * #line, #pragma, #error), builtin macros, and the run over a main file —
 * on top of the file reader (reader.ts) and the macro engine (expand.ts).
 *
 * It is one run over one main file with a given configuration (include
 * chain, forced includes, predefined macros) — see `environment.ts` for how
 * that configuration is derived from a kernel tree the way Kbuild does.
 */
import { SeamlabError } from '../errors.js';
import { locationAt, type SourcePos } from '../support/source-location.js';
import type { ReadonlyFs } from '../support/vfs.js';
import { evaluateIf, IfExprError, type ExprHost, type ExprToken } from './expr.js';
import { includeGuard } from './include-guard.js';
import { searchInclude, type IncludeKind } from './include-search.js';
import { lexCached, lexFragment, type LogicalLine } from './lexer.js';
import { MacroDefinitionError, parseDefinition, sameDefinition, type BuiltinKind, type Macro } from './macro.js';
import { SourceReader, type CppConfig, type CppRun, type IfFrame, type SourceFile } from './reader.js';
import { PREV_WHITE, type Token } from './token.js';
export type { CppConfig, CppRun, LineProbe } from './reader.js';
export { includeGuard } from './include-guard.js';

const COND_DIRECTIVES = new Set(['if', 'ifdef', 'ifndef', 'elif', 'elifdef', 'elifndef', 'else', 'endif']);
const KNOWN_DIRECTIVES = new Set([...COND_DIRECTIVES, 'define', 'undef', 'include', 'include_next', 'import', 'line', 'error', 'warning', 'pragma', 'ident', 'sccs', 'assert', 'unassert']);
const BUILTINS: [string, BuiltinKind][] = [
  ['__LINE__', 'LINE'],
  ['__FILE__', 'FILE'],
  ['__BASE_FILE__', 'BASE_FILE'],
  ['__FILE_NAME__', 'FILE_NAME'],
  ['__INCLUDE_LEVEL__', 'INCLUDE_LEVEL'],
  ['__COUNTER__', 'COUNTER'],
  ['__DATE__', 'DATE'],
  ['__TIME__', 'TIME'],
  ['__TIMESTAMP__', 'TIMESTAMP'],
  ['_Pragma', 'PRAGMA'],
  ['__has_include', 'HAS_INCLUDE'],
  ['__has_include_next', 'HAS_INCLUDE_NEXT'],
];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Parsed #define lines, per lexed line (lexed files are cached and immutable). */
const defineCache = new WeakMap<LogicalLine, Macro>();

export class Preprocessor extends SourceReader {
  private counter = 0;
  private readonly onceFiles = new Set<string>();
  private readonly pushed = new Map<string, (Macro | undefined)[]>();

  constructor(fs: ReadonlyFs, config: CppConfig) {
    super(fs, config);
    for (const [name, builtin] of BUILTINS) {
      this.macros.set(name, { name, funLike: false, params: [], variadic: false, body: [], definedAt: { file: '<built-in>', line: 0 }, builtin, disabled: false });
    }
  }

  /** Preprocesses `mainPath` (tree-relative, as given on the command line). */
  run(mainPath: string): CppRun {
    const main = this.openFile({ tree: mainPath, spelled: mainPath, dirIndex: -2 });
    if (!main) {
      throw new SeamlabError('CPP_NO_SUCH_FILE', `${mainPath}: no such file in this revision`, 'give a path relative to the kernel tree root, e.g. arch/x86/virt/vmx/tdx/seamcall.S');
    }
    this.mainFile = main;
    this.pushBuffer(main, undefined);
    // Predefined macros come first, as gcc's <built-in> and command line.
    this.runPredefines();
    // -include files are processed as if included at the top of the main file, in order;
    // the last one given is entered first because each is pushed on top of the stack.
    for (const spec of [...this.config.forcedIncludes].reverse()) {
      const r = searchInclude(this.fs, this.config.chain, spec, false, 'include', { tree: '', spelled: './', dirIndex: -1 });
      if (!r.found) {
        throw new SeamlabError('CPP_MISSING_INCLUDE', `${spec}: no such file (forced include)`, 'the tree lacks a header the build system force-includes; check the revision', { notes: [`searched: ${r.searched.join(', ')}`] });
      }
      const f = this.openFile(r.found)!;
      this.pushBuffer(f, { file: '<command-line>', line: 1 });
    }
    for (;;) {
      const t = this.getToken();
      this.printer.stream(t);
      if (t.kind === 'eof') break;
    }
    this.printer.endLine();
    return { lines: this.printer.lines, origins: this.printer.origins, lineTokens: this.printer.lineTokens, diagnostics: this.diagnostics, filesRead: this.filesRead, probes: this.probes };
  }

  private runPredefines(): void {
    const lexed = lexCached(this.config.predefines, this.mode);
    for (const l of lexed.lines) {
      const toks = l.tokens;
      if (toks.length < 3 || toks[0]!.text !== '#') continue;
      const name = toks[2]!;
      const at = { file: '<built-in>', line: l.line };
      if (toks[1]!.text === 'define') this.define(name, toks.slice(3), at, l);
      else if (toks[1]!.text === 'undef') this.macros.delete(name.text);
    }
  }

  // ---- directives ---------------------------------------------------------

  protected handleDirective(): boolean {
    const wasParsingArgs = this.parsingArgs;
    const savedPrevent = this.preventExpansion;
    this.inDirective = true;
    this.parsingArgs = 0;
    this.preventExpansion = 0;
    let consumed = true;
    try {
      const dname = this.lexToken();
      if (dname.kind === 'name' && KNOWN_DIRECTIVES.has(dname.text)) {
        if (!this.skipping || COND_DIRECTIVES.has(dname.text)) {
          if (wasParsingArgs && (dname.text === 'include' || dname.text === 'include_next' || dname.text === 'import')) {
            throw this.error('CPP_DIRECTIVE_IN_ARGS', `#${dname.text} inside the arguments of a macro`, 'move the directive out of the macro call');
          }
          this.runDirective(dname.text, dname);
        }
      } else if (dname.kind === 'eof') {
        // The null directive.
      } else if (dname.kind === 'number' && this.mode !== 'asm') {
        this.lineMarker(dname);
      } else if (this.mode === 'asm') {
        // Not a directive: in assembly `#` may start a comment or a pseudo-op.
        consumed = false;
        this.backup(dname);
      } else if (!this.skipping) {
        throw this.error('CPP_BAD_DIRECTIVE', `invalid preprocessing directive #${dname.text}`, 'check the spelling of the directive');
      }
    } finally {
      if (consumed) this.skipRestOfLine();
      this.inDirective = false;
      if (wasParsingArgs) {
        this.parsingArgs = wasParsingArgs;
        this.preventExpansion = savedPrevent;
      }
    }
    return consumed;
  }

  private skipRestOfLine(): void {
    this.discardContexts();
    const b = this.buffer;
    if (b.line) b.tokIdx = b.line.tokens.length;
    this.lookaheads.length = 0;
  }

  private discardContexts(): void {
    while (this.inMacroContext()) this.dropContext();
  }

  private runDirective(name: string, dname: Token): void {
    switch (name) {
      case 'define': {
        const n = this.lexToken();
        this.checkMacroName(n, 'define');
        const rest: Token[] = [];
        for (let t = this.lexToken(); t.kind !== 'eof'; t = this.lexToken()) rest.push(t);
        this.define(n, rest, { file: this.buffer.file.tree, line: dname.line }, this.buffer.line);
        return;
      }
      case 'undef': {
        const n = this.lexToken();
        this.checkMacroName(n, 'undef');
        const m = this.macros.get(n.text);
        if (m?.builtin) this.warn(`undefining "${n.text}"`);
        this.macros.delete(n.text);
        this.checkEol('undef');
        return;
      }
      case 'include':
      case 'include_next':
      case 'import':
        this.doInclude(name === 'include_next' ? 'include_next' : 'include', name === 'import');
        return;
      case 'if': {
        this.condNames = new Set();
        const v = this.skipping ? false : this.evalIf();
        this.pushIf('if', v, dname.line);
        return;
      }
      case 'ifdef':
      case 'ifndef': {
        this.condNames = new Set();
        if (this.skipping) return this.pushIf(name, false, dname.line);
        const n = this.lexToken();
        this.checkMacroName(n, name);
        this.onNameLookup(n.text);
        this.checkEol(name);
        const d = this.macros.has(n.text);
        return this.pushIf(name, name === 'ifdef' ? d : !d, dname.line);
      }
      case 'elif':
      case 'elifdef':
      case 'elifndef':
        return this.doElif(name);
      case 'else':
        return this.doElse();
      case 'endif':
        return this.doEndif();
      case 'error':
      case 'warning': {
        const text = this.restOfLineText();
        if (name === 'error') {
          throw new SeamlabError('CPP_ERROR_DIRECTIVE', `#error ${text}`, 'the header rejects this configuration; check the profile or .config', { where: this.where(dname.line) });
        }
        this.warn(`#warning ${text}`);
        return;
      }
      case 'pragma':
        return this.doPragma();
      case 'line':
        return this.doLine();
      case 'ident':
      case 'sccs':
        // gcc does not copy #ident to assembler output.
        return;
      case 'assert':
      case 'unassert':
        throw this.error('CPP_UNSUPPORTED_DIRECTIVE', `#${name} (obsolete GCC assertions) is not supported`, 'remove the assertion');
    }
  }

  private checkMacroName(n: Token, directive: string): void {
    if (n.kind === 'eof') throw this.error('CPP_BAD_DIRECTIVE', `no macro name given in #${directive} directive`, `write #${directive} NAME`);
    if (n.kind !== 'name') throw this.error('CPP_BAD_DIRECTIVE', 'macro names must be identifiers', `write #${directive} NAME`);
    if (n.text === 'defined' && (directive === 'define' || directive === 'undef')) throw this.error('CPP_BAD_DIRECTIVE', `"defined" cannot be used as a macro name`, 'choose another name');
  }

  private checkEol(directive: string): void {
    const t = this.lexToken();
    if (t.kind !== 'eof') this.warn(`extra tokens at end of #${directive} directive`);
  }

  /** The rest of the directive line as written (for #error / #warning). */
  private restOfLineText(): string {
    const toks: Token[] = [];
    for (let t = this.lexToken(); t.kind !== 'eof'; t = this.lexToken()) toks.push(t);
    return toks.map((t, i) => (i > 0 && t.flags & PREV_WHITE ? ' ' : '') + t.text).join('');
  }

  private define(n: Token, rest: Token[], at: SourcePos, line?: LogicalLine): void {
    let m: Macro;
    try {
      const cached = line && defineCache.get(line);
      if (cached && cached.name === n.text && cached.definedAt.file === at.file) m = { ...cached, disabled: false };
      else {
        m = parseDefinition(n.text, rest, at, this.mode);
        if (line && this.lookaheads.length === 0) defineCache.set(line, m);
      }
    } catch (e) {
      if (e instanceof MacroDefinitionError) throw new SeamlabError('CPP_BAD_DEFINE', e.message, `fix the definition of ${n.text}`, { where: at.file === '<built-in>' ? locationAt(at) : this.where(at.line) });
      throw e;
    }
    const old = this.macros.get(n.text);
    if (old && !old.builtin && !sameDefinition(old, m)) {
      this.diagnostics.push({ severity: 'warning', message: `"${n.text}" redefined (previous definition at ${old.definedAt.file}:${old.definedAt.line})`, where: locationAt(at) });
    }
    if (old?.builtin && this.buffer) this.warn(`redefining builtin macro "${n.text}"`);
    this.macros.set(n.text, m);
  }

  // conditionals

  private pushIf(directive: string, value: boolean, line: number): void {
    const wasSkipping = this.skipping;
    this.buffer.ifs.push({ directive, at: { file: this.buffer.file.tree, line }, wasSkipping, skipElses: wasSkipping || value, sawElse: false, undefinedNames: this.condNames ?? new Set() });
    this.condNames = undefined;
    this.skipping = wasSkipping || !value;
  }

  private topIf(directive: string): IfFrame {
    const f = this.buffer.ifs[this.buffer.ifs.length - 1];
    if (!f) throw this.error('CPP_BAD_CONDITIONAL', `#${directive} without #if`, `remove the #${directive} or add the #if it belongs to`);
    return f;
  }

  private doElif(name: string): void {
    const f = this.topIf(name);
    if (f.sawElse) throw this.error('CPP_BAD_CONDITIONAL', `#${name} after #else`, 'move the #else to the end of the conditional', [`the #else belongs to the #${f.directive} at ${f.at.file}:${f.at.line}`]);
    if (f.wasSkipping || f.skipElses) {
      this.skipping = true;
      return;
    }
    let value: boolean;
    this.condNames = f.undefinedNames;
    if (name === 'elif') value = this.evalIf();
    else {
      const n = this.lexToken();
      this.checkMacroName(n, name);
      this.onNameLookup(n.text);
      this.checkEol(name);
      value = name === 'elifdef' ? this.macros.has(n.text) : !this.macros.has(n.text);
    }
    this.condNames = undefined;
    this.skipping = !value;
    if (value) f.skipElses = true;
  }

  private doElse(): void {
    const f = this.topIf('else');
    if (f.sawElse) throw this.error('CPP_BAD_CONDITIONAL', '#else after #else', 'remove the second #else', [`the first #else belongs to the #${f.directive} at ${f.at.file}:${f.at.line}`]);
    f.sawElse = true;
    this.skipping = f.wasSkipping || f.skipElses;
    f.skipElses = true;
  }

  private doEndif(): void {
    const f = this.topIf('endif');
    this.buffer.ifs.pop();
    this.skipping = f.wasSkipping;
  }

  private evalIf(): boolean {
    const next = (): ExprToken => {
      for (;;) {
        const t = this.getToken();
        if (t.kind === 'padding') continue;
        return toExprToken(t);
      }
    };
    const host: ExprHost = {
      next,
      nextUnexpanded: () => {
        this.preventExpansion++;
        try {
          return next();
        } finally {
          this.preventExpansion--;
        }
      },
      isDefined: (name) => {
        this.onNameLookup(name);
        return this.macros.has(name);
      },
      hasInclude: (t, isNext) => {
        const angled = t.kind === 'header';
        const name = t.text.slice(1, -1);
        return searchInclude(this.fs, this.config.chain, name, angled, isNext ? 'include_next' : 'include', this.buffer.file).found !== undefined;
      },
      warn: (m) => this.warn(m),
    };
    try {
      return evaluateIf(host);
    } catch (e) {
      if (e instanceof IfExprError) throw this.error('CPP_BAD_IF', e.message, 'fix the #if expression');
      throw e;
    }
  }

  // includes

  private doInclude(kind: IncludeKind, importOnce: boolean): void {
    let t = this.getToken();
    while (t.kind === 'padding') t = this.getToken();
    let name: string;
    let angled: boolean;
    if (t.kind === 'header') {
      name = t.text.slice(1, -1);
      angled = true;
    } else if (t.kind === 'string' && t.text.startsWith('"')) {
      name = t.text.slice(1, -1);
      angled = false;
    } else if (t.kind === 'punct' && t.text === '<') {
      name = '';
      for (;;) {
        const u = this.getToken();
        if (u.kind === 'padding') continue;
        if (u.kind === 'eof') throw this.error('CPP_BAD_INCLUDE', 'missing terminating > character', 'close the header name with >');
        if (u.kind === 'punct' && u.text === '>') break;
        if (name !== '' && u.flags & PREV_WHITE) name += ' ';
        name += u.text;
      }
      angled = true;
    } else {
      throw this.error('CPP_BAD_INCLUDE', `#include expects "FILENAME" or <FILENAME>`, 'write #include "file" or #include <file>');
    }
    const extra = this.getToken();
    if (extra.kind !== 'eof' && extra.kind !== 'padding') this.warn(`extra tokens at end of #${kind} directive`);
    if (name === '') throw this.error('CPP_BAD_INCLUDE', `empty filename in #${kind}`, 'name the header');
    const line = this.curLine();
    if (this.config.includeFilter && !this.config.includeFilter(name, angled)) return;
    if (this.depth() >= this.maxIncludeDepth) throw this.includeDepthError(line);
    const r = searchInclude(this.fs, this.config.chain, name, angled, kind, this.buffer.file);
    if (r.nextInPrimary) this.warn('#include_next in primary source file');
    if (!r.found) {
      throw this.error('CPP_MISSING_INCLUDE', `${name}: no such file`, angled ? 'the header is not in any -I directory of this revision; check the name or the tree' : 'the header is neither next to the including file nor in any -I directory', [
        `searched, in order: ${r.searched.join(', ')}`,
      ]);
    }
    const f = this.openFile(r.found)!;
    const id = contentKey(f);
    if (this.onceFiles.has(id)) return;
    if (importOnce) this.onceFiles.add(id);
    const guard = includeGuard(f.lexed);
    if (guard && this.macros.has(guard)) return;
    this.skipRestOfLine();
    this.pushBuffer(f, { file: this.buffer.file.tree, line });
  }

  private doLine(): void {
    const toks: Token[] = [];
    for (let t = this.getToken(); t.kind !== 'eof'; t = this.getToken()) if (t.kind !== 'padding') toks.push(t);
    const num = toks[0];
    if (!num || num.kind !== 'number' || !/^\d+$/.test(num.text)) throw this.error('CPP_BAD_DIRECTIVE', `"${num?.text ?? ''}" after #line is not a positive integer`, 'write #line NUMBER ["file"]');
    const physNext = this.curLine() + 1;
    this.buffer.lineDelta = Number(num.text) - physNext;
    const file = toks[1];
    if (file) {
      if (file.kind !== 'string') throw this.error('CPP_BAD_DIRECTIVE', `invalid filename "${file.text}"`, 'write #line NUMBER "file"');
      this.buffer.presumedName = JSON.parse(file.text) as string;
    }
  }

  /** `# 33 "file"` (C mode only; assembler mode passes such lines through, as gcc does). */
  private lineMarker(num: Token): void {
    const file = this.lexToken();
    this.buffer.lineDelta = Number(num.text) - (this.curLine() + 1);
    if (file.kind === 'string') this.buffer.presumedName = JSON.parse(file.text) as string;
  }

  private doPragma(): void {
    const ns = this.lexToken();
    if (ns.kind !== 'name') return;
    if (ns.text === 'once') {
      if (!this.buffer.prev) this.warn('#pragma once in main file');
      else this.onceFiles.add(contentKey(this.buffer.file));
      return;
    }
    if (ns.text === 'push_macro' || ns.text === 'pop_macro') {
      const toks: Token[] = [];
      for (let t = this.lexToken(); t.kind !== 'eof'; t = this.lexToken()) toks.push(t);
      const str = toks[1];
      if (toks[0]?.text !== '(' || str?.kind !== 'string' || toks[2]?.text !== ')') {
        this.warn(`invalid #pragma ${ns.text} directive`);
        return;
      }
      const name = str.text.slice(1, -1);
      const stack = this.pushed.get(name) ?? [];
      if (ns.text === 'push_macro') {
        const m = this.macros.get(name);
        stack.push(m ? { ...m, disabled: false } : undefined);
        this.pushed.set(name, stack);
      } else if (stack.length) {
        const m = stack.pop();
        if (m) this.macros.set(name, m);
        else this.macros.delete(name);
      }
      return;
    }
    if (ns.text === 'GCC') {
      const what = this.lexToken();
      if (what.text === 'error') throw new SeamlabError('CPP_ERROR_DIRECTIVE', `#pragma GCC error ${this.restOfLineText()}`, 'the header rejects this configuration', { where: this.where() });
      if (what.text === 'warning') this.warn(`#pragma GCC warning ${this.restOfLineText()}`);
      if (what.text === 'poison') {
        for (let t = this.lexToken(); t.kind !== 'eof'; t = this.lexToken()) if (t.kind === 'name') this.poisoned.add(t.text);
      }
    }
    // Other pragmas have no effect on assembler output.
  }

  // ---- builtins -----------------------------------------------------------

  protected builtinToken(m: Macro, nameTok: Token): Token | undefined | 'pragma' {
    const b = this.buffer;
    const mk = (text: string): Token => {
      const t = lexFragment(text, this.mode)[0]!;
      return { ...t, flags: 0, line: nameTok.line, col: nameTok.col };
    };
    const quote = (s: string): string => `"${s.replace(/[\\"]/g, (c) => '\\' + c).replace(/\n/g, '\\n')}"`;
    const remap = (s: string): string => {
      for (const [from, to] of this.config.macroPrefixMap ?? []) if (s.startsWith(from)) return to + s.slice(from.length);
      return s;
    };
    const date = new Date((this.config.sourceDateEpoch ?? 0) * 1000);
    switch (m.builtin) {
      case 'LINE':
        return mk(String((this.inMacroContext() ? this.invocationLine : nameTok.line) + b.lineDelta));
      case 'FILE':
        return mk(quote(remap(b.presumedName)));
      case 'BASE_FILE':
        return mk(quote(remap(this.mainFile.spelled)));
      case 'FILE_NAME': {
        const n = b.presumedName;
        return mk(quote(remap(n.slice(n.lastIndexOf('/') + 1))));
      }
      case 'INCLUDE_LEVEL':
        return mk(String(b.level));
      case 'COUNTER':
        return mk(String(this.counter++));
      case 'DATE':
        return mk(`"${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ${date.getUTCFullYear()}"`);
      case 'TIME':
        return mk(`"${[date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()].map((x) => String(x).padStart(2, '0')).join(':')}"`);
      case 'TIMESTAMP':
        return mk('"??? ??? ?? ??:??:?? ????"');
      case 'HAS_INCLUDE':
      case 'HAS_INCLUDE_NEXT':
        if (this.inDirective) return undefined;
        throw this.error('CPP_BAD_IF', `"${m.name}" used outside of preprocessing directive`, `use ${m.name} only in #if`);
      case 'PRAGMA':
        if (this.inDirective) return undefined;
        return this.doPragmaOperator() ? 'pragma' : undefined;
    }
    return undefined;
  }

  /** `_Pragma("...")`: destringized and run like #pragma; it produces no output tokens. */
  private doPragmaOperator(): boolean {
    const toks: Token[] = [];
    for (let i = 0; i < 3; i++) {
      let t = this.getToken();
      while (t.kind === 'padding') t = this.getToken();
      toks.push(t);
      if (t.kind === 'eof') break;
    }
    if (toks[0]?.text !== '(' || toks[1]?.kind !== 'string' || toks[2]?.text !== ')') {
      throw this.error('CPP_BAD_PRAGMA', '_Pragma takes a parenthesized string literal', 'write _Pragma("...")');
    }
    const body = (JSON.parse(toks[1].text.replace(/^L/, '')) as string).trim();
    const words = body.split(/\s+/);
    if (words[0] === 'once' && this.buffer.prev) this.onceFiles.add(contentKey(this.buffer.file));
    return true;
  }

  /**
   * The include depth limit, reached. gcc reports it at the innermost
   * `#include` (often in a header the cycle merely passes through, such as
   * asm-offsets.h); the user's mistake is the `#include` that closed the
   * cycle. When the include chain repeats, the error is put at the
   * outermost repeated `#include`, naming the files of the cycle.
   */
  private includeDepthError(line: number): SeamlabError {
    const base = `#include nested depth ${this.depth()} exceeds maximum of ${this.maxIncludeDepth}`;
    const hint = 'a header includes itself (directly or through others) without an include guard';
    // The #include directives of the chain, innermost (this one) first.
    const chain: SourcePos[] = [{ file: this.buffer.file.tree, line }, ...this.includeStack()];
    const key = (p: SourcePos) => `${p.file}:${p.line}`;
    const count = new Map<string, number>();
    for (const p of chain) count.set(key(p), (count.get(key(p)) ?? 0) + 1);
    let k = chain.length - 1;
    while (k >= 0 && count.get(key(chain[k]!))! < 2) k--;
    if (k < 0) return this.error('CPP_INCLUDE_DEPTH', base, hint);
    let j = k - 1;
    while (key(chain[j]!) !== key(chain[k]!)) j--;
    // chain[i].file holds the directive that includes chain[i - 1].file.
    const files = chain.slice(j, k + 1).reverse().map((p) => p.file);
    const start = chain[k]!;
    return new SeamlabError('CPP_INCLUDE_CYCLE', `#include cycle: ${files.join(' → ')} (${base})`, hint, {
      where: { pos: start, includeStack: chain.slice(k + 1), cppStack: [], gasStack: [], text: this.fs.readFile(start.file)?.split('\n')[start.line - 1] },
    });
  }
}

function toExprToken(t: Token): ExprToken {
  switch (t.kind) {
    case 'number':
    case 'char':
    case 'name':
    case 'punct':
    case 'string':
    case 'header':
    case 'other':
    case 'eof':
      return { kind: t.kind, text: t.text };
    default:
      return { kind: 'other', text: t.text };
  }
}

function contentKey(f: SourceFile): string {
  return `${f.text.length}:${f.text}`;
}
