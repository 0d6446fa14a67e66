/**
 * The kernel trees behind the built-in revisions: Debian's `linux-source-6.1`
 * and `linux-source-6.12` packages, downloaded with `apt-get download` into a
 * cache outside the repository (`$SEAMLAB_CACHE`, default ~/.cache/seamlab)
 * and reduced to what a TDX build reads.
 *
 * A tree is extracted into a temporary folder and renamed into place, so an
 * interrupted setup never leaves a half tree. Each tree is identified by the
 * git blob id of its `arch/x86/virt/vmx/tdx/tdxcall.S`; a tree whose file does
 * not match is refused (and rebuilt by setup). Extraction records every
 * entry of the tree in its manifest (tree-manifest.ts): builds check what
 * they read against it, doctor and setup check the whole tree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SeamlabError } from '../errors.js';
import { cacheDir, gitBlobId } from '../support/cache.js';
import { spawnTiedSync } from '../support/tied-process.js';
import type { TreeExpectation } from '../support/vfs.js';
import { contentDifference, readManifest, recordTreeEntries, treeExpectation, verifyTreeEntries, writeManifest, type TreeManifest } from './tree-manifest.js';

export type { TreeManifest } from './tree-manifest.js';

export interface KernelPackage {
  /** Built-in revision name. */
  name: 'linux-6.1' | 'linux-6.12';
  /** Debian binary package. */
  package: string;
  /** Directory prefix inside the package's tarball. */
  tarTop: string;
  /**
   * Git blob id of arch/x86/virt/vmx/tdx/tdxcall.S in this tree:
   * 6.1 carries the original macro (commit 527a534c7326), 6.12 the 6.7+
   * rewrite (commit 7b804135d4d1).
   */
  tdxcallBlob: string;
}

export const KERNEL_PACKAGES: readonly KernelPackage[] = [
  { name: 'linux-6.1', package: 'linux-source-6.1', tarTop: 'linux-source-6.1', tdxcallBlob: '49a54356ae9925d7f53621696ec8ebc551d8fd18' },
  { name: 'linux-6.12', package: 'linux-source-6.12', tarTop: 'linux-source-6.12', tdxcallBlob: '016a2a1ec1d6913821c9924f48e4634f5ba699e6' },
];

/**
 * What a TDX build reads from a tree: the x86 headers and the TDX sources, the
 * generic headers, asm-offsets and extable sources, the Kconfig files that
 * define the options profiles set, and the Kbuild rules for generated headers.
 */
export const EXTRACT_MEMBERS = [
  'Makefile',
  'arch/x86',
  'include',
  'scripts',
  // Every Kconfig file: profiles are evaluated like `make allnoconfig` plus
  // features, and option dependencies (e.g. INTEL_TDX_HOST on CONTIG_ALLOC in
  // mm/Kconfig) live all over the tree.
  '*Kconfig*',
] as const;

export const TDXCALL_PATH = 'arch/x86/virt/vmx/tdx/tdxcall.S';

export function treeDir(pkg: KernelPackage, cache = cacheDir()): string {
  return path.join(cache, 'trees', pkg.name);
}

export function packageByName(name: string): KernelPackage | undefined {
  return KERNEL_PACKAGES.find((p) => p.name === name);
}

export type TreeState =
  | { ok: true; dir: string; manifest: TreeManifest }
  | { ok: false; dir: string; reason: 'missing' | 'no-manifest' | 'stale-manifest' | 'stale-members' | 'blob-mismatch' | 'tdxcall-missing' | 'damaged'; detail: string };

/**
 * How much of a tree inspectTree checks. manifest: the manifest and
 * tdxcall.S (what every build does; each file a build reads is then checked
 * as it is read); quick: also every entry on disk against the manifest,
 * hashing the files whose size or times changed (doctor,
 * setup); full: hashing every file (setup --verify).
 */
export type TreeCheck = 'manifest' | 'quick' | 'full';

/** How many damaged entries a message lists. */
const LISTED_PROBLEMS = 5;

