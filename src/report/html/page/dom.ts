/**
 * The little DOM helper seamlab's pages are built with: `h(tag, attrs,
 * ...children)`. Text always goes in as text nodes (never as HTML), so
 * nothing from a trace can inject markup.
 */
export type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | undefined | null | ((ev: Event) => void);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, AttrValue> = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

/** "arch/x86/virt/vmx/tdx/tdxcall.S:52" → "tdxcall.S:52". */
export function shortPos(pos: string): string {
  return pos.slice(pos.lastIndexOf('/') + 1);
}

/** Scrolls `container` (a scrolling panel) so that `el` is visible in it, without scrolling the page. */
export function scrollWithin(container: HTMLElement, el: HTMLElement): void {
  const c = container.getBoundingClientRect();
  const r = el.getBoundingClientRect();
  const margin = 24;
  // Far out of view (a jump): centred; just outside (a step): scrolled by as little as needed.
  if (r.bottom < c.top || r.top > c.bottom) container.scrollTop += r.top - c.top - (c.height - r.height) / 2;
  else if (r.top < c.top + margin) container.scrollTop -= c.top + margin - r.top;
  else if (r.bottom > c.bottom - margin) container.scrollTop += r.bottom - (c.bottom - margin);
}
