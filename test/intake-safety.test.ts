/**
 * Hostile patches: absolute paths, "..", symlink escapes, oversized input,
 * binary patches. Each is refused with a clear error, and nothing is written
 * anywhere (the tree, its parents, the symlink target).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../src/error-codes.js';
import { clearRevisionCache, resolveRevision } from '../src/intake/revision.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BAD = path.join(ROOT, 'fixtures/intake/bad');
let top: string;
let tree: string;
let outside: string;

/** Every path below dir with its size and mtime. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n);
      const st = fs.lstatSync(p);
      out.push(`${path.relative(top, p)} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

function write(rel: string, text: string): string {
  const p = path.join(top, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
}

beforeAll(() => {
  top = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-intake-safety-'));
  // Deep enough that "../../../" from the tree stays inside `top`.
  tree = path.join(top, 'a', 'b', 'tree');
  outside = path.join(top, 'outside');
  fs.mkdirSync(outside, { recursive: true });
  fs.mkdirSync(path.join(tree, 'arch/x86/include/asm'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'arch/x86/include/asm/ok.h'), '/* ok */\n');
  fs.symlinkSync(outside, path.join(tree, 'arch/x86/include/escape'));
  fs.symlinkSync('ok.h', path.join(tree, 'arch/x86/include/asm/link.h'));
  clearRevisionCache();
});
afterAll(() => fs.rmSync(top, { recursive: true, force: true }));

function expectRefused(spec: string, code: ErrorCode, message: RegExp): void {
  const before = snapshot(top);
  let err: unknown;
  try {
    resolveRevision(spec, { cwd: ROOT });
  } catch (e) {
    err = e;
  }
  expect(err).toMatchObject({ name: 'SeamlabError', code });
  expect((err as Error).message).toMatch(message);
  expect((err as { hint: string }).hint.length).toBeGreaterThan(10);
  expect(snapshot(top)).toEqual(before);
}

describe('patch safety', () => {
  it('a harmless patch on the same tree applies (the refusals below are about the paths)', () => {
    const p = write('good.patch', ['--- /dev/null', '+++ b/arch/x86/include/asm/new.h', '@@ -0,0 +1 @@', '+/* new */', ''].join('\n'));
    const before = snapshot(top);
    const r = resolveRevision(`${tree}+${p}`);
    expect(r.files.readFile('arch/x86/include/asm/new.h')).toBe('/* new */\n');
    expect(snapshot(top)).toEqual(before);
  });

  it('refuses an absolute path', () => {
    expectRefused(`${tree}+${BAD}/absolute-path.patch`, 'PATCH_PATH_ABSOLUTE', /absolute path "\/tmp\/seamlab-absolute-escape\.h"/);
    expect(fs.existsSync('/tmp/seamlab-absolute-escape.h')).toBe(false);
  });

  it('refuses an absolute path hidden behind git\'s a/ b/ prefix', () => {
    const p = write('abs-git.patch', ['diff --git a//etc/seamlab-x b//etc/seamlab-x', 'new file mode 100644', '--- /dev/null', '+++ b//etc/seamlab-x', '@@ -0,0 +1 @@', '+x', ''].join('\n'));
    expectRefused(`${tree}+${p}`, 'PATCH_PATH_ABSOLUTE', /absolute path/);
  });

  it('refuses ".." components', () => {
    expectRefused(`${tree}+${BAD}/traversal.patch`, 'PATCH_PATH_TRAVERSAL', /contains a "\.\." component/);
    expect(fs.existsSync(path.join(top, 'seamlab-traversal-escape.h'))).toBe(false);
    expect(fs.existsSync(path.join(top, 'a', 'seamlab-traversal-escape.h'))).toBe(false);
  });

  it('refuses a path through a symlink that leaves the tree', () => {
    expectRefused(`${tree}+${BAD}/symlink-escape.patch`, 'PATCH_PATH_SYMLINK_ESCAPE', /goes through the symlink arch\/x86\/include\/escape, which points outside the tree/);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('refuses to patch a symlink itself', () => {
    const p = write('link.patch', ['--- a/arch/x86/include/asm/link.h', '+++ b/arch/x86/include/asm/link.h', '@@ -1 +1 @@', '-/* ok */', '+/* changed */', ''].join('\n'));
    expectRefused(`${tree}+${p}`, 'PATCH_PATH_SYMLINK', /is a symlink in the tree/);
  });

  it('refuses an oversized input without reading it', () => {
    const big = path.join(top, 'huge.patch');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 1 << 30); // sparse: 1 GiB of nothing
    expectRefused(`${tree}+${big}`, 'PATCH_TOO_LARGE', /is 1 GiB, over the 32 MiB limit/);
    fs.rmSync(big);
  });

  it('refuses a binary patch, naming the file', () => {
    expectRefused(`${tree}+${BAD}/binary.patch`, 'PATCH_BINARY', /binary patch for arch\/x86\/virt\/vmx\/tdx\/blob\.bin/);
  });

  it('refuses the same patches on a built-in tree too, and leaves the cache untouched', () => {
    expect(() => resolveRevision(`linux-6.1+${BAD}/traversal.patch`)).toThrow(expect.objectContaining({ code: 'PATCH_PATH_TRAVERSAL' }));
    expect(() => resolveRevision(`linux-6.1+${BAD}/absolute-path.patch`)).toThrow(expect.objectContaining({ code: 'PATCH_PATH_ABSOLUTE' }));
  });
});
