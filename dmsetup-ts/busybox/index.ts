// dmsetup-ts busybox APPLET [ARGS]: BusyBox 1.35's losetup, blockdev and dd as
// the oracle VM has them, over the emulated kernel's devices. The conformance
// sandbox puts them on PATH, so that a scenario recorded on the VM runs the
// same commands here.

export const usage = `Usage: dmsetup-ts busybox APPLET [ARGS]...
The oracle VM's BusyBox (v1.35.0) applets that touch block devices, over the
emulated kernel: losetup, blockdev, dd (dd of files only runs BusyBox's own,
or this machine's, dd), sync (the kernel's page caches too); vfs APPLET runs a BusyBox applet that reads files
(cat, ls, md5sum, ...) on the emulated /dev, /sys and /proc paths among its
arguments.
`;

const APPLETS: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  losetup: () => import('./losetup.js'),
  blockdev: () => import('./blockdev.js'),
  dd: () => import('./dd.js'),
  vfs: () => import('./vfs.js'),
  sync: () => import('./sync.js'),
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const load = name !== undefined && Object.hasOwn(APPLETS, name) ? APPLETS[name] : undefined;
  if (name === '--help' || name === '-h') {
    process.stdout.write(usage);
    return 0;
  }
  if (!load) {
    process.stderr.write(name === undefined ? usage : `${name}: applet not found\n`);
    return 1;
  }
  return (await load()).main(rest);
}
