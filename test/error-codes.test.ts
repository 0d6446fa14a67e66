/**
 * The error-code registry (src/error-codes.ts) and the code that throws:
 * every registered code is thrown by its stage (no dead rows), every code
 * literal in src/ is registered (tsc checks typed positions; this also catches
 * a literal cast with `as`), and each row is well formed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../src/error-codes.js';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');
const REGISTRY = join(SRC, 'error-codes.ts');
const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return p.endsWith(join('report', 'html', 'page')) ? [] : sourceFiles(p);
    return d.name.endsWith('.ts') ? [p] : [];
  });
}

const FILES = sourceFiles(SRC).filter((f) => f !== REGISTRY);
const TEXT = new Map(FILES.map((f) => [f, readFileSync(f, 'utf8')]));

describe('error-code registry', () => {
  it('has unique SCREAMING_SNAKE codes, each with a stage and a one-line meaning', () => {
    // An object literal cannot repeat a key under tsc, but count the rows of the source text as well.
    const rows = [...readFileSync(REGISTRY, 'utf8').matchAll(/^ {2}([A-Z][A-Z0-9_]*): \{/gm)].map((m) => m[1]);
    expect(rows.length).toBe(CODES.length);
    expect(new Set(rows).size).toBe(rows.length);
    for (const code of CODES) {
      expect(code, code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      const { stage, meaning } = ERROR_CODES[code];
      expect(meaning.trim(), code).not.toBe('');
      expect(meaning, code).toBe(meaning.trim());
      expect(meaning, code).not.toMatch(/[\r\n]/);
      expect(readdirSync(SRC), `${code}: stage ${stage} is not a folder of src/`).toContain(stage);
    }
  });

  it('has no dead rows: every code is thrown (written as a literal) in a file of its stage', () => {
    const dead: string[] = [];
    const elsewhere: string[] = [];
    for (const code of CODES) {
      const inFiles = FILES.filter((f) => TEXT.get(f)!.includes(`'${code}'`));
      if (inFiles.length === 0) dead.push(code);
      else if (!inFiles.some((f) => relative(SRC, f).startsWith(`${ERROR_CODES[code].stage}/`))) {
        elsewhere.push(`${code} (stage ${ERROR_CODES[code].stage}, thrown in ${inFiles.map((f) => relative(SRC, f)).join(', ')})`);
      }
    }
    expect(dead).toEqual([]);
    expect(elsewhere).toEqual([]);
  });

  it('registers every code literal in src/, casts included, and nothing casts to ErrorCode', () => {
    const program = ts.createProgram([REGISTRY, ...FILES], {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true, skipLibCheck: true, noEmit: true, types: ['node'],
    });
    const checker = program.getTypeChecker();
    const registry = program.getSourceFile(REGISTRY)!;
    const errorCode = checker.getExportsOfModule(checker.getSymbolAtLocation(registry)!).find((s) => s.name === 'ErrorCode')!;
    const members = (checker.getDeclaredTypeOfSymbol(errorCode) as ts.UnionType).types;
    expect(members.length).toBe(CODES.length);
    // A literal is a code literal when its contextual type is ErrorCode (an argument, a `code:` field, `e.code === …`,
    // a default value, an `as ErrorCode` operand): it must be a registered code.
    const isCodeType = (t: ts.Type | undefined) => !!t && members.every((m) => (t.isUnion() ? t.types : [t]).includes(m));
    const seen = new Set<string>();
    const unregistered: string[] = [];
    const casts: string[] = [];
    for (const file of FILES) {
      const sf = program.getSourceFile(file)!;
      const at = (n: ts.Node) => `${relative(ROOT, file)}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
      const visit = (n: ts.Node): void => {
        if (ts.isStringLiteralLike(n) && isCodeType(checker.getContextualType(n))) {
          seen.add(n.text);
          if (!Object.hasOwn(ERROR_CODES, n.text)) unregistered.push(`${at(n)}: '${n.text}'`);
        }
        if ((ts.isAsExpression(n) || ts.isTypeAssertionExpression(n)) && isCodeType(checker.getTypeFromTypeNode(n.type))) casts.push(`${at(n)}: ${n.getText()}`);
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
    expect(unregistered).toEqual([]);
    expect(casts).toEqual([]);
    // The check found the codes in their typed positions (the registry's rows are not counted).
    expect(CODES.filter((c) => !seen.has(c))).toEqual([]);
  });
});
