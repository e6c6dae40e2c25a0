// Which paths an applet opens on the emulated kernel rather than on this
// machine: the block devices the oracle VM has (/dev/loopN, /dev/dm-N,
// /dev/mapper/NAME). /dev/mapper/control is dm's character device, not a
// block device, and stays a path of this machine like every other.

const KERNEL_DEVICE = /^\/dev\/(loop[0-9]+|dm-[0-9]+|mapper\/.+)$/;

export function isKernelDevicePath(p: string): boolean {
  return KERNEL_DEVICE.test(p) && p !== '/dev/mapper/control';
}
