/**
 * Calling the user's handler code (a scenario module's handler, a
 * `handler: {module: …}`) under a deadline, so that a handler that never
 * answers ends its run instead of hanging seamlab.
 *
 * The machine calls a handler synchronously from inside Unicorn's code hook
 * (src/machine/execution.ts onTrap), so neither the run's --time-limit
 * (Unicorn's own timer can only stop emulation between instructions) nor a
 * timer on the event loop can interrupt it. node:vm's `timeout` can: the
 * call runs as a one-line script whose execution V8 terminates from a
 * watchdog thread when the deadline passes; the termination unwinds the
 * handler's frames only (up to the script), and the script throws
 * ERR_SCRIPT_EXECUTION_TIMEOUT, which becomes a HandlerTimeLimit error that
 * ends the run as a handler error. A worker thread with Atomics.wait (as
 * src/encode/keystone.ts does for Keystone) would need every SeamCall, its
 * memory view and the handler's state to cross threads; the vm deadline
 * keeps the handler in this thread with its objects as they are.
 *
 * The cost is one watchdog per call (~50 µs, measured in the README's
 * "What seamlab does with bad input"); only user code pays it — the
 * built-in models are called directly.
 */
import vm from 'node:vm';
import { SeamlabError } from '../errors.js';
import type { Outcome, SeamCall, SeamHandler } from './types.js';

/** A handler (or its constructor) did not return within its deadline. */
export class HandlerTimeLimit extends Error {
  override readonly name = 'HandlerTimeLimit';
  constructor(readonly what: string, readonly limitMs: number) {
    super(`${what} did not return within ${limitMs} ms (the run's time limit; a handler that loops forever?)`);
  }
}

// The script calls the function in this global slot (shared by every copy of this module in the process).
const SLOT = '__seamlabUserCode';
const slots = globalThis as unknown as Record<string, (() => unknown) | undefined>;
if (!Object.prototype.hasOwnProperty.call(globalThis, SLOT)) Object.defineProperty(globalThis, SLOT, { value: undefined, writable: true, enumerable: false });
const script = new vm.Script(`globalThis.${SLOT}()`, { filename: 'seamlab:user-code' });

/**
 * Runs `f` (which calls user code) and returns its result; throws
 * HandlerTimeLimit when it has not returned after `limitMs`.
 */
export function withDeadline<T>(limitMs: number, what: string, f: () => T): T {
  const previous = slots[SLOT];
  slots[SLOT] = f;
  try {
    return script.runInThisContext({ timeout: Math.max(1, Math.ceil(limitMs)), breakOnSigint: false }) as T;
  } catch (e) {
    if ((e as { code?: unknown } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new HandlerTimeLimit(what, limitMs);
    throw e;
  } finally {
    slots[SLOT] = previous;
  }
}

/** What a thrown value says, for a message (whatever was thrown: `throw null`, an object whose toString throws). */
export function thrownMessage(e: unknown): string {
  try {
    if (e instanceof Error) return String(e.message);
    if (typeof e === 'string') return e;
    return String(e);
  } catch {
    return 'a value that cannot be shown';
  }
}

/** Inside the deadline: an Error as thrown, anything else (`throw 42`, `throw null`) as an Error saying what it was. */
function asError(e: unknown): Error {
  if (e instanceof Error) return e;
  return new Error(`threw ${thrownMessage(e)}`);
}

/**
 * The outcome as plain data, read inside the deadline: a handler may answer
 * with an object whose properties are getters (or a Proxy); reading them is
 * running its code.
 */
function plainOutcome(o: unknown): Outcome {
  if (o === null || typeof o !== 'object') return o as Outcome;
  const src = o as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of ['kind', 'rax', 'flags', 'note', 'vector']) {
    const v = src[k];
    if (v !== undefined) out[k] = v;
  }
  const regs = src.regs;
  if (regs !== undefined) out.regs = regs !== null && typeof regs === 'object' ? { ...regs } : regs;
  return out as Outcome;
}

/**
 * The user's handler as the machine calls it: created (by `create`, the
 * user's constructor or factory) and called under `limitMs` each, with its
 * outcome copied as plain data.
 */
export function boundedUserHandler(create: () => unknown, label: string, limitMs: number): SeamHandler {
  const run = <T>(what: string, f: () => T): T => withDeadline(limitMs, what, () => {
    try {
      return f();
    } catch (e) {
      throw asError(e);
    }
  });
  let made: SeamHandler;
  try {
    made = run(`creating handler ${label}`, () => makeHandler());
  } catch (e) {
    if (e instanceof SeamlabError) throw e;
    // The user's constructor or factory failed or hung: the scenario's error, reported before the run.
    throw new SeamlabError('SCENARIO_HANDLER_FAILED', e instanceof HandlerTimeLimit ? e.message : `creating handler ${label} failed: ${thrownMessage(e)}`,
      'fix the handler\'s constructor or factory (it runs once per run)', { cause: e });
  }
  return made;

  function makeHandler(): SeamHandler {
    const h = create();
    if (typeof h === 'function') {
      const fn = h as (call: SeamCall) => unknown;
      return { name: label, handle: (call: SeamCall) => run(`handler ${label}`, () => plainOutcome(fn(call))) };
    }
    const handle = (h as { handle?: unknown } | null | undefined)?.handle;
    if (typeof handle !== 'function') {
      throw new SeamlabError('SCENARIO_BAD_HANDLER', `${label} did not give a handler with a handle(call) method`,
        'export a SeamHandler object ({ name, handle(call) { … } }) or a function (call) => outcome');
    }
    const obj = h as SeamHandler;
    const name = typeof obj.name === 'string' ? obj.name : label;
    return { name, handle: (call: SeamCall) => run(`handler ${name}`, () => plainOutcome(handle.call(obj, call))) };
  }
}
