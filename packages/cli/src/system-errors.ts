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
};

const VERBS: Readonly<Record<string, string>> = {
  open: 'open',
  write: 'write',
  mkdir: 'create the directory',
  rename: 'rename',
  unlink: 'remove',
  read: 'read',
  scandir: 'read the directory',
};

/** One line for a Node system error (it has a `code`), or undefined for anything else. */
export function describeSystemError(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, syscall, path } = error as { code?: unknown; syscall?: unknown; path?: unknown };
  if (typeof code !== 'string') return undefined;
  const reason = REASONS[code];
  if (reason === undefined) return undefined;
  const verb = typeof syscall === 'string' ? (VERBS[syscall] ?? syscall) : 'use';
  const target = typeof path === 'string' ? ` ${path}` : '';
  return `cannot ${verb}${target}: ${reason.what} (${code}); ${reason.fix}`;
}

/** A closed output pipe (`mailward ... | head`): the reader wants no more, which is not an error. */
export function isClosedPipe(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'EPIPE';
}
