/**
 * The two synchronised lists of the trace explorer: the source view (the
 * function's file with hit counts, macro expansions folded under their
 * invocation) and the executed instructions. Clicking a row of either jumps
 * there; each list is one Tab stop, ↑/↓ move within it (roving tabindex),
 * Enter jumps.
 */
import type { TraceExplorerData } from '../model.js';
import { h, scrollWithin, shortPos } from './dom.js';

/** Keeps one `.jump` button of a list tabbable and moves focus with ↑/↓ among the visible ones. */
class RovingList {
  private active: HTMLButtonElement | undefined;

  constructor(private readonly root: HTMLElement) {
    root.addEventListener('keydown', (ev) => {
      if (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown') return;
      if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
      const buttons = this.visible();
      const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
      const next = buttons[Math.max(0, Math.min(buttons.length - 1, at < 0 ? 0 : at + (ev.key === 'ArrowDown' ? 1 : -1)))];
      if (next) {
        this.setActive(next);
        next.focus();
      }
      ev.preventDefault();
      ev.stopPropagation();
    });
    root.addEventListener('focusin', (ev) => {
      const b = (ev.target as HTMLElement).closest?.('.jump');
      if (b instanceof HTMLButtonElement) this.setActive(b);
    });
  }

  private visible(): HTMLButtonElement[] {
    return [...this.root.querySelectorAll<HTMLButtonElement>('.jump')].filter((b) => !b.closest('[hidden]'));
  }

  setActive(b: HTMLButtonElement | undefined): void {
    if (b === this.active) return;
    if (this.active) this.active.tabIndex = -1;
    this.active = b ?? this.visible()[0];
    if (this.active) this.active.tabIndex = 0;
  }

  /** After folding: a tab stop inside a folded expansion moves to `fallback` (the invocation's own row). */
  keepVisible(fallback: HTMLButtonElement): void {
    if (this.active?.closest('[hidden]')) this.setActive(fallback);
  }

  hasFocus(): boolean {
    return this.root.contains(document.activeElement);
  }
}

export interface ListView {
  element: HTMLElement;
  update(step: number): void;
}

/** The source view. `jumpToRow` is called with the row a click chose. */
export function sourceView(data: TraceExplorerData, jumpToRow: (row: number) => void): ListView {
  const { rows } = data;
  const items: HTMLLIElement[] = [];
  const buttons: HTMLButtonElement[] = [];
  const folded = new Set<number>();
  // Expansions that ran start open; those that did not start folded.
  rows.forEach((r, i) => {
    if (r.expands && r.hits === 0) folded.add(i);
  });
  const foldButtons = new Map<number, HTMLButtonElement>();

  const applyFolds = () => {
    rows.forEach((r, i) => {
      let hidden = false;
      for (let p = r.parent; p >= 0 && !hidden; p = rows[p]!.parent) hidden = folded.has(p);
      items[i]!.hidden = hidden;
    });
    for (const [i, b] of foldButtons) {
      const open = !folded.has(i);
      b.setAttribute('aria-expanded', String(open));
      b.textContent = open ? '▾' : '▸';
    }
  };

  const panel = h('section', { id: 'source-panel', class: 'panel', 'aria-labelledby': 'source-h' },
    h('h2', { id: 'source-h' }, 'Source ', h('span', { class: 'muted' }, '(count: instructions run from the line)')));
  const roving = new RovingList(panel);
  for (const f of data.files) {
    const list = h('ol', { class: 'rows', 'aria-label': `Source of ${f.path}` });
    for (let i = f.first; i < f.first + f.count; i++) {
      const r = rows[i]!;
      const where = r.depth === 0 ? `line ${r.line}` : shortPos(r.pos);
      const title = `${r.pos}${r.code ? ` · ${r.hits} instruction${r.hits === 1 ? '' : 's'} run` : ''}${r.hits ? ' · click to go to its first' : ''}`;
      const jump = h('button', { class: 'jump', type: 'button', tabindex: -1, title, 'data-row': i, onclick: () => jumpToRow(i) },
        h('span', { class: 'ln' }, r.depth === 0 ? r.line : shortPos(r.pos)),
        h('span', { class: 'hits' }, r.code ? `${r.hits}` : ''),
        h('span', { class: 'txt' }, r.text || ' ', r.stmt ? h('span', { class: 'stmt' }, r.stmt) : null));
      let fold: HTMLButtonElement | undefined;
      if (r.expands) {
        fold = h('button', {
          class: 'fold', type: 'button', 'aria-label': `Expansion of ${where}`, title: 'Fold or unfold the statements this line expands to',
          onclick: () => {
            if (folded.has(i)) folded.delete(i);
            else folded.add(i);
            applyFolds();
            roving.keepVisible(jump);
          },
        });
        foldButtons.set(i, fold);
      }
      const li = h('li', { class: `row${r.depth ? ' sub' : ''}${r.code ? ' code' : ' nocode'}${r.hits ? ' ran' : ''}`, 'data-row': i },
        fold ?? h('span', { class: 'fold-space' }), jump);
      if (r.depth) li.style.setProperty('--depth', String(r.depth));
      items.push(li);
      buttons.push(jump);
      list.append(li);
    }
    panel.append(h('div', { class: 'file' }, h('p', { class: 'file-path' }, f.path), list));
  }
  applyFolds();

  let marked: number[] = [];
  return {
    element: panel,
    update(step: number) {
      for (const i of marked) items[i]!.classList.remove('at-stmt', 'at-line');
      const row = data.stepRow[step] ?? -1;
      const line = data.stepLine[step] ?? -1;
      marked = [row, line].filter((x) => x >= 0);
      if (line >= 0) items[line]!.classList.add('at-line');
      if (row >= 0) items[row]!.classList.add('at-stmt');
      // The row to show: the statement, or the invocation it is folded under.
      let shown = row;
      while (shown >= 0 && items[shown]!.hidden) shown = rows[shown]!.parent;
      if (shown >= 0) {
        if (!roving.hasFocus()) roving.setActive(buttons[shown]);
        scrollWithin(panel, items[shown]!);
      }
    },
  };
}

/** The executed instructions, one row per step. */
export function stepList(data: TraceExplorerData, jumpToStep: (step: number) => void): ListView {
  const { steps, header } = data.trace;
  const items: HTMLLIElement[] = [];
  const list = h('ol', { class: 'steps', 'aria-label': 'Executed instructions' });
  for (const s of steps) {
    const sym = s.sym?.startsWith(header.function) ? s.sym.slice(header.function.length) || header.function : s.sym ?? s.rip;
    const macro = s.macros?.length ? ` · ${s.macros[s.macros.length - 1]!.replace(/ at .*$/, '')}` : '';
    const li = h('li', { 'data-step': s.step },
      h('button', { class: 'jump', type: 'button', tabindex: -1, title: `${s.rip} ${s.sym ?? ''}`.trim(), onclick: () => jumpToStep(s.step) },
        h('span', { class: 'n' }, s.step),
        h('span', { class: 'sym' }, sym),
        h('span', { class: 'asm' }, s.asm,
          s.seam ? h('span', { class: 'mark' }, s.seam.kind.toUpperCase()) : null,
          s.fault ? h('span', { class: 'mark fault' }, `fault #${s.fault.vector}`) : null),
        s.src ? h('span', { class: 'src' }, shortPos(s.src) + macro) : null));
    items.push(li);
    list.append(li);
  }
  const panel = h('section', { id: 'steps-panel', class: 'panel', 'aria-labelledby': 'steps-h' },
    h('h2', { id: 'steps-h' }, `Executed instructions `, h('span', { class: 'muted' }, `(${steps.length})`)), list);
  const roving = new RovingList(panel);
  let current = -1;
  return {
    element: panel,
    update(step: number) {
      if (current >= 0) items[current]?.removeAttribute('aria-current');
      current = step;
      const li = items[step];
      if (!li) return;
      li.setAttribute('aria-current', 'step');
      if (!roving.hasFocus()) roving.setActive(li.querySelector<HTMLButtonElement>('.jump')!);
      scrollWithin(panel, li);
    },
  };
}
