/**
 * Keys, key zone and generated messages for the DKIM benchmark (bench/dkim.bench.ts).
 *
 * Messages are deterministic (a seeded PRNG): a realistic header block (about 1.2 KB: two Received,
 * Return-Path, From, To, Cc, Subject, Date, Message-ID, MIME, List-Unsubscribe, a few X- fields) and
 * a multipart/mixed body whose size is the cell's nominal size (within one line):
 * - a text/plain part of prose, up to TEXT_PART_BYTES: words of varied length, about one line in
 *   four ending in a space (format=flowed), some double spaces and an occasional tab, so the
 *   relaxed canonicalizer's WSP rules have real work to do;
 * - the rest as a base64 attachment (76-character lines), which is what fills large messages.
 * With BENCH_BODY=text the whole body is prose instead (the worst case for body canonicalization).
 */
import { Buffer } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';

export type KeyKind = 'rsa2048' | 'ed25519';
export type BodyShape = 'mixed' | 'text';

export interface BenchKey {
  readonly kind: KeyKind;
  readonly label: string;
  readonly selector: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** PKCS#8 PEM, the form mailauth's dkimSign takes. */
  readonly privatePem: string;
  /** The key record's TXT value. */
  readonly record: string;
}

export const DOMAIN = 'bench.example';
/** The DKIM benchmarks' message sizes (nominal body sizes). */
export const DKIM_BENCH_SIZES = [
  { label: '2KB', bytes: 2 * 1024 },
  { label: '20KB', bytes: 20 * 1024 },
  { label: '200KB', bytes: 200 * 1024 },
  { label: '2MB', bytes: 2 * 1024 * 1024 },
] as const;
export const TEXT_PART_BYTES = 12 * 1024;

export function makeKeys(): BenchKey[] {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  const edDer = ed.publicKey.export({ type: 'spki', format: 'der' });
  return [
    {
      kind: 'rsa2048',
      label: 'RSA-2048',
      selector: 'rsa',
      ...rsa,
      privatePem: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      record: `v=DKIM1; k=rsa; p=${rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`,
    },
    {
      kind: 'ed25519',
      label: 'Ed25519',
      selector: 'ed',
      ...ed,
      privatePem: ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      // RFC 8463 §4.2: p= is the raw 32-byte key, the last 32 bytes of the SPKI DER.
      record: `v=DKIM1; k=ed25519; p=${edDer.subarray(edDer.length - 32).toString('base64')}`,
    },
  ];
}

/** The key zone in parseZone's input form. */
export function keyZone(keys: readonly BenchKey[]): Record<string, unknown[]> {
  return Object.fromEntries(keys.map((key) => [`${key.selector}._domainkey.${DOMAIN}`, [{ TXT: key.record }]]));
}

/** xorshift32: deterministic, fast, good enough for filler text. */
function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an ' +
  'they you were her all she there would their we him been has when who will more no if out so said what ' +
  'delivery message report domain server account invoice shipment schedule meeting quarterly attached ' +
  'please regards thanks tomorrow available confirmation reference customer support team update'
).split(' ');

/** Prose lines (CRLF-terminated) until at least `bytes` octets. */
function prose(bytes: number, random: () => number): string {
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    if (random() < 0.08) {
      lines.push('\r\n');
      size += 2;
      continue;
    }
    const target = 50 + Math.floor(random() * 26);
    let line = '';
    while (line.length < target) {
      const word = WORDS[Math.floor(random() * WORDS.length)] ?? 'word';
      if (line.length > 0) line += random() < 0.03 ? '  ' : random() < 0.005 ? '\t' : ' ';
      line += word;
    }
    if (random() < 0.25) line += ' '; // format=flowed soft break
    line += '\r\n';
    lines.push(line);
    size += line.length;
  }
  return lines.join('');
}

function base64Lines(bytes: number, random: () => number): string {
  const raw = Buffer.alloc(Math.ceil((bytes * 3) / 4));
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(random() * 256);
  const text = raw.toString('base64');
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; i < text.length && size < bytes; i += 76) {
    const line = `${text.slice(i, i + 76)}\r\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join('');
}

export interface BenchMessage {
  readonly label: string;
  readonly nominal: number;
  readonly bytes: Buffer;
  readonly bodyBytes: number;
}

export function makeMessage(nominal: number, label: string, shape: BodyShape): BenchMessage {
  const random = prng(nominal);
  const boundary = `----=_Part_${nominal}_1722335581.1700000000000`;
  const header = [
    `Received: from mail-out.${DOMAIN} (mail-out.${DOMAIN} [192.0.2.25])\r\n\tby mx.receiver.test (Postfix) with ESMTPS id 4VxKp62qT9z9sWB\r\n\tfor <alice@receiver.test>; Tue, 14 May 2024 09:12:44 +0000 (UTC)\r\n`,
    `Received: from app-7.internal.${DOMAIN} (app-7.internal.${DOMAIN} [10.1.2.7])\r\n\tby mail-out.${DOMAIN} (Postfix) with ESMTP id 1A2B3C4D5E\r\n\tfor <alice@receiver.test>; Tue, 14 May 2024 09:12:43 +0000 (UTC)\r\n`,
    `Return-Path: <bounces+1234-abcd@${DOMAIN}>\r\n`,
    `From: "Bench Sender" <sender@${DOMAIN}>\r\n`,
    'To: Alice Receiver <alice@receiver.test>, "Bob  Receiver" <bob@receiver.test>\r\n',
    'Cc: carol@receiver.test\r\n',
    'Subject: Quarterly report and the  delivery schedule for next week,\r\n with a subject long enough to fold\r\n',
    'Date: Tue, 14 May 2024 09:12:43 +0000\r\n',
    `Message-ID: <20240514091243.1A2B3C4D5E@mail-out.${DOMAIN}>\r\n`,
    'MIME-Version: 1.0\r\n',
    `Content-Type: multipart/mixed;\r\n\tboundary="${boundary}"\r\n`,
    `List-Unsubscribe: <mailto:unsubscribe@${DOMAIN}?subject=unsubscribe>,\r\n <https://${DOMAIN}/u/0123456789abcdef>\r\n`,
    'List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n',
    'X-Mailer: bench-mailer 1.0\r\n',
    'X-Campaign-Id: 0123456789\r\n',
  ].join('');
  const textPart = shape === 'text' ? nominal : Math.min(nominal, TEXT_PART_BYTES);
  const parts = [
    `This is a multi-part message in MIME format.\r\n\r\n--${boundary}\r\n`,
    'Content-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n',
    prose(textPart - 400, random),
  ];
  const sizeSoFar = parts.join('').length;
  if (nominal - sizeSoFar > 400) {
    parts.push(
      `\r\n--${boundary}\r\n`,
      'Content-Type: application/pdf; name="report.pdf"\r\nContent-Transfer-Encoding: base64\r\n',
      'Content-Disposition: attachment; filename="report.pdf"\r\n\r\n',
    );
    const before = parts.join('').length;
    parts.push(base64Lines(nominal - before - boundary.length - 10, random));
  }
  parts.push(`\r\n--${boundary}--\r\n`);
  const body = parts.join('');
  return {
    label,
    nominal,
    bytes: Buffer.from(`${header}\r\n${body}`, 'latin1'),
    bodyBytes: body.length,
  };
}