/** Checks a cached tree: present, has a current manifest, tdxcall.S has the expected blob id, and (quick, full) every entry is as recorded. */
export function inspectTree(pkg: KernelPackage, cache = cacheDir(), check: TreeCheck = 'manifest'): TreeState {
  const dir = treeDir(pkg, cache);
  if (!fs.existsSync(dir)) return { ok: false, dir, reason: 'missing', detail: `${dir} does not exist` };
  const read = readManifest(dir);
  if (!read.ok) return { ok: false, dir, reason: read.reason, detail: read.detail };
  const manifest = read.manifest;
  if (JSON.stringify(manifest.members) !== JSON.stringify(EXTRACT_MEMBERS)) {
    // This seamlab reads more of the tree than the cached extraction holds.
    return { ok: false, dir, reason: 'stale-members', detail: `${dir} was extracted with members [${manifest.members.join(' ')}]; this seamlab needs [${EXTRACT_MEMBERS.join(' ')}]` };
  }
  const tdxcall = path.join(dir, TDXCALL_PATH);
  if (!fs.existsSync(tdxcall)) return { ok: false, dir, reason: 'tdxcall-missing', detail: `${tdxcall} is missing` };
  const blob = gitBlobId(fs.readFileSync(tdxcall));
  if (blob !== pkg.tdxcallBlob) {
    return { ok: false, dir, reason: 'blob-mismatch', detail: `${TDXCALL_PATH} has blob ${blob}, expected ${pkg.tdxcallBlob}` };
  }
  if (check !== 'manifest') {
    const problems = verifyTreeEntries(dir, manifest, { full: check === 'full' });
    if (problems.length) {
      const listed = problems.slice(0, LISTED_PROBLEMS).map((p) => `${p.path} ${p.problem}`);
      const more = problems.length > LISTED_PROBLEMS ? `; and ${problems.length - LISTED_PROBLEMS} more` : '';
      return { ok: false, dir, reason: 'damaged', detail: `${dir} is damaged: ${listed.join('; ')}${more}` };
    }
  }
  return { ok: true, dir, manifest };
}

/** A verified cached tree: its directory, manifest, and what its DirFs checks reads against. */
export interface ReadyTree { dir: string; manifest: TreeManifest; expect: TreeExpectation }

/** The directory of a verified cached tree, or a SeamlabError telling the user to run setup. */
export function requireTree(name: string, cache = cacheDir()): ReadyTree {
  const pkg = packageByName(name);
  if (!pkg) throw new SeamlabError('UNKNOWN_TREE', `no built-in kernel tree named ${name}`, `use one of ${KERNEL_PACKAGES.map((p) => p.name).join(', ')}`);
  const st = inspectTree(pkg, cache);
  if (!st.ok) {
    const hint = st.reason === 'missing' ? 'run scripts/setup to download and extract the Debian kernel sources' : 'run scripts/setup: it re-extracts the tree from the .deb kept in the cache (downloading it if it is not there)';
    throw new SeamlabError('TREE_NOT_READY', `kernel tree ${name} is not usable: ${st.detail}`, hint, {
      notes: [`cache: ${cache} (set SEAMLAB_CACHE to use another)`],
    });
  }
  let expect = expectations.get(st.manifest);
  if (!expect) expectations.set(st.manifest, (expect = treeExpectation(st.manifest, st.dir)));
  return { dir: st.dir, manifest: st.manifest, expect };
}

/** One expectation per manifest read (readManifest keeps a manifest while its file is unchanged), so a tree keeps one DirFs. */
const expectations = new WeakMap<TreeManifest, TreeExpectation>();

// ---- fetching ---------------------------------------------------------------

export type Log = (line: string) => void;

/** Runs a download or extraction tool; it dies with seamlab (support/tied-process.ts), so a killed setup leaves no tool writing into the cache. */
function run(cmd: string, args: string[], opts: { cwd?: string } = {}): { status: number; stdout: string; stderr: string } {
  return spawnTiedSync(cmd, args, opts);
}

// ---- what interrupted setups leave ------------------------------------------

/**
 * Temporary names carry the pid of the process that made them, so a later
 * setup can tell a temporary whose setup was killed (its process is gone)
 * from one another setup is still filling: trees/.<tree>-<pid>-XXXXXX
 * (extraction), trees/<tree>.old-<pid> (a replaced tree being deleted),
 * debs/.download-<pid>-XXXXXX, keystone/<file>.<pid>.<random>.tmp (support/
 * cache.ts; cpp-env/ prunes its own). Names from seamlab versions without
 * the pid (trees/.<tree>-XXXXXX, debs/.download-XXXXXX) are taken as
 * abandoned once unchanged for LEGACY_STALE_MS: their setups took seconds.
 */
const TEMPORARIES: { dir: string; owned: RegExp; legacy?: RegExp }[] = [
  { dir: 'trees', owned: /^\.linux-[0-9.]+-(\d+)-[A-Za-z0-9]{6}$/, legacy: /^\.linux-[0-9.]+-[A-Za-z0-9]{6}$/ },
  { dir: 'trees', owned: /^linux-[0-9.]+\.old-(\d+)$/ },
  { dir: 'debs', owned: /^\.download-(\d+)-[A-Za-z0-9]{6}$/, legacy: /^\.download-[A-Za-z0-9]{6}$/ },
  { dir: 'keystone', owned: /^keystone-.*\.json\.(\d+)\.[a-z0-9]*\.tmp$/ },
];
const LEGACY_STALE_MS = 3600_000;

