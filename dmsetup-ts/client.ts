// The thin client's side of the kernel socket: connect (starting the kernel
// process on first use), send a request, get the reply or the errno.

import * as net from 'node:net';
import * as path from 'node:path';
import { encodeFrame, FrameReader, writeFrame, type Response } from '../kernel/protocol.js';
import { KernelError, isErrno } from '../kernel/errno.js';
import { describeRuntimeDir, ensureRuntimeDir, nodeDir, nodeOf, recordedPid, runtimeDir, SOCKET_NAME } from '../kernel/runtime-dir.js';

/** The kernel process could not be reached or went away: not a kernel errno. */
export class KernelUnreachable extends Error {}

export interface Reply<T> { result: T; payload: Buffer | null }

/** Seconds without any answer from the kernel process before a command gives up (DMSETUP_TS_TIMEOUT). */
export const DEFAULT_TIMEOUT_SECONDS = 60;

function timeoutSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.DMSETUP_TS_TIMEOUT;
  if (v === undefined || v === '') return DEFAULT_TIMEOUT_SECONDS;
  const n = Number(v);
  if (!(n > 0)) throw new KernelUnreachable(`DMSETUP_TS_TIMEOUT=${v}: not a positive number of seconds`);
  return n;
}

export class KernelClient {
  private reader = new FrameReader<Response>();
  private waiting: Array<(f: { head: Response; payload: Buffer | null } | Error) => void> = [];

  private constructor(private readonly sock: net.Socket, private readonly sockPath: string, private readonly timeoutS: number) {
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
    let dir: string;
    let node: number | undefined;
    let timeoutS: number;
    try {
      dir = runtimeDir();
      ensureRuntimeDir(dir);
      node = nodeOf();
      timeoutS = timeoutSeconds();
    } catch (e) {
      throw new KernelUnreachable((e as Error).message);
    }
    const sockPath = node === undefined ? path.join(dir, SOCKET_NAME) : path.join(nodeDir(dir, node), SOCKET_NAME);
    let sock = await tryConnect(sockPath);
    if (!sock && node !== undefined) throw new KernelUnreachable(`node ${node} is not running: start a cluster with \`dmsetup-ts cluster up\``);
    if (!sock && opts.start !== false) {
      // A kernel.pid left behind: the kernel before died without stopping (kill -9, a crash).
      // (It writes kernel.last in its place when it stops.)
      const dead = recordedPid(dir);
      if (dead !== undefined) {
        process.stderr.write(`dmsetup-ts: the kernel in ${dir} (pid ${dead}) did not stop cleanly; starting a new one: devices and loop devices from before are gone\n`);
      }
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
    return new KernelClient(sock, sockPath, timeoutS);
  }

  /** One request; throws KernelError with the kernel's errno on failure. */
  async call<T = unknown>(op: string, args: Record<string, unknown> = {}, payload: Buffer | null = null): Promise<Reply<T>> {
    const reply = new Promise<{ head: Response; payload: Buffer | null } | Error>((resolve) => this.waiting.push(resolve));
    this.sock.ref();
    writeFrame(this.sock, { op, args }, payload);
    const f = await this.watch(reply);
    if (this.waiting.length === 0) this.sock.unref();
    if (f instanceof Error) throw f;
    if (!f.head.ok) {
      const errno = f.head.errno;
      throw isErrno(errno) ? new KernelError(errno) : new KernelUnreachable(f.head.message ?? 'kernel error');
    }
    return { result: f.head.result as T, payload: f.payload };
  }

  close(): void { this.sock.end(); this.sock.destroy(); }

  /** Hold writes until the event loop's next turn: requests issued together go out in one write. */
  corkUntilNextTurn(): void {
    this.sock.cork();
    setImmediate(() => this.sock.uncork());
  }

  /**
   * A request may rightly take long (dmsetup wait, I/O held by a delay or a
   * suspend), so it has no deadline of its own; but every timeoutS seconds the
   * kernel must answer a ping on a second connection, or the request fails
   * with a message saying so (a stopped or hung kernel process).
   */
  private async watch<T>(reply: Promise<T>): Promise<T | KernelUnreachable> {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<KernelUnreachable>((resolve) => {
      const check = () => {
        timer = setTimeout(() => {
          void ping(this.sockPath, this.timeoutS * 1000).then((alive) => {
            if (alive) check();
            else resolve(new KernelUnreachable(this.stalledMessage()));
          });
        }, this.timeoutS * 1000);
      };
      check();
    });
    try {
      return await Promise.race([reply, stalled]);
    } finally {
      clearTimeout(timer);
    }
  }

  private stalledMessage(): string {
    const dir = path.dirname(this.sockPath);
    const pid = recordedPid(dir);
    return `the kernel process${pid ? ` (pid ${pid})` : ''} in ${dir} has not answered for ${this.timeoutS} s: is it stopped (SIGSTOP) or hung? ` +
      `(DMSETUP_TS_TIMEOUT sets the seconds; \`dmsetup-ts kernel stop\` or kill it, and the next command starts a new one)`;
  }
}

/** Whether the kernel at sockPath answers a ping within ms. */
function ping(sockPath: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(sockPath);
    const reader = new FrameReader<Response>();
    const done = (alive: boolean) => { clearTimeout(t); s.destroy(); resolve(alive); };
    const t = setTimeout(() => done(false), ms);
    s.once('connect', () => s.write(encodeFrame({ op: 'ping', args: {} })));
    s.on('data', (c) => { if (reader.push(c).length > 0) done(true); });
    s.once('error', () => done(false));
  });
}

/**
 * After a "busy" failure on the default runtime directory (whose kernel every
 * shell and job of this user without DMSETUP_TS_DIR shares): a line saying
 * which kernel and directory are in use. undefined with DMSETUP_TS_DIR set,
 * where dmsetup's output stays exactly dmsetup's.
 */
export function sharedKernelNote(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.DMSETUP_TS_DIR || env.DMSETUP_TS_NODE) return undefined;
  const dir = runtimeDir(env);
  const pid = recordedPid(dir);
  return `dmsetup-ts: note: the kernel in use is${pid ? ` pid ${pid}` : ''} in ${describeRuntimeDir(dir, env)}; ` +
    'another job may be using it: set DMSETUP_TS_DIR=$(mktemp -d) for a kernel of your own';
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
