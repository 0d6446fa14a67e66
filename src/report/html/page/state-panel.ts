/**
 * The machine-state panel of the trace explorer, for the current step: the
 * instruction and what it touched, the registers it left behind (changed
 * ones marked, with the value before), RFLAGS as named bits, the stack and
 * the structs the caller passed as labelled memory, the SEAM calls (what
 * was asked, what was answered) and faults, and how the run ended.
 */
import { DISPLAY_ORDER, RFLAGS } from '../../../support/registers.js';
import type { SeamEvent, TraceStep } from '../../../trace/format.js';
import type { TraceExplorerData } from '../model.js';
import { fill, h, shortPos, type Child } from './dom.js';
import { formatSlot, isStackLabel, MemoryHistory, registerHistory, type Access, type SlotValue } from './machine-state.js';

const FLAG_TITLES: Record<string, string> = {
  CF: 'carry', PF: 'parity', AF: 'auxiliary carry', ZF: 'zero', SF: 'sign', TF: 'trap', IF: 'interrupt enable', DF: 'direction', OF: 'overflow',
};

const VECTORS: Record<number, string> = { 0: '#DE', 3: '#BP', 6: '#UD', 13: '#GP', 14: '#PF' };

interface Region {
  title: string;
  rows: { name: string; addr: bigint; size: number }[];
}

const hex = (v: bigint) => `0x${v.toString(16)}`;

function accessText(a: Access): string {
  const v = formatSlot(a.bytes) ?? '';
  const who = a.seam ? 'SEAM side wrote' : a.op === 'w' ? 'W' : 'R';
  return `${who} ${a.label ?? hex(a.addr)}${a.label ? ` @${hex(a.addr)}` : ''} ${a.op === 'w' ? '←' : '→'} ${a.size > 16 ? `${a.size} bytes` : v}${a.size !== 8 && a.size <= 16 ? ` (${a.size} B)` : ''}`;
}

/** The memory regions shown: the stack slots the run used, each labelled struct, and anything else it touched. */
function regions(data: TraceExplorerData, mem: MemoryHistory, rsps: bigint[]): Region[] {
  const { header } = data.trace;
  const entryRsp = BigInt(header.entry.regs.rsp ?? '0x0');
  // Stack: 8-byte slots from the deepest RSP or stack access up to the return address.
  let lo = entryRsp;
  let hi = entryRsp + 8n;
  for (const r of rsps) if (r < lo) lo = r;
  for (const a of mem.accesses) {
    if (!isStackLabel(a.label)) continue;
    if (a.addr < lo) lo = a.addr;
    if (a.addr + BigInt(a.size) > hi) hi = a.addr + BigInt(a.size);
  }
  lo &= ~7n;
  hi = (hi + 7n) & ~7n;
  const stack: Region = { title: 'Stack', rows: [] };
  const named = new Map(header.labels.map((l) => [BigInt(l.address), l.name]));
  for (let a = hi - 8n; a >= lo && stack.rows.length < 256; a -= 8n) stack.rows.push({ name: named.get(a) ?? '', addr: a, size: 8 });

  // Labelled memory, grouped by struct ("out->r8" → out).
  const groups = new Map<string, Region>();
  const inLabel = (addr: bigint) => header.labels.some((l) => addr >= BigInt(l.address) && addr < BigInt(l.address) + BigInt(l.size));
  for (const l of header.labels) {
    if (isStackLabel(l.name)) continue;
    const arrow = l.name.indexOf('->');
    const group = arrow > 0 ? l.name.slice(0, arrow) : l.name;
    let g = groups.get(group);
    const struct = data.trace.summary.outputs.find((o) => o.param === group)?.struct;
    if (!g) groups.set(group, (g = { title: arrow > 0 ? `*${group}${struct ? ` (struct ${struct})` : ''}` : group, rows: [] }));
    const base = BigInt(l.address);
    if (l.size <= 16) g.rows.push({ name: arrow > 0 ? l.name.slice(arrow + 2) : l.name, addr: base, size: l.size });
    else {
      // A buffer: the 8-byte pieces anything touched.
      for (let o = 0n; o < BigInt(l.size) && g.rows.length < 64; o += 8n) {
        const size = Number(BigInt(l.size) - o < 8n ? BigInt(l.size) - o : 8n);
        if (mem.slot(base + o, size, Number.MAX_SAFE_INTEGER).bytes.some((b) => b !== undefined)) g.rows.push({ name: `+0x${o.toString(16)}`, addr: base + o, size });
      }
    }
  }
  const other: Region = { title: 'Other memory', rows: [] };
  const seen = new Set<bigint>();
  for (const a of mem.accesses) {
    if (isStackLabel(a.label) || inLabel(a.addr)) continue;
    for (let s = a.addr & ~7n; s < a.addr + BigInt(a.size) && other.rows.length < 64; s += 8n) {
      if (seen.has(s)) continue;
      seen.add(s);
      other.rows.push({ name: a.label ?? '', addr: s, size: 8 });
    }
  }
  other.rows.sort((x, y) => (x.addr < y.addr ? -1 : 1));
  return [stack, ...[...groups.values()].filter((g) => g.rows.length), ...(other.rows.length ? [other] : [])];
}

