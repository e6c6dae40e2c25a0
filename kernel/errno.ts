// Linux errno values and their glibc strerror() texts, as dmsetup prints them.

export const ERRNO = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, EBADF: 9,
  EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, ENOTBLK: 15, EBUSY: 16, EEXIST: 17,
  ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23, ENOTTY: 25, ENOSPC: 28, EROFS: 30, ERANGE: 34,
  ENAMETOOLONG: 36, ENOSYS: 38, ELOOP: 40, EOVERFLOW: 75, EILSEQ: 84, EOPNOTSUPP: 95, ETIMEDOUT: 110, ECONNREFUSED: 111,
} as const;

export type Errno = keyof typeof ERRNO;

const STRERROR: Record<Errno, string> = {
  EPERM: 'Operation not permitted', ENOENT: 'No such file or directory', ESRCH: 'No such process',
  EINTR: 'Interrupted system call', EIO: 'Input/output error', ENXIO: 'No such device or address',
  E2BIG: 'Argument list too long', EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable', ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied', EFAULT: 'Bad address', ENOTBLK: 'Block device required',
  EBUSY: 'Device or resource busy', EEXIST: 'File exists', ENODEV: 'No such device',
  ENOTDIR: 'Not a directory', EISDIR: 'Is a directory', EINVAL: 'Invalid argument', ENFILE: 'Too many open files in system', ENOTTY: 'Inappropriate ioctl for device',
  ENOSPC: 'No space left on device', EROFS: 'Read-only file system',
  ERANGE: 'Numerical result out of range', ENAMETOOLONG: 'File name too long', ENOSYS: 'Function not implemented',
  ELOOP: 'Too many levels of symbolic links',
  EOVERFLOW: 'Value too large for defined data type',
  EILSEQ: 'Invalid or incomplete multibyte or wide character',
  EOPNOTSUPP: 'Operation not supported', ETIMEDOUT: 'Connection timed out',
  ECONNREFUSED: 'Connection refused',
};

export function strerror(e: Errno): string {
  return STRERROR[e] ?? `Unknown error ${ERRNO[e]}`;
}

/** A failed kernel operation: what an ioctl returns as -errno. */
export class KernelError extends Error {
  constructor(readonly errno: Errno, message?: string) {
    super(message ?? strerror(errno));
  }
}

export function isErrno(x: unknown): x is Errno {
  return typeof x === 'string' && Object.hasOwn(ERRNO, x);
}
