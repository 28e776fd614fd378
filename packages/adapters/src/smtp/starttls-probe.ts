/**
 * The STARTTLS probe behind `mailward check --smtp`: connects to an MX host on port 25, reads the
 * greeting, says EHLO, issues STARTTLS (RFC 3207), completes the TLS handshake without rejecting
 * anything, records the protocol, the cipher and the certificate, and says QUIT. No mail is sent.
 *
 * Written by hand on node:net and node:tls rather than with an SMTP client library: those clients
 * hide the handshake (they either reject a bad certificate or ignore it) and we need exactly what a
 * sender would see: the negotiated version, whether the chain verified and why not, and the name
 * check done separately from the chain check. The dialogue is four commands.
 *
 * The whole exchange has one time limit; replies are capped in size, so a hostile server can
 * neither hang the probe nor make it buffer without bound. The host name is resolved through the
 * Resolver, so `--dns` and fixtures apply to it as to every other lookup.
 */
import { connect as connectTcp } from 'node:net';
import type { Socket } from 'node:net';
import { checkServerIdentity, connect as connectTls } from 'node:tls';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { Buffer } from 'node:buffer';
import type { Resolver, SmtpProbeResult, SmtpTlsProbe } from '@mailward/core';
import { hostAddress } from '../dns/host-address.js';

export interface StartTlsProbeOptions {
  readonly resolver: Resolver;
  /** The name this host gives in EHLO (RFC 5321 §4.1.1.1: its fully qualified domain name). */
  readonly heloName: string;
  /** The whole exchange, per host (default 20 s). */
  readonly timeoutMs?: number;
  /** Tests: another port than 25, and the CAs to trust instead of the system's. */
  readonly port?: number;
  readonly ca?: readonly Uint8Array[];
}

interface Reply {
  readonly code: number;
  readonly lines: string[];
}

/** A multi-line reply longer than this is not an SMTP server talking. */
const MAX_REPLY_BYTES = 64 * 1024;

export class StartTlsProbe implements SmtpTlsProbe {
  constructor(private readonly options: StartTlsProbeOptions) {}

  async probe(host: string): Promise<SmtpProbeResult> {
    const found = await hostAddress(this.options.resolver, host);
    if ('problem' in found) return { kind: 'unreachable', reason: found.problem };
    return new Session(host, found.address, this.options).run();
  }
}

/** One probe: a small state machine over the socket's replies. */
class Session {
  private socket: Socket | undefined;
  private tlsSocket: TLSSocket | undefined;
  private pending = '';
  private waiting: ((reply: Reply | Error) => void) | undefined;
  private phase = 'connecting';

  constructor(
    private readonly host: string,
    private readonly address: string,
    private readonly options: StartTlsProbeOptions,
  ) {}

  run(): Promise<SmtpProbeResult> {
    const timeoutMs = this.options.timeoutMs ?? 20_000;
    return new Promise<SmtpProbeResult>((resolve) => {
      let settled = false;
      const finish = (result: SmtpProbeResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.close();
        resolve(result);
      };
      const timer = setTimeout(() => {
        const reason = `no answer within ${timeoutMs} ms while ${this.phase}`;
        finish(
          this.phase === 'in the TLS handshake' ? { kind: 'tls-failed', reason } : { kind: 'unreachable', reason },
        );
      }, timeoutMs);
      this.dialogue().then(finish, (error: unknown) =>
        finish(
          this.phase === 'in the TLS handshake'
            ? { kind: 'tls-failed', reason: messageOf(error) }
            : { kind: 'unreachable', reason: `${messageOf(error)} while ${this.phase}` },
        ),
      );
    });
  }

  private async dialogue(): Promise<SmtpProbeResult> {
    const socket = await this.connect();
    this.phase = 'waiting for the greeting';
    const greeting = await this.reply();
    if (greeting.code !== 220) return { kind: 'refused', reply: greeting.lines.join(' ') };
    this.phase = 'waiting for the EHLO reply';
    socket.write(`EHLO ${this.options.heloName}\r\n`);
    const ehlo = await this.reply();
    if (ehlo.code !== 250) return { kind: 'refused', reply: ehlo.lines.join(' ') };
    if (!ehlo.lines.slice(1).some((line) => /^starttls\b/i.test(line.slice(4)))) {
      socket.write('QUIT\r\n');
      return { kind: 'no-starttls' };
    }
    this.phase = 'waiting for the STARTTLS reply';
    socket.write('STARTTLS\r\n');
    const ready = await this.reply();
    if (ready.code !== 220) return { kind: 'tls-failed', reason: `STARTTLS answered "${ready.lines.join(' ')}"` };
    this.phase = 'in the TLS handshake';
    return this.handshake(socket);
  }

