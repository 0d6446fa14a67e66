/**
 * A cheap attempt to undo web-archive whitespace damage in a file a patch
 * creates, so its git blob id can still be verified.
 *
 * The damage turns every run of white space into one space and drops leading
 * white space. Kernel coding style makes leading indentation predictable:
 * tabs by brace depth, assembler statements one tab in, continuation lines
 * aligned to the open parenthesis with tabs then spaces, block-comment lines
 * " * " at the comment's depth. White space inside a line (aligned columns in
 * comments or #defines) cannot be recovered. A repair is only ever used when
 * the repaired text's blob id equals the one the patch names; otherwise the
 * damaged text is kept and the file is reported as whitespace-damaged.
 */

export interface Repair {
  label: string;
  lines: string[];
}

const TAB = 8;

function indentTo(col: number): string {
  return '\t'.repeat(Math.floor(col / TAB)) + ' '.repeat(col % TAB);
}

/** Repairs of `lines` (file content without the diff's '+'), most likely first. Empty when nothing to try. */
export function indentationRepairs(lines: string[], path: string): Repair[] {
  const out: Repair[] = [];
  if (/\.(S|s)$/.test(path)) out.push({ label: 'assembler statements indented by one tab', lines: repairAsm(lines) });
  else if (/\.(c|h)$/.test(path)) out.push({ label: 'kernel-style C indentation (tabs by brace depth, continuations aligned to the open parenthesis)', lines: repairC(lines) });
  else if (/(^|\/)(Makefile|Kbuild)[^/]*$/.test(path)) out.push({ label: 'make recipe/continuation lines indented by one tab', lines: lines.map((l) => (/^ \S/.test(l) ? '\t' + l.slice(1) : l)) });
  return out.filter((r) => r.lines.some((l, i) => l !== lines[i]));
}

function repairAsm(lines: string[]): string[] {
  let inComment = false;
  return lines.map((l) => {
    let r = l;
    if (inComment) r = l; // " * text" is already right at depth 0
    else if (/^ \S/.test(l) && !l.startsWith(' *')) r = '\t' + l.slice(1);
    inComment = commentStateAfter(r, inComment);
    return r;
  });
}

function repairC(lines: string[]): string[] {
  let depth = 0;
  let inComment = false;
  /** Columns just after each unclosed '(' carried over from previous lines. */
  let parens: number[] = [];
  return lines.map((l) => {
    let r = l;
    const body = l.replace(/^ /, '');
    if (inComment) {
      r = '\t'.repeat(depth) + ' ' + l.trimStart();
    } else if (parens.length > 0 && l.trim() !== '') {
      r = indentTo(parens[parens.length - 1]!) + l.trimStart();
    } else if (/^ \S/.test(l) && !l.startsWith(' #')) {
      const d = body.startsWith('}') ? depth - 1 : depth;
      r = '\t'.repeat(Math.max(d, 1)) + body;
    }
    // Update brace depth and open parentheses from the repaired line.
    const code = stripForScan(r, inComment);
    inComment = commentStateAfter(r, inComment);
    if (!r.trimStart().startsWith('#')) {
      let col = 0;
      const stack = [...parens];
      for (const ch of code) {
        col = ch === '\t' ? (Math.floor(col / TAB) + 1) * TAB : col + 1;
        if (ch === '{') depth++;
        else if (ch === '}') depth = Math.max(0, depth - 1);
        else if (ch === '(') stack.push(col);
        else if (ch === ')') stack.pop();
      }
      parens = stack;
    }
    return r;
  });
}

/** The line with comment and string contents blanked (same columns). */
function stripForScan(line: string, inComment: boolean): string {
  let out = '';
  let c = inComment;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (c) {
      if (ch === '*' && line[i + 1] === '/') {
        c = false;
        out += '  ';
        i++;
      } else out += ch === '\t' ? '\t' : ' ';
    } else if (ch === '/' && line[i + 1] === '*') {
      c = true;
      out += '  ';
      i++;
    } else if (ch === '/' && line[i + 1] === '/') {
      break;
    } else if (ch === '"' || ch === "'") {
      const end = line.indexOf(ch, i + 1);
      const stop = end < 0 ? line.length : end + 1;
      out += ' '.repeat(stop - i);
      i = stop - 1;
    } else out += ch;
  }
  return out;
}

function commentStateAfter(line: string, inComment: boolean): boolean {
  let c = inComment;
  for (let i = 0; i < line.length; i++) {
    if (c && line[i] === '*' && line[i + 1] === '/') {
      c = false;
      i++;
    } else if (!c && line[i] === '/' && line[i + 1] === '*') {
      c = true;
      i++;
    } else if (!c && line[i] === '/' && line[i + 1] === '/') break;
  }
  return c;
}
