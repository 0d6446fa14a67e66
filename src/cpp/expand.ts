/**
 * Macro expansion (C11 6.10.3) with GNU cpp's observable behaviour, which
 * the token-for-token comparison with `gcc -E` depends on:
 *
 * - a stack of token contexts; a macro's expansion is pushed as a context
 *   and the macro is disabled until that context is popped, so a name met
 *   while it is disabled is painted blue (NO_EXPAND) for good;
 * - arguments are collected without expansion, then fully macro-expanded
 *   before substitution unless they are operands of `#` or `##`;
 * - padding tokens record where whitespace may have to be inserted when
 *   printing (left of an argument, after an argument, after an expansion);
 * - `##` pastes left to right; in assembler mode a paste that does not make
 *   one token is not an error: both tokens are kept;
 * - GNU `, ## __VA_ARGS__`: the comma disappears when the variable
 *   arguments are omitted (or empty, for a macro whose only parameter is
 *   `...`), and is kept (without pasting) otherwise;
 * - `__VA_OPT__(…)` as in C2x.
 *
 * The lexer side (files, directives, line changes) is the subclass's.
 */
import { SeamlabError } from '../errors.js';
import type { CppMacroUse, SourcePos } from '../support/source-location.js';
import type { LexMode } from './lexer.js';
import { lexFragment } from './lexer.js';
import type { Macro } from './macro.js';
import { AVOID_PASTE, BOL, END_ARG, NO_EXPAND, padding, PASTE_LEFT, PREV_WHITE, STRINGIFY_ARG, type Token } from './token.js';
import type { ErrorCode } from '../error-codes.js';

export interface MacroArg {
  /** Unexpanded tokens; null when a variadic argument was omitted entirely. */
  first: Token[] | null;
  expanded?: Token[];
  stringified?: Token;
}

interface Context {
  tokens: readonly Token[];
  pos: number;
  /** The macro whose expansion this is (inherited by helper contexts). */
  macro: Macro | null;
  /** Set on the context that holds a macro's replacement list. */
  invocation?: CppMacroUse;
}

export interface ExpansionLimits {
  /** Tokens one top-level macro use may produce through all nested expansions. */
  maxExpansionTokens: number;
}

export abstract class MacroEngine {
  protected readonly macros = new Map<string, Macro>();
  private contexts: Context[] = [];
  protected lookaheads: Token[] = [];
  protected inDirective = false;
  protected preventExpansion = 0;
  /** 0: not collecting; 1: looking for the `(` of a function-like macro; 2: inside the arguments. */
  protected parsingArgs: 0 | 1 | 2 = 0;
  private aboutToExpand = false;
  /** Line of the outermost macro use (what __LINE__ means inside a macro). */
  protected invocationLine = 0;
  private expansionTokens = 0;

  protected constructor(
    protected readonly mode: LexMode,
    protected readonly limits: ExpansionLimits,
  ) {}

  /** Next token from the current file (directives and line changes handled). */
  protected abstract lexToken(): Token;
  /** Where a token read from the current file is (for contexts and errors). */
  protected abstract basePos(line: number): SourcePos;
  /** Expands a builtin macro to one token, or undefined if it does not expand here. */
  protected abstract builtinToken(m: Macro, nameTok: Token): Token | undefined | 'pragma';
  /** A user error at the current position with include and macro stacks. */
  protected abstract error(code: ErrorCode, message: string, hint: string, notes?: string[]): SeamlabError;
  /** Called when a macro is expanded (source map, reference watch); `at` is where its name is written. */
  protected abstract onMacroExpanded(m: Macro, at: SourcePos): void;
  /** Called for every identifier the expander looks up (reference watch). */
  protected abstract onNameLookup(name: string): void;

  protected inMacroContext(): boolean {
    return this.contexts.length > 0;
  }

  /** The macro-expansion stack, innermost first (for error messages). */
  protected macroStack(): CppMacroUse[] {
    const frames: CppMacroUse[] = [];
    for (let i = this.contexts.length - 1; i >= 0; i--) {
      const inv = this.contexts[i]!.invocation;
      if (inv) frames.push(inv);
    }
    return frames;
  }

