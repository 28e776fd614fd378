// Shared by the milter tests: keys written as PEM files, a zone in a MemoryResolver, the service on a
// loopback port, Postfix-like messages through adapters' MilterClient, and the edits applied to the
// message as Postfix would, so the result can be verified with core.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { milter } from '@mailward/core';
import { MemoryResolver, parseZone, type Resolver } from '@mailward/core';
import { MilterClient, type ClientMessage } from '@mailward/adapters';
import {
  DEFAULT_DNS,
  DEFAULT_INBOUND,
  startMilterService,
  type MilterService,
  type MilterServiceDeps,
  type MilterSettings,
} from '../src/index.js';

export const NOW = 1_800_000_000_000;
export const clock = { now: () => NOW };

export interface TestKey {
  readonly privateKey: KeyObject;
  readonly pem: string;
  /** The DKIM p= value. */
  readonly p: string;
  readonly k: 'rsa' | 'ed25519';
}

export function rsaKey(): TestKey {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: pair.privateKey,
    pem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    p: pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    k: 'rsa',
  };
}

export function ed25519Key(): TestKey {
  const pair = generateKeyPairSync('ed25519');
  const der = pair.publicKey.export({ type: 'spki', format: 'der' });
  return {
    privateKey: pair.privateKey,
    pem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    // RFC 8463 §4.2: p= is the raw 32-byte key, the end of the SPKI DER.
    p: der.subarray(der.length - 32).toString('base64'),
    k: 'ed25519',
  };
}

export function keyRecord(key: TestKey): { TXT: string } {
  return { TXT: `v=DKIM1; k=${key.k}; p=${key.p}` };
}

export function resolverFor(zone: Record<string, unknown[]>): MemoryResolver {
  const parsed = parseZone(zone);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  return new MemoryResolver(parsed.zone);
}

export async function tempDir(): Promise<{
  path: string;
  file(name: string, text: string): Promise<string>;
  remove(): Promise<void>;
}> {
  const path = await mkdtemp(join(tmpdir(), 'mailward-milter-'));
  return {
    path,
    async file(name, text) {
      const file = join(path, name);
      await writeFile(file, text, { mode: 0o600 });
      return file;
    },
    remove: () => rm(path, { recursive: true, force: true }),
  };
}

export function settings(overrides: Partial<MilterSettings> = {}): MilterSettings {
  return {
    listen: 'inet:127.0.0.1:0',
    authservId: 'mx.test',
    dns: DEFAULT_DNS,
    internalHosts: ['127.0.0.0/8', '10.0.0.0/8'],
    signing: { keys: [], rules: [] },
    inbound: DEFAULT_INBOUND,
    ...overrides,
  };
}

export interface Running {
  readonly service: MilterService;
  readonly logs: string[];
  close(): Promise<void>;
}

export async function startService(
  s: MilterSettings,
  resolver: Resolver,
  deps: Partial<MilterServiceDeps> = {},
): Promise<Running> {
  const logs: string[] = [];
  const started = await startMilterService(s, { log: (line) => logs.push(line), clock, resolver, ...deps });
  assert.ok(started.ok, started.ok ? '' : started.reason);
  return { service: started.service, logs, close: () => started.service.close() };
}

export interface Outcome {
  /** The edits of end of message, in order. */
  readonly edits: milter.MilterReply[];
  /** The final reply. */
  readonly final: milter.MilterReply;
}

/** One message through a fresh connection, as Postfix sends it. */
export async function send(address: string, message: ClientMessage): Promise<Outcome> {
  const client = await MilterClient.connect(address);
  try {
    const events = await client.message(message);
    const last = events.at(-1);
    assert.ok(last !== undefined && last.event === 'eom', `the message ended early at ${last?.event}`);
    const final = last.replies.at(-1);
    assert.ok(final !== undefined);
    return { edits: last.replies.slice(0, -1), final };
  } finally {
    await client.quit().catch(() => client.destroy());
  }
}

export function inboundMessage(
  from: { ip: string; helo?: string; sender: string },
  headers: string[],
  body: string,
  macros: ClientMessage['macros'] = {},
): ClientMessage {
  return {
    connect: {
      hostname: 'client.example',
      family: from.ip.includes(':') ? 'inet6' : 'inet4',
      port: 40000,
      address: from.ip,
    },
    helo: from.helo ?? 'client.example',
    sender: `<${from.sender}>`,
    recipients: ['<rcpt@mx.test>'],
    headers,
    body,
    macros: { eoh: [['i', 'QUEUE1']], eom: [['i', 'QUEUE1']], ...macros },
  };
}

/**
 * The message as Postfix would deliver it after the edits: INSHEADER at index 0 goes on top,
 * CHGHEADER with an empty value deletes the index-th field of that name (counted in the current
 * header, as Postfix does).
 */
export function applyEdits(headers: readonly string[], body: string, edits: readonly milter.MilterReply[]): string {
  const fields = [...headers];
  for (const edit of edits) {
    if (edit.type === 'insertHeader') {
      fields.splice(edit.index, 0, `${edit.name}:${edit.value.replace(/\n/g, '\r\n')}`);
    } else if (edit.type === 'changeHeader') {
      let seen = 0;
      const at = fields.findIndex(
        (f) => f.slice(0, f.indexOf(':')).toLowerCase() === edit.name.toLowerCase() && ++seen === edit.index,
      );
      assert.ok(at >= 0, `no ${edit.name} #${edit.index} to change`);
      if (edit.value === '') fields.splice(at, 1);
      else fields[at] = `${edit.name}:${edit.value.replace(/\n/g, '\r\n')}`;
    } else if (edit.type === 'addHeader') {
      fields.push(`${edit.name}:${edit.value.replace(/\n/g, '\r\n')}`);
    }
  }
  return `${fields.join('\r\n')}\r\n\r\n${body}`;
}

export function insertedValue(edits: readonly milter.MilterReply[], name: string): string[] {
  return edits
    .filter((e): e is Extract<milter.MilterReply, { type: 'insertHeader' }> => e.type === 'insertHeader')
    .filter((e) => e.name.toLowerCase() === name.toLowerCase())
    .map((e) => e.value);
}
