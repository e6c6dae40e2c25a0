// dm-zero (v1.1.0): reads return zeroes, writes vanish.

import { DmMapio, CtrError, type Target, type TargetType } from '../kernel/dm-target.js';
import { ReqOp, REQ_RAHEAD, bioEndio, type Bio } from '../kernel/bio.js';

const zero: Target = {
  map(bio: Bio): DmMapio {
    switch (bio.op) {
      case ReqOp.READ:
        // readahead of null bytes only wastes buffer cache
        if (bio.flags & REQ_RAHEAD) return DmMapio.KILL;
        bio.data.fill(0);
        break;
      case ReqOp.WRITE:
      case ReqOp.DISCARD:
        // writes get silently dropped
        break;
      default:
        return DmMapio.KILL;
    }
    bioEndio(bio);
    return DmMapio.SUBMITTED;
  },
};

export const zeroTarget: TargetType = {
  name: 'zero',
  version: [1, 1, 0],
  ctr(ti, argv) {
    if (argv.length !== 0) throw new CtrError('No arguments required');
    ti.numFlushBios = 0;
    return zero;
  },
};
