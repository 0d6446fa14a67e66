/**
 * Runs the DAP adapter over a pair of streams (stdin/stdout for
 * `seamlab dap`): bytes in through the bounded reader (framing.ts), each
 * message to the session, framing errors reported to the client as
 * output events; the debugger is closed when the input ends.
 */
import type { Readable, Writable } from 'node:stream';
import { OutputEvent } from '@vscode/debugadapter';
import { SeamlabDebugSession, type DebuggerOpener } from './adapter.js';
import { DapMessageReader } from './framing.js';

export function runAdapter(input: Readable, output: Writable, open: DebuggerOpener, opts: { tmpRoot?: string } = {}): Promise<void> {
  const session = new SeamlabDebugSession(open, opts.tmpRoot);
  session.attachOutput(output);
  const reader = new DapMessageReader();
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      session.close();
      resolve();
    };
    input.on('data', (chunk: Buffer) => {
      const r = reader.push(chunk);
      for (const e of r.errors) session.sendEvent(new OutputEvent(`seamlab dap: ignored input: ${e}\n`, 'stderr'));
      for (const m of r.messages) session.handleMessage(m as never);
    });
    input.on('end', finish);
    input.on('close', finish);
    input.on('error', finish);
  });
}
