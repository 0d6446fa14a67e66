/**
 * String operands (`.ascii "…"`, `.ifeqs`) with GNU as's escapes
 * (read.c next_char_of_string): \b \f \n \r \t \v \\ \", octal \ooo
 * (up to three digits), hex \x… (all following hex digits, low byte kept);
 * an unknown escape keeps its character.
 */
import type { Assembler } from './assembler.js';
import { skipWhite } from './macros.js';

/** Parses `"a", "b"` string lists with GNU as escapes. */
export function parseStringList(asm: Assembler, text: string): string[] {
  const out: string[] = [];
  let i = skipWhite(text, 0);
  while (i < text.length) {
    if (text[i] !== '"') throw asm.error('GAS_BAD_ARGUMENT', `expected a string in \`${text.trim()}'`, 'write strings in double quotes');
    const first = parseStringLiteral(asm, text, i);
    let value = first.value;
    i = skipWhite(text, first.end);
    // Adjacent literals are one string (`.asciz "a" "b"` is "ab\0").
    while (text[i] === '"') {
      const more = parseStringLiteral(asm, text, i);
      value += more.value;
      i = skipWhite(text, more.end);
    }
    out.push(value);
    if (i < text.length) {
      if (text[i] !== ',') throw asm.error('GAS_JUNK', `junk after string in \`${text.trim()}'`, 'separate strings with commas');
      i = skipWhite(text, i + 1);
    }
  }
  return out;
}

/** One "…" literal with GNU as escapes (read.c next_char_of_string); value as latin-1 text. */
export function parseStringLiteral(asm: Assembler, text: string, start: number): { value: string; end: number } {
  let i = start + 1;
  let out = '';
  for (;;) {
    if (i >= text.length) throw asm.error('GAS_BAD_ARGUMENT', 'missing closing `"\'', 'close the string');
    const c = text[i]!;
    if (c === '"') return { value: out, end: i + 1 };
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = text[i + 1];
    i += 2;
    switch (e) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case 'x':
      case 'X': {
        let v = 0;
        let n = 0;
        while (i < text.length && /[0-9a-fA-F]/.test(text[i]!)) {
          v = (v * 16 + parseInt(text[i]!, 16)) & 0xff;
          i++;
          n++;
        }
        if (n === 0) out += e;
        else out += String.fromCharCode(v);
        break;
      }
      default:
        if (e !== undefined && e >= '0' && e <= '7') {
          let v = Number(e);
          let n = 1;
          while (n < 3 && i < text.length && text[i]! >= '0' && text[i]! <= '7') {
            v = v * 8 + Number(text[i]);
            i++;
            n++;
          }
          out += String.fromCharCode(v & 0xff);
        } else if (e !== undefined) {
          // GNU as keeps an unknown escape's character.
          out += e;
        }
    }
  }
}