  private connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connectTcp({ host: this.address, port: this.options.port ?? 25 });
      this.socket = socket;
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
      socket.on('error', (error) => this.deliver(error));
      socket.on('close', () => this.deliver({ code: 0, lines: ['(the server closed the connection)'] }));
      socket.on('data', (chunk: Buffer) => this.receive(chunk));
    });
  }

  private receive(chunk: Buffer): void {
    this.pending += chunk.toString('latin1');
    if (this.pending.length > MAX_REPLY_BYTES) {
      this.deliver(new Error(`a reply longer than ${MAX_REPLY_BYTES} bytes`));
      this.socket?.destroy();
      return;
    }
    // A reply is complete at a line "NNN text" or "NNN" (RFC 5321 §4.2.1); "NNN-" continues.
    // The element after the last line break is an unfinished line, never the end of a reply.
    const lines = this.pending.split(/\r?\n/);
    let last = -1;
    for (let i = 0; i < lines.length - 1 && last < 0; i++) if (/^\d{3}(?: |$)/.test(lines[i] ?? '')) last = i;
    if (last < 0) return;
    const replyLines = lines.slice(0, last + 1);
    this.pending = lines.slice(last + 1).join('\r\n');
    const code = Number(replyLines[last]?.slice(0, 3));
    this.deliver({ code, lines: replyLines });
  }

  /** Hands a reply, or the failure that ended the wait, to whoever waits. A close is a reply of code 0. */
  private deliver(reply: Reply | Error): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(reply);
  }

  private reply(): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.waiting = (reply) => (reply instanceof Error ? reject(reply) : resolve(reply));
      // Data may already be buffered (pipelined replies, or a reply that arrived with the last one).
      if (this.pending !== '') this.receive(Buffer.alloc(0));
    });
  }

  private handshake(socket: Socket): Promise<SmtpProbeResult> {
    socket.removeAllListeners('data');
    return new Promise((resolve, reject) => {
      const tlsSocket = connectTls({
        socket,
        ...(isIp(this.host) ? {} : { servername: this.host }),
        // Accept whatever is presented, to report on it; the chain result is still computed.
        rejectUnauthorized: false,
        // The name is checked separately below, so a name mismatch is not mistaken for a bad chain.
        checkServerIdentity: () => undefined,
        // Offer every version a sender might use, so an old server shows as old rather than failing.
        minVersion: 'TLSv1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
        ...(this.options.ca === undefined ? {} : { ca: this.options.ca.map((c) => Buffer.from(c)) }),
      });
      this.tlsSocket = tlsSocket;
      tlsSocket.once('error', reject);
      tlsSocket.once('secureConnect', () => {
        const cert = tlsSocket.getPeerCertificate();
        const authorizationError = tlsSocket.authorizationError as unknown as string | Error | null | undefined;
        const trustError =
          authorizationError === null || authorizationError === undefined
            ? undefined
            : typeof authorizationError === 'string'
              ? authorizationError
              : authorizationError.message;
        tlsSocket.write('QUIT\r\n');
        resolve({
          kind: 'tls',
          protocol: tlsSocket.getProtocol() ?? 'unknown',
          cipher: tlsSocket.getCipher().name,
          certificate: {
            trusted: tlsSocket.authorized,
            ...(trustError !== undefined && { trustError }),
            nameMatches: isEmpty(cert) ? false : checkServerIdentity(this.host, cert) === undefined,
            names: dnsNames(cert),
            validFrom: isoDate(cert.valid_from),
            validTo: isoDate(cert.valid_to),
          },
        });
      });
    });
  }

  private close(): void {
    this.tlsSocket?.destroy();
    this.socket?.destroy();
  }
}

function isEmpty(cert: PeerCertificate): boolean {
  return Object.keys(cert).length === 0;
}

function dnsNames(cert: PeerCertificate): string[] {
  const names = (cert.subjectaltname ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4));
  const cn = cert.subject?.CN;
  return names.length > 0 ? names : typeof cn === 'string' ? [cn] : [];
}

function isoDate(text: string | undefined): string {
  const date = new Date(text ?? '');
  return Number.isNaN(date.getTime()) ? new Date(0).toISOString() : date.toISOString();
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
