// The error target (v1.5.0): every I/O fails; any arguments are ignored.

import { DmMapio, type Target, type TargetType } from '../kernel/dm-target.js';

const ioErr: Target = { map: () => DmMapio.KILL };

export const errorTarget: TargetType = {
  name: 'error',
  version: [1, 5, 0],
  ctr(ti) {
    ti.numFlushBios = 0;
    return ioErr;
  },
};
