/**
 * Shared by the benchmark scripts: bundles the calling script with esbuild
 * (what dist/ is made of) next to node_modules, so that child processes
 * measure bundled code, as the CLI runs, and dependencies resolve.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(import.meta.dirname, '..');

/** Bundles `scriptUrl` (an import.meta.url) into node_modules/.cache/seamlab-bench/<name>.mjs and returns its path. */
export async function bundleSelf(scriptUrl: string, name: string): Promise<string> {
  const benchDir = join(ROOT, 'node_modules', '.cache', 'seamlab-bench');
  mkdirSync(benchDir, { recursive: true });
  const bundle = join(benchDir, `${name}.mjs`);
  const { build } = await import('esbuild');
  await build({
    entryPoints: [fileURLToPath(scriptUrl)],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['koffi', '@alexaltea/keystone-js', '@alexaltea/capstone-js', 'esbuild'],
    banner: { js: "import { createRequire as __seamlabCreateRequire } from 'node:module'; const require = __seamlabCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  return bundle;
}
