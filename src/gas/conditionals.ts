/**
 * Conditional assembly (gas/cond.c): `.if` and its variants, `.elseif`,
 * `.else`, `.endif`. A conditional inside an ignored branch is tracked but
 * its expression is never evaluated (GNU as's "dead tree").
 */
import type { Assembler } from './assembler.js';
import { getToken } from './macros.js';
import { parseStringList } from './strings.js';

export const CONDITIONALS = new Set([
  'if', 'ifdef', 'ifndef', 'ifnotdef', 'ifc', 'ifnc', 'ifeqs', 'ifnes', 'ifb', 'ifnb',
  'ifeq', 'ifne', 'iflt', 'ifle', 'ifgt', 'ifge', 'elseif', 'else', 'endif',
]);

export function conditional(asm: Assembler, name: string, args: string): void {
  const top = asm.conds[asm.conds.length - 1];
  const outer = !asm.ignoring;
  const push = (cond: () => boolean) => {
    const active = outer ? cond() : false;
    asm.conds.push({ active, taken: active, outer, elseSeen: false, stmt: asm.stmt, macroNest: asm.macroNest() });
  };
  const a = args.trim();
  switch (name) {
    case 'if': return push(() => asm.absolute(asm.parseExpr(a), '.if') !== 0n);
    case 'ifeq': return push(() => asm.absolute(asm.parseExpr(a), '.ifeq') === 0n);
    case 'ifne': return push(() => asm.absolute(asm.parseExpr(a), '.ifne') !== 0n);
    case 'iflt': return push(() => asm.absolute(asm.parseExpr(a), '.iflt') < 0n);
    case 'ifle': return push(() => asm.absolute(asm.parseExpr(a), '.ifle') <= 0n);
    case 'ifgt': return push(() => asm.absolute(asm.parseExpr(a), '.ifgt') > 0n);
    case 'ifge': return push(() => asm.absolute(asm.parseExpr(a), '.ifge') >= 0n);
    case 'ifdef': return push(() => isDefined(asm, a));
    case 'ifndef':
    case 'ifnotdef': return push(() => !isDefined(asm, a));
    case 'ifb': return push(() => a === '');
    case 'ifnb': return push(() => a !== '');
    case 'ifc': return push(() => compareStrings(asm, args, false));
    case 'ifnc': return push(() => !compareStrings(asm, args, false));
    case 'ifeqs': return push(() => compareStrings(asm, args, true));
    case 'ifnes': return push(() => !compareStrings(asm, args, true));
    case 'elseif': {
      if (!top) throw asm.error('GAS_UNBALANCED_IF', '".elseif" without matching ".if"', 'remove it or add the .if');
      if (top.elseSeen) throw asm.error('GAS_UNBALANCED_IF', '".elseif" after ".else"', 'put .elseif branches before .else');
      if (!top.outer || top.taken) {
        top.active = false;
        return;
      }
      top.active = asm.absolute(asm.parseExpr(a), '.elseif') !== 0n;
      top.taken = top.active;
      return;
    }
    case 'else': {
      if (!top) throw asm.error('GAS_UNBALANCED_IF', '".else" without matching ".if"', 'remove it or add the .if');
      if (top.elseSeen) throw asm.error('GAS_UNBALANCED_IF', 'duplicate ".else"', 'one .if has at most one .else');
      top.elseSeen = true;
      top.active = !top.taken;
      top.taken = true;
      return;
    }
    case 'endif': {
      if (!top) throw asm.error('GAS_UNBALANCED_IF', '".endif" without ".if"', 'remove the .endif or add the .if');
      asm.conds.pop();
      return;
    }
  }
}

function isDefined(asm: Assembler, text: string): boolean {
  const tok = getToken(text, 0);
  if (tok.token === '' || text.slice(tok.end).trim() !== '') {
    throw asm.error('GAS_BAD_ARGUMENT', 'invalid identifier for ".ifdef"', 'write one symbol name');
  }
  const s = asm.symbols.get(tok.token);
  return s !== undefined && s.kind !== 'undefined';
}

/** `.ifc a,b` compares raw text (trailing blanks dropped); `.ifeqs` compares quoted strings. */
function compareStrings(asm: Assembler, args: string, quoted: boolean): boolean {
  if (quoted) {
    const strs = parseStringList(asm, args);
    if (strs.length !== 2) throw asm.error('GAS_BAD_ARGUMENT', '.ifeqs needs two quoted strings', 'write .ifeqs "a","b"');
    return strs[0] === strs[1];
  }
  const comma = args.indexOf(',');
  if (comma < 0) throw asm.error('GAS_BAD_ARGUMENT', 'bad format for ifc or ifnc', 'write .ifc string1,string2');
  const s1 = args.slice(0, comma).trim();
  const s2 = args.slice(comma + 1).trim();
  return s1 === s2;
}