  private macroOfContext(): Macro | null {
    const c = this.contexts[this.contexts.length - 1];
    return c ? c.macro : null;
  }

  /** Pushes tokens; a null macro continues the current expansion (gcc's _cpp_push_token_context). */
  protected pushContext(macro: Macro | null, tokens: readonly Token[], invocation?: Context['invocation'], inherit = true): void {
    this.contexts.push({ tokens, pos: 0, macro: macro ?? (inherit ? this.macroOfContext() : null), invocation });
    this.expansionTokens += tokens.length;
    if (this.expansionTokens > this.limits.maxExpansionTokens) {
      const n = this.expansionTokens;
      this.expansionTokens = 0;
      throw this.error('CPP_EXPANSION_LIMIT', `macro expansion produced more than ${this.limits.maxExpansionTokens} tokens (${n})`, 'a macro expands recursively or exponentially; check the macros in the expansion stack');
    }
  }

  /** Discards the innermost context (end of a directive drops what its expansion left). */
  protected dropContext(): void {
    this.popContext();
  }

  private popContext(): void {
    const c = this.contexts.pop()!;
    if (c.macro && this.macroOfContext() !== c.macro) c.macro.disabled = false;
    if (this.contexts.length === 0) this.expansionTokens = 0;
  }

  /** Steps back one token (only one from a macro context). */
  protected backup(t: Token): void {
    const c = this.contexts[this.contexts.length - 1];
    if (c) c.pos--;
    else this.lookaheads.push(t);
  }

  /** gcc's cpp_get_token: the next token after macro expansion. */
  protected getToken(): Token {
    for (;;) {
      let result: Token;
      const c = this.contexts[this.contexts.length - 1];
      if (!c) result = this.lexToken();
      else if (c.pos < c.tokens.length) {
        result = c.tokens[c.pos++]!;
        if (result.flags & PASTE_LEFT) {
          this.pasteAll(result);
          if (this.inDirective) continue;
          return padding(result);
        }
      } else {
        this.popContext();
        if (this.inDirective) continue;
        return AVOID_PASTE;
      }

      if (result.kind !== 'name' || result.flags & NO_EXPAND) return result;
      this.onNameLookup(result.text);
      const m = this.macros.get(result.text);
      if (!m) return result;
      if (m.disabled) return { ...result, flags: result.flags | NO_EXPAND };
      if (!this.inMacroContext() && !this.aboutToExpand) this.invocationLine = result.line;
      if (this.preventExpansion) return result;
      if (this.enterMacro(m, result)) {
        if (this.inDirective) continue;
        return padding(result);
      }
      return result;
    }
  }

  /** Position of a macro name token for the expansion stack. */
  private useSite(t: Token): SourcePos {
    const c = this.contexts[this.contexts.length - 1];
    if (c && c.macro) return { file: c.macro.definedAt.file, line: t.line };
    return this.basePos(t.line);
  }

  private enterMacro(m: Macro, nameTok: Token): boolean {
    if (m.builtin) {
      const t = this.builtinToken(m, nameTok);
      if (t === undefined) return false;
      this.onMacroExpanded(m, this.useSite(nameTok));
      if (t === 'pragma') return true;
      this.pushContext(null, [t]);
      return true;
    }
    const saved = this.aboutToExpand;
    this.aboutToExpand = true;
    const at = this.useSite(nameTok);
    try {
      if (m.funLike) {
        this.preventExpansion++;
        this.parsingArgs = 1;
        let args: MacroArg[] | null;
        try {
          args = this.funlikeInvocation(m);
        } finally {
          this.parsingArgs = 0;
          this.preventExpansion--;
        }
        if (!args) return false;
        this.onMacroExpanded(m, at);
        if (m.params.length > 0) {
          this.replaceArgs(m, args, { macro: m.name, at });
          m.disabled = true;
          return true;
        }
      } else this.onMacroExpanded(m, at);
      m.disabled = true;
      this.pushContext(m, m.body, { macro: m.name, at });
      return true;
    } finally {
      this.aboutToExpand = saved;
    }
  }

