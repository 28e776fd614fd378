/**
 * `mailward reports receive`: runs the SMTP receiver for report mail and/or the HTTPS endpoint for
 * TLS reports until stopped (SIGINT/SIGTERM), printing one line per message or report.
 */
import { describeSystemError } from '@mailward/adapters';
import type { ReportStore } from '@mailward/reports';
import type { RunningReceiver } from '@mailward/adapters';
import { startHttpsReceiver, startSmtpReceiver } from '@mailward/adapters';
import type { CommandResult } from './result.js';
import { runError, usageError } from './result.js';

export interface ReceiveArgs {
  readonly smtp?: string;
  readonly https?: string;
  readonly addresses: readonly string[];
  readonly tls?: { readonly cert: Uint8Array; readonly key: Uint8Array };
  readonly plainHttp: boolean;
  readonly maxMessageBytes?: number;
}

/** "PORT" or "HOST:PORT" (IPv6 as "[::1]:PORT"); the host defaults to all addresses. */
export function parseListen(text: string): { host: string; port: number } | undefined {
  const match = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(text.trim());
  if (match === null) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  return { host: (match[1] ?? '0.0.0.0').replace(/^\[|\]$/g, ''), port };
}

export async function receiveCommand(
  args: ReceiveArgs,
  store: ReportStore,
  deps: { readonly progress?: (line: string) => void; readonly stop?: AbortSignal },
): Promise<CommandResult> {
  if (args.smtp === undefined && args.https === undefined)
    return usageError('reports receive', 'give --smtp and/or --https');
  const smtp = args.smtp === undefined ? undefined : parseListen(args.smtp);
  const https = args.https === undefined ? undefined : parseListen(args.https);
  if (args.smtp !== undefined && smtp === undefined)
    return usageError('reports receive', `--smtp ${args.smtp}: expected PORT or HOST:PORT`);
  if (args.https !== undefined && https === undefined)
    return usageError('reports receive', `--https ${args.https}: expected PORT or HOST:PORT`);
  if (smtp !== undefined && args.addresses.length === 0)
    return usageError('reports receive', '--smtp needs at least one --address (the rua/ruf mailbox)');
  if (https !== undefined && args.tls === undefined && !args.plainHttp) {
    return usageError('reports receive', '--https needs --tls-cert and --tls-key (or --plain-http behind a TLS proxy)');
  }
  const say = deps.progress ?? (() => undefined);
  const running: RunningReceiver[] = [];
  try {
    if (smtp !== undefined) {
      const receiver = await startSmtpReceiver(store, {
        ...smtp,
        addresses: args.addresses,
        ...(args.tls === undefined ? {} : { tls: args.tls }),
        ...(args.maxMessageBytes === undefined ? {} : { maxMessageBytes: args.maxMessageBytes }),
        onMessage: (event) => say(`${event.item}: ${event.detail}`),
      });
      running.push(receiver);
      say(
        `SMTP receiver listening on ${smtp.host}:${receiver.port} for ${args.addresses.join(', ')}${args.tls === undefined ? '' : ' (STARTTLS offered)'}`,
      );
    }
    if (https !== undefined) {
      const receiver = await startHttpsReceiver(store, {
        ...https,
        ...(args.tls === undefined ? {} : { tls: args.tls }),
        onReport: (event) => say(`${event.item}: ${event.detail}`),
      });
      running.push(receiver);
      say(`${args.tls === undefined ? 'HTTP' : 'HTTPS'} TLS-RPT endpoint listening on ${https.host}:${receiver.port}`);
    }
  } catch (error) {
    for (const receiver of running) await receiver.close();
    return runError('reports receive', describeSystemError(error) ?? (error as Error).message);
  }
  await new Promise<void>((resolve) => {
    if (deps.stop === undefined || deps.stop.aborted) return resolve();
    deps.stop.addEventListener('abort', () => resolve());
  });
  for (const receiver of running) await receiver.close();
  return { exitCode: 0, stdout: '', stderr: '' };
}
