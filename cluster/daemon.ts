// The cluster process (`dmsetup-ts cluster up`): N nodes on the real clock,
// each node's kernel served on node<N>/kernel.sock under the runtime
// directory, and cluster.sock taking status, crash, restart and down.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { encodeFrame, FrameReader, type Request } from '../kernel/protocol.js';
import { ensureRuntimeDir, nodeDir, runtimeDir, SOCKET_NAME } from '../kernel/runtime-dir.js';
import { listenExclusive, privateSocketGuard, serve } from '../kernel/server.js';
import { Cluster } from './cluster.js';
import { COROSYNC_DEFAULT_TIMINGS } from './cpg.js';
import { CONTROL_SOCKET, type ClusterConfig, type ClusterStatus } from './control.js';
import type { ClusterNode } from './node.js';
import { testBit } from '../targets/mirror/bitset.js';

class ControlError extends Error {}

/** The regions whose sync bit is 0, as ranges ("3 5-9"). */
function outOfSync(bits: Uint32Array, count: number): string {
  const out: string[] = [];
  for (let r = 0; r < count; r++) {
    if (testBit(bits, r)) continue;
    let e = r;
    while (e + 1 < count && !testBit(bits, e + 1)) e++;
    out.push(e === r ? `${r}` : `${r}-${e}`);
    r = e;
  }
  return out.join(' ');
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ClusterConfig;
  process.umask(0o077); // every socket and file of ours is its owner's only
  const dir = runtimeDir();
  ensureRuntimeDir(dir);
  const cluster = new Cluster({
    nodes: config.nodes, seed: config.seed,
    patches: config.patches,
    timings: { tokenMs: config.tokenMs ?? COROSYNC_DEFAULT_TIMINGS.tokenMs, consensusMs: config.consensusMs ?? COROSYNC_DEFAULT_TIMINGS.consensusMs },
    corosyncLog: (id, line) => fs.appendFileSync(path.join(nodeDir(dir, id), 'corosync.log'), line + '\n'),
  });
  const t0 = Date.now();
  // Each node's cmirrord output (its stdout and stderr, as cmirrord -f > cmirrord.log 2>&1)
  // and its corosync log, beside its kernel socket, read by the cluster prelude's cm_log and cs_log.
  for (const n of cluster.nodes) {
    const nd = nodeDir(dir, n.id);
    fs.mkdirSync(nd, { recursive: true, mode: 0o700 });
    const file = path.join(nd, 'cmirrord.log');
    fs.writeFileSync(file, '');
    fs.writeFileSync(path.join(nd, 'corosync.log'), '');
    n.cmirrordOutput = (line) => fs.appendFileSync(file, line + '\n');
  }
  const served = new Map<number, { server: net.Server; conns: Set<net.Socket>; sockPath: string; ino: number }>();

  /** Serve a node's (new) kernel on its socket. */
  const serveNode = async (n: ClusterNode): Promise<void> => {
    const nd = nodeDir(dir, n.id);
    fs.mkdirSync(nd, { recursive: true, mode: 0o700 });
    const sockPath = path.join(nd, SOCKET_NAME);
    try { fs.unlinkSync(sockPath); } catch { /* none */ }
    const server = net.createServer();
    const conns = new Set<net.Socket>();
    server.on('connection', (s) => { conns.add(s); s.on('close', () => conns.delete(s)); });
    // `dmsetup-ts kernel stop` on a node: that node shuts down cleanly (its mirrors leave their groups).
    serve(n.kernel!, server, () => void n.shutdown().then(() => unserve(n.id)), privateSocketGuard([dir, nd], sockPath));
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(sockPath, resolve); });
    fs.chmodSync(sockPath, 0o600); // owner-only whatever the umask was
    served.set(n.id, { server, conns, sockPath, ino: fs.statSync(sockPath).ino });
  };

  /** Nobody reaches the node any more; requests in flight are cut off. */
  const unserve = (id: number): void => {
    const s = served.get(id);
    if (!s) return;
    served.delete(id);
    s.server.close();
    for (const c of s.conns) c.destroy();
    // Only our own socket: another cluster may have taken the directory over.
    try { if (fs.statSync(s.sockPath).ino === s.ino) fs.unlinkSync(s.sockPath); } catch { /* gone */ }
  };

  const status = (): ClusterStatus => ({
    ...config, pid: process.pid, uptimeMs: Date.now() - t0,
    nodes: cluster.nodes.map((n) => ({
      id: n.id, state: n.state, boots: n.boots,
      logs: !n.up || !n.cmirrord ? [] : n.cmirrord.logs().map((lc) => ({
        uuid: lc.uuid, group: n.cmirrord!.groups.get(lc.uuid)?.state ?? 'none', members: cluster.cpg.members(lc.uuid),
        syncCount: lc.syncCount, regionCount: lc.regionCount, recoveringRegion: lc.recoveringRegion, recoverer: lc.recoverer,
        outOfSync: outOfSync(lc.syncBits, lc.regionCount), resent: n.cmirrord!.groups.get(lc.uuid)?.resent ?? 0,
      })),
    })),
  });

  const nodeArg = (a: Record<string, unknown>): ClusterNode => {
    try { return cluster.node(Number(a.node)); } catch (e) { throw new ControlError((e as Error).message); }
  };

  /** Crash now, or (whileRecovering) at the first moment a replica names the node as its log's recoverer. */
  const crash = async (n: ClusterNode, whileRecovering: boolean, timeoutMs: number): Promise<unknown> => {
    if (!n.up) throw new ControlError(`node ${n.id} is not up`);
    let region = -1;
    if (whileRecovering) {
      const deadline = Date.now() + timeoutMs;
      const holder = () => {
        for (const lc of n.cmirrord?.logs() ?? []) if (lc.recoverer === n.id && lc.recoveringRegion >= 0) return lc.recoveringRegion;
        return -1;
      };
      // Polled on every turn of the event loop, so the crash comes while the slot is held.
      while ((region = holder()) < 0) {
        if (Date.now() > deadline || !n.up) throw new ControlError(`node ${n.id} did not recover any region within ${timeoutMs} ms`);
        await new Promise((r) => setImmediate(r));
      }
    }
    n.crash();
    unserve(n.id);
    return { node: n.id, recoveringRegion: region };
  };

  let stopping = false;
  const ctlPath = path.join(dir, CONTROL_SOCKET);
  const down = async () => {
    if (stopping) return;
    stopping = true;
    ctl.close();
    await Promise.race([cluster.down(), new Promise((r) => setTimeout(r, 5000))]);
    for (const id of [...served.keys()]) unserve(id);
    try { if (fs.statSync(ctlPath).ino === ctlIno) fs.unlinkSync(ctlPath); } catch { /* gone */ }
    process.exit(0);
  };

  const ops: Record<string, (a: Record<string, unknown>) => Promise<unknown> | unknown> = {
    status: () => status(),
    crash: (a) => crash(nodeArg(a), Boolean(a.whileRecovering), Number(a.timeoutMs ?? 10_000)),
    members: (a) => {
      const n = nodeArg(a);
      if (!n.up) throw new ControlError(`node ${n.id} is not up`);
      return cluster.cpg.ringMembers();
    },
    dump: (a) => {
      const n = nodeArg(a);
      if (!n.up || !n.cmirrord) throw new ControlError(`node ${n.id} is not up`);
      n.cmirrord.dump();
      return null;
    },
    restart: async (a) => {
      const n = nodeArg(a);
      if (n.up) throw new ControlError(`node ${n.id} is up (crash it first)`);
      n.boot();
      await serveNode(n);
      return { node: n.id, boots: n.boots };
    },
  };

  const ctl = net.createServer((sock) => {
    const reader = new FrameReader<Request>();
    sock.on('error', () => undefined);
    sock.on('data', (chunk) => {
      let frames;
      try { frames = reader.push(chunk); } catch { sock.destroy(); return; }
      for (const f of frames) {
        // A head that is not {op: string, args?: object} is refused, and an op only an own key of ops.
        const head = f.head as unknown;
        const ok = typeof head === 'object' && head !== null && typeof (head as Request).op === 'string' &&
          ((head as Request).args === undefined || (typeof (head as Request).args === 'object' && (head as Request).args !== null));
        if (!ok) { if (!sock.destroyed) sock.write(encodeFrame({ ok: false, message: 'malformed request' })); continue; }
        const { op, args = {} } = head as Request;
        if (op === 'down') { sock.end(encodeFrame({ ok: true, result: null })); void down(); continue; }
        const fn = Object.hasOwn(ops, op) ? ops[op] : undefined;
        Promise.resolve()
          .then(() => { if (!fn) throw new ControlError(`unknown request ${op}`); return fn(args); })
          .then(
            (result) => { if (!sock.destroyed) sock.write(encodeFrame({ ok: true, result: result ?? null })); },
            (e: Error) => { if (!sock.destroyed) sock.write(encodeFrame({ ok: false, message: e instanceof ControlError ? e.message : `internal error: ${e.message}` })); },
          );
      }
    });
  });

  cluster.up();
  for (const n of cluster.nodes) await serveNode(n);
  // The control socket last: once it answers, every node does.
  if (!(await listenExclusive(ctl, ctlPath))) {
    await cluster.down();
    for (const id of [...served.keys()]) unserve(id);
    process.stderr.write(`a cluster is already running in ${dir}\n`);
    process.exit(1);
  }
  const ctlIno = fs.statSync(ctlPath).ino;
  // Our control socket replaced or the directory removed: nobody can reach us any more.
  const watch = setInterval(() => {
    try { if (fs.statSync(ctlPath).ino !== ctlIno) void down(); } catch { void down(); }
  }, 1000);
  watch.unref();
  process.on('SIGTERM', () => void down());
  process.on('SIGINT', () => void down());
}

main().catch((e) => {
  process.stderr.write(`dmsetup-ts cluster: ${(e as Error).message}\n`);
  process.exit(1);
});
