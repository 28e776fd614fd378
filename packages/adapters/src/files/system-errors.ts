/**
 * Turns the operating system's errors (a file that cannot be written, a directory that is missing)
 * into one line a user can act on, for errors no command caught itself.
 */
const REASONS: Readonly<Record<string, { what: string; fix: string }>> = {
  EACCES: { what: 'permission denied', fix: 'choose a path you may write, or run as a user who may' },
  EPERM: { what: 'operation not permitted', fix: 'choose a path you may write, or run as a user who may' },
  EROFS: { what: 'the file system is read-only', fix: 'choose a path on a writable file system' },
  ENOENT: { what: 'no such file or directory', fix: 'check the path (is the directory there?)' },
  ENOTDIR: { what: 'a part of the path is not a directory', fix: 'check the path' },
  EISDIR: { what: 'it is a directory', fix: 'give a file name, not a directory' },
  ENOSPC: { what: 'no space left on the device', fix: 'free some space or choose another place' },
  EDQUOT: { what: 'disk quota exceeded', fix: 'free some space or choose another place' },
  EMFILE: { what: 'too many open files', fix: 'raise the limit (ulimit -n) or lower --concurrency' },
  EADDRINUSE: { what: 'the address is in use', fix: 'another server listens there: choose another port, or stop it' },
  EADDRNOTAVAIL: { what: 'no such address on this machine', fix: 'listen on an address this machine has' },
};

const VERBS: Readonly<Record<string, string>> = {
  open: 'open',
  write: 'write',
  mkdir: 'create the directory',
  rename: 'rename',
  unlink: 'remove',
  read: 'read',
  scandir: 'read the directory',
  listen: 'listen on',
  lstat: 'find',
  stat: 'find',
};

/**
 * One line for a Node system error (it has a `code`), or undefined for anything else. Some errors
 * (a read of a directory) name no path: `pathIfUnnamed` is the one the caller was using.
 */
export function describeSystemError(error: unknown, pathIfUnnamed?: string): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, syscall, path } = error as { code?: unknown; syscall?: unknown; path?: unknown };
  if (typeof code !== 'string') return undefined;
  const reason = REASONS[code];
  if (reason === undefined) return undefined;
  const verb = typeof syscall === 'string' ? (VERBS[syscall] ?? syscall) : 'use';
  const { address, port } = error as { address?: unknown; port?: unknown };
  const target =
    typeof path === 'string'
      ? ` ${path}`
      : typeof address === 'string'
        ? ` ${address}${typeof port === 'number' ? `:${port}` : ''}`
        : pathIfUnnamed === undefined
          ? ''
          : ` ${pathIfUnnamed}`;
  return `cannot ${verb}${target}: ${reason.what} (${code}); ${reason.fix}`;
}

/** A closed output pipe (`mailward ... | head`): the reader wants no more, which is not an error. */
export function isClosedPipe(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'EPIPE';
}
