/**
 * Private key files: written with mode 0600 and never over an existing file (a DKIM key that is
 * overwritten while its public half is still published breaks every message signed since), read
 * with errors that say what is wrong with the file.
 */
import { describeSystemError } from './system-errors.js';
import type { KeyObject } from 'node:crypto';
import { createPrivateKey } from 'node:crypto';
import { open } from 'node:fs/promises';

export type KeyFileWrite =
  | { readonly ok: true }
  /** `exists`: the path was already there (never overwritten). */
  | { readonly ok: false; readonly reason: string; readonly exists?: true };
export type KeyFileRead =
  { readonly ok: true; readonly key: KeyObject } | { readonly ok: false; readonly reason: string };

/** Largest key file read: a 16384-bit RSA key in PEM is about 13 KB. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

export async function writePrivateKeyFile(path: string, pem: string): Promise<KeyFileWrite> {
  let handle;
  try {
    // 'wx': fail if the path exists (no overwrite, no following a planted symlink).
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      return {
        ok: false,
        reason: `${path} already exists; it was left unchanged (choose another --out)`,
        exists: true,
      };
    return {
      ok: false,
      reason: describeSystemError(error, path) ?? `cannot create ${path}: ${(error as Error).message}`,
    };
  }
  try {
    await handle.writeFile(pem);
    // The mode given to open() is filtered by the umask; 0600 is what we promise.
    await handle.chmod(0o600);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `cannot write ${path}: ${(error as Error).message}` };
  } finally {
    await handle.close();
  }
}

export async function readPrivateKeyFile(path: string): Promise<KeyFileRead> {
  let data: Buffer;
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      if (size > MAX_KEY_FILE_BYTES) return { ok: false, reason: `${path} is ${size} bytes, too large for a key file` };
      data = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (error) {
    return {
      ok: false,
      reason: describeSystemError(error, path) ?? `cannot read ${path}: ${(error as Error).message}`,
    };
  }
  try {
    // PEM (PKCS#8 or PKCS#1 "RSA PRIVATE KEY"); DER PKCS#8 as a fallback.
    const key = data.includes('-----BEGIN')
      ? createPrivateKey(data)
      : createPrivateKey({ key: data, format: 'der', type: 'pkcs8' });
    if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ed25519') {
      return {
        ok: false,
        reason: `${path} holds a ${key.asymmetricKeyType ?? 'unknown'} key; DKIM needs RSA or Ed25519`,
      };
    }
    return { ok: true, key };
  } catch {
    return { ok: false, reason: `${path} is not a private key (expected PEM "PRIVATE KEY" or "RSA PRIVATE KEY")` };
  }
}

export type FileRead =
  { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly reason: string };

/** Reads a whole file up to `maxBytes`; a larger file is an error, not a truncated read. */
export async function readFileLimited(path: string, maxBytes: number): Promise<FileRead> {
  try {
    const handle = await open(path, 'r');
    try {
      const { size, isFile } = await handle.stat().then((s) => ({ size: s.size, isFile: s.isFile() }));
      if (!isFile) return { ok: false, reason: `${path} is not a regular file` };
      if (size > maxBytes) return { ok: false, reason: `${path} is ${size} bytes, over the ${maxBytes}-byte limit` };
      return { ok: true, bytes: await handle.readFile() };
    } finally {
      await handle.close();
    }
  } catch (error) {
    return {
      ok: false,
      reason: describeSystemError(error, path) ?? `cannot read ${path}: ${(error as Error).message}`,
    };
  }
}
