/**
 * seamlab as a package, used from outside the checkout: `npm pack` (of the
 * dist/ that `npm test` built) installed with `npm install <tgz>` into an
 * empty directory (dependencies from npm's cache when it has them), then the
 * `seamlab` command, the library, its type declarations, the README's API
 * and session examples and a scenario module that imports 'seamlab', all run from there;
 * and `npm link` (what `scripts/setup --link` does) into a scratch prefix.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const tmp = mkdtempSync(join(tmpdir(), 'seamlab-package-'));
const app = join(tmp, 'app');
const NPM_ENV = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = NPM_ENV): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
}

function ok(r: SpawnSyncReturns<string>): string {
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

beforeAll(() => {
  expect(existsSync(join(ROOT, 'dist', 'lib.js')) && existsSync(join(ROOT, 'dist', 'types', 'index.d.ts')), 'dist/ is built by npm test (npm run build)').toBe(true);
  // --ignore-scripts: pack the dist/ already built (prepack would rebuild it under the other tests' feet).
  ok(run('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], ROOT));
  const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'))!;
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'seamlab-package-test', private: true, type: 'module' }));
  ok(run('npm', ['install', join(tmp, tgz), '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], app));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the installed package', () => {
  const bin = () => join(app, 'node_modules', '.bin', 'seamlab');

  it('ships what it needs at run time and no kernel source', () => {
    const pkg = join(app, 'node_modules', 'seamlab');
    for (const f of ['dist/seamlab.js', 'dist/lib.js', 'dist/types/index.d.ts', 'asm/batch-driver.S', 'fixtures/000_aa2199c2670e7995.txt', 'README.md',
      // The C sources seamlab compiles on the user's machine (src/support/native-build.ts).
      'src/machine/native/step-recorder.c', 'src/machine/native/batch-hooks.c', 'src/oracle/native/runner.c']) expect(existsSync(join(pkg, f)), f).toBe(true);
    expect(existsSync(join(pkg, 'src', 'cli'))).toBe(false);
    expect(existsSync(join(pkg, 'test'))).toBe(false);
  });

  it('the seamlab command runs from any directory', () => {
    expect(ok(run(bin(), ['--version'], tmp))).toBe(`seamlab ${VERSION}\n`);
    const out = ok(run(bin(), ['run', 'linux-6.12', '--fn', '__seamcall', '--scenario', 'success'], tmp));
    expect(out).toMatch(/^1 run: 1 returned; ABI checks passed in every run that returned$/m);
  });

  it('the library imports by name and its API answers', () => {
    writeFileSync(join(app, 'api.mjs'), [
      "import { listBuiltinRevisions, resolveRevision, JSON_FORMAT_VERSION } from 'seamlab';",
      'console.log(JSON.stringify({ builtins: listBuiltinRevisions().map((b) => b.name), functions: resolveRevision("linux-6.12").functions.map((f) => f.name), json: JSON_FORMAT_VERSION }));',
    ].join('\n'));
    // 6.12's seamcall.S and coco/tdx/tdcall.S (tdx-facts.md §0, R5).
    expect(JSON.parse(ok(run(process.execPath, ['api.mjs'], app)))).toEqual({
      builtins: ['linux-6.1', 'linux-6.12', 'v3'],
      functions: ['__tdcall', '__tdcall_ret', '__tdcall_saved_ret', '__seamcall', '__seamcall_ret', '__seamcall_saved_ret'],
      json: 1,
    });
  });

  it('has type declarations that a TypeScript consumer resolves (and that catch a type error)', () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types'), '--skipLibCheck'];
    writeFileSync(join(app, 'good.ts'), [
      "import { resolveRevision, type RunResult, type SeamHandler } from 'seamlab';",
      "const h: SeamHandler = { name: 'x', handle: () => ({ kind: 'return', rax: 0n }) };",
      "const name: string = resolveRevision('linux-6.12').name;",
      'export const r: Pick<RunResult, "ok"> = { ok: true };',
      'console.log(h.name, name);',
    ].join('\n'));
    ok(run(process.execPath, [tsc, ...flags, 'good.ts'], app));
    writeFileSync(join(app, 'bad.ts'), "import { resolveRevision } from 'seamlab';\nexport const n: number = resolveRevision('linux-6.12').name;\n");
    const bad = run(process.execPath, [tsc, ...flags, 'bad.ts'], app);
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/bad\.ts\(2,14\): error TS2322: Type 'string' is not assignable to type 'number'/);
  });

  it("runs the README's API example as it is written", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const m = /<!-- api-example:start -->\n```js\n([\s\S]*?)```\n<!-- api-example:end -->\n\nIt prints `([^`]+)`/.exec(readme);
    expect(m, 'the README has the marked API example and what it prints').not.toBeNull();
    const code = m![1]!;
    expect(code.trim().split('\n').length).toBeLessThanOrEqual(20);
    writeFileSync(join(app, 'readme-example.mjs'), code);
    // __seamcall_ret stores the module's R8 into args->r8 (tdx-facts.md, ret=1 outputs RCX, RDX, R8–R11).
    expect(ok(run(process.execPath, ['readme-example.mjs'], app))).toBe(`${m![2]}\n`);
    expect(m![2]).toBe('__seamcall_ret: returned 0, args->r8 = 64, ABI ok');
  });

  it("runs the README's session example as it is written", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const m = /<!-- session-example:start -->\n```js\n([\s\S]*?)```\n<!-- session-example:end -->\n\nIt prints `([^`]+)`/.exec(readme);
    expect(m, 'the README has the marked session example and what it prints').not.toBeNull();
    expect(m![1]!.trim().split('\n').length).toBeLessThanOrEqual(20);
    writeFileSync(join(app, 'readme-session.mjs'), m![1]!);
    expect(ok(run(process.execPath, ['readme-session.mjs'], app))).toBe(`${m![2]}\n`);
    // tdh_sys_init.c: a second TDH.SYS.INIT finds sys_state past SYSINIT_PENDING; tdh_sys_rd.c: MAX_TDMRS = 64 (tdx_global_data.h).
    expect(m![2]).toBe('TDX_SUCCESS, TDX_SUCCESS, TDX_SYS_INIT_NOT_PENDING; MAX_TDMRS = 64; ABI ok');
  });

  it("runs a scenario module that imports 'seamlab', next to the app", () => {
    copyFileSync(join(ROOT, 'fixtures', 'scenarios', 'uses-lib.ts'), join(app, 'uses-lib.ts'));
    const out = ok(run(bin(), ['run', 'v3', '--fn', '__seamcall', '--scenario', './uses-lib.ts'], app));
    expect(out).toMatch(/^ {2}uses-lib +TDH\.SYS\.RD +TDX_SUCCESS \(answered by a module importing seamlab\) .* r8=0x40 /m);
  });
});

describe('npm link (scripts/setup --link)', () => {
  it('makes the seamlab command available outside the checkout', () => {
    const prefix = join(tmp, 'prefix');
    ok(run('npm', ['link', '--ignore-scripts', '--no-audit', '--no-fund'], ROOT, { ...NPM_ENV, npm_config_prefix: prefix }));
    expect(ok(run(join(prefix, 'bin', 'seamlab'), ['--version'], tmp))).toBe(`seamlab ${VERSION}\n`);
  });
});
