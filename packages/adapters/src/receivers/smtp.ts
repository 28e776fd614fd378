/**
 * SMTP receiver for report mail (smtp-server): accepts mail only for the configured report
 * addresses, enforces a size limit (announced with SIZE, RFC 1870), offers STARTTLS when given a
 * certificate, and answers 250 only after the reports in the message are committed to the store:
 * a store failure is a 451 the sending server retries, so no report is lost. Mail that holds no
 * report is still accepted (it is quarantined), so senders do not retry it forever.
 */
import { Buffer } from 'node:buffer';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { IngestEvent, ReportStore } from '@mailward/reports';
import { receiveItem } from '@mailward/reports';

export interface SmtpReceiverOptions {
  readonly host: string;
  readonly port: number;
  /** Report addresses accepted in RCPT TO (compared case-insensitively). */
  readonly addresses: readonly string[];
  /** Largest message accepted (default 32 MiB, the largest mail the unpacker parses). */
  readonly maxMessageBytes?: number;
  /** PEM certificate and key: STARTTLS is offered when both are given. */
  readonly tls?: { readonly cert: Uint8Array; readonly key: Uint8Array };
  /** Name in the greeting and Received fields. */
  readonly name?: string;
  readonly onMessage?: (event: IngestEvent) => void;
}

export interface RunningReceiver {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

export async function startSmtpReceiver(store: ReportStore, options: SmtpReceiverOptions): Promise<RunningReceiver> {
  const accepted = new Set(options.addresses.map((a) => a.toLowerCase()));
  const maxBytes = options.maxMessageBytes ?? 32 * 1024 * 1024;
  const server = new SMTPServer({
    name: options.name ?? 'mailward',
    banner: 'mailward report receiver',
    size: maxBytes,
    authOptional: true,
    disabledCommands: options.tls === undefined ? ['AUTH', 'STARTTLS'] : ['AUTH'],
    ...(options.tls === undefined ? {} : { key: Buffer.from(options.tls.key), cert: Buffer.from(options.tls.cert) }),
    logger: false,
    onRcptTo(address, _session, callback) {
      if (accepted.has(address.address.toLowerCase())) return callback();
      const error = new Error(`<${address.address}>: not a report address here`) as Error & { responseCode: number };
      error.responseCode = 550;
      return callback(error);
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          const error = new Error(`message over the ${maxBytes}-byte limit`) as Error & { responseCode: number };
          error.responseCode = 552;
          return callback(error);
        }
        const name = `smtp:${session.remoteAddress}:${session.id}`;
        receiveItem(store, { name, bytes: Buffer.concat(chunks) })
          .then((event) => {
            options.onMessage?.(event);
            callback(null, `stored (${event.detail})`.slice(0, 400));
          })
          .catch((error: unknown) => {
            const failure = new Error(`cannot store the report now: ${(error as Error).message}`) as Error & {
              responseCode: number;
            };
            failure.responseCode = 451;
            callback(failure);
          });
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
