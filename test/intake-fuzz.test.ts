/**
 * Hunks apply the way GNU patch applies them: offsets, fuzz up to 2,
 * reported per hunk; --no-fuzz refuses. The oracle is a real GNU `patch`
 * run (`patch -f -p1 -F2`): on the v12 20/22 tdx.h shape (fixture) and on
 * random files, edits and perturbations (fixed seed in CI, random locally,
 * printed; SEAMLAB_FUZZ_SEED reproduces).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDiff } from '../src/intake/diff-parse.js';
import { applyHunksLikePatch } from '../src/intake/hunks.js';
import { referenceApplyHunks } from './support/hunks-reference.js';
import { resolveRevision } from '../src/intake/revision.js';
import { formatError, isSeamlabError } from '../src/errors.js';
import { runRevisions } from '../src/cli/revisions.js';
import { treePath } from './support/kernel.js';
import { hasCommand, IN_CI, requireOracle } from './support/oracles.js';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURE = 'fixtures/intake/fuzz/v12-20-tdx-h-fuzz1.patch';
const TDX_H = 'arch/x86/include/asm/tdx.h';
const havePatch = requireOracle('GNU patch', hasCommand('patch'), 'apt-get install patch');
const tmp = mkdtempSync(join(tmpdir(), 'seamlab-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface GnuHunk { hunk: number; ok: boolean; line: number; fuzz: number; offset: number }

/** Runs GNU patch on `files` (path → text) with a patch; returns the resulting files and its per-hunk report. */
function gnuPatch(files: Record<string, string>, patch: string, extra: string[] = []): { files: Record<string, string>; hunks: GnuHunk[]; stdout: string } {
  const dir = mkdtempSync(join(tmp, 'gnu-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  writeFileSync(join(dir, '.patch'), patch);
  // -f: no questions and no reversed-patch guessing; -r -: no reject files; -F2 is the default fuzz, given for clarity.
  const r = spawnSync('patch', ['-f', '-p1', '-F2', '--no-backup-if-mismatch', '-r', '-', '-i', '.patch', ...extra], { cwd: dir, encoding: 'utf8' });
  const hunks: GnuHunk[] = [];
  for (const m of r.stdout.matchAll(/^Hunk #(\d+) (succeeded|FAILED) at (\d+)(?: with fuzz (\d+))?(?: \(offset (-?\d+) lines?\))?/gm)) {
    hunks.push({ hunk: Number(m[1]), ok: m[2] === 'succeeded', line: Number(m[3]), fuzz: Number(m[4] ?? 0), offset: Number(m[5] ?? 0) });
  }
  const out: Record<string, string> = {};
  for (const p of Object.keys(files)) out[p] = readFileSync(join(dir, p), 'utf8');
  rmSync(dir, { recursive: true, force: true });
  return { files: out, hunks, stdout: r.stdout };
}

describe('the v12 20/22 shape: tdx.h hunk @@ -18,6 +20,9 @@ with 5 of 6 context lines in the 6.1 tree', () => {
  it('applies with fuzz 1 at offset -1, as GNU patch does, and says so per hunk', () => {
    const rev = resolveRevision(`linux-6.1+${FIXTURE}`, { cwd: ROOT });
    const f = rev.provenance.patches[0]!.files[0]!;
    expect(f).toMatchObject({ path: TDX_H, mode: 'fuzzy' });
    expect(f.hunks).toMatchObject([{ header: '@@ -18,6 +20,9 @@', result: 'exact', fuzz: 1, offset: -1, line: 17 }]);
    expect(f.notes).toContain('hunk @@ -18,6 +20,9 @@ applied at line 17 with fuzz 1 (1 context line at each end not compared) (offset -1 lines)');
    if (!havePatch) return;
    const base = readFileSync(join(treePath('linux-6.1'), TDX_H), 'utf8');
    const gnu = gnuPatch({ [TDX_H]: base }, readFileSync(join(ROOT, FIXTURE), 'utf8'));
    expect(gnu.hunks).toEqual([{ hunk: 1, ok: true, line: 17, fuzz: 1, offset: -1 }]);
    expect(rev.files.readFile(TDX_H)).toBe(gnu.files[TDX_H]);
  });

  it('revisions shows it; --no-fuzz refuses it, saying what fuzz GNU patch would use', async () => {
    expect((await runRevisions([`linux-6.1+${FIXTURE}`], { cwd: ROOT })).text).toMatch(/^ +fuzzy +arch\/x86\/include\/asm\/tdx\.h .*\n +hunk @@ -18,6 \+20,9 @@ applied at line 17 with fuzz 1/m);
    let err: unknown;
    try {
      resolveRevision(`linux-6.1+${FIXTURE}`, { cwd: ROOT, maxFuzz: 0 });
    } catch (e) {
      err = e;
    }
    expect(isSeamlabError(err)).toBe(true);
    const text = formatError(err as never);
    expect(text).toMatch(/^fixtures\/intake\/fuzz\/v12-20-tdx-h-fuzz1\.patch:18: error: hunk @@ -18,6 \+20,9 @@ does not apply to arch\/x86\/include\/asm\/tdx\.h \(arch\/x86\/include\/asm\/tdx\.h is a build input\) \[PATCH_HUNK_FAILED\]$/m);
    expect(text).toMatch(/note: its context matches arch\/x86\/include\/asm\/tdx\.h only with fuzz 1 \(1 context line ignored at each end\), and fuzz is limited to 0 \(--no-fuzz\)/);
    expect(text).toMatch(/hint: GNU patch applies it with fuzz 1: leave out --no-fuzz to accept that/);
    if (havePatch) {
      // GNU patch -F0 refuses it too.
      const base = readFileSync(join(treePath('linux-6.1'), TDX_H), 'utf8');
      expect(gnuPatch({ [TDX_H]: base }, readFileSync(join(ROOT, FIXTURE), 'utf8'), ['-F0']).hunks).toEqual([{ hunk: 1, ok: false, line: 18, fuzz: 0, offset: 0 }]);
    }
  });
});

const CI_SEED = 0x9a7c4;
const seed = process.env.SEAMLAB_FUZZ_SEED !== undefined ? Number(process.env.SEAMLAB_FUZZ_SEED) : IN_CI ? CI_SEED : Math.floor(Math.random() * 0x7fffffff);

/** The hunks of a one-file unified diff, parsed as seamlab parses patch mails. */
function hunksOf(patch: string) {
  const lines = patch.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const diff = parseDiff(lines, lines.map((_, i) => ({ file: 'random.patch', line: i + 1 })));
  return diff.files[0]?.hunks ?? [];
}

describe.skipIf(!havePatch)('differential: random files, edits and drift vs GNU patch', () => {
  it(`same hunk results (applied or not, fuzz, offset, line) and the same text (seed ${seed})`, () => {
    console.log(`patch fuzz differential: seed ${seed} (SEAMLAB_FUZZ_SEED=${seed} reproduces)`);
    // A small vocabulary makes repeated lines, so the offset search has choices to make.
    const line = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', '{', '}', '', 'x = 1;', 'return 0;');
    const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom('insert', 'delete', 'change'), text: line });
    const scenario = fc.record({
      base: fc.array(line, { minLength: 1, maxLength: 60 }),
      edits: fc.array(edit, { minLength: 1, maxLength: 6 }),
      drift: fc.array(edit, { minLength: 0, maxLength: 6 }),
      eol: fc.boolean(),
      context: fc.constantFrom(1, 2, 3),
    });
    const applyEdits = (lines: string[], edits: { at: number; kind: string; text: string }[]) => {
      const out = [...lines];
      for (const e of edits) {
        const i = e.at % (out.length + 1);
        if (e.kind === 'insert') out.splice(i, 0, `${e.text}+`);
        else if (out.length > 1 && i < out.length) {
          if (e.kind === 'delete') out.splice(i, 1);
          else out[i] = `${out[i]}~`;
        }
      }
      return out;
    };
    let cases = 0;
    let fuzzed = 0;
    fc.assert(fc.property(scenario, (s) => {
      const text = (ls: string[]) => ls.join('\n') + (s.eol ? '\n' : '');
      const old = text(s.base);
      const changed = text(applyEdits(s.base, s.edits));
      if (old === changed) return;
      const patch = createTwoFilesPatch('a/f.txt', 'b/f.txt', old, changed, undefined, undefined, { context: s.context });
      // The file the patch is applied to has drifted from the one it was made against.
      const target = text(applyEdits(s.base, s.drift));
      const gnu = gnuPatch({ 'f.txt': target }, patch);
      const mine = applyHunksLikePatch(target, hunksOf(patch), { looseWhitespace: false });
      cases++;
      if (mine.hunks.some((h) => h.fuzz > 0)) fuzzed++;
      // GNU patch reports only hunks that failed or needed fuzz or an offset.
      const reported = mine.hunks
        .map((h, k) => ({ hunk: k + 1, ok: h.result !== 'not-applied', line: h.line, fuzz: h.fuzz, offset: h.offset }))
        .filter((h) => !h.ok || h.fuzz !== 0 || h.offset !== 0);
      expect(reported, `${patch}\n--- target:\n${target}\n--- GNU patch:\n${gnu.stdout}`).toEqual(gnu.hunks);
      expect(mine.text).toBe(gnu.files['f.txt']);
    }), { seed, numRuns: IN_CI ? 400 : 250 });
    console.log(`patch fuzz differential: ${cases} patches, ${fuzzed} with a fuzzed hunk`);
    expect(fuzzed).toBeGreaterThan(0);
  });
});

describe('the indexed hunk search is the search it replaced (test/support/hunks-reference.ts)', () => {
  it('same hunk results and text on random files with many repeated lines, exact and whitespace-insensitive', () => {
    // Few distinct lines (some differing only in whitespace) give the index many candidates per hunk.
    const line = fc.constantFrom('a', 'b', ' a', 'a  b', 'a b', '', '}', 'x');
    const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom('insert', 'delete', 'change'), text: line });
    const scenario = fc.record({
      base: fc.array(line, { minLength: 0, maxLength: 40 }),
      edits: fc.array(edit, { minLength: 1, maxLength: 8 }),
      drift: fc.array(edit, { minLength: 0, maxLength: 8 }),
      eol: fc.boolean(),
      context: fc.constantFrom(0, 1, 2, 3),
      maxFuzz: fc.constantFrom(0, 1, 2, 3),
      loose: fc.boolean(),
    });
    const applyEdits = (lines: string[], edits: { at: number; kind: string; text: string }[]) => {
      const out = [...lines];
      for (const e of edits) {
        const i = e.at % (out.length + 1);
        if (e.kind === 'insert') out.splice(i, 0, e.text);
        else if (out.length > 0 && i < out.length) {
          if (e.kind === 'delete') out.splice(i, 1);
          else out[i] = `${out[i]} `;
        }
      }
      return out;
    };
    fc.assert(fc.property(scenario, (s) => {
      const text = (ls: string[]) => ls.join('\n') + (s.eol && ls.length ? '\n' : '');
      const old = text(s.base);
      const changed = text(applyEdits(s.base, s.edits));
      if (old === changed) return;
      const hunks = hunksOf(createTwoFilesPatch('a/f.txt', 'b/f.txt', old, changed, undefined, undefined, { context: s.context }));
      const target = text(applyEdits(s.base, s.drift));
      const opts = { maxFuzz: s.maxFuzz, looseWhitespace: s.loose };
      expect(applyHunksLikePatch(target, hunks, opts)).toEqual(referenceApplyHunks(target, hunks, opts));
    }), { seed: CI_SEED, numRuns: 3000 });
  });

  it('2,000 hunks whose context is not in a 200,000-line file are refused without scanning the file for each', () => {
    const file = Array.from({ length: 200_000 }, (_, i) => `line ${i}\n`).join('');
    const hunks = Array.from({ length: 2000 }, (_, k) => ({
      oldStart: k * 100 + 1, oldLines: 7, newStart: k * 100 + 1, newLines: 7,
      lines: [' context a', ' context b', ' context c', `-line ${k * 100 + 3}`, `+changed ${k}`, ' context d', ' context e', ' context f'],
    }));
    const r = applyHunksLikePatch(file, hunks);
    expect(r.hunks.every((h) => h.result === 'not-applied')).toBe(true);
    expect(r.text).toBe(file);
    // The same hunks with their context present apply at their lines (the index finds them where GNU's scan would).
    const good = hunks.map((h, k) => ({ ...h, lines: h.lines.map((l, j) => (j < 3 ? ` line ${k * 100 + j}` : j > 4 ? ` line ${k * 100 + j - 1}` : l)) }));
    const applied = applyHunksLikePatch(file, good);
    expect(applied.hunks.every((h) => h.result === 'exact' && h.offset === 0 && h.fuzz === 0)).toBe(true);
    expect(applied.hunks.map((h) => h.line).slice(0, 3)).toEqual([1, 101, 201]);
  });
});
