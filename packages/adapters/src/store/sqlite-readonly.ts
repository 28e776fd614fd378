/**
 * Opens a SQLite store for reading only, also when the reader may not write the store's directory
 * (a report database owned by the receiver's user, read by an administrator).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';

/** The store file cannot be used as asked; the message names the file and what to do. */
export class SqliteStoreProblem extends Error {}

/** Past this size the in-memory fallback below is refused rather than risk exhausting memory. */
const MAX_IN_MEMORY_BYTES = 1 << 30;

export function openReadonlyDatabase(path: string): Database.Database {
  // better-sqlite3 says only "unable to open database file"; a reading command should say which.
  if (!existsSync(path)) throw new SqliteStoreProblem(`${path} does not exist`);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    // Opening is lazy: the first read is what needs the -shm file.
    db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get();
    return db;
  } catch (error) {
    db?.close();
    const code = (error as { code?: string }).code;
    if (code !== 'SQLITE_CANTOPEN' && code !== 'SQLITE_READONLY_DIRECTORY') throw error;
    return openCopyInMemory(path);
  }
}

/**
 * A WAL database needs its -shm file to be read, and a reader that may not write the directory
 * cannot create it (https://sqlite.org/wal.html#readonly; URI `immutable=1` is not available in
 * this build). When no -wal file is pending, the main file holds every committed transaction, so a
 * private in-memory copy of it reads exactly what is stored. With a non-empty -wal file (a writer is
 * running or crashed) the copy would miss committed data, so that case is refused.
 */
function openCopyInMemory(path: string): Database.Database {
  if (existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 0) {
    throw new SqliteStoreProblem(
      `${path} cannot be read without write access to its directory while ${path}-wal is pending: run the command as the store's owner, or stop its writer so the journal is folded into the file`,
    );
  }
  const size = statSync(path).size;
  if (size > MAX_IN_MEMORY_BYTES) {
    throw new SqliteStoreProblem(
      `${path} (${size} bytes) is too large to read without write access to its directory: run the command as the store's owner`,
    );
  }
  const bytes = readFileSync(path);
  // Bytes 18 and 19 of the header say "WAL" (2); an in-memory database cannot be in WAL mode, so
  // the copy is marked as a rollback-journal file (1) (https://sqlite.org/fileformat2.html#database_header).
  if (bytes.length >= 20 && bytes[18] === 2 && bytes[19] === 2) {
    bytes[18] = 1;
    bytes[19] = 1;
  }
  return new Database(bytes, { readonly: true });
}
