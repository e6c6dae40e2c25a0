// The kernel process's socket: requests on one connection are served in
// order; connections run concurrently (a write the kernel blocks holds up
// only its own caller).

import * as fs from 'node:fs';
import * as net from 'node:net';
import { encodeFrame, FrameReader, writeFrame, MAX_HEAD_BYTES, MAX_PAYLOAD_BYTES, type Frame, type Response } from './protocol.js';
import { checkRequest } from './rpc-args.js';
import { privacyProblem } from './runtime-dir.js';
import { dispatch, errnoOf } from './rpc.js';
import { KernelError } from './errno.js';
import { FileTable } from './blkdev-file.js';
import type { Kernel } from './kernel.js';

export interface KernelServer { close(): Promise<void> }

/**
 * Serve the kernel on server's connections. Every request is checked against
 * its operation's schema first (kernel/rpc-args.ts); a malformed one, or one
 * whose operation fails in a way the kernel did not mean, is answered with an
 * error on its own connection, and everyone else's devices go on.
 */
export function serve(kernel: Kernel, server: net.Server, onStop: () => void, guard?: ConnectionGuard): void {
  server.on('connection', (sock) => {
    if (refused(kernel, sock, guard)) return;
    const reader = new FrameReader<unknown>({ head: MAX_HEAD_BYTES, payload: MAX_PAYLOAD_BYTES });
    // The connection is a process: its open files are closed when it goes (after its last request).
    const files = new FileTable();
    let chain = Promise.resolve();
    sock.on('data', (chunk) => {
      let frames;
      try {
        frames = reader.push(chunk);
      } catch (e) {
        internalError(kernel, 'reading a request', e);
        sock.destroy();
        return;
      }
      for (const f of frames) {
        chain = chain.then(() => handle(f)).catch((e) => internalError(kernel, 'answering a request', e));
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      chain = chain.then(() => files.closeAll()).catch((e) => internalError(kernel, 'closing the files of a connection', e));
    });

    const reply = (head: Response, payload: Buffer | null = null) => {
      if (!sock.destroyed && sock.writable) writeFrame(sock, head, payload);
    };

    async function handle(f: Frame<unknown>): Promise<void> {
      let req: { op: string; args: Record<string, unknown> };
      try {
        if (f.bad !== undefined) throw new KernelError('EINVAL', `malformed request: ${f.bad}`);
        req = checkRequest(f.head);
      } catch (e) {
        const err = e as KernelError;
        kernel.klog.printk('warn', `dmsetup-ts: refused a request: ${err.message}`);
        reply({ ok: false, errno: err.errno, message: err.message });
        return;
      }
      if (req.op === 'stop') {
        if (!sock.destroyed) sock.end(encodeFrame({ ok: true, result: null }));
        onStop();
        return;
      }
      try {
        const r = await dispatch(kernel, req.op, req.args, f.payload, files);
        reply({ ok: true, result: r.result ?? null }, r.payload ?? null);
      } catch (e) {
        const errno = errnoOf(e);
        const message = e instanceof KernelError ? e.message : String((e as Error)?.message ?? e);
        if (!(e instanceof KernelError)) kernel.klog.printk('err', `dmsetup-ts: internal error in ${req.op}: ${message}`);
        reply({ ok: false, errno, message });
      }
    }
  });
}

/** Why a new connection must be refused (the runtime directory or socket lets others in), or null. */
export type ConnectionGuard = () => string | null;

/**
 * Refuse a connection when the guard says the socket is no longer private
 * (a chmod of the runtime directory since the kernel started, say): it is
 * closed unanswered and the kernel log says why.
 */
export function refused(kernel: Kernel, sock: net.Socket, guard?: ConnectionGuard): boolean {
  const why = guard?.();
  if (!why) return false;
  kernel.klog.printk('warn', `dmsetup-ts: refused a connection: ${why}`);
  sock.destroy();
  return true;
}

/** The guard of a socket in private directories: each directory and the socket itself must be private. */
export function privateSocketGuard(dirs: string[], sockPath: string): ConnectionGuard {
  return () => {
    for (const d of dirs) {
      const why = privacyProblem(d, 'directory');
      if (why) return why;
    }
    return privacyProblem(sockPath, 'socket');
  };
}

/** Something went wrong outside any one request: say so in the kernel log, and go on. */
function internalError(kernel: Kernel, what: string, e: unknown): void {
  try {
    kernel.klog.printk('err', `dmsetup-ts: internal error ${what}: ${String((e as Error)?.stack ?? e)}`);
  } catch { /* nothing left to tell */ }
}

/**
 * The kernel process's last line of defence: a rejection or exception that
 * escaped every handler is logged to the kernel log, and the process (and
 * everyone's devices) stays up.
 */
export function keepRunning(kernel: Kernel): void {
  process.on('unhandledRejection', (e) => internalError(kernel, '(unhandled rejection)', e));
  process.on('uncaughtException', (e) => internalError(kernel, '(uncaught exception)', e));
}

/** Listen on sockPath unless a live kernel already does (then resolve false). */
export async function listenExclusive(server: net.Server, sockPath: string): Promise<boolean> {
  const tmp = `${sockPath}.${process.pid}`;
  try { fs.unlinkSync(tmp); } catch { /* none */ }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(tmp, () => { server.off('error', reject); resolve(); });
  });
  fs.chmodSync(tmp, 0o600); // owner-only whatever the umask was
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.linkSync(tmp, sockPath); // atomic: fails if a socket is already there
      fs.unlinkSync(tmp);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (await isAlive(sockPath)) break;
      try { fs.unlinkSync(sockPath); } catch { /* raced */ }
    }
  }
  server.close();
  try { fs.unlinkSync(tmp); } catch { /* gone */ }
  return false;
}

export function isAlive(sockPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(sockPath);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}
