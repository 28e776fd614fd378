// Small byte helpers for the milter codec: NUL-terminated strings, 32/16-bit big-endian numbers.

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/**
 * Splits data made of NUL-terminated strings ("name\0value\0..."). Every string must end with a
 * NUL, as libmilter and Postfix write them; a missing final NUL is an error (undefined).
 */
export function splitNulStrings(data: Uint8Array): Uint8Array[] | undefined {
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0) {
      parts.push(data.subarray(start, i));
      start = i + 1;
    }
  }
  return start === data.length ? parts : undefined;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function uint32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, false);
  return out;
}

export function readUint32(data: Uint8Array, at: number): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(at, false);
}

export function readUint16(data: Uint8Array, at: number): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint16(at, false);
}

/** A string as NUL-terminated bytes. */
export function cString(text: string | Uint8Array): Uint8Array {
  const bytes = typeof text === 'string' ? encodeUtf8(text) : text;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
