// The kernel side of the connector to a node's cmirrord
// (dm-log-userspace-transfer.c): numbered requests, the reply matched by seq,
// and after 15 s without a reply a warning and the request sent again.

import type { Kernel } from '../kernel/kernel.js';
import { DmUlog, type UlogTransport } from '../targets/mirror/log-userspace.js';
import type { Cmirrord } from './cmirrord/clogd.js';
import type { DmUlogRequest } from './cmirrord/request.js';

const ESRCH = -3;
const REQUEST_TIMEOUT_MS = 15_000;

export class NodeUlogTransport implements UlogTransport {
  private seq = 0;

  constructor(private readonly kernel: Kernel, private readonly daemon: () => Cmirrord | null) {}

  request(uuid: string, luid: number, type: DmUlog, data: Buffer): Promise<{ error: number; data: Buffer }> {
    return new Promise((resolve) => {
      const send = () => {
        const d = this.daemon();
        if (!d || !d.running) { resolve({ error: ESRCH, data: Buffer.alloc(0) }); return; }
        const seq = ++this.seq;
        let done = false;
        const timer = this.kernel.clock.setTimer(REQUEST_TIMEOUT_MS, () => {
          if (done) return;
          done = true;
          this.kernel.klog.prefixed('dm-log-userspace')
            .warn(`[${uuid.length > 8 ? uuid.slice(-8) : uuid}] Request timed out: [${type}/${seq}] - retrying`);
          send();
        });
        d.request({ luid, uuid, seq, requestType: type, error: 0, data }, (rq: DmUlogRequest) => {
          if (done) return;
          done = true;
          timer.cancel();
          // Answers come back from "interrupt context", not inside the sender's call.
          this.kernel.clock.defer(() => resolve({ error: rq.error, data: rq.data }));
        });
      };
      send();
    });
  }

  requestNow(uuid: string, luid: number, type: DmUlog, data: Buffer): { error: number; data: Buffer } {
    const d = this.daemon();
    if (!d || !d.running) return { error: ESRCH, data: Buffer.alloc(0) };
    let answer: { error: number; data: Buffer } | null = null;
    d.request({ luid, uuid, seq: ++this.seq, requestType: type, error: 0, data }, (rq) => { answer = { error: rq.error, data: rq.data }; });
    return answer ?? { error: -11, data: Buffer.alloc(0) };
  }
}
