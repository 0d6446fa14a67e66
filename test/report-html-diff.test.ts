/**
 * The HTML diff report (`seamlab diff … --html FILE`) in a real browser
 * (Debian's chromium through playwright-core), for v3 `__seamcall` against
 * linux-6.12 `__seamcall_ret` with the expected-differences file of
 * fixtures/diff. What the page must list comes from the JSON report the
 * same run wrote (-o) and from tdx-facts.md §1.1 (R0) and §1.6 (R5): R0
 * passes the caller's leftover R10/R11, stores the six output registers
 * even on VMfailInvalid and has no exception-table entry; R5 loads R10/R11
 * from the struct, stores nothing on VMfailInvalid, returns
 * TDX_SEAMCALL_UD/GP through its fixup; R0 pushes R12 and the out pointer,
 * R5 (saved=0) nothing but RBP. Line numbers come from the kernel source.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiffReport } from '../src/diff/report.js';
import { chromiumAvailable, launchBrowser, openPage, screenshot, type Browser } from './support/browser.js';
import { seamlab } from './support/cli.js';
import { treePath } from './support/kernel.js';

const EXPECT = 'fixtures/diff/v3-to-6.12.expect.yaml';
const ARGS = ['diff', 'v3', 'linux-6.12', '--pair', 'v3:__seamcall=linux-6.12:__seamcall_ret', '--expect', EXPECT];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-html-diff-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let html: string;
let url: string;
let report: DiffReport;

beforeAll(() => {
  const file = path.join(tmp, 'diff.html');
  const json = path.join(tmp, 'diff.json');
  const r = seamlab([...ARGS, '--html', file, '-o', json]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  html = fs.readFileSync(file, 'utf8');
  report = JSON.parse(fs.readFileSync(json, 'utf8')) as DiffReport;
  url = pathToFileURL(file).href;
});

describe('the HTML diff file', () => {
  it('is self-contained and embeds the report as the JSON one has it, with the success traces aligned', () => {
    expect(html.match(/\s(src|href)="[^"]*"/g)).toEqual([' href="data:,"']);
    expect(html).not.toMatch(/@import|url\(/);
    expect(html).toContain('<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;'.replace(/&#39;/g, "'"));
    const data = JSON.parse(/<script type="application\/json" id="seamlab-data">(.*?)<\/script>/s.exec(html)![1]!) as { report: DiffReport };
    expect(data.report).toEqual(report);
    expect(report.pairs[0]!.alignment?.scenario).toBe('success');
    expect(html).not.toContain(tmp);
  });

  it('is byte-identical when run again', () => {
    const again = path.join(tmp, 'again.html');
    expect(seamlab([...ARGS, '--html', again]).status).toBe(0);
    expect(fs.readFileSync(again, 'utf8')).toBe(html);
  });
});

describe.skipIf(!chromiumAvailable())('the diff report in chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  const text = async (l: Locator) => (await l.textContent())?.trim();
  const card = (page: Page, observation: string, cls: string) =>
    page.locator(`.difference[data-observation="${observation}"]`).filter({ has: page.locator(`xpath=self::*[contains(concat(' ', @data-classes, ' '), ' ${cls} ')]`) });
  const visibleCards = async (page: Page) => page.evaluate<[string, string][]>(`[...document.querySelectorAll('.difference')].filter((c) => !c.hidden).map((c) => [c.dataset.observation, c.dataset.classes])`);

  it('loads from file:// with no console errors and no request but the document itself', async () => {
    const { page, errors, requests } = await openPage(browser, url);
    await page.waitForSelector('section.pair');
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    await page.close();
  });

  it('lists the expected differences of v3 → 6.12, each once, and nothing unexpected', async () => {
    const { page } = await openPage(browser, url);
    expect(report.unexpected).toBe(0);
    expect(await text(page.locator('#verdict'))).toBe('no unexpected differences');
    const p = report.pairs[0]!;
    // Every difference of the report is on the page (grouped by observation, with its classes), and nothing else.
    const onPage = (await visibleCards(page)).flatMap(([o, cs]) => cs.split(' ').map((c) => `${c}/${o}`)).sort();
    expect(onPage).toEqual(p.differences.map((d) => `${d.class}/${d.observation}`).sort());
    expect(await page.locator('.difference.unexpected').count()).toBe(0);
    // What tdx-facts.md §1.1/§1.6 says changed, as expected differences:
    for (const o of ['seam.in.r10', 'seam.in.r11']) expect(await card(page, o, 'success').getAttribute('class')).toBe('difference expected');
    for (const r of ['rcx', 'rdx', 'r8', 'r9', 'r10', 'r11']) expect(await card(page, `output.${r}`, 'vmfailinvalid').count()).toBe(1);
    for (const c of ['ud', 'gp']) for (const o of ['end', 'return']) expect(await card(page, o, c).count()).toBe(1);
    // … and nothing about the outputs of a successful call.
    expect(await page.locator('.difference[data-group="output"]').filter({ hasText: /in success\b/ }).count()).toBe(0);
    // The matrix says the same.
    const cell = (c: string, g: string) => page.locator(`td.cell[data-class="${c}"][data-group="${g}"]`);
    expect(await cell('vmfailinvalid', 'output').getAttribute('class')).toBe('cell expected');
    expect(await cell('success', 'output').getAttribute('class')).toBe('cell same');
    expect(await cell('ud', 'end').getAttribute('class')).toBe('cell expected');
    expect(await cell('success', 'callee-saved').getAttribute('class')).toBe('cell same');
    // The reason comes from the expected-differences file.
    expect(await text(card(page, 'output.rcx', 'vmfailinvalid').locator('.reason'))).toContain('R0 stores RCX, RDX, R8-R11 into *out even on VMfailInvalid');
    await page.close();
  });

  it('shows both sides and the source lines responsible side by side', async () => {
    const { page } = await openPage(browser, url);
    const tdxcall61 = fs.readFileSync(path.join(treePath('linux-6.1'), 'arch/x86/virt/vmx/tdx/tdxcall.S'), 'utf8').split('\n');
    const store = tdxcall61.findIndex((l) => /movq\s+%rcx,\s*TDX_MODULE_rcx\(%r12\)/.test(l)) + 1;
    expect(store).toBeGreaterThan(0);
    const c = card(page, 'output.rcx', 'vmfailinvalid');
    const [a, b] = [c.locator('.side').nth(0), c.locator('.side').nth(1)];
    expect(await text(a.locator('.evidence .pos'))).toBe(`tdxcall.S:${store}`);
    expect(await text(b.locator('.value'))).toBe('not returned');
    const boxes = [await a.boundingBox(), await b.boundingBox()];
    expect(boxes[0]!.y).toBe(boxes[1]!.y);
    expect(boxes[0]!.x + boxes[0]!.width).toBeLessThanOrEqual(boxes[1]!.x);
    // #UD: R5 returns TDX_SEAMCALL_UD (trap number 6 | TDX_SW_ERROR) through its fixup, R0 oopses.
    const ret = card(page, 'return', 'ud');
    expect(await text(ret.locator('.side').nth(0).locator('.value'))).toMatch(/^none \(oops/);
    expect(await text(ret.locator('.side').nth(1).locator('.value'))).toBe('0x8000ff0000000006 TDX_SEAMCALL_UD');
    await page.close();
  });

  it('a matrix cell shows only its differences, from the keyboard too; "Show all" brings the rest back', async () => {
    const { page } = await openPage(browser, url);
    const button = page.locator('td.cell[data-class="vmfailinvalid"][data-group="output"] button');
    await button.focus();
    const ring = await page.evaluate(`getComputedStyle(document.activeElement).outlineStyle`);
    expect(ring).not.toBe('none');
    await page.keyboard.press('Enter');
    const shown = await visibleCards(page);
    const want = report.pairs[0]!.differences.filter((d) => d.class === 'vmfailinvalid' && d.group === 'output').map((d) => d.observation).sort();
    expect(shown.map(([o]) => o).sort()).toEqual(want);
    expect(want).toEqual(['output.r10', 'output.r11', 'output.r8', 'output.r9', 'output.rcx', 'output.rdx']);
    await page.getByRole('button', { name: 'Show all differences' }).click();
    expect((await visibleCards(page)).length).toBe(await page.locator('.difference').count());
    await page.close();
  });

  it('aligns the success traces side by side: every step once, in order, R0-only pushes and R5-only loads marked', async () => {
    const { page } = await openPage(browser, url);
    const al = report.pairs[0]!.alignment!;
    const steps = (side: 'a' | 'b') => page.evaluate<number[]>(`[...document.querySelectorAll('table.aligned td.step.${side}:not(.empty) .n')].map((n) => Number(n.textContent))`);
    const count = (side: 'a' | 'b') => al.rows.filter((r) => r[side]).length;
    expect(await steps('a')).toEqual([...Array(count('a')).keys()]);
    expect(await steps('b')).toEqual([...Array(count('b')).keys()]);
    const same = al.rows.filter((r) => r.mark === '=').length;
    expect(await page.locator('table.aligned tr[data-mark="="]').count()).toBe(same);
    // The SEAMCALLs line up.
    const seamcall = page.locator('table.aligned tr[data-mark="="]').filter({ has: page.locator('td.a code:text-is("seamcall")') });
    expect(await text(seamcall.locator('td.b code'))).toBe('seamcall');
    // R0 pushes R12 and the out pointer (§1.1); R5 without `saved` pushes nothing but RBP, and loads R10/R11 from args (§1.6).
    for (const asm of ['pushq %r12', 'pushq %r9']) expect(await page.locator('td.step.a').filter({ has: page.locator(`code:text-is("${asm}")`) }).getAttribute('class')).toBe('step a only');
    for (const asm of ['movq 0x20(%rsi), %r10', 'movq 0x28(%rsi), %r11']) expect(await page.locator('td.step.b').filter({ has: page.locator(`code:text-is("${asm}")`) }).getAttribute('class')).toBe('step b only');
    await page.getByLabel('show only the rows that differ').check();
    expect(await page.locator('table.aligned tr[data-mark="="]').filter({ visible: true }).count()).toBe(0);
    await page.close();
  });

  for (const [width, height] of [[1280, 800], [480, 800]] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      it(`renders at ${width}×${height} (${scheme}) without horizontal overflow`, async () => {
        const { page, errors } = await openPage(browser, url, { width, height, colorScheme: scheme });
        const m = await page.evaluate<{ doc: number; view: number; right: number }>(`({
          doc: document.documentElement.scrollWidth,
          view: window.innerWidth,
          right: Math.max(...[...document.querySelectorAll('header.top, section.pair, .difference')].map((e) => e.getBoundingClientRect().right)),
        })`);
        expect(m.doc).toBeLessThanOrEqual(m.view);
        expect(m.right).toBeLessThanOrEqual(m.view);
        await screenshot(page, `diff-v3-6.12-${width}x${height}-${scheme}`);
        await page.locator('section.alignment').scrollIntoViewIfNeeded();
        await screenshot(page, `diff-v3-6.12-${width}x${height}-${scheme}-aligned`);
        expect(errors).toEqual([]);
        await page.close();
      });
    }
  }
});
