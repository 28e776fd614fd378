import { readFileLimited } from '@mailward/adapters';

/** Messages are read whole; past this size a message is refused with a clear error. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export type MessageInput =
  { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly reason: string };

/** Reads a message from a file, or from stdin when no file (or "-") is given. */
export async function readMessage(
  path: string | undefined,
  readStdin: (maxBytes: number) => Promise<Uint8Array | undefined>,
): Promise<MessageInput> {
  if (path !== undefined && path !== '-') return readFileLimited(path, MAX_MESSAGE_BYTES);
  const bytes = await readStdin(MAX_MESSAGE_BYTES);
  if (bytes === undefined)
    return { ok: false, reason: `the message on stdin is over the ${MAX_MESSAGE_BYTES}-byte limit` };
  return { ok: true, bytes };
}
