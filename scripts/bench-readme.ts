/**
 * `npm run bench:readme`: rewrites the README's performance section — the
 * text between PERFORMANCE_BEGIN and PERFORMANCE_END — from
 * bench-results.json (written by `npm run bench`), so the README's figures
 * are always one measured run. The reasons for missed targets are
 * scripts/bench/explanations.ts, written from profiles.
 *
 *   npm run bench:readme [-- --results FILE]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MISSED_TARGET_REASONS } from './bench/explanations.js';
import { replacePerformanceSection } from './bench/readme-section.js';
import { formatMarkdown } from './bench/report.js';
import { benchResultsSchema } from './bench/schema.js';

const ROOT = resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const at = argv.indexOf('--results');
const file = resolve(at >= 0 ? argv[at + 1]! : join(ROOT, 'bench-results.json'));

let json: unknown;
try {
  json = JSON.parse(readFileSync(file, 'utf8'));
} catch (e) {
  console.error(`bench:readme: cannot read ${file} (${(e as Error).message}); run npm run bench first`);
  process.exit(2);
}
const parsed = benchResultsSchema.safeParse(json);
if (!parsed.success) {
  console.error(`bench:readme: ${file} is not a seamlab-bench v1 document: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  process.exit(2);
}
const readme = join(ROOT, 'README.md');
writeFileSync(readme, replacePerformanceSection(readFileSync(readme, 'utf8'), formatMarkdown(parsed.data, MISSED_TARGET_REASONS)));
console.log(`README.md: performance section rewritten from ${file}`);
