import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Question } from 'dns-packet';

export interface PacketParts {
  readonly id?: number;
  readonly question?: Question;
  readonly answers?: Answer[];
  readonly authorities?: Answer[];
  readonly additionals?: Answer[];
  readonly rcode?: number;
  /** Header flag bits besides QR and RCODE (dnsPacket.AUTHENTIC_DATA, TRUNCATED_RESPONSE...). */
  readonly flags?: number;
  readonly response?: boolean;
}

/** Encodes a message from parts, for hand-built fixtures (defaults: a NOERROR response to example.com A). */
export function packetBytes(parts: PacketParts = {}): Buffer {
  return dnsPacket.encode({
    type: parts.response === false ? 'query' : 'response',
    id: parts.id ?? 4242,
    flags: (parts.flags ?? 0) | (parts.rcode ?? 0),
    questions: [parts.question ?? { name: 'example.com', type: 'A', class: 'IN' }],
    answers: parts.answers ?? [],
    authorities: parts.authorities ?? [],
    additionals: parts.additionals ?? [],
  });
}

/** The same, decoded back, as the transports hand it to the interpreter. */
export function packet(parts: PacketParts = {}): DecodedPacket {
  return dnsPacket.decode(packetBytes(parts));
}

export function soa(name: string, ttl: number, minimum: number): Answer {
  return {
    type: 'SOA',
    name,
    ttl,
    class: 'IN',
    data: {
      mname: 'ns.example',
      rname: 'hostmaster.example',
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86_400,
      minimum,
    },
  };
}
