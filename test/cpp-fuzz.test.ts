/**
 * Randomised differential test: generated macro definitions (object- and
 * function-like, variadic, #, ##, GNU `, ## __VA_ARGS__`, __VA_OPT__,
 * macros naming each other) and generated uses, preprocessed by seamlab and
 * by gcc -E in assembler mode. Outputs must be identical (spacing
 * included); when gcc reports an error, seamlab must reject the source too.
 *
 * The seed is fixed so a failure reproduces; SEAMLAB_FUZZ_SEED and
 * SEAMLAB_FUZZ_RUNS override it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeamlabError } from '../src/errors.js';
import { cpp, gccE, HAVE_GCC } from './support/cpp-helpers.js';
import { requireOracle } from './support/oracles.js';

const gccOk = requireOracle('gcc', HAVE_GCC, 'apt-get install gcc');

const NAMES = ['A', 'B', 'F', 'G', 'H'];
const LITERALS = ['1', 'w', '+', '-', '.L', 'x1', '%r', '$', '"s"', ';', '<', '='];

interface Def {
  name: string;
  params?: string[];
  variadic: boolean;
  body: string[];
}

const defArb: fc.Arbitrary<Def> = fc
  .record({
    name: fc.constantFrom(...NAMES),
    kind: fc.constantFrom('obj', 'fn0', 'fn1', 'fn2', 'var', 'var1'),
    items: fc.array(fc.integer({ min: 0, max: 99 }), { maxLength: 7 }),
  })
  .map(({ name, kind, items }) => {
    const params = kind === 'obj' ? undefined : kind === 'fn0' ? [] : kind === 'fn1' ? ['x'] : kind === 'fn2' ? ['x', 'y'] : kind === 'var' ? [] : ['x'];
    const variadic = kind === 'var' || kind === 'var1';
    const usable = [...(params ?? []), ...(variadic ? ['__VA_ARGS__'] : [])];
    const body: string[] = [];
    for (const n of items) {
      const r = n % 10;
      if (r <= 2 && usable.length) body.push(usable[n % usable.length]!);
      else if (r === 3) body.push(NAMES[n % NAMES.length]!);
      else if (r === 4 && params !== undefined && usable.length) body.push('#', usable[n % usable.length]!);
      else if (r === 5 && body.length) body.push('##');
      else if (r === 6 && variadic) body.push(',', '##', '__VA_ARGS__');
      else if (r === 7 && variadic && n > 50) body.push('__VA_OPT__(', LITERALS[n % LITERALS.length]!, ')');
      else if (r === 8 && n > 80) body.push(n % 2 ? '(' : ')');
      else body.push(LITERALS[n % LITERALS.length]!);
    }
    // `##` may not start or end a replacement list (that is a definition error; tested elsewhere).
    while (body[0] === '##') body.shift();
    while (body[body.length - 1] === '##' || body[body.length - 1] === '#') body.pop();
    return { name, params, variadic, body };
  });

type Use = string[];
const useArb: fc.Arbitrary<Use> = fc.letrec<{ use: Use; item: Use }>((tie) => ({
  use: fc.array(tie('item'), { maxLength: 5 }).map((xs) => xs.flat()),
  item: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...NAMES).map((n) => [n]),
    fc.constantFrom(...LITERALS).map((l) => [l]),
    fc.tuple(fc.constantFrom(...NAMES), fc.array(tie('use'), { maxLength: 3 }), fc.boolean()).map(([n, args, nl]) => [n, '(', ...args.flatMap((a, i) => (i ? [',', ...a] : a)), ...(nl ? ['\n'] : []), ')']),
  ),
}))['use'];

function source(defs: Def[], uses: Use[]): string {
  const lines: string[] = [];
  for (const d of defs) {
    const params = d.params === undefined ? '' : `(${[...d.params, ...(d.variadic ? ['...'] : [])].join(', ')})`;
    lines.push(`#define ${d.name}${params} ${d.body.join(' ')}`);
  }
  for (const u of uses) lines.push(u.join(' ').replace(/ \n /g, '\n'));
  return lines.join('\n') + '\n';
}

const exact = (t: string | string[]): string[] => (Array.isArray(t) ? t : t.split('\n')).filter((l) => l.trim() !== '');

describe.skipIf(!gccOk)('cpp randomised differential test vs gcc -E', () => {
  it('generated macro definitions and uses preprocess like gcc', () => {
    const seed = Number(process.env.SEAMLAB_FUZZ_SEED ?? 20240607);
    const numRuns = Number(process.env.SEAMLAB_FUZZ_RUNS ?? 120);
    let agreedErrors = 0;
    fc.assert(
      fc.property(fc.array(defArb, { minLength: 1, maxLength: 5 }), fc.array(useArb, { minLength: 1, maxLength: 3 }), (defs, uses) => {
        const src = source(defs, uses);
        const g = gccE({ 'main.S': src });
        let ours: string[] | SeamlabError;
        try {
          ours = cpp({ 'main.S': src }).lines;
        } catch (e) {
          if (!(e instanceof SeamlabError)) throw e;
          ours = e;
        }
        if (g.status !== 0) {
          expect(ours, `gcc rejected:\n${src}\n${g.stderr}`).toBeInstanceOf(SeamlabError);
          agreedErrors++;
          return;
        }
        expect(ours, src).not.toBeInstanceOf(SeamlabError);
        expect(exact(ours as string[]), src).toEqual(exact(g.stdout));
      }),
      { seed, numRuns },
    );
    // The generator must mostly produce valid sources, or the test says little.
    expect(agreedErrors).toBeLessThan(numRuns / 2);
  });
});
