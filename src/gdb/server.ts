/**
 * The GDB stub's TCP server (`seamlab debug … --gdb PORT`): listens on
 * 127.0.0.1 unless told otherwise (the stub reads and writes the run's
 * memory and registers for anyone who connects), serves one gdb
 * connection, and is done when gdb detaches, kills or hangs up. A second
 * connection while one is served is closed at once.
 */
import * as net from 'node:net';
import { SeamlabError } from '../errors.js';
import type { GdbCore } from './core.js';
import { GdbSession } from './session.js';

export const DEFAULT_GDB_HOST = '127.0.0.1';

export interface GdbServerOptions {
  port: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** A plain function (no `this`): handed on to the session. */
  log?: (direction: 'recv' | 'send', text: string) => void;
}

export interface GdbServer {
  /** The port actually listened on (PORT 0 picks a free one). */
  port: number;
  host: string;
  /** Settles when the session ends (how), or with 'closed' when the server is closed first. */
  done: Promise<'detach' | 'kill' | 'closed'>;
  close(): Promise<void>;
}

/** True for an address that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function parsePort(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new SeamlabError('GDB_BAD_PORT', `--gdb ${text}: not a TCP port`, 'give a port number from 1 to 65535 (0 picks a free one)');
  }
  return n;
}

export function serveGdb(core: GdbCore, opts: GdbServerOptions): Promise<GdbServer> {
  const host = opts.host ?? DEFAULT_GDB_HOST;
  return new Promise((resolve, reject) => {
    let session: GdbSession | undefined;
    let settle!: (how: 'detach' | 'kill' | 'closed') => void;
    const done = new Promise<'detach' | 'kill' | 'closed'>((r) => (settle = r));
    const server = net.createServer((socket) => {
      if (session) {
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      const s = new GdbSession(core, {
        send: (bytes) => {
          if (!socket.destroyed) socket.write(bytes);
        },
        onEnd: (how) => {
          socket.end();
          server.close();
          settle(how);
        },
        log: opts.log,
      });
      session = s;
      socket.on('data', (chunk: Buffer) => void s.receive(chunk));
      socket.on('close', () => s.close());
      socket.on('error', () => s.close());
    });
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        new SeamlabError('GDB_LISTEN_FAILED', `cannot listen on ${host}:${opts.port}: ${e.code ?? e.message}`, e.code === 'EADDRINUSE' ? 'choose another --gdb port, or 0 for a free one' : 'check the --listen address'),
      );
    });
    server.listen(opts.port, host, () => {
      const addr = server.address() as net.AddressInfo;
      resolve({
        port: addr.port,
        host,
        done,
        close: () =>
          new Promise<void>((r) => {
            session?.close();
            server.close(() => r());
            settle('closed');
          }),
      });
    });
  });
}
