// Builds dist/: the CLI (dist/seamlab.js) and the library (dist/lib.js) bundled
// with esbuild in one build, so that they share their modules (chunk files):
// a scenario module's `import … from 'seamlab'` gets the classes the running
// CLI uses. Native/wasm packages stay external: koffi loads a .node binary and
// the Keystone/Capstone wasm sit next to their JS. Then tsc writes the type
// declarations (dist/types/, from tsconfig.build.json) that package.json names.
// The HTML pages' browser code (src/report/html/page/) is typechecked against
// the DOM and bundled, script and stylesheet, into dist/html/, from where
// src/report/html/document.ts inlines them into each report.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';
import { URL } from 'node:url';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
await build({
  // diff-worker: the worker thread of `seamlab diff --fuzz --jobs N` (src/diff/workers.ts starts it from dist/).
  entryPoints: { seamlab: 'src/cli/seamlab.ts', lib: 'src/index.ts', vitest: 'src/trace/vitest.ts', 'diff-worker': 'src/diff/worker.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  external: ['koffi', '@alexaltea/keystone-js', '@alexaltea/capstone-js'],
  logLevel: 'warning',
  // Some dependencies are CommonJS and call require(); give ESM output one.
  banner: { js: "import { createRequire as __seamlabCreateRequire } from 'node:module'; const require = __seamlabCreateRequire(import.meta.url);" },
});

// Minified, no source map, no legal comments: the file is embedded byte for byte in every report (deterministic).
const pages = await build({
  entryPoints: {
    trace: 'src/report/html/page/trace.ts', 'trace.css': 'src/report/html/page/trace.css',
    diff: 'src/report/html/page/diff.ts', 'diff.css': 'src/report/html/page/diff.css',
  },
  outdir: 'dist/html',
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: ['chrome109', 'firefox115', 'safari16'],
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  write: false,
});
mkdirSync('dist/html', { recursive: true });
for (const f of pages.outputFiles) {
  if (/<\/(script|style)/i.test(f.text)) throw new Error(`${f.path}: the bundle contains a closing tag and could not be inlined`);
  writeFileSync(f.path.replace(/\.css\.css$/, '.css'), f.text);
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
for (const project of ['tsconfig.build.json', 'src/report/html/page/tsconfig.json']) {
  const r = spawnSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// The JSON Schema of the trace format, generated from its zod schemas (src/trace/format.ts).
const { traceJsonSchema, diffJsonSchema } = await import(new URL('../dist/lib.js', import.meta.url).href);
writeFileSync(new URL('../dist/seamlab-trace.schema.json', import.meta.url), JSON.stringify(traceJsonSchema(), null, 2) + '\n');
// … and of the seamlab diff report (src/diff/report.ts).
writeFileSync(new URL('../dist/seamlab-diff.schema.json', import.meta.url), JSON.stringify(diffJsonSchema(), null, 2) + '\n');