/** Whether a process with this pid exists (ours, another user's, or a zombie). */
function processExists(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what interrupted setups (and interrupted cache writes) left in
 * the cache: temporaries whose process is gone. Returns the removed paths,
 * relative to the cache. Best effort: what cannot be removed now is left
 * for the next setup.
 */
export function sweepStaleTemporaries(cache: string, log: Log): string[] {
  const removed: string[] = [];
  const now = Date.now();
  for (const t of TEMPORARIES) {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(cache, t.dir));
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      const full = path.join(cache, t.dir, name);
      const owned = t.owned.exec(name);
      let why: string | undefined;
      if (owned) {
        const pid = Number(owned[1]);
        if (!processExists(pid)) why = `its process ${pid} is gone`;
      } else if (t.legacy?.test(name)) {
        try {
          if (now - fs.lstatSync(full).ctimeMs > LEGACY_STALE_MS) why = 'left by an older seamlab, unchanged for over an hour';
        } catch {
          continue;
        }
      }
      if (why === undefined) continue;
      try {
        fs.rmSync(full, { recursive: true, force: true });
      } catch {
        continue;
      }
      removed.push(`${t.dir}/${name}`);
      log(`  removed ${t.dir}/${name} (${why})`);
    }
  }
  return removed;
}

function findDeb(dir: string, pkg: KernelPackage): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const debs = fs.readdirSync(dir).filter((f) => f.startsWith(`${pkg.package}_`) && f.endsWith('.deb')).sort();
  return debs.length ? path.join(dir, debs[debs.length - 1]!) : undefined;
}

let packageListsRefreshed = false;

