// The thin client's side of the kernel socket: connect (starting the kernel
// process on first use), send a request, get the reply or the errno.

import * as net from 'node:net';
import * as path from 'node:path';
import { encodeFrame, FrameReader, type Response } from '../kernel/protocol.js';
import { KernelError, isErrno } from '../kernel/errno.js';
import { ensureRuntimeDir, nodeDir, nodeOf, runtimeDir, SOCKET_NAME } from '../kernel/runtime-dir.js';

/** The kernel process could not be reached or went away: not a kernel errno. */
export class KernelUnreachable extends Error {}

export interface Reply<T> { result: T; payload: Buffer | null }

export class KernelClient {
  private reader = new FrameReader<Response>();
  private waiting: Array<(f: { head: Response; payload: Buffer | null } | Error) => void> = [];

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (chunk) => {
      for (const f of this.reader.push(chunk)) this.waiting.shift()?.(f);
    });
    const fail = () => {
      for (const w of this.waiting.splice(0)) w(new KernelUnreachable('lost connection to the kernel process'));
    };
    sock.on('close', fail);
    sock.on('error', fail);
  }

  /**
   * Connect to the user's kernel, starting it if none runs (unless start is
   * false). With DMSETUP_TS_NODE set, the kernel of that cluster node, never started here.
   */
  static async connect(opts: { start?: boolean } = {}): Promise<KernelClient> {
    const dir = runtimeDir();
    let node: number | undefined;
    try {
      ensureRuntimeDir(dir);
      node = nodeOf();
    } catch (e) {
      throw new KernelUnreachable((e as Error).message);
    }
    const sockPath = node === undefined ? path.join(dir, SOCKET_NAME) : path.join(nodeDir(dir, node), SOCKET_NAME);
    let sock = await tryConnect(sockPath);
    if (!sock && node !== undefined) throw new KernelUnreachable(`node ${node} is not running: start a cluster with \`dmsetup-ts cluster up\``);
    if (!sock && opts.start !== false) {
      await startKernel();
      const deadline = Date.now() + 10_000;
      let delay = 5;
      while (!sock && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 100);
        sock = await tryConnect(sockPath);
      }
      if (!sock) throw new KernelUnreachable(`the kernel process did not start (socket ${sockPath})`);
    }
    if (!sock) throw new KernelUnreachable('no kernel process is running');
    sock.unref();
    return new KernelClient(sock);
  }

  /** One request; throws KernelError with the kernel's errno on failure. */
  async call<T = unknown>(op: string, args: Record<string, unknown> = {}, payload: Buffer | null = null): Promise<Reply<T>> {
    const reply = new Promise<{ head: Response; payload: Buffer | null } | Error>((resolve) => this.waiting.push(resolve));
    this.sock.ref();
    this.sock.write(encodeFrame({ op, args }, payload));
    const f = await reply;
    if (this.waiting.length === 0) this.sock.unref();
    if (f instanceof Error) throw f;
    if (!f.head.ok) {
      const errno = f.head.errno;
      throw isErrno(errno) ? new KernelError(errno) : new KernelUnreachable(f.head.message ?? 'kernel error');
    }
    return { result: f.head.result as T, payload: f.payload };
  }

  close(): void { this.sock.end(); this.sock.destroy(); }
}

function tryConnect(sockPath: string): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const s = net.connect(sockPath);
    s.once('connect', () => { s.removeAllListeners('error'); resolve(s); });
    s.once('error', () => resolve(null));
  });
}

async function startKernel(): Promise<void> {
  // A bad selection is refused here, where it can be said (the kernel process has no terminal).
  const { parsePatches, PATCHES_ENV, resolvePatches } = await import('../targets/mirror/patches.js');
  try {
    resolvePatches(parsePatches(process.env[PATCHES_ENV] ?? ''));
  } catch (e) {
    throw new KernelUnreachable(`${PATCHES_ENV}: ${(e as Error).message}`);
  }
  const { spawn } = await import('node:child_process');
  const daemon = new URL('../kernel/daemon.js', import.meta.url);
  const child = spawn(process.execPath, [daemon.pathname], { detached: true, stdio: 'ignore', env: process.env });
  child.unref();
}
