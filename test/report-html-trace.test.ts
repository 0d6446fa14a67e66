/**
 * The HTML trace explorer (`seamlab trace --format html`), in a real
 * browser (Debian's chromium through playwright-core), for a v3
 * `__seamcall` × success trace. Expected values come from the trace's own
 * JSON (recorded by the same CLI as JSON Lines), from the kernel source
 * (line numbers of seamcall.S/tdxcall.S found by their text) and from
 * tdx-facts.md (TDH.SYS.RD's answer, the stack at the SEAMCALL) — never
 * from the page itself. Screenshots land in test-artifacts/.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRevision } from '../src/intake/revision.js';
import type { Trace } from '../src/trace/format.js';
import { parseTrace } from '../src/trace/jsonl.js';
import type { Locator, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser, openPage, screenshot, type Browser } from './support/browser.js';
import { seamlab } from './support/cli.js';
import { treePath } from './support/kernel.js';

const SEAMCALL_S = 'arch/x86/virt/vmx/tdx/seamcall.S';
const TDXCALL_S = 'arch/x86/virt/vmx/tdx/tdxcall.S';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-html-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** 1-based numbers of the lines of `text` that match `re`. */
function linesMatching(text: string, re: RegExp): number[] {
  return text.split('\n').flatMap((l, i) => (re.test(l) ? [i + 1] : []));
}

let html: string;
let htmlFile: string;
let url: string;
let trace: Trace;

beforeAll(() => {
  htmlFile = path.join(tmp, 'v3-seamcall.html');
  const jsonl = path.join(tmp, 'v3-seamcall.jsonl');
  const a = seamlab(['trace', 'v3', '--fn', '__seamcall', '--scenario', 'success', '--format', 'html', '-o', htmlFile]);
  expect(a.stderr).toBe('');
  expect(a.status).toBe(0);
  const b = seamlab(['trace', 'v3', '--fn', '__seamcall', '--scenario', 'success', '--format', 'jsonl', '-o', jsonl]);
  expect(b.status).toBe(0);
  html = fs.readFileSync(htmlFile, 'utf8');
  trace = parseTrace(fs.readFileSync(jsonl, 'utf8'), jsonl);
  url = pathToFileURL(htmlFile).href;
});

