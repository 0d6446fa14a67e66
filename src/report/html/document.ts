/**
 * One self-contained HTML file: the page's script and stylesheet (bundled
 * by esbuild at build time from src/report/html/page/ into dist/html/, see
 * scripts/build.mjs) inlined, the data embedded as JSON, and a Content
 * Security Policy that allows nothing but those inline blocks (by hash), so
 * the page opens from a file:// URL, offline, and cannot reach the network
 * even by mistake. No timestamps or paths: the same data gives the same bytes.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../support/package-root.js';
import type { PageKind } from './model.js';

/** Where scripts/build.mjs puts the bundled page assets, relative to the package root. */
export const PAGE_ASSET_DIR = 'dist/html';

interface PageAssets {
  js: string;
  css: string;
}

const assetCache = new Map<PageKind, PageAssets>();

function pageAssets(kind: PageKind): PageAssets {
  let a = assetCache.get(kind);
  if (a) return a;
  const dir = path.join(packageRoot(), PAGE_ASSET_DIR);
  try {
    a = { js: fs.readFileSync(path.join(dir, `${kind}.js`), 'utf8'), css: fs.readFileSync(path.join(dir, `${kind}.css`), 'utf8') };
  } catch (e) {
    // The package ships dist/html; from a source checkout it appears with `npm run build`.
    throw new Error(`the ${kind} page's bundled assets are missing from ${PAGE_ASSET_DIR} (run npm run build): ${(e as Error).message}`, { cause: e });
  }
  // An inline block ends at the first `</script` / `</style`; the bundler never emits one, and this says so loudly if it does.
  if (/<\/script/i.test(a.js) || /<\/style/i.test(a.css)) throw new Error(`the ${kind} page's bundle contains a closing tag and cannot be inlined`);
  assetCache.set(kind, a);
  return a;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('base64');

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** JSON safe inside a `<script>` element: no `<` at all (so no `</script` or `<!--`), and the two JS line separators escaped. */
export function embeddedJson(data: unknown): string {
  return JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export interface HtmlPage {
  kind: PageKind;
  title: string;
  /** What the page draws; must serialise deterministically (fixed key order, no Map/Set). */
  data: unknown;
}

/** The whole HTML file. */
export function renderHtmlPage(page: HtmlPage): string {
  const { js, css } = pageAssets(page.kind);
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${sha256(js)}'`,
    `style-src 'sha256-${sha256(css)}'`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    `<meta name="generator" content="seamlab">`,
    '<link rel="icon" href="data:,">',
    `<title>${escapeHtml(page.title)}</title>`,
    `<style>${css}</style>`,
    '</head>',
    '<body>',
    '<noscript><p>This seamlab report is drawn by its inline script; enable JavaScript to explore it.</p></noscript>',
    `<script type="application/json" id="seamlab-data">${embeddedJson(page.data)}</script>`,
    `<script>${js}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
