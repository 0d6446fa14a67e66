/**
 * The input scrubber: what GNU as (binutils 2.40, gas/app.c `do_scrub_chars`)
 * does to every source line before the statement reader sees it, for the
 * x86-64 Linux target.
 *
 * It matters beyond cosmetics because macro arguments are split on
 * whitespace: GNU as removes blanks around operators (`FOO 1 + 2` passes one
 * argument `1+2`) but keeps a blank between two "symbol characters"
 * (`FOO 1 (2)` passes two). The state machine below keeps app.c's state
 * numbers so that it can be compared with it:
 *
 *   0  start of line              1  after leading blanks
 *   2  in the first word (after leading blanks)
 *   3  in the operands, blanks dropped
 *   9  after a symbol character in the operands
 *  10  blanks seen in state 9 (a blank is kept only if a symbol char follows)
 *  11  in the first word at column 0 (label or opcode)
 *
 * Comments: `#` starts a comment anywhere (x86 Linux `comment_chars`), `/`
 * starts one only at the start of a line (`line_comment_chars` is "#/"), and
 * `/* … *\/` may span lines. `'c` character constants become decimal numbers
 * (app.c does this so that later stages never see a lone quote).
 */

/** x86 `symbol_chars` + `extra_symbol_chars` ("*%-([{}") as app.c's lexer classifies them. */
function isSymbolComponent(c: string): boolean {
  return /[A-Za-z0-9$._*%\-([{}@]/.test(c);
}

const isBlank = (c: string): boolean => c === ' ' || c === '\t' || c === '\f' || c === '\v' || c === '\r';

/** Escape letters GNU as understands in a character constant (app.c `process_escape`). */
function processEscape(c: string): number {
  switch (c) {
    case 'b': return 8;
    case 'f': return 12;
    case 'n': return 10;
    case 'r': return 13;
    case 't': return 9;
    case 'v': return 11;
    case '\\': return 92;
    case '"': return 34;
    case "'": return 39;
    default: return c.charCodeAt(0);
  }
}

/** Carries the state that survives a line end: being inside a C comment. */
export class Scrubber {
  private inComment = false;

  /** True when the last line ended inside a `/* … *\/` comment. */
  get pendingComment(): boolean {
    return this.inComment;
  }

  /** Scrubs one physical line (without its newline). */
  line(input: string): string {
    let out = '';
    let state = 0;
    let i = 0;
    const n = input.length;
    if (this.inComment) {
      const end = input.indexOf('*/');
      if (end < 0) return '';
      this.inComment = false;
      i = end + 2;
      state = 3;
    }
    while (i < n) {
      const c = input[i]!;
      // C comment anywhere (app.c: `/*` is checked before `/` as line comment).
      if (c === '/' && input[i + 1] === '*') {
        const end = input.indexOf('*/', i + 2);
        if (end < 0) {
          this.inComment = true;
          return trimEnd(out);
        }
        i = end + 2;
        // app.c resumes in state 3 after a comment; a comment counts as a blank.
        if (state === 9) state = 10;
        else if (state === 0 || state === 1) state = 3;
        else if (state === 2 || state === 11) state = 3;
        continue;
      }
      if (c === '#') return trimEnd(out);
      if (c === '/' && (state === 0 || state === 1)) return trimEnd(out);
      if (isBlank(c)) {
        let j = i;
        while (j < n && isBlank(input[j]!)) j++;
        i = j;
        if (j >= n) break;
        const next = input[j]!;
        if (state === 0) {
          out += ' ';
          state = 1;
          continue;
        }
        // Blanks before a comment or separator vanish.
        if (next === '#' || next === ';' || (next === '/' && input[j + 1] === '*')) continue;
        if ((state === 2 || state === 11) && next === ':') {
          // `label :` — the blank before the colon is dropped.
          continue;
        }
        switch (state) {
          case 1:
            continue;
          case 2:
            out += ' ';
            state = 3;
            continue;
          case 3:
            continue;
          case 9:
          case 10:
            state = 10;
            continue;
          case 11:
            out += ' ';
            state = 3;
            continue;
        }
        continue;
      }
      if (c === ';') {
        out += ';';
        state = 0;
        i++;
        continue;
      }
      if (c === '"') {
        if (state === 10) {
          out += ' ';
          state = 9;
        } else if (state === 3) {
          state = 9;
        } else if (state === 0) {
          state = 11;
        } else if (state === 1) {
          state = 2;
        }
        let j = i + 1;
        while (j < n && input[j] !== '"') {
          if (input[j] === '\\' && j + 1 < n) j++;
          j++;
        }
        out += input.slice(i, Math.min(j + 1, n));
        i = j + 1;
        continue;
      }
      if (c === "'" && state !== 11 && state !== 2) {
        // A character constant: 'c or 'c' becomes its decimal value.
        let j = i + 1;
        let code: number;
        if (j >= n) code = 0;
        else if (input[j] === '\\' && j + 1 < n) {
          code = processEscape(input[j + 1]!);
          j += 2;
        } else {
          code = input.charCodeAt(j) & 0xff;
          j += 1;
        }
        if (input[j] === "'") j++;
        if (state === 10) out += ' ';
        out += String(code);
        if (state === 0) state = 11;
        else if (state === 1) state = 2;
        else state = 9;
        i = j;
        continue;
      }
      if (c === ':') {
        // In operands a colon joins its neighbours (`a : b` → `a:b`, `%es:(%rdi)` stays whole).
        if (state === 9 || state === 10 || state === 3) state = 3;
        else state = 1;
        out += c;
        i++;
        continue;
      }
      if (isSymbolComponent(c)) {
        if (state === 10) {
          out += ' ';
          state = 3;
        }
        if (state === 3) state = 9;
      }
      // The "normal character" rules (app.c de_fault).
      if (state === 0) state = 11;
      else if (state === 1) state = 2;
      else if (state === 9) {
        if (!isSymbolComponent(c)) state = 3;
      } else if (state === 10) {
        // A backslash may start a macro parameter after a symbol: keep the blank.
        if (c === '\\') out += ' ';
        state = 3;
      }
      out += c;
      i++;
    }
    return trimEnd(out);
  }
}

function trimEnd(s: string): string {
  return s.replace(/[ \t]+$/, '');
}

/**
 * Splits a scrubbed line into statements at `;` outside quotes (read.c
 * `_find_end_of_line`). A `\` escapes the next character, so `\;` does not
 * split (GNU as treats `\@` specially for targets where `@` separates lines).
 */
export function splitStatements(line: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let escape = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (escape) {
      escape = false;
      continue;
    }
    if (c === '\\') {
      escape = true;
      continue;
    }
    if (c === '"') {
      inQuote = !inQuote;
      continue;
    }
    if (c === ';' && !inQuote) {
      out.push(line.slice(start, i));
      start = i + 1;
    }
  }
  out.push(line.slice(start));
  return out;
}
