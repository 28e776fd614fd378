/**
 * IMAP mailbox source (imapflow): the messages of one folder, oldest UID first. After the store
 * has committed a message, it is moved to the archive folder (reports stored) or the invalid
 * folder (quarantined); until then it stays where it was, so a crash or a lost connection only
 * means it is read again. Messages are fetched a few at a time (never inside an open FETCH, which
 * would block the MOVE that acknowledges them). `waitForMail` uses IDLE for watch mode; a dropped
 * connection is re-opened on the next read.
 */
import { ImapFlow } from 'imapflow';
import { Buffer } from 'node:buffer';
import type { ReportSource, SourceItem } from '@mailward/reports';

export interface ImapSourceOptions {
  readonly host: string;
  readonly port: number;
  /** Implicit TLS (imaps, port 993). Otherwise STARTTLS is used when the server offers it. */
  readonly secure: boolean;
  readonly user: string;
  readonly password: string;
  readonly mailbox: string;
  /** Where stored messages go (created when missing). */
  readonly archive: string;
  /** Where messages that held no usable report go (created when missing). */
  readonly invalid: string;
  /** Messages larger than this are quarantined with their first 64 KiB (default 100 MiB). */
  readonly maxMessageBytes?: number;
}

interface ImapItem extends SourceItem {
  readonly uid: number;
}

const FETCH_GROUP = 20;
const HEAD_BYTES = 64 * 1024;

export class ImapSource implements ReportSource {
  private client: ImapFlow | undefined;

  constructor(private readonly options: ImapSourceOptions) {}

  /** "imap://host:port/INBOX" without the password, for messages. */
  describe(): string {
    const o = this.options;
    return `${o.secure ? 'imaps' : 'imap'}://${o.user}@${o.host}:${o.port}/${o.mailbox}`;
  }

  private async connection(): Promise<ImapFlow> {
    if (this.client?.usable === true) return this.client;
    const o = this.options;
    const client = new ImapFlow({
      host: o.host,
      port: o.port,
      secure: o.secure,
      auth: { user: o.user, pass: o.password },
      logger: false,
      // Errors reach us through the commands that fail; a dropped connection is reopened next time.
      emitLogs: false,
    });
    client.on('error', () => undefined);
    await client.connect();
    for (const folder of [o.archive, o.invalid]) {
      const exists = (await client.list()).some((m) => m.path === folder);
      if (!exists) await client.mailboxCreate(folder);
    }
    await client.mailboxOpen(o.mailbox);
    this.client = client;
    return client;
  }

  async *items(): AsyncIterable<SourceItem> {
    const client = await this.connection();
    const found = await client.search({ all: true }, { uid: true });
    const uids = (found === false || found === undefined ? [] : found).sort((a, b) => a - b);
    const limit = this.options.maxMessageBytes ?? 100 * 1024 * 1024;
    for (let at = 0; at < uids.length; at += FETCH_GROUP) {
      const group = uids.slice(at, at + FETCH_GROUP);
      const sizes = await client.fetchAll(group.join(','), { uid: true, size: true }, { uid: true });
      const small = sizes.filter((m) => (m.size ?? 0) <= limit).map((m) => m.uid);
      const items: ImapItem[] = [];
      if (small.length > 0) {
        for (const message of await client.fetchAll(small.join(','), { uid: true, source: true }, { uid: true })) {
          items.push({ name: this.itemName(message.uid), bytes: message.source ?? Buffer.alloc(0), uid: message.uid });
        }
      }
      for (const big of sizes.filter((m) => (m.size ?? 0) > limit)) {
        const [head] = await client.fetchAll(
          String(big.uid),
          { uid: true, source: { start: 0, maxLength: HEAD_BYTES } },
          { uid: true },
        );
        items.push({
          name: this.itemName(big.uid),
          bytes: head?.source ?? Buffer.alloc(0),
          uid: big.uid,
          problem: `${this.itemName(big.uid)}: message of ${big.size} bytes, over the ${limit}-byte limit (only its first 64 KiB are kept)`,
        });
      }
      items.sort((a, b) => a.uid - b.uid);
      yield* items;
    }
  }

  private itemName(uid: number): string {
    return `${this.describe()};UID=${uid}`;
  }

  async acknowledge(item: SourceItem, outcome: 'stored' | 'quarantined'): Promise<void> {
    const client = await this.connection();
    const target = outcome === 'stored' ? this.options.archive : this.options.invalid;
    const moved = await client.messageMove(String((item as ImapItem).uid), target, { uid: true });
    if (moved === false) throw new Error(`could not move UID ${(item as ImapItem).uid} to ${target}`);
  }

  /** Waits (IDLE) until the folder has messages again, `timeoutMs` passes, or `signal` aborts. */
  async waitForMail(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const client = await this.connection();
    if ((client.mailbox !== false && client.mailbox.exists > 0) || timeoutMs <= 0 || signal?.aborted === true) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        client.off('exists', done);
        client.off('close', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      client.on('exists', done);
      client.on('close', done);
      signal?.addEventListener('abort', done);
      void client.idle().catch(() => done());
    });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client?.usable === true) await client.logout().catch(() => client.close());
  }
}
