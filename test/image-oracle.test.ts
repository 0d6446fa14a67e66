/**
 * The oracle: every TDX entry-point .S of v3, linux-6.1 and linux-6.12,
 * under every profile, is built by seamlab (assemble + link) and by GNU as
 * 2.40 + GNU ld at the same addresses; `.text`, `__ex_table`, every other
 * allocated section and every symbol address must be identical. Both
 * assemblers read the text seamlab's preprocessor produced (its own oracle,
 * gcc -E, is the preprocessor's test).
 */
import { describe, expect, it } from 'vitest';
import type { PreprocessedSource } from '../src/cpp/types.js';
import { PROFILES } from '../src/cpp/index.js';
import { buildImage } from '../src/image/build.js';
import { defaultPreprocess } from '../src/image/cpp-bridge.js';
import { resolveRevision } from '../src/intake/revision.js';
import { gnuLink } from './support/image-oracle.js';
import { hasCommand, requireOracle } from './support/oracles.js';

const HAVE = hasCommand('as') && hasCommand('ld') && hasCommand('gcc') && hasCommand('objcopy') && hasCommand('readelf');
const REVISIONS = ['v3', 'linux-6.1', 'linux-6.12'] as const;

function text(src: PreprocessedSource): string {
  return src.lines.join('\n') + '\n';
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe.skipIf(!requireOracle('GNU gcc/as/ld', HAVE, 'apt-get install gcc binutils'))('seamlab image = GNU as + ld', () => {
  for (const name of REVISIONS) {
    describe(name, () => {
      const rev = resolveRevision(name);
      const files = [...new Set(rev.functions.map((f) => f.sourceFile))].sort();
      it('has entry-point files', () => {
        expect(files.length).toBeGreaterThan(0);
      });
      for (const file of files) {
        for (const { name: profile } of PROFILES) {
          it(`${file} [${profile}]`, () => {
            let src!: PreprocessedSource;
            const image = buildImage(rev.files, file, {
              profile,
              preprocess: (f, p, o) => (src = defaultPreprocess(f, p, o)),
            }).image;
            const gnu = gnuLink(text(src));
            // Same sections at the same addresses with the same bytes.
            expect(image.sections.map((s) => `${s.name}@${s.address.toString(16)}`).filter((s) => !s.startsWith('.seamlab.stubs'))).toEqual(gnu.sections.map((s) => `${s.name}@${s.address.toString(16)}`));
            for (const g of gnu.sections) {
              const mine = image.sections.find((s) => s.name === g.name)!;
              expect(hex(mine.bytes), `${g.name} bytes`).toBe(hex(g.bytes));
            }
            expect(image.sections.some((s) => s.flags.exec && s.bytes.length > 0)).toBe(true);
            // Every symbol ld reports (stubs included) has the same address, size and binding.
            for (const g of gnu.symbols) {
              const mine = image.symbols.find((s) => s.name === g.name);
              expect(mine, `symbol ${g.name}`).toBeDefined();
              expect(mine!.address.toString(16), `address of ${g.name}`).toBe(g.address.toString(16));
              if (!mine!.stub) {
                expect(mine!.size, `size of ${g.name}`).toBe(g.size);
                expect(mine!.binding, `binding of ${g.name}`).toBe(g.bind.toLowerCase());
              }
            }
            for (const s of image.symbols) expect(gnu.symbols.some((g) => g.name === s.name), `seamlab symbol ${s.name} is in ld's table`).toBe(true);
            // Entry points are functions in the image.
            for (const f of rev.functions.filter((x) => x.sourceFile === file)) {
              const sym = image.symbols.find((s) => s.name === f.name);
              expect(sym?.type, f.name).toBe('func');
            }
          });
        }
      }
    });
  }
});