  private funlikeInvocation(m: Macro): MacroArg[] | null {
    let pad: Token | null = null;
    let t: Token;
    for (;;) {
      t = this.getToken();
      if (t.kind !== 'padding') break;
      if (pad === null || pad.source === null || (!(pad.source!.flags & PREV_WHITE) && t.source === null)) pad = t;
    }
    if (t.kind === 'punct' && t.text === '(') {
      this.parsingArgs = 2;
      return this.collectArgs(m);
    }
    // A lexer EOF (end of file while looking for the parenthesis) is not put back.
    if (t.kind !== 'eof' || t === END_ARG) {
      this.backup(t);
      if (pad) this.pushContext(null, [pad]);
    }
    return null;
  }

  private collectArgs(m: Macro): MacroArg[] | null {
    const paramc = m.params.length;
    const args: MacroArg[] = [];
    let t: Token;
    do {
      let depth = 0;
      const toks: Token[] = [];
      for (;;) {
        t = this.getToken();
        if (t.kind === 'padding') {
          if (toks.length === 0) continue;
        } else if (t.kind === 'punct' && t.text === '(') depth++;
        else if (t.kind === 'punct' && t.text === ')') {
          if (depth-- === 0) break;
        } else if (t.kind === 'punct' && t.text === ',') {
          if (depth === 0 && !(m.variadic && args.length + 1 === paramc)) break;
        } else if (t.kind === 'eof' || (t.kind === 'punct' && t.text === '#' && t.flags & BOL)) break;
        toks.push(t);
      }
      while (toks.length && toks[toks.length - 1]!.kind === 'padding') toks.pop();
      args.push({ first: toks });
    } while (!(t.kind === 'punct' && t.text === ')') && t.kind !== 'eof');

    if (t.kind === 'eof') {
      if (t === END_ARG) this.backup(t);
      throw this.error('CPP_UNTERMINATED_ARGS', `unterminated argument list invoking macro "${m.name}"`, `close the argument list of ${m.name} with ")"`, [`macro ${m.name} is defined at ${m.definedAt.file}:${m.definedAt.line}`]);
    }
    let argc = args.length;
    if (argc === 1 && paramc === 0 && args[0]!.first!.length === 0) argc = 0;
    if (argc !== paramc) {
      const variadicOmitted = argc + 1 === paramc && m.variadic;
      if (!variadicOmitted) {
        const msg = argc < paramc ? `macro "${m.name}" requires ${paramc} arguments, but only ${argc} given` : `macro "${m.name}" passed ${argc} arguments, but takes just ${paramc}`;
        throw this.error('CPP_MACRO_ARGS', msg, `call ${m.name} with ${paramc} argument${paramc === 1 ? '' : 's'}${m.variadic ? ' or more' : ''}`, [`macro ${m.name}(${m.params.join(', ')}) is defined at ${m.definedAt.file}:${m.definedAt.line}`]);
      }
      args.push({ first: null });
    } else if (m.variadic && argc === 1 && args[0]!.first!.length === 0) {
      // GNU: for a macro whose only parameter is `...`, an empty argument
      // counts as omitted (the comma of `, ## __VA_ARGS__` is dropped).
      args[0] = { first: null };
    }
    return args;
  }

  private expandArg(arg: MacroArg): Token[] {
    if (arg.expanded) return arg.expanded;
    const first = arg.first ?? [];
    if (first.length === 0) return (arg.expanded = []);
    const out: Token[] = [];
    this.pushContext(null, [...first, END_ARG]);
    for (;;) {
      const t = this.getToken();
      if (t.kind === 'eof') break;
      out.push(t);
    }
    this.popContext();
    return (arg.expanded = out);
  }