function seamAnswer(e: SeamEvent): string {
  const o = e.outcome;
  if (o.kind === 'return') return `${e.statusName ?? ''}${e.statusName ? ' ' : ''}(RAX=${o.rax ?? '?'})`;
  if (o.kind === 'fault') return `fault ${o.vector ?? ''}`.trim();
  if (o.kind === 'vmfailinvalid') return 'VMfailInvalid (CF=1)';
  if (o.kind === 'vmfailvalid') return 'VMfailValid (ZF=1)';
  return o.kind;
}

function eventTitle(s: TraceStep): string {
  if (s.seam) return `${s.seam.kind.toUpperCase()} #${s.seam.index} ${s.seam.leafName ?? s.seam.leaf} → ${seamAnswer(s.seam)}`;
  return `${VECTORS[s.fault!.vector] ?? `vector ${s.fault!.vector}`}${s.fault!.fixup ? ` → exception-table fixup at ${s.fault!.fixup}` : ' with no exception-table entry: oops'}`;
}

function seamDetail(s: TraceStep): Child {
  const e = s.seam!;
  const o = e.outcome;
  const inRegs = Object.entries(e.in).filter(([n]) => n !== 'rsp' && n !== 'rbp').map(([n, v]) => `${n}=${v}`).join('  ');
  const outRegs = o.regs ? Object.entries(o.regs).map(([n, v]) => `${n}=${v}`).join('  ') : '';
  const path = e.path === 'resumed' ? 'after the instruction' : e.path === 'exception-table' ? 'at the exception-table fixup' : 'nowhere: oops';
  return h('dl', {},
    h('dt', {}, 'Asked'), h('dd', {}, `${e.leafName ?? '(unnamed leaf)'} — leaf ${e.leaf}`),
    h('dt', {}, 'Registers in'), h('dd', {}, inRegs),
    h('dt', {}, 'Answered by'), h('dd', {}, e.handler),
    h('dt', {}, 'Answer'), h('dd', {}, seamAnswer(e)),
    outRegs ? [h('dt', {}, 'Registers out'), h('dd', {}, outRegs)] : null,
    o.note ? [h('dt', {}, 'Note'), h('dd', {}, o.note)] : null,
    h('dt', {}, 'Continued'), h('dd', {}, path),
    e.memWrites.length ? [h('dt', {}, 'Wrote'), h('dd', {}, e.memWrites.map((w) => `${w.bytes.split(/\s+/).filter(Boolean).length} bytes at ${w.addr}`).join('; '))] : null);
}

export interface StatePanel {
  element: HTMLElement;
  update(step: number): void;
}

