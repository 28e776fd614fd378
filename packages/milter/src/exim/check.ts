/**
 * One Exim content check: a decoded request in, the reply bytes and one log line out. Pure apart
 * from the DNS queries of `authenticate()` (through the resolver it is given); the runtime owns
 * the socket and the time budget.
 */
import { authenticate } from '@mailward/core';
import type { Authentication, Clock, LocalPolicy, Resolver } from '@mailward/core';
import { decideInbound } from '../inbound/decide.js';
import type { InboundPolicy, InboundVerdict } from '../inbound/decide.js';
import type { InboundSettings } from '../settings.js';
import type { EximRequest } from './request.js';
import { encodeEximNotChecked, encodeEximTempfail, encodeEximVerdict, eximAction } from './reply.js';

export interface EximCheckOptions {
  readonly authservId: string;
  readonly resolver: Resolver;
  readonly clock: Clock;
  readonly inbound: InboundPolicy;
  readonly localPolicy?: LocalPolicy;
}

export interface EximCheckOutcome {
  readonly reply: string;
  /** One line for the log, keyed by Exim's queue id. */
  readonly log: string;
  readonly verdict?: InboundVerdict;
  /** What the verdict was reached from (for the verdict journal), when the message was checked. */
  readonly authentication?: Authentication;
}

export async function checkEximRequest(request: EximRequest, options: EximCheckOptions): Promise<EximCheckOutcome> {
  const notChecked = (reason: string): EximCheckOutcome => ({
    reply: encodeEximNotChecked(options.authservId, reason),
    log: `${logKey(request)} action=none not checked: ${reason}`,
  });
  if (!request.message.kept) return notChecked(request.message.reason);
  if (request.user !== undefined) {
    // $authenticated_id is set: the client logged in, so this is outgoing mail (submission);
    // DMARC is the receiving side's check, and the sender's own domain would "fail" here.
    return notChecked('authenticated client, outgoing mail');
  }
  if (request.ip === undefined) return notChecked('no client IP address (locally submitted)');
  const auth = await authenticate(
    request.message.bytes,
    { ip: request.ip, mailFrom: request.mailFrom, ...(request.helo === undefined ? {} : { helo: request.helo }) },
    {
      resolver: options.resolver,
      clock: options.clock,
      authservId: options.authservId,
      ...(options.localPolicy === undefined ? {} : { localPolicy: options.localPolicy }),
    },
  );
  if ('unverifiable' in auth) return notChecked(`not a message: ${auth.unverifiable}`);
  const verdict = decideInbound(auth, options.inbound);
  const results = `spf=${auth.spf.mailFrom.result} dkim=${dkimSummary(auth.dkim.signatures)} dmarc=${verdict.dmarc}`;
  return {
    reply: encodeEximVerdict(verdict, options.authservId),
    log: `${logKey(request)} action=${JSON.stringify(eximAction(verdict))} ${results}${
      verdict.authorDomain === undefined ? '' : ` domain=${verdict.authorDomain}`
    } ${verdict.reason}`,
    verdict,
    authentication: auth,
  };
}

/**
 * The reply when the check could not finish in time (DNS too slow): "could not check", so the
 * DNS-failure setting decides, as for a DNS failure seen by `decideInbound`.
 */
export function eximTimeoutOutcome(
  request: EximRequest,
  options: Pick<EximCheckOptions, 'authservId' | 'inbound'>,
  seconds: number,
): EximCheckOutcome {
  const reason = `checks did not finish within ${seconds} s (DNS too slow)`;
  if (options.inbound.onDnsFailure === 'accept') {
    return {
      reply: encodeEximNotChecked(options.authservId, reason),
      log: `${logKey(request)} action="no action" not checked: ${reason} (on DNS failure: accept)`,
    };
  }
  const text = 'DMARC policy could not be checked (DNS too slow); try again later';
  return {
    reply: encodeEximTempfail(text),
    log: `${logKey(request)} action="soft reject" ${reason}`,
  };
}

/** The settings' plain values as the decision takes them. */
export function inboundPolicyFromSettings(settings: InboundSettings): InboundPolicy {
  const domains = new Map(
    Object.entries(settings.domains).map(([domain, policy]) => [domain.toLowerCase().replace(/\.$/, ''), policy]),
  );
  return { enforce: settings.enforce, onDnsFailure: settings.onDnsFailure, quarantine: settings.quarantine, domains };
}

function logKey(request: EximRequest): string {
  return `exim queue-id=${request.queueId ?? '-'} ip=${request.ip ?? '-'} from=<${request.mailFrom}>`;
}

function dkimSummary(signatures: readonly { readonly result: string; readonly domain?: string }[]): string {
  if (signatures.length === 0) return 'none';
  return signatures.map((s) => `${s.result}${s.domain === undefined ? '' : `(${s.domain})`}`).join(',');
}
