/**
 * The trace explorer page (`seamlab trace --format html`): reads the
 * embedded data, draws the header, the step controls and the three panels,
 * and keeps them on one current step. Keys: ←/→ one step, Shift+←/→ over
 * a macro expansion (to the next line of the function's file), Home/End;
 * the step is kept in the URL fragment (#step=N) so a link opens there.
 */
import type { TraceExplorerData } from '../model.js';
import { h, shortPos } from './dom.js';
import { sourceView, stepList } from './lists.js';
import { statePanel } from './state-panel.js';

const data = JSON.parse(document.getElementById('seamlab-data')!.textContent) as TraceExplorerData;
const { trace } = data;
const { header, steps } = trace;
const last = steps.length - 1;

/** The steps each row ran (its expansion's included), in order: where a click on the row goes. */
const rowSteps: number[][] = data.rows.map(() => []);
data.stepRow.forEach((row, step) => {
  for (let r = row; r >= 0; r = data.rows[r]!.parent) rowSteps[r]!.push(step);
});

/** What Shift+arrow steps over: the line of the function's file a step belongs to (a macro invocation is one line). */
const lineKey = (k: number) => (data.stepLine[k]! >= 0 ? `row${data.stepLine[k]}` : steps[k]!.rip);

function overForward(k: number): number {
  let j = k + 1;
  while (j <= last && lineKey(j) === lineKey(k)) j++;
  return Math.min(j, last);
}

function overBackward(k: number): number {
  let j = k - 1;
  while (j >= 0 && lineKey(j) === lineKey(k)) j--;
  if (j < 0) return 0;
  const key = lineKey(j);
  while (j > 0 && lineKey(j - 1) === key) j--;
  return j;
}

let current = -1;
const status = h('div', { class: 'where', id: 'where', role: 'status', 'aria-live': 'polite' });
const slider = h('input', { type: 'range', id: 'slider', min: 0, max: Math.max(0, last), step: 1, value: 0, 'aria-label': 'Step' });

function describe(k: number): string {
  const s = steps[k]!;
  return `Step ${s.step} of ${steps.length - 1}: ${s.asm}${s.src ? ` — ${shortPos(s.src)}` : ''}${s.seam ? ` — ${s.seam.kind.toUpperCase()} ${s.seam.leafName ?? s.seam.leaf}` : ''}`;
}

function stepFromHash(): number | undefined {
  const m = /^#step=(\d+)$/.exec(location.hash);
  return m ? Math.min(Number(m[1]), last) : undefined;
}

function goTo(k: number): void {
  if (steps.length === 0) return;
  k = Math.max(0, Math.min(last, k));
  if (k === current) return;
  current = k;
  slider.value = String(k);
  slider.setAttribute('aria-valuetext', describe(k));
  status.textContent = describe(k);
  document.body.dataset.step = String(k);
  source.update(k);
  list.update(k);
  state.update(k);
  if (location.hash !== `#step=${k}`) {
    try {
      history.replaceState(null, '', `#step=${k}`);
    } catch {
      // Some file:// contexts refuse history changes; the fragment is a convenience.
    }
  }
}

/** A click on a source row: its first step, or — when already there — its next one. */
function jumpToRow(row: number): void {
  const ran = rowSteps[row]!;
  if (ran.length === 0) {
    status.textContent = `${data.rows[row]!.pos} did not run in this trace (still at step ${current}).`;
    return;
  }
  const here = ran.indexOf(current);
  goTo(here >= 0 ? ran[(here + 1) % ran.length]! : ran[0]!);
}

const source = sourceView(data, jumpToRow);
const list = stepList(data, goTo);
const state = statePanel(data, goTo);

const button = (label: string, text: string, keys: string, action: () => void) =>
  h('button', { type: 'button', 'aria-label': label, title: `${label} (${keys})`, 'aria-keyshortcuts': keys, onclick: action }, text);

const rev = header.revision;
const revText = `${rev.spec}${rev.package ? ` (${rev.package} ${rev.packageVersion ?? ''})` : ''}`;
document.body.append(
  h('header', { class: 'top' },
    h('h1', {}, header.function),
    h('span', { class: 'meta' }, `${revText} · scenario ${header.scenario.name} · profile ${header.profile} · ${header.executor}`),
    h('span', { class: 'meta' }, header.prototype),
    rev.patches.length ? h('span', { class: 'meta' }, rev.patches.map((p) => p.subject ?? p.source).join('; ')) : null),
  h('nav', { class: 'controls', 'aria-label': 'Step controls' },
    button('First step', '|◀', 'Home', () => goTo(0)),
    button('Back over a macro expansion', '◀◀', 'Shift+ArrowLeft', () => goTo(overBackward(current))),
    button('Previous step', '◀', 'ArrowLeft', () => goTo(current - 1)),
    button('Next step', '▶', 'ArrowRight', () => goTo(current + 1)),
    button('Over a macro expansion', '▶▶', 'Shift+ArrowRight', () => goTo(overForward(current))),
    button('Last step', '▶|', 'End', () => goTo(last)),
    slider,
    h('span', { class: 'keys' }, '←/→ step · Shift skips a macro · Home/End'),
    status),
  h('main', {}, source.element, list.element, state.element));

slider.addEventListener('input', () => goTo(Number(slider.value)));

document.addEventListener('keydown', (ev) => {
  if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
  let to: number | undefined;
  if (ev.key === 'ArrowRight') to = ev.shiftKey ? overForward(current) : current + 1;
  else if (ev.key === 'ArrowLeft') to = ev.shiftKey ? overBackward(current) : current - 1;
  else if (ev.key === 'Home') to = 0;
  else if (ev.key === 'End') to = last;
  if (to === undefined) return;
  ev.preventDefault();
  goTo(to);
});

window.addEventListener('hashchange', () => {
  const k = stepFromHash();
  if (k !== undefined) goTo(k);
});

goTo(stepFromHash() ?? 0);
