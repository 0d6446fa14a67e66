// Bundles the CLI (and the library entry) with esbuild so that start-up does
// not pay for TypeScript compilation. Native/wasm packages stay external:
// koffi loads a .node binary and the Keystone/Capstone wasm sit next to their JS.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  external: ['koffi', '@alexaltea/keystone-js', '@alexaltea/capstone-js'],
  logLevel: 'warning',
  // Some dependencies are CommonJS and call require(); give ESM output one.
  banner: { js: "import { createRequire as __seamlabCreateRequire } from 'node:module'; const require = __seamlabCreateRequire(import.meta.url);" },
};

await build({
  ...common,
  entryPoints: { seamlab: 'src/cli/seamlab.ts' },
  outdir: 'dist',
  banner: { js: '#!/usr/bin/env node\n' + common.banner.js },
});
await build({ ...common, entryPoints: { lib: 'src/index.ts', vitest: 'src/trace/vitest.ts' }, outdir: 'dist' });
// The worker thread of `seamlab diff --fuzz --jobs N` (src/diff/workers.ts starts it from dist/).
await build({ ...common, entryPoints: { 'diff-worker': 'src/diff/worker.ts' }, outdir: 'dist' });

// The JSON Schema of the trace format, generated from its zod schemas (src/trace/format.ts).
const { traceJsonSchema, diffJsonSchema } = await import(new URL('../dist/lib.js', import.meta.url).href);
const { writeFileSync } = await import('node:fs');
writeFileSync(new URL('../dist/seamlab-trace.schema.json', import.meta.url), JSON.stringify(traceJsonSchema(), null, 2) + '\n');
// … and of the seamlab diff report (src/diff/report.ts).
writeFileSync(new URL('../dist/seamlab-diff.schema.json', import.meta.url), JSON.stringify(diffJsonSchema(), null, 2) + '\n');
