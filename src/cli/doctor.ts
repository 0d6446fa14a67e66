/**
 * `seamlab doctor`: what this machine has, and whether seamlab can run.
 * Required: Unicorn, Keystone, Capstone, the built-in kernel trees (each
 * entry checked against the tree's manifest).
 * Reported only: the test oracles (gcc, as, ld, gdb, chromium, GNU patch).
 *
 * `seamlab --version [--verbose]` prints seamlab's version (and, verbose,
 * the versions of Node and of the three engines) from here too.
 */
import type { spawnSync as SpawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../support/package-root.js';
import type { DoctorItem } from '../report/doctor-report.js';

export type { DoctorItem } from '../report/doctor-report.js';

/** The engines, loaded when asked for (not at start-up: `--version` needs none of them). */
async function engines() {
  const [unicorn, keystone, capstone] = await Promise.all([import('../machine/unicorn.js'), import('../encode/keystone.js'), import('../encode/capstone.js')]);
  return { ...unicorn, ...keystone, ...capstone };
}


function firstLine(spawnSync: typeof SpawnSync, cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return (r.stdout || r.stderr).split('\n')[0]?.trim();
}

export async function runDoctor(): Promise<DoctorItem[]> {
  const [{ formatUnicornVersion, loadUnicorn, unicornVersion, keystoneVersion, sharedKeystone, capstoneVersion, loadDisassembler }, { inspectTree, KERNEL_PACKAGES }, { cacheDir }, { isSeamlabError }, { spawnSync }] =
    await Promise.all([engines(), import('../intake/kernel-cache.js'), import('../support/cache.js'), import('../errors.js'), import('node:child_process')]);
  const items: DoctorItem[] = [];
  items.push({ name: 'node', ok: Number(process.versions.node.split('.')[0]) >= 20, required: true, detail: `v${process.versions.node}`, fix: 'install Node.js 20 or newer' });

  try {
    const lib = loadUnicorn();
    items.push({ name: 'unicorn', ok: true, required: true, detail: `${formatUnicornVersion(unicornVersion())} (${lib.path})` });
  } catch (e) {
    items.push({ name: 'unicorn', ok: false, required: true, detail: isSeamlabError(e) ? e.message : String(e), fix: 'run scripts/setup (or: apt-get install libunicorn2)' });
  }

  try {
    // A real encode proves the wasm loads, not just that the package exists.
    const r = sharedKeystone().assembleRaw('push %r12', 0n);
    const ok = r.ok && Buffer.from(r.bytes).toString('hex') === '4154';
    items.push({ name: 'keystone', ok, required: true, detail: `${keystoneVersion()}${ok ? '' : ' (self-test failed)'}`, fix: 'run npm ci' });
  } catch (e) {
    items.push({ name: 'keystone', ok: false, required: true, detail: String((e as Error).message), fix: 'run npm ci' });
  }

  try {
    const d = await loadDisassembler();
    const text = d.disassemble(Uint8Array.of(0x41, 0x54), 0n)[0]?.text;
    items.push({ name: 'capstone', ok: text === 'pushq %r12', required: true, detail: `${capstoneVersion()}${text === 'pushq %r12' ? '' : ` (self-test gave ${text})`}`, fix: 'run npm ci' });
  } catch (e) {
    items.push({ name: 'capstone', ok: false, required: true, detail: String((e as Error).message), fix: 'run npm ci' });
  }

  const cache = cacheDir();
  for (const pkg of KERNEL_PACKAGES) {
    // Every entry of the tree by size and times (files that changed are hashed): ~50 ms a tree.
    const st = inspectTree(pkg, cache, 'quick');
    items.push(st.ok
      ? { name: pkg.name, ok: true, required: true, detail: `${st.manifest.package} ${st.manifest.version}, tdxcall.S blob ${st.manifest.tdxcallBlob.slice(0, 12)}, ${st.dir}` }
      : { name: pkg.name, ok: false, required: true, detail: st.detail, fix: 'run scripts/setup' });
  }

  const oracles: [string, string, string[]][] = [
    ['gcc', 'gcc', ['--version']],
    ['as', 'as', ['--version']],
    ['ld', 'ld', ['--version']],
    ['gdb', 'gdb', ['--version']],
    ['chromium', 'chromium', ['--version']],
    ['patch', 'patch', ['--version']],
  ];
  for (const [name, cmd, args] of oracles) {
    const v = firstLine(spawnSync, cmd, args);
    items.push({ name: `oracle ${name}`, ok: v !== undefined, required: false, detail: v ?? 'not found', fix: `apt-get install ${name === 'as' || name === 'ld' ? 'binutils' : name} (only the tests need it)` });
  }
  return items;
}

/** True for `seamlab --version`/`-V` (options before any subcommand): answered before the rest of the CLI loads (src/cli/seamlab.ts). */
export function asksVersion(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '-V' || a === '--version') return true;
    if (!a.startsWith('-')) return false;
  }
  return false;
}

/** seamlab's version, from its package.json. */
export function seamlabVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** `seamlab --version`: one line; with verbose, Node, Unicorn, Keystone and Capstone too (engines that cannot load say why). */
export async function versionText(verbose: boolean): Promise<string> {
  const lines = [`seamlab ${seamlabVersion()}`];
  if (!verbose) return lines[0]!;
  const { formatUnicornVersion, loadUnicorn, unicornVersion, keystoneVersion, capstoneVersion } = await engines();
  const tryOr = async (f: () => string | Promise<string>): Promise<string> => {
    try {
      return await f();
    } catch (e) {
      return `not available (${(e as Error).message.split('\n')[0]})`;
    }
  };
  lines.push(`node     ${process.versions.node}`);
  lines.push(`unicorn  ${await tryOr(() => `${formatUnicornVersion(unicornVersion())} (${loadUnicorn().path})`)}`);
  lines.push(`keystone ${await tryOr(() => keystoneVersion())}`);
  lines.push(`capstone ${await tryOr(() => capstoneVersion())}`);
  return lines.join('\n');
}
