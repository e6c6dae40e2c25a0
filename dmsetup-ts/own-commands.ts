// The project's own commands beside dmsetup's: what each is for (listed by
// `dmsetup-ts help`), and the module that runs it, loaded only when used.

export interface OwnCommandModule {
  main(argv: string[]): Promise<number>;
  /** Printed (to stdout, exit 0) for -h or --help anywhere before `--`. */
  usage?: string;
}

export interface OwnCommand {
  summary: string;
  load(): Promise<OwnCommandModule>;
  /** The command parses -h/--help itself (losetup and conformance, whose help says more). */
  ownHelp?: boolean;
}

export const OWN_COMMANDS: Record<string, OwnCommand> = {
  losetup: { summary: 'loop devices over files (util-linux losetup\'s options)', load: () => import('./losetup.js'), ownHelp: true },
  blockdev: { summary: 'block device ioctls: sizes, read-only, read-ahead (util-linux blockdev\'s commands)', load: () => import('./blockdev.js'), ownHelp: true },
  busybox: { summary: 'the oracle VM\'s BusyBox losetup, blockdev and dd over the emulated kernel (the scenarios\' userland)', load: () => import('./busybox/index.js'), ownHelp: true },
  io: { summary: 'read or write a block device (as dd iflag/oflag=direct)', load: () => import('./io.js') },
  nbd: { summary: 'export a block device over NBD (for real tools: nbd-client, qemu-img, nbdcopy)', load: () => import('./nbd.js') },
  dmesg: { summary: 'the emulated kernel\'s log', load: () => import('./dmesg.js') },
  kernel: { summary: 'start, stop or show the emulated kernel process', load: () => import('./kernel-cmd.js') },
  'wait-sync': { summary: 'wait until a mirror is in sync, with progress on a terminal', load: () => import('./wait-sync.js') },
  shims: { summary: 'write dmsetup and losetup wrappers into a directory for PATH', load: () => import('./shims.js') },
  cluster: { summary: 'a cluster of emulated nodes with cmirrord between them', load: () => import('./cluster.js') },
  conformance: { summary: 'run scenario scripts against golden outputs (TAP)', load: () => import('./conformance/index.js'), ownHelp: true },
};

export function ownCommand(name: string | undefined): OwnCommand | undefined {
  return name !== undefined && Object.hasOwn(OWN_COMMANDS, name) ? OWN_COMMANDS[name] : undefined;
}

/** -h or --help among the arguments (before a `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '-h' || a === '--help');
}

/** What `dmsetup-ts help` adds after dmsetup's usage. */
export function ownCommandsHelp(): string {
  const w = Math.max(...Object.keys(OWN_COMMANDS).map((n) => n.length));
  return "dmsetup-ts's own commands (dmsetup-ts COMMAND --help for each):\n\n" +
    Object.entries(OWN_COMMANDS).map(([n, c]) => `\t${n.padEnd(w)}  ${c.summary}\n`).join('') + '\n';
}
