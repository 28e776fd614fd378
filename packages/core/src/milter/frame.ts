// Milter framing: every packet is a 4-byte big-endian length (counting the command byte and the
// data), one command byte, then length-1 bytes of data (mfdef.h MILTER_LEN_BYTES; Postfix
// milter8.c milter8_read_resp rejects a length below 1). The decoder is incremental: it accepts
// bytes split at any offset, never holds more than one packet, and refuses a length over the
// limit as soon as the 4 length bytes are in, before buffering any of it.

export interface Frame {
  code: number;
  data: Uint8Array;
}

export type FrameResult = { frames: Frame[]; error?: undefined } | { frames: Frame[]; error: string };

/**
 * Default largest packet (command byte + data). Postfix sends body chunks of at most 65535
 * bytes, but one header as large as header_size_limit (102400 by default), and a message of
 * 10,000 short headers is many small packets, not one big one. 1 MiB leaves room for a raised
 * header_size_limit while keeping one session's buffer small.
 */
export const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024;

export class FrameDecoder {
  private readonly header = new Uint8Array(4);
  private headerFilled = 0;
  private packet: Uint8Array | undefined;
  private packetFilled = 0;
  private failed: string | undefined;
  private decodedBytes = 0;

  constructor(private readonly maxPacketBytes = DEFAULT_MAX_PACKET_BYTES) {}

  /** True when part of a packet has arrived and the rest has not (for the mid-packet timeout). */
  get midPacket(): boolean {
    return this.headerFilled > 0 || this.packet !== undefined;
  }

  /** Feeds bytes; returns the packets they complete. After an error, every call returns it again. */
  push(chunk: Uint8Array): FrameResult {
    const frames: Frame[] = [];
    if (this.failed !== undefined) return { frames, error: this.failed };
    let offset = 0;
    while (offset < chunk.length) {
      if (this.packet === undefined) {
        const take = Math.min(4 - this.headerFilled, chunk.length - offset);
        this.header.set(chunk.subarray(offset, offset + take), this.headerFilled);
        this.headerFilled += take;
        offset += take;
        if (this.headerFilled < 4) break;
        const length = new DataView(this.header.buffer).getUint32(0, false);
        const at = this.decodedBytes;
        if (length < 1)
          return this.fail(frames, `packet at byte ${at} has length 0 (at least the command byte is needed)`);
        if (length > this.maxPacketBytes) {
          return this.fail(
            frames,
            `packet at byte ${at} announces ${length} bytes, over the limit of ${this.maxPacketBytes}` +
              ` (first bytes ${hexOf(this.header)}${printable(this.header)})`,
          );
        }
        this.packet = new Uint8Array(length);
        this.packetFilled = 0;
      }
      const take = Math.min(this.packet.length - this.packetFilled, chunk.length - offset);
      this.packet.set(chunk.subarray(offset, offset + take), this.packetFilled);
      this.packetFilled += take;
      offset += take;
      if (this.packetFilled === this.packet.length) {
        frames.push({ code: this.packet[0] as number, data: this.packet.subarray(1) });
        this.decodedBytes += 4 + this.packet.length;
        this.packet = undefined;
        this.headerFilled = 0;
      }
    }
    return { frames };
  }

  private fail(frames: Frame[], reason: string): FrameResult {
    this.failed = reason;
    this.packet = undefined;
    return { frames, error: reason };
  }
}

/** Encodes one packet: length (1 + data), command byte, data. */
export function encodeFrame(code: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  new DataView(out.buffer).setUint32(0, data.length + 1, false);
  out[4] = code;
  out.set(data, 5);
  return out;
}

function hexOf(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

// Garbage on a milter port is often another protocol ("GET " gives 1195725856, the
// "bad packet length" of authentication_milter#36): show it as text when it is text.
function printable(bytes: Uint8Array): string {
  const text = String.fromCharCode(...bytes);
  return /^[\x20-\x7e]{4}$/.test(text) ? `, "${text}": not a milter client?` : '';
}