describe('the HTML file', () => {
  it('is self-contained: inline script and style only, a CSP that allows nothing else, the trace embedded as recorded', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    // Nothing to fetch: no src=/href= to anything but the data: icon, no @import or url( in the inlined CSS.
    expect(html.match(/\s(src|href)="[^"]*"/g)).toEqual([' href="data:,"']);
    expect(html).not.toMatch(/@import|url\(/);
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;|<meta http-equiv="Content-Security-Policy" content="default-src 'none'/);
    const data = JSON.parse(/<script type="application\/json" id="seamlab-data">(.*?)<\/script>/s.exec(html)![1]!) as { trace: Trace };
    expect(data.trace).toEqual(trace);
    // No host path leaks into the page.
    expect(html).not.toContain(tmp);
    expect(html).not.toContain(os.homedir());
  });

  it('is byte-identical when recorded again', () => {
    const again = path.join(tmp, 'again.html');
    expect(seamlab(['trace', 'v3', '--fn', '__seamcall', '--scenario', 'success', '--format', 'html', '-o', again]).status).toBe(0);
    expect(fs.readFileSync(again, 'utf8')).toBe(html);
  });
});

describe.skipIf(!chromiumAvailable())('the trace explorer in chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  const stepOf = async (page: Page) => Number(await page.locator('body').getAttribute('data-step'));
  const reg = async (page: Page, name: string) => page.locator(`#state-panel [data-reg="${name}"] .val`).textContent();
  const text = async (l: Locator) => (await l.textContent())?.trim();
  const cls = async (l: Locator) => l.getAttribute('class');

  it('loads from file:// with no console errors and no request but the document itself', async () => {
    const { page, errors, requests } = await openPage(browser, url);
    await page.waitForSelector('#state-panel');
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    expect(await stepOf(page)).toBe(0);
    await page.close();
  });

  it('→ moves one step and the register panel shows what SEAMCALL left: TDH.SYS.RD answered TDX_SUCCESS, R8 = the value, RDX = the next field id', async () => {
    const { page, errors } = await openPage(browser, url);
    const at = trace.steps.findIndex((s) => s.asm === 'seamcall');
    expect(at).toBeGreaterThan(0);
    await page.keyboard.press('End');
    await page.keyboard.press('Home');
    for (let i = 0; i < at; i++) await page.keyboard.press('ArrowRight');
    expect(await stepOf(page)).toBe(at);
    const step = trace.steps[at]!;
    // The trace's own values …
    for (const [name, pair] of Object.entries(step.regs!)) {
      expect(await reg(page, name)).toBe(pair[1]);
      expect(await cls(page.locator(`#state-panel [data-reg="${name}"]`))).toMatch(/changed/);
    }
    // … are what tdx-facts.md says TDH.SYS.RD (leaf 34) returns for MAX_TDMRS (0x9100000100000008):
    // RAX = 0 (TDX_SUCCESS), R8 = the value, RDX = the next field id (MAX_RESERVED_PER_TDMR, 0x9100000100000009).
    expect(step.seam).toMatchObject({ leaf: '0x22', leafName: 'TDH.SYS.RD', statusName: 'TDX_SUCCESS' });
    expect(trace.header.entry.regs.rdx).toBe('0x9100000100000008');
    expect(await reg(page, 'rax')).toBe('0x0');
    expect(await reg(page, 'rdx')).toBe('0x9100000100000009');
    // Registers the step left alone are not marked.
    expect(await page.locator('#registers [data-reg="rcx"]').getAttribute('class')).toBe('reg');
    // VMsucceed: CF and ZF clear, and changed here (the entry RFLAGS had them set).
    expect(await cls(page.locator('#rflags [data-flag="CF"]'))).toBe('flag changed');
    expect(await cls(page.locator('#rflags [data-flag="IF"]'))).toMatch(/\bon\b/);
    // The SEAM call: what was asked and answered.
    const detail = await page.locator('#event-detail').textContent();
    expect(detail).toContain('At this step');
    expect(detail).toContain('TDH.SYS.RD');
    expect(detail).toContain('TDX_SUCCESS');
    expect(detail).toContain(`rdx=${step.seam!.in.rdx}`);
    expect(new URL(page.url()).hash).toBe(`#step=${at}`);
    // ← goes back, and RAX is the leaf again.
    await page.keyboard.press('ArrowLeft');
    expect(await reg(page, 'rax')).toBe('0x22');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('clicking a source line goes to its first instruction, in the function file and inside the macro expansion', async () => {
    const { page } = await openPage(browser, url);
    const seamcallText = resolveRevision('v3').files.readFile(SEAMCALL_S)!;
    const [retLine] = linesMatching(seamcallText, /^\s*ret\s*$/);
    expect(retLine).toBeDefined();
    await page.locator('.file').first().locator('.row:not(.sub) .jump').filter({ has: page.locator(`.ln:text-is("${retLine}")`) }).click();
    expect(await stepOf(page)).toBe(trace.steps.findIndex((s) => s.src === `${SEAMCALL_S}:${retLine}`));

    // The store of RCX into *out, written in tdxcall.S (6.1 tree), shown under the TDX_MODULE_CALL line.
    const tdxcall = fs.readFileSync(path.join(treePath('linux-6.1'), TDXCALL_S), 'utf8');
    const [storeLine] = linesMatching(tdxcall, /movq\s+%rcx,\s*TDX_MODULE_rcx\(%r12\)/);
    expect(storeLine).toBeDefined();
    await page.locator(`.row.sub .jump`).filter({ has: page.locator(`.ln:text-is("tdxcall.S:${storeLine}")`) }).click();
    const first = trace.steps.findIndex((s) => s.src === `${TDXCALL_S}:${storeLine}`);
    expect(first).toBeGreaterThan(0);
    expect(await stepOf(page)).toBe(first);
    expect(trace.steps[first]!.mem).toEqual([expect.objectContaining({ op: 'w', label: 'out->rcx' })]);
    // The instruction list follows, and a click there moves the source view.
    expect(await page.locator(`ol.steps li[data-step="${first}"]`).getAttribute('aria-current')).toBe('step');
    await page.locator('ol.steps li[data-step="1"] .jump').click();
    expect(await stepOf(page)).toBe(1);
    expect(await text(page.locator('.row.at-stmt .ln'))).toBe(`frame.h:${trace.steps[1]!.src!.split(':')[1]}`);
    await page.close();
  });

  it('Shift+→ steps over the TDX_MODULE_CALL expansion and Shift+← back to its start; folding keeps the invocation line marked', async () => {
    const { page } = await openPage(browser, url);
    const inMacro = (i: number) => (trace.steps[i]!.macros ?? []).some((m) => m.startsWith('TDX_MODULE_CALL '));
    const start = trace.steps.findIndex((_, i) => inMacro(i));
    const after = trace.steps.findIndex((_, i) => i > start && !inMacro(i));
    expect(start).toBeGreaterThan(0);
    expect(after).toBeGreaterThan(start + 10);
    await page.keyboard.press('Shift+ArrowRight');
    expect(await stepOf(page)).toBe(start);
    await page.keyboard.press('Shift+ArrowRight');
    expect(await stepOf(page)).toBe(after);
    // FRAME_END's pop %rbp (frame.h), per tdx-facts §1.1: the macro body is between FRAME_BEGIN and FRAME_END.
    expect(trace.steps[after]!.macros).toEqual([expect.stringMatching(/^FRAME_END at /)]);
    await page.keyboard.press('Shift+ArrowLeft');
    expect(await stepOf(page)).toBe(start);

    const seamcallText = resolveRevision('v3').files.readFile(SEAMCALL_S)!;
    const [invocation] = linesMatching(seamcallText, /^\s*TDX_MODULE_CALL\b/);
    const row = page.locator('.file').first().locator('.row:not(.sub)').filter({ has: page.locator(`.ln:text-is("${invocation}")`) });
    // Its count is every instruction the expansion ran.
    expect(await text(row.locator('.hits'))).toBe(String(trace.steps.filter((_, i) => inMacro(i)).length));
    expect(await row.locator('.fold').getAttribute('aria-expanded')).toBe('true');
    await row.locator('.fold').click();
    expect(await row.locator('.fold').getAttribute('aria-expanded')).toBe('false');
    await page.keyboard.press('ArrowRight');
    expect(await stepOf(page)).toBe(start + 1);
    expect(await cls(row)).toMatch(/at-line/);
    expect(await page.locator('.row.sub').filter({ hasText: 'tdxcall.S', visible: true }).count()).toBe(0);
    // From the keyboard: unfold and fold again with Enter; the list's one Tab stop is then the invocation line, not a hidden row.
    await row.locator('.fold').focus();
    await page.keyboard.press('Enter');
    expect(await row.locator('.fold').getAttribute('aria-expanded')).toBe('true');
    await page.locator('.row.sub .jump').filter({ hasText: 'push %r9' }).focus();
    await row.locator('.fold').focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(`document.activeElement.dataset.row`)).toBe(await row.locator('.jump').getAttribute('data-row'));
    await page.close();
  });

  it('a #step=N link opens at that step, with the stack as tdx-facts.md draws it at the SEAMCALL', async () => {
    const at = trace.steps.findIndex((s) => s.asm === 'seamcall');
    const { page } = await openPage(browser, `${url}#step=${at}`);
    expect(await stepOf(page)).toBe(at);
    expect(await page.locator(`ol.steps li[data-step="${at}"]`).getAttribute('aria-current')).toBe('step');
    // tdx-facts §1.1, with CONFIG_FRAME_POINTER: [rsp] out pointer, [rsp+8] r12, [rsp+16] saved rbp, [rsp+24] return address.
    const e = trace.header.entry.regs;
    const slot = (off: string) => page.locator('#memory table[data-region="Stack"] tr').filter({ has: page.locator(`td.off:text-is("${off}")`) });
    expect(await text(slot('rsp+0').locator('td.val'))).toBe(e.r9!);
    expect(await text(slot('rsp+0').locator('td.ptr'))).toBe('← rsp');
    expect(await text(slot('rsp+8').locator('td.val'))).toBe(e.r12!);
    expect(await text(slot('rsp+16').locator('td.val'))).toBe(e.rbp!);
    expect(await text(slot('rsp+16').locator('td.ptr'))).toBe('← rbp');
    expect(await text(slot('rsp+24').locator('td.what'))).toBe('return address');
    // Home and End.
    await page.keyboard.press('End');
    expect(await stepOf(page)).toBe(trace.steps.length - 1);
    await page.keyboard.press('Home');
    expect(await stepOf(page)).toBe(0);
    await page.close();
  });

  it('*out fills field by field as the stores run (values from the trace summary)', async () => {
    const { page } = await openPage(browser, url);
    const out = trace.summary.outputs.find((o) => o.param === 'out')!;
    const last = trace.steps.length - 1;
    await page.keyboard.press('End');
    expect(await stepOf(page)).toBe(last);
    for (const f of out.fields) {
      expect(await text(page.locator('#memory table tr').filter({ has: page.locator(`td:text-is("${f.name}")`) }).locator('td.val'))).toBe(f.value);
    }
    const store = trace.steps.findIndex((s) => s.mem?.some((m) => m.label === 'out->rcx'));
    await page.goto(`${url}#step=${store - 1}`);
    expect(await text(page.locator('#memory table tr').filter({ has: page.locator('td:text-is("rcx")') }).locator('td.val'))).toBe('unknown');
    await page.keyboard.press('ArrowRight');
    const row = page.locator('#memory table tr').filter({ has: page.locator('td:text-is("rcx")') });
    expect(await cls(row)).toBe('written');
    expect(await text(row.locator('td.val'))).toContain(out.fields.find((f) => f.name === 'rcx')!.value);
    await page.close();
  });

  it('works with the keyboard alone: Tab reaches the controls and both lists with a visible focus ring, ↓ and Enter pick an instruction', async () => {
    const { page } = await openPage(browser, url);
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      // (Evaluated in the page; a string, since the tests are typed without the DOM library.)
      const f = await page.evaluate<{ where: string; label: string; outline: string; width: string }>(`(() => {
        const el = document.activeElement;
        const cs = getComputedStyle(el);
        return { where: el.closest('section')?.id ?? el.closest('nav')?.className ?? el.tagName, label: el.getAttribute('aria-label') ?? el.textContent ?? '', outline: cs.outlineStyle, width: cs.outlineWidth };
      })()`);
      seen.push(f.where);
      expect(f.outline, `focus ring on ${f.label}`).not.toBe('none');
      expect(f.width).not.toBe('0px');
      if (f.where === 'steps-panel') break;
    }
    expect(seen).toContain('controls');
    expect(seen).toContain('source-panel');
    expect(seen.at(-1)).toBe('steps-panel');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    expect(await stepOf(page)).toBe(2);
    await page.close();
  });

  for (const [width, height] of [[1280, 800], [480, 800]] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      it(`renders at ${width}×${height} (${scheme}) without horizontal overflow of the panels`, async () => {
        const { page, errors } = await openPage(browser, `${url}#step=8`, { width, height, colorScheme: scheme });
        const m = await page.evaluate<{ doc: number; view: number; bg: string; panels: { id: string; right: number; scroll: number; client: number }[] }>(`({
          doc: document.documentElement.scrollWidth,
          view: window.innerWidth,
          bg: getComputedStyle(document.body).backgroundColor,
          panels: [...document.querySelectorAll('.controls, header.top, .panel')].map((p) => ({ id: p.id || p.className, right: p.getBoundingClientRect().right, scroll: p.scrollWidth, client: p.clientWidth })),
        })`);
        expect(m.doc).toBeLessThanOrEqual(m.view);
        expect(m.panels.length).toBe(5);
        for (const p of m.panels) {
          expect(p.right, p.id).toBeLessThanOrEqual(m.view);
          expect(p.scroll, p.id).toBeLessThanOrEqual(p.client + 1);
        }
        // The scheme is followed: a dark background in dark mode, a light one otherwise.
        const [r, g, b] = m.bg.match(/\d+/g)!.map(Number);
        const luminance = (0.2126 * r! + 0.7152 * g! + 0.0722 * b!) / 255;
        if (scheme === 'dark') expect(luminance).toBeLessThan(0.2);
        else expect(luminance).toBeGreaterThan(0.8);
        if (width === 1280) {
          // Side by side at desktop width.
          const tops = await page.evaluate<number[]>(`[...document.querySelectorAll('main > .panel')].map((e) => Math.round(e.getBoundingClientRect().top))`);
          expect(new Set(tops).size).toBe(1);
        }
        await screenshot(page, `trace-v3-seamcall-${width}x${height}-${scheme}`);
        expect(errors).toEqual([]);
        await page.close();
      });
    }
  }
});