  private replaceArgs(m: Macro, args: MacroArg[], invocation: Context['invocation']): void {
    const body = m.body;
    const out: Token[] = [];
    const vaArg = m.variadic ? args[m.params.length - 1] : undefined;
    const va = new VaOptTracker(m.variadic, vaArg, (a) => this.expandArg(a));
    let vaoptStart = -2; // index in `out` of the token before __VA_OPT__'s contents (-1: empty buffer)
    const last = (): number => out.length - 1;
    const atVaoptStart = (): boolean => vaoptStart >= 0 && last() === vaoptStart;
    const setPasteFlag = (idx: number, on: boolean): void => {
      const t = out[idx]!;
      out[idx] = { ...t, flags: on ? t.flags | PASTE_LEFT : t.flags & ~PASTE_LEFT };
    };

    for (let si = 0; si < body.length; si++) {
      const src = body[si]!;
      const prevPaste = si > 0 && (body[si - 1]!.flags & PASTE_LEFT) !== 0;
      const vs = va.update(src);
      if (vs !== 'include') {
        if (vs === 'begin') {
          if (si > 0 && !prevPaste) out.push(padding(src));
          vaoptStart = last();
        } else if (vs === 'end') {
          const start = vaoptStart;
          vaoptStart = -2;
          let pasteIdx = last();
          if (va.stringify) {
            const from = start + 1;
            const pasted = this.pasteInPlace(out.slice(from));
            out.length = from;
            let s = this.stringify(pasted);
            if (src.flags & PASTE_LEFT) s = { ...s, flags: s.flags | PASTE_LEFT };
            out.push(s);
            continue;
          }
          if (start >= 0 && pasteIdx === start && out[start]!.flags & PASTE_LEFT) setPasteFlag(start, false);
          if (src.flags & PASTE_LEFT) {
            while (pasteIdx >= 0 && pasteIdx !== start && out[pasteIdx] === AVOID_PASTE) {
              out.pop();
              pasteIdx = last();
            }
            if (pasteIdx >= 0 && out[pasteIdx]!.kind !== 'padding') setPasteFlag(pasteIdx, true);
          } else out.push(AVOID_PASTE);
        }
        continue;
      }

      if (src.kind !== 'param') {
        out.push(src);
        continue;
      }

      const arg = args[src.argNo! - 1]!;
      let from: Token[];
      let pasteIdx = -1;
      if (src.flags & STRINGIFY_ARG) {
        if (!arg.stringified) arg.stringified = this.stringify(arg.first ?? []);
        from = [arg.stringified];
      } else if (src.flags & PASTE_LEFT) {
        from = arg.first ?? [];
      } else if (prevPaste) {
        from = arg.first ?? [];
        if (out.length > 0) {
          const prevIdx = last();
          const prevTok = out[prevIdx]!;
          if (prevTok.kind === 'punct' && prevTok.text === ',' && m.variadic && src.argNo === m.params.length) {
            if (arg.first === null) out.pop();
            else pasteIdx = prevIdx;
          } else if (from.length === 0 && prevIdx !== vaoptStart) pasteIdx = prevIdx;
        }
      } else {
        from = this.expandArg(arg);
        if (atVaoptStart()) {
          let k = 0;
          while (k < from.length && from[k]!.kind === 'padding') k++;
          from = from.slice(k);
        }
      }

      // Padding on the left of an argument (unless it is the RHS of ##).
      if (!this.inDirective && si > 0 && !prevPaste && !atVaoptStart()) out.push(padding(src));

      if (from.length) {
        for (const t of from) out.push(t);
        if (src.flags & PASTE_LEFT) pasteIdx = last();
      }
      // Avoid paste on the RHS (even when the argument is empty).
      if (!this.inDirective && !(src.flags & PASTE_LEFT)) out.push(AVOID_PASTE);
      if (pasteIdx >= 0) setPasteFlag(pasteIdx, (src.flags & PASTE_LEFT) !== 0);
    }
    this.pushContext(m, out, invocation);
  }

  /** Resolves pastes inside a token list (for `#__VA_OPT__`). */
  private pasteInPlace(toks: Token[]): Token[] {
    const out: Token[] = [];
    for (let i = 0; i < toks.length; i++) {
      let t = toks[i]!;
      if (t.flags & PASTE_LEFT) {
        let rhs: Token;
        do {
          rhs = toks[++i]!;
          const r = this.pasteTokens(t, rhs);
          if (!r) {
            i--;
            t = { ...t, flags: t.flags & ~PASTE_LEFT };
            break;
          }
          t = r;
        } while (rhs.flags & PASTE_LEFT);
      }
      out.push(t);
    }
    return out;
  }