/** Downloads the package's .deb into `$cache/debs` (kept, so a rebuilt tree needs no network). */
export function downloadDeb(pkg: KernelPackage, cache: string, log: Log): string {
  const debs = path.join(cache, 'debs');
  const existing = findDeb(debs, pkg);
  if (existing) {
    log(`  ${pkg.package}: using downloaded ${path.basename(existing)}`);
    return existing;
  }
  fs.mkdirSync(debs, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(debs, `.download-${process.pid}-`));
  try {
    if (process.getuid?.() === 0 && !packageListsRefreshed) {
      // Stale lists fetch an old upload (a fresh image's lists may predate
      // bookworm-security's current one). Any upload whose tdxcall.S has the
      // expected blob id works; refreshing once gets the current one.
      log('  refreshing the package lists (apt-get update)');
      run('apt-get', ['update']);
      packageListsRefreshed = true;
    }
    log(`  ${pkg.package}: apt-get download`);
    const r = run('apt-get', ['download', pkg.package], { cwd: tmp });
    const got = findDeb(tmp, pkg);
    if (r.status !== 0 || !got) {
      throw new SeamlabError('KERNEL_DOWNLOAD_FAILED', `apt-get download ${pkg.package} failed`, `enable Debian bookworm-security in apt sources (it carries ${pkg.package}), run apt-get update, and re-run scripts/setup`, {
        notes: r.stderr.trim().split('\n').slice(-3),
      });
    }
    const dest = path.join(debs, path.basename(got));
    fs.renameSync(got, dest);
    return dest;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function debVersion(deb: string): string {
  const r = run('dpkg-deb', ['-f', deb, 'Version']);
  if (r.status !== 0) throw new SeamlabError('KERNEL_DEB_BAD', `cannot read ${deb}: ${r.stderr.trim()}`, `delete ${deb} and re-run scripts/setup`);
  return r.stdout.trim();
}

/**
 * Extracts the members a TDX build needs from the .deb into a temporary
 * folder, verifies tdxcall.S, writes the manifest and renames the folder into
 * place (replacing an invalid tree). With `adopt` (a tree whose manifest is
 * stale or unreadable), a tree in place that holds exactly what was
 * extracted is kept instead and given its manifest: its files keep their
 * inodes, so nothing reading it meanwhile — another seamlab, older or
 * newer — loses a file or a cache entry.
 */
export function extractTree(pkg: KernelPackage, deb: string, cache: string, log: Log, opts: { adopt?: boolean } = {}): { manifest: TreeManifest; kept: boolean } {
  const trees = path.join(cache, 'trees');
  fs.mkdirSync(trees, { recursive: true });
  const version = debVersion(deb);
  const tmp = fs.mkdtempSync(path.join(trees, `.${pkg.name}-${process.pid}-`));
  try {
    // The .deb holds usr/src/<pkg>.tar.xz; stream it out and pick members.
    const inner = `./usr/src/${pkg.package}.tar.xz`;
    const members = EXTRACT_MEMBERS.map((m) => `${pkg.tarTop}/${m}`);
    const script = 'set -o pipefail; dpkg-deb --fsys-tarfile "$1" | tar -xO "$2" | tar -xJ -C "$3" --strip-components=1 --wildcards "${@:4}"';
    log(`  ${pkg.package} ${version}: extracting ${EXTRACT_MEMBERS.join(' ')}`);
    const r = run('bash', ['-c', script, 'extract', deb, inner, tmp, ...members]);
    if (r.status !== 0) {
      throw new SeamlabError('KERNEL_EXTRACT_FAILED', `extracting ${path.basename(deb)} failed`, `check free disk space in ${cache}, delete ${deb} and re-run scripts/setup`, {
        notes: r.stderr.trim().split('\n').slice(-3),
      });
    }
    // Every entry as extracted: what builds, doctor and setup check the tree against from now on.
    const entries = recordTreeEntries(tmp);
    const tdxcall = entries.get(TDXCALL_PATH);
    const blob = tdxcall?.[0] === 'f' ? tdxcall[4] : '(missing)';
    if (blob !== pkg.tdxcallBlob) {
      throw new SeamlabError('KERNEL_TREE_MISMATCH', `${pkg.package} ${version} has ${TDXCALL_PATH} blob ${blob}, expected ${pkg.tdxcallBlob}`, `this Debian version changed the TDX assembly; report it, or delete ${deb} to fetch another version`);
    }
    const head = { name: pkg.name, package: pkg.package, version, deb: path.basename(deb), tdxcallBlob: blob, members: [...EXTRACT_MEMBERS] };
    const dest = treeDir(pkg, cache);
    if (opts.adopt && fs.existsSync(dest)) {
      const inPlace = recordTreeEntries(dest);
      const difference = contentDifference(inPlace, entries);
      if (difference === undefined) {
        const kept = writeManifest(dest, head, inPlace);
        fs.rmSync(tmp, { recursive: true, force: true });
        log(`  ${pkg.name}: the cached tree holds exactly what the package does; kept, with a new manifest`);
        return { manifest: kept, kept: true };
      }
      log(`  ${pkg.name}: the cached tree differs from the package (${difference}); replacing it`);
    }
    const manifest = writeManifest(tmp, head, entries);
    if (fs.existsSync(dest)) {
      // Move the invalid tree aside first so the swap is a rename, then delete it.
      const old = `${dest}.old-${process.pid}`;
      fs.renameSync(dest, old);
      fs.renameSync(tmp, dest);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, dest);
    }
    return { manifest, kept: false };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** What ensureTree did: nothing (kept), a first extraction, a replaced tree (rebuilt), or a tree in place given a new manifest after matching the package (upgraded). */
export interface EnsureResult { name: string; action: 'kept' | 'extracted' | 'rebuilt' | 'upgraded'; manifest: TreeManifest; reason?: string }

/** Makes a built-in tree ready: a no-op when it already verifies (quick check, or full with `verify`). */
export function ensureTree(pkg: KernelPackage, cache: string, log: Log, opts: { verify?: boolean } = {}): EnsureResult {
  const st = inspectTree(pkg, cache, opts.verify ? 'full' : 'quick');
  if (st.ok) {
    const checked = opts.verify ? `every file's blob id checked` : 'entries checked by size and times';
    log(`  ${pkg.name}: ok (${st.manifest.package} ${st.manifest.version}, tdxcall.S ${st.manifest.tdxcallBlob.slice(0, 12)}, ${checked})`);
    return { name: pkg.name, action: 'kept', manifest: st.manifest };
  }
  // A stale or unreadable manifest says nothing about the files: a tree that matches the package is kept.
  const adopt = st.reason === 'stale-manifest' || st.reason === 'no-manifest';
  if (st.reason !== 'missing') log(`  ${pkg.name}: cached tree is invalid (${st.detail}); ${adopt ? 'checking it against the package' : 'rebuilding'}`);
  const deb = downloadDeb(pkg, cache, log);
  const { manifest, kept } = extractTree(pkg, deb, cache, log, { adopt });
  log(`  ${pkg.name}: ready (${manifest.package} ${manifest.version}, tdxcall.S ${manifest.tdxcallBlob.slice(0, 12)})`);
  return { name: pkg.name, action: st.reason === 'missing' ? 'extracted' : kept ? 'upgraded' : 'rebuilt', manifest, reason: st.reason === 'missing' ? undefined : st.detail };
}
