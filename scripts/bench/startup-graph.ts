/**
 * What `node dist/seamlab.js` loads before any command's action runs: the
 * static import closure of the bundle's entry, read from dist/ itself. esbuild
 * writes a `// path` comment before each module it bundles, so the chunks
 * name the source modules and packages they hold. The benchmark reports it;
 * test/cli-startup.test.ts checks that no pipeline stage is in it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface StartupGraph {
  /** Bundle files loaded (the entry and its statically imported chunks), relative to dist/. */
  files: string[];
  /** Their size in bytes. */
  bytes: number;
  /** Source modules bundled into them (`src/…`), sorted. */
  modules: string[];
  /** npm packages bundled into them or imported from them, sorted. */
  packages: string[];
}

// A static import or re-export at the start of a line: `import … from "x"`, `import "x"`, `export … from "x"`.
const STATIC_IMPORT = /^(?:import|export)\s*(?:[^'"();]*?\sfrom\s*)?["']([^"']+)["']/gm;
const MODULE_COMMENT = /^\/\/ ((?:src|node_modules)\/\S+)$/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*["'](\.[^"']+)["']\s*\)/g;

function packageOf(spec: string): string | undefined {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) return undefined;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The start-up graph of the bundle whose entry is `entry` (e.g. dist/seamlab.js);
 * with `dynamic`, also what the dynamic imports of matching chunks load (what
 * one command's action loads, e.g. /\/doctor-/ for `--version`).
 */
export function startupGraph(entry: string, opts: { dynamic?: RegExp } = {}): StartupGraph {
  const root = dirname(resolve(entry));
  const seen = new Set<string>();
  const modules = new Set<string>();
  const packages = new Set<string>();
  let bytes = 0;
  const stack = [resolve(entry)];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    bytes += Buffer.byteLength(text);
    for (const m of text.matchAll(MODULE_COMMENT)) {
      const path = m[1]!;
      if (path.startsWith('src/')) modules.add(path);
      else packages.add(packageOf(path.slice('node_modules/'.length))!);
    }
    if (opts.dynamic) {
      for (const m of text.matchAll(DYNAMIC_IMPORT)) if (opts.dynamic.test(m[1]!)) stack.push(join(dirname(file), m[1]!));
    }
    for (const m of text.matchAll(STATIC_IMPORT)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) stack.push(join(dirname(file), spec));
      else {
        const pkg = packageOf(spec);
        if (pkg) packages.add(pkg);
      }
    }
  }
  return {
    files: [...seen].map((f) => f.slice(root.length + 1)).sort(),
    bytes,
    modules: [...modules].sort(),
    packages: [...packages].sort(),
  };
}
