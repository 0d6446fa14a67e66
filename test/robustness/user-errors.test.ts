/**
 * Robustness corpus, class 2 (issue 18): errors the user caused must be
 * user errors — a message with a hint and exit 2 — never a stack trace
 * with exit 70. Each case failed before with an internal error:
 * - `--elf` into a missing directory, under /proc, onto an existing
 *   directory (ENOENT/EISDIR from writeFileSync; /proc made Node's
 *   recursive mkdir loop forever);
 * - `--scenario` naming a directory (EISDIR from readFileSync);
 * - a YAML alias bomb (the yaml library's ReferenceError);
 * - a scenario module that throws something that is not an Error;
 * - SEAMLAB_LIBUNICORN naming a library that is not Unicorn;
 * - `.balign 0x40000000`: assembled into a section that wrapped past 2^64,
 *   then `run` crashed in uc_mem_map — now refused at build time with the
 *   section and the line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { insertAfter, treePatch } from '../support/patches.js';
import { treePath } from '../support/kernel.js';
import { caseDirs, expectBounded, expectRefusal, runCli, snapshot } from './harness.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = caseDirs('user');

describe('class 2: --elf where it cannot be written', () => {
  it('into a directory that does not exist: refused before building, nothing created', () => {
    const cwd = dir();
    const r = runCli(['build', 'v3', '--elf', 'no/such/dir/x.elf'], { cwd });
    expectRefusal(r, [
      `error: cannot write the --elf output ${cwd}/no/such/dir/x.elf: its directory does not exist [OUTPUT_WRITE_FAILED]`,
      '  hint: give a path in an existing, writable directory',
    ], { positioned: false });
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('onto an existing directory', () => {
    const cwd = dir({ 'out/keep': 'x' });
    const before = snapshot(cwd);
    const r = runCli(['build', 'v3', '--elf', 'out'], { cwd });
    expectRefusal(r, [`error: the --elf output ${cwd}/out is a directory [OUTPUT_NOT_A_FILE]`, `  hint: give a file name, e.g. ${cwd}/out/out`], { positioned: false });
    expect(snapshot(cwd)).toEqual(before);
  });

  it('under /proc, where no file can be created', () => {
    const r = runCli(['build', 'v3', '--file', 'arch/x86/virt/vmx/tdx/seamcall.S', '--elf', '/proc/seamlab-robust.elf'], { cwd: dir() });
    expectRefusal(r, [
      'error: cannot write the ELF source directory /proc/seamlab-robust.elf.src: files cannot be created in /proc [OUTPUT_WRITE_FAILED]',
      '  hint: give a path in an existing, writable directory',
    ], { positioned: false });
  });
});

describe('class 2: scenario files', () => {
  it('--scenario naming a directory', () => {
    const cwd = dir({ 'scen/x': '' });
    expectRefusal(runCli(['run', '--fn', '__seamcall', '--scenario', 'scen'], { cwd }), [
      `error: the scenario file ${cwd}/scen is a directory, not a regular file [SCENARIO_NOT_A_FILE]`,
      '  hint: give a .yaml/.json/.ts/.mjs scenario file (src/seam/SCENARIOS.md), or a name from `seamlab scenarios`',
    ], { positioned: false });
  });

  it('a YAML alias bomb: refused at its first alias', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [k, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e']]) levels.push(`${k}: &${k} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    const cwd = dir({ 'bomb.yaml': `${levels.join('\n')}\nname: bomb\n` });
    expectRefusal(runCli(['run', '--fn', '__seamcall', '--scenario', 'bomb.yaml'], { cwd }), [
      'error: bomb.yaml:2:8: aliases expand to too many nodes (Excessive alias count indicates a resource exhaustion attack) [SCENARIO_ALIASES]',
      '  hint: write the values out, or use fewer aliases of aliases',
    ]);
  });

  it('a module that throws something that is not an Error while loading', () => {
    const cwd = dir({ 'throws.mjs': 'throw null;\n' });
    expectRefusal(runCli(['run', '--fn', '__seamcall', '--scenario', 'throws.mjs'], { cwd }), [
      `error: ${cwd}/throws.mjs failed while loading: null [SCENARIO_MODULE_ERROR]`,
      '  hint: fix the module (it runs once when the scenario is loaded)',
    ], { positioned: false });
  });

  it('a module whose exported scenario throws when read (a getter)', () => {
    const cwd = dir({ 'getter.mjs': "export const scenario = { get name() { throw new Error('no name'); } };\n" });
    expectRefusal(runCli(['run', '--fn', '__seamcall', '--scenario', 'getter.mjs'], { cwd }), [
      `error: the scenario ${cwd}/getter.mjs exports cannot be read: no name [SCENARIO_MODULE_ERROR]`,
      '  hint: export plain data (and handler functions or objects)',
    ], { positioned: false });
  });
});

describe('class 2: SEAMLAB_LIBUNICORN naming a library that is not Unicorn', () => {
  // A shared library that is certainly there: koffi's own.
  const lib = path.join(ROOT, 'node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node');
  it.skipIf(!fs.existsSync(lib))('is a user error naming the library and what it lacks', () => {
    const r = runCli(['run', '--fn', '__seamcall', '--scenario', 'success'], { env: { SEAMLAB_LIBUNICORN: lib }, cwd: dir() });
    expectRefusal(r, [
      'error: $LIB is not Unicorn 2: it has no uc_version [UNICORN_MISSING]',
      "  note: Cannot find function 'uc_version' in shared library",
      '  note: Debian/Ubuntu: sudo apt-get install -y libunicorn2',
      '  note: Fedora: sudo dnf install unicorn',
      '  note: macOS (Homebrew): brew install unicorn',
      '  note: or point SEAMLAB_LIBUNICORN at a libunicorn.so.2',
      '  hint: point SEAMLAB_LIBUNICORN at a libunicorn.so.2, or unset it',
    ], { positioned: false, replace: [[lib, '$LIB']] });
  });
});

describe('class 2: an image the machine cannot map', () => {
  const tdcall = 'arch/x86/coco/tdx/tdcall.S';
  // `.balign 0x40000000` right after TDX_MODULE_CALL in __tdx_module_call.
  const lines = fs.readFileSync(path.join(treePath('linux-6.1'), tdcall), 'utf8').split('\n');
  const at = lines.findIndex((l) => /^\tTDX_MODULE_CALL host=0/.test(l)) + 2; // 1-based line of the inserted statement
  const patch = treePatch('linux-6.1', tdcall, (t) => insertAfter(t, /^\tTDX_MODULE_CALL host=0/, ['\t.balign 0x40000000']), 'balign.patch');

  it('build refuses at the .balign, naming the section', () => {
    const r = runCli(['build', `linux-6.1+${patch}`, '--file', tdcall], { cwd: dir() });
    expectBounded(r);
    expect(r.status).toBe(2);
    const first = r.stderr.split('\n')[0]!;
    expect(first).toMatch(new RegExp(`^${tdcall}:${at}: error: alignment to 1073741824 bytes pads section \\.text to \\d+ bytes, over the output limit of 16777216 bytes \\[GAS_OUTPUT_LIMIT\\]$`));
    expect(r.stderr.split('\n').slice(1)).toEqual([
      '    .balign 0x40000000',
      '  hint: check the alignment or size: seamlab assembles small kernel files only (and the image must fit the emulated address space)',
      '',
    ]);
  });

  it('run reports the file as not built, with the same position, and runs nothing', () => {
    const r = runCli(['run', `linux-6.1+${patch}`], { cwd: dir() });
    expectBounded(r);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(new RegExp(`^not built: ${tdcall} \\(__tdx_module_call not run\\): ${tdcall}:${at}: alignment to 1073741824 bytes pads section \\.text`, 'm'));
    expect(r.stdout).toMatch(/^0 runs; ABI checks not run; 1 file did not build$/m);
  });
});