export function statePanel(data: TraceExplorerData, jumpToStep: (step: number) => void): StatePanel {
  const { trace } = data;
  const regs = registerHistory(trace);
  const mem = new MemoryHistory(trace);
  const rsps = [regs.entry.rsp, ...regs.after.map((r) => r.rsp)].filter((x): x is string => x !== undefined).map((x) => BigInt(x));
  const shownRegions = regions(data, mem, rsps);
  const events = trace.steps.filter((s) => s.seam || s.fault);

  const insn = h('div', { class: 'insn', id: 'current-insn' });
  const regGrid = h('div', { class: 'regs', id: 'registers' });
  const flagLine = h('div', { id: 'rflags' });
  const memBox = h('div', { id: 'memory' });
  const eventDetail = h('div', { id: 'event-detail' });
  const eventButtons = events.map((s) => h('button', { type: 'button', 'data-step': s.step, onclick: () => jumpToStep(s.step) }, `step ${s.step}: ${eventTitle(s)}`));
  const regHeading = h('h3', { id: 'regs-h' }, 'Registers');

  const summary = trace.summary;
  const end = summary.end.kind === 'returned'
    ? `returned ${summary.returnValue ?? ''}${summary.returnName ? ` (${summary.returnName})` : ''}`
    : `ended: ${summary.end.kind}`;
  const result = h('div', { id: 'result' },
    h('p', {}, `${end} after ${summary.instructions} instruction${summary.instructions === 1 ? '' : 's'} — `, h('span', { class: summary.ok ? 'pass' : 'fail' }, summary.ok ? 'ok' : 'FAILED')),
    h('table', {}, h('caption', { class: 'visually-hidden' }, 'Checks'),
      h('tr', {}, h('th', { scope: 'col' }, 'Check'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Detail')),
      summary.checks.map((c) => h('tr', {}, h('td', {}, c.name), h('td', { class: c.status === 'fail' ? 'fail' : c.status === 'pass' ? 'pass' : 'muted' }, c.status), h('td', {}, c.detail)))),
    summary.outputs.map((o) => h('table', {}, h('caption', { class: 'muted' }, `*${o.param} (struct ${o.struct}) after the call`),
      o.fields.map((f) => h('tr', {}, h('td', {}, f.name), h('td', { class: 'mono' }, f.value), h('td', { class: 'muted' }, f.written ? 'written' : 'not written'))))));

  const element = h('section', { id: 'state-panel', class: 'panel', 'aria-labelledby': 'state-h' },
    h('h2', { id: 'state-h' }, 'Machine state'),
    insn,
    regHeading, regGrid, flagLine,
    memBox,
    h('h3', {}, 'SEAM calls and faults'),
    events.length ? h('ul', { class: 'events' }, eventButtons.map((b) => h('li', {}, b))) : h('p', { class: 'muted' }, 'None in this run.'),
    eventDetail,
    h('h3', {}, 'Result'), result);

  const memTable = (r: Region, step: number, rsp: bigint | undefined, rbp: bigint | undefined, isStack: boolean) => {
    const rows = r.rows.map((row) => {
      const v: SlotValue = mem.slot(row.addr, row.size, step);
      const shown = formatSlot(v.bytes);
      const wrote = v.now.some((a) => a.op === 'w');
      const read = v.now.some((a) => a.op === 'r');
      const ptrs = [rsp === row.addr ? '← rsp' : '', rbp === row.addr ? '← rbp' : ''].filter(Boolean).join(' ');
      const writer = v.lastWrite ? (v.lastWrite.seam ? `SEAM side, step ${v.lastWrite.step}` : `step ${v.lastWrite.step}: ${trace.steps[v.lastWrite.step]?.asm ?? ''}`) : '';
      const what = [row.name, writer ? `written at ${writer}` : ''].filter(Boolean).join(' · ');
      const off = rsp === undefined ? '' : row.addr >= rsp ? `rsp+${Number(row.addr - rsp)}` : `rsp-${Number(rsp - row.addr)}`;
      return h('tr', { class: wrote ? 'written' : read ? 'read' : undefined, 'data-addr': hex(row.addr) },
        isStack ? h('td', { class: 'off' }, off) : h('td', {}, row.name),
        h('td', { class: 'val' }, shown ?? h('span', { class: 'unknown' }, 'unknown'), wrote ? h('span', { class: 'visually-hidden' }, ' (written at this step)') : read ? h('span', { class: 'visually-hidden' }, ' (read at this step)') : null),
        isStack ? h('td', { class: 'ptr' }, ptrs) : h('td', { class: 'addr' }, hex(row.addr)),
        h('td', { class: 'what' }, isStack ? what : writer ? `written at ${writer}` : ''));
    });
    return h('table', { 'data-region': r.title },
      h('caption', { class: 'visually-hidden' }, r.title),
      h('tr', {}, ...(isStack ? ['Slot', 'Value', '', 'What'] : ['Field', 'Value', 'Address', 'Last written']).map((t) => h('th', { scope: 'col' }, t))),
      rows);
  };

  return {
    element,
    update(step: number) {
      const s = trace.steps[step]!;
      const after = regs.after[step]!;
      const before = step > 0 ? regs.after[step - 1]! : regs.entry;
      fill(insn,
        h('div', {}, h('strong', {}, `Step ${s.step}`), ' ', h('span', { class: 'muted' }, `${s.rip} ${s.sym ?? ''}`)),
        h('div', {}, h('span', { class: 'asm' }, s.asm), h('span', { class: 'muted' }, `  ${s.bytes}`)),
        s.src ? h('div', { class: 'muted' }, `${shortPos(s.src)}${s.stmt ? `: ${s.stmt}` : ''}`) : null,
        s.macros?.length ? h('div', { class: 'muted' }, s.macros.map((m) => `in ${m.replace(/ at (.*)$/, (_x, p: string) => ` at ${shortPos(p)}`)}`).join(', ')) : null,
        s.mem?.length || s.seam?.memWrites.length ? h('ul', { class: 'accesses', 'aria-label': 'Memory accessed at this step' }, mem.accesses.filter((a) => a.step === step).map((a) => h('li', {}, accessText(a)))) : null);

      regHeading.textContent = `Registers after step ${s.step}`;
      fill(regGrid, DISPLAY_ORDER.map((name) => {
        const changed = s.regs?.[name] !== undefined;
        return h('div', { class: `reg${changed ? ' changed' : ''}`, 'data-reg': name },
          h('span', { class: 'name' }, name), h('span', { class: 'val' }, after[name] ?? '?'),
          changed ? h('span', { class: 'old' }, `was ${before[name] ?? '?'}`) : null);
      }));

      const fl = BigInt(after.rflags ?? '0x0');
      const changedFlags = new Set([...(s.flags?.set ?? []), ...(s.flags?.cleared ?? [])]);
      fill(flagLine,
        h('div', { class: `reg${s.regs?.rflags ? ' changed' : ''}`, 'data-reg': 'rflags' }, h('span', { class: 'name' }, 'rflags'), h('span', { class: 'val' }, after.rflags ?? '?'),
          s.regs?.rflags ? h('span', { class: 'old' }, `was ${before.rflags ?? '?'}`) : null),
        h('div', { class: 'flags', role: 'list', 'aria-label': 'RFLAGS bits' }, (Object.keys(RFLAGS) as (keyof typeof RFLAGS)[]).map((name) => {
          const on = (fl & RFLAGS[name]) !== 0n;
          const changed = changedFlags.has(name);
          return h('span', { class: `flag${on ? ' on' : ''}${changed ? ' changed' : ''}`, role: 'listitem', 'data-flag': name, title: `${name} (${FLAG_TITLES[name] ?? name}) ${on ? 'set' : 'clear'}${changed ? ', changed at this step' : ''}` },
            name, h('span', { class: 'visually-hidden' }, ` ${on ? 'set' : 'clear'}${changed ? ', changed' : ''}`));
        })));

      const rsp = after.rsp !== undefined ? BigInt(after.rsp) : undefined;
      const rbp = after.rbp !== undefined ? BigInt(after.rbp) : undefined;
      fill(memBox, shownRegions.flatMap((r, i) => [h('h3', {}, i === 0 ? 'Stack (after this step)' : r.title), memTable(r, step, rsp, rbp, i === 0)]));

      eventButtons.forEach((b) => (Number(b.dataset.step) === step ? b.setAttribute('aria-current', 'step') : b.removeAttribute('aria-current')));
      const last = [...events].reverse().find((e) => e.step <= step);
      fill(eventDetail, last
        ? h('div', { class: 'event-detail' }, h('strong', {}, last.step === step ? 'At this step: ' : `Most recent, at step ${last.step}: `), eventTitle(last), last.seam ? seamDetail(last) : null)
        : events.length ? h('p', { class: 'muted' }, `None yet; the first is at step ${events[0]!.step}.`) : null);
    },
  };
}