  /** Pastes lhs with the following tokens of the current context (gcc's paste_all_tokens). */
  private pasteAll(lhs: Token): void {
    const c = this.contexts[this.contexts.length - 1]!;
    let rhs: Token;
    do {
      rhs = c.tokens[c.pos++]!;
      if (rhs.kind === 'padding') {
        lhs = { ...lhs, flags: lhs.flags & ~PASTE_LEFT };
        break;
      }
      const r = this.pasteTokens(lhs, rhs);
      if (!r) {
        c.pos--;
        lhs = { ...lhs, flags: lhs.flags & ~PASTE_LEFT };
        break;
      }
      lhs = r;
    } while (rhs.flags & PASTE_LEFT);
    this.pushContext(null, [lhs]);
  }

  /** One paste; undefined when the spellings do not form a single token. */
  private pasteTokens(lhs: Token, rhs: Token): Token | undefined {
    // A `/` followed by anything but `=` gets a space so `//` or `/*` never starts a comment.
    const text = lhs.text + (lhs.kind === 'punct' && lhs.text === '/' && !(rhs.kind === 'punct' && rhs.text === '=') ? ' ' : '') + rhs.text;
    const toks = text === '' ? [] : lexFragment(text, this.mode);
    if (toks.length !== 1 || toks[0]!.text.length !== text.length) {
      if (this.mode !== 'asm') {
        throw this.error('CPP_BAD_PASTE', `pasting "${lhs.text}" and "${rhs.text}" does not give a valid preprocessing token`, 'paste only tokens that form one token');
      }
      return undefined;
    }
    const t = toks[0]!;
    return { kind: t.kind, text: t.text, flags: lhs.flags & PREV_WHITE, line: lhs.line, col: lhs.col };
  }

  /** The `#` operator (gcc's stringify_arg): whitespace collapsed to one space, quotes and backslashes in literals escaped. */
  protected stringify(toks: readonly Token[]): Token {
    let out = '"';
    let source: Token | null = null;
    let backslashes = 0;
    let first = true;
    for (const t of toks) {
      if (t.kind === 'padding') {
        if (source === null || (!(source.flags & PREV_WHITE) && (t.source ?? null) === null)) source = t.source ?? null;
        continue;
      }
      if (!first) {
        const s = source ?? t;
        if (s.flags & PREV_WHITE) out += ' ';
      }
      first = false;
      source = null;
      if (t.kind === 'string' || t.kind === 'char') out += t.text.replace(/[\\"\n]/g, (ch) => (ch === '\n' ? '\\n' : '\\' + ch));
      else out += t.text;
      backslashes = t.kind === 'other' && t.text[0] === '\\' ? backslashes + 1 : 0;
    }
    if (backslashes & 1) out = out.slice(0, -1);
    out += '"';
    return { kind: 'string', text: out, flags: 0, line: 0, col: 0 };
  }
}

/** Tracks __VA_OPT__ while a replacement list is substituted (gcc's vaopt_state). */
class VaOptTracker {
  private state = 0;
  private update_: 'include' | 'drop' | undefined;
  stringify = false;

  constructor(
    private readonly variadic: boolean,
    private readonly arg: MacroArg | undefined,
    private readonly expand: (a: MacroArg) => Token[],
  ) {}

  update(t: Token): 'include' | 'drop' | 'begin' | 'end' {
    if (!this.variadic) return 'include';
    if (t.kind === 'name' && t.text === '__VA_OPT__') {
      this.state = 1;
      this.stringify = (t.flags & STRINGIFY_ARG) !== 0;
      return 'begin';
    }
    if (this.state === 1) {
      this.state = 2;
      if (this.update_ === undefined) {
        if (!this.arg || this.arg.first === null) this.update_ = 'drop';
        else this.update_ = this.expand(this.arg).some((x) => x.kind !== 'padding') ? 'include' : 'drop';
      }
      return 'drop';
    }
    if (this.state >= 2) {
      if (this.state === 2) this.state++;
      if (t.kind === 'punct' && t.text === '(') this.state++;
      else if (t.kind === 'punct' && t.text === ')') {
        this.state--;
        if (this.state === 2) {
          this.state = 0;
          return 'end';
        }
      }
      return this.update_!;
    }
    return 'include';
  }
}
