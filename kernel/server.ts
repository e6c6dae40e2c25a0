// The kernel process's socket: requests on one connection are served in
// order; connections run concurrently (a write the kernel blocks holds up
// only its own caller).

import * as fs from 'node:fs';
import * as net from 'node:net';
import { encodeFrame, FrameReader, type Request } from './protocol.js';
import { dispatch, errnoOf } from './rpc.js';
import { KernelError } from './errno.js';
import type { Kernel } from './kernel.js';

export interface KernelServer { close(): Promise<void> }

export function serve(kernel: Kernel, server: net.Server, onStop: () => void): void {
  server.on('connection', (sock) => {
    const reader = new FrameReader<Request>();
    let chain = Promise.resolve();
    sock.on('data', (chunk) => {
      let frames;
      try {
        frames = reader.push(chunk);
      } catch {
        sock.destroy();
        return;
      }
      for (const f of frames) {
        chain = chain.then(() => handle(f.head, f.payload));
      }
    });
    sock.on('error', () => undefined);

    async function handle(req: Request, payload: Buffer | null): Promise<void> {
      if (req.op === 'stop') {
        sock.end(encodeFrame({ ok: true, result: null }));
        onStop();
        return;
      }
      try {
        const reply = await dispatch(kernel, req.op, req.args ?? {}, payload);
        if (!sock.destroyed) sock.write(encodeFrame({ ok: true, result: reply.result ?? null }, reply.payload ?? null));
      } catch (e) {
        const errno = errnoOf(e);
        const message = e instanceof KernelError ? e.message : String((e as Error)?.message ?? e);
        if (!(e instanceof KernelError)) kernel.klog.printk('err', `dmsetup-ts: internal error in ${req.op}: ${message}`);
        if (!sock.destroyed) sock.write(encodeFrame({ ok: false, errno, message }));
      }
    }
  });
}

/** Listen on sockPath unless a live kernel already does (then resolve false). */
export async function listenExclusive(server: net.Server, sockPath: string): Promise<boolean> {
  const tmp = `${sockPath}.${process.pid}`;
  try { fs.unlinkSync(tmp); } catch { /* none */ }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(tmp, () => { server.off('error', reject); resolve(); });
  });
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
