/**
 * A real browser for the HTML report tests: Debian's chromium (installed by
 * .ci/run), driven headless through playwright-core, with a fresh profile
 * and every background service that would try the network turned off. A
 * page opened through `openPage` records its console errors, uncaught
 * exceptions and every request it makes, for the tests to assert on.
 * Screenshots go to test-artifacts/ (ignored by git).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { hasFile, requireOracle } from './oracles.js';

export const CHROMIUM = '/usr/bin/chromium';

/** Chromium's switches: no sandbox (containers), no GPU, and nothing that phones home on start. */
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');

/** True when chromium can run the tests; under CI its absence fails, locally the tests skip loudly. */
export function chromiumAvailable(): boolean {
  return requireOracle('chromium', hasFile(CHROMIUM), 'apt-get install chromium');
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 800 } });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface OpenedPage {
  page: Page;
  /** Console messages of type error, and uncaught exceptions. */
  errors: string[];
  /** Every URL the page requested. */
  requests: string[];
}

export async function openPage(b: Browser, url: string, opts: { width?: number; height?: number; colorScheme?: 'light' | 'dark' } = {}): Promise<OpenedPage> {
  const page = await b.context.newPage();
  // The page draws synchronously: what is not there after a few seconds will not come.
  page.setDefaultTimeout(5000);
  await page.setViewportSize({ width: opts.width ?? 1280, height: opts.height ?? 800 });
  await page.emulateMedia({ colorScheme: opts.colorScheme ?? 'light' });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  return { page, errors, requests };
}

/** Saves a screenshot under test-artifacts/ and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
