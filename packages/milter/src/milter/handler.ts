/**
 * The milter's work on one SMTP session: a MilterHandler (core's session calls it per event).
 *
 * At MAIL the message is outbound when the client is an internal host or logged in with SASL
 * (`{auth_authen}`), else inbound. Header fields are collected as they come; at end of header the
 * signer (outbound) or the verifiers (inbound) are set up with them, and each BODY chunk goes
 * straight into them, so no body is ever held (ARCHITECTURE.md "DKIM streaming"). At end of
 * message: outbound gets its DKIM-Signature fields; inbound gets forged Authentication-Results
 * (our authserv-id) deleted, A-R and Received-SPF prepended, and decideInbound's action.
 *
 * A message's problem never ends the session: anything that throws is caught here, reported, and
 * the message gets the pipeline's onError answer (tempfail by default: Postfix says 451 4.7.1 and
 * the sender retries).
 */
import {
  authorDomains,
  DkimSigner,
  StreamingAuthentication,
  type Authentication,
  type HeaderField,
  milter,
} from '@mailward/core';
import { decideInbound, QUARANTINE_HEADER, type InboundVerdict } from '../inbound/decide.js';
import { deleteEdits, fieldLength, headerFieldFromEvent, isOwnAuthenticationResults } from './header-fields.js';
import { prependEdits, replyDecision } from './edits.js';
import type { MessageAction, MessageReport, MilterPipeline } from './pipeline.js';
import { signingRuleFor, type LoadedSigningKey } from './signing.js';

const AUTHENTICATION_RESULTS = 'authentication-results';

interface MessageState {
  readonly startedMs: number;
  readonly sender: string;
  readonly direction: 'outbound' | 'inbound';
  readonly directionReason: string;
  readonly headers: HeaderField[];
  headerBytes: number;
  /** 1-based occurrences among Authentication-Results fields that carry our authserv-id. */
  readonly ownAuthResults: number[];
  authResultsSeen: number;
  bodyBytes: number;
  /** Set at end of header. */
  signer?: DkimSigner;
  signingKeys?: readonly LoadedSigningKey[];
  unsignedReason?: string;
  authentication?: StreamingAuthentication;
  /** The first failure; the message then only waits for its end. */
  error?: string;
}

export function createMilterHandler(pipeline: MilterPipeline): milter.MilterHandler {
  let message: MessageState | undefined;

  const fail = (state: MessageState, stage: string, error: unknown) => {
    state.error ??= `${stage}: ${error instanceof Error ? error.message : String(error)}`;
    // Drop the signer and verifiers: nothing more is hashed for this message.
    delete state.signer;
    delete state.authentication;
  };

  const start = (sender: string, ctx: milter.SessionContext): MessageState => {
    const address = ctx.connect?.address;
    const login = ctx.macro('{auth_authen}');
    const daemon = ctx.macro('{daemon_name}');
    let direction: MessageState['direction'] = 'inbound';
    let directionReason = `client ${address ?? ctx.connect?.hostname ?? 'unknown'}`;
    if (login !== undefined && login !== '') {
      direction = 'outbound';
      directionReason = `SASL login ${login}`;
    } else if (daemon !== undefined && pipeline.outboundDaemons.has(daemon)) {
      direction = 'outbound';
      directionReason = `MTA service ${daemon}`;
    } else if (address === undefined || address === '') {
      // A local socket or a client without an address (Postfix's non_smtpd_milters simulate
      // 127.0.0.1; a unix-domain client is on this machine): nothing to check SPF against.
      direction = 'outbound';
      directionReason = `local client (${ctx.connect?.family ?? 'no connect information'})`;
    } else if (pipeline.isInternal(address)) {
      direction = 'outbound';
      directionReason = `internal host ${address}`;
    }
    return {
      startedMs: pipeline.monotonicMs(),
      sender,
      direction,
      directionReason,
      headers: [],
      headerBytes: 0,
      ownAuthResults: [],
      authResultsSeen: 0,
      bodyBytes: 0,
    };
  };

  const endOfHeader = (state: MessageState, ctx: milter.SessionContext) => {
    if (state.direction === 'outbound') {
      const author = authorDomains(state.headers);
      const domains = author.kind === 'single' ? [author.domain] : author.kind === 'multiple' ? author.domains : [];
      if (domains.length === 0) {
        state.unsignedReason = `not signed: ${author.kind === 'invalid' ? author.reason : 'no From domain'}`;
        return;
      }
      const rule = domains.map((d) => signingRuleFor(pipeline.signingRules, d)).find((r) => r !== undefined);
      if (rule === undefined) {
        state.unsignedReason = `not signed: no signing rule for ${domains.join(', ')}`;
        return;
      }
      state.signingKeys = rule.keys;
      state.signer = new DkimSigner(
        state.headers,
        rule.keys.map((key) => ({ domain: key.domain, selector: key.selector, privateKey: key.privateKey })),
        { clock: pipeline.clock },
      );
      return;
    }
    const ip = ctx.connect?.address ?? '';
    const helo = ctx.helo;
    state.authentication = new StreamingAuthentication(
      state.headers,
      { ip, mailFrom: state.sender, ...(helo === undefined ? {} : { helo }) },
      {
        resolver: pipeline.resolver,
        clock: pipeline.clock,
        authservId: pipeline.authservId,
        ...(pipeline.localPolicy === undefined ? {} : { localPolicy: pipeline.localPolicy }),
        ...(pipeline.arcSeal === undefined ? {} : { arcSeal: pipeline.arcSeal }),
      },
    );
  };

  const finishOutbound = (state: MessageState, base: ReportBase): milter.EomDecision => {
    if (state.signer === undefined) {
      report({ ...base, verdict: state.unsignedReason ?? 'not signed', action: 'accept', reason: 'outbound' });
      return { decision: { type: 'continue' } };
    }
    const fields = state.signer.finish();
    const signatures = fields.map((f) => `d=${f.domain} s=${f.selector}`);
    report({
      ...base,
      verdict: `signed ${signatures.join(', ')}`,
      action: 'accept',
      reason: 'outbound',
      signatures,
    });
    return { edits: prependEdits(fields.map((f) => f.field)), decision: { type: 'continue' } };
  };

  const finishInbound = async (
    state: MessageState,
    base: ReportBase,
    ctx: milter.SessionContext,
  ): Promise<milter.EomDecision> => {
    const { authentication: auth, arcSeal } = await (
      state.authentication as StreamingAuthentication
    ).finishWithResults();
    let verdict = decideInbound(auth, pipeline.inbound);
    const canHold = (ctx.agreement.actions & milter.Action.QUARANTINE) !== 0;
    let note = '';
    if (verdict.action.kind === 'quarantine' && verdict.action.style === 'hold' && !canHold) {
      // The MTA did not allow SMFIR_QUARANTINE: mark with the header instead of losing the verdict.
      const reason = verdict.action.reason;
      verdict = {
        ...verdict,
        action: { ...verdict.action, style: 'header' },
        headers: [...verdict.headers, `${QUARANTINE_HEADER}: ${reason}\r\n`],
      };
      note = ' (the MTA does not allow quarantine: header instead)';
    }
    // The ARC set goes on top, above this hop's Authentication-Results (RFC 8617 §5.1: the sealer
    // prepends its set; its AAR repeats our results).
    const arcFields =
      arcSeal?.sealed === true
        ? [arcSeal.fields.seal, arcSeal.fields.messageSignature, arcSeal.fields.authenticationResults]
        : [];
    const edits: milter.MessageEdit[] = [
      ...deleteEdits('Authentication-Results', state.ownAuthResults),
      ...prependEdits([...arcFields, ...verdict.headers]),
    ];
    const { decision, action } = inboundDecision(verdict, edits);
    if (pipeline.recordVerdict !== undefined) {
      // The milter does not ask for RCPT events (wants.ts), so envelope_to stays empty.
      const helo = ctx.helo;
      await pipeline.recordVerdict(auth, verdict, {
        ip: ctx.connect?.address ?? '',
        mailFrom: state.sender,
        recipients: [],
        ...(helo === undefined ? {} : { helo }),
        ...(base.queueId === undefined ? {} : { queueId: base.queueId }),
      });
    }
    report({
      ...base,
      verdict: inboundSummary(auth),
      action,
      ...(arcSeal === undefined
        ? {}
        : { arc: arcSeal.sealed ? `sealed i=${arcSeal.instance}` : `not sealed: ${arcSeal.reason}` }),
      reason: verdict.reason + note,
      dmarc: verdict.dmarc,
      ...(verdict.wouldHave === undefined ? {} : { wouldHave: verdict.wouldHave }),
    });
    return { edits, decision };
  };

  type ReportBase = Pick<
    MessageReport,
    'direction' | 'directionReason' | 'removedAuthenticationResults' | 'bodyBytes' | 'totalMs' | 'finishMs' | 'queueId'
  >;
  const report = (r: MessageReport) => {
    try {
      pipeline.report(r);
    } catch {
      // A failing log or metric must not change what the message gets.
    }
  };

  return {
    async mail(sender, _args, ctx) {
      message = start(stripAngles(sender), ctx);
      return { type: 'continue' };
    },
    async header(name, _value, valueBytes, ctx) {
      message ??= start('', ctx);
      const state = message;
      if (state.error !== undefined) return { type: 'continue' };
      try {
        const field = headerFieldFromEvent(name, valueBytes, state.headerBytes);
        state.headers.push(field);
        state.headerBytes += fieldLength(field);
        if (field.lowerName === AUTHENTICATION_RESULTS) {
          state.authResultsSeen++;
          if (
            state.direction === 'inbound' &&
            isOwnAuthenticationResults(field.raw.slice(name.length + 1), pipeline.authservId)
          )
            state.ownAuthResults.push(state.authResultsSeen);
        }
      } catch (error) {
        fail(state, 'header', error);
      }
      return { type: 'continue' };
    },
    async eoh(ctx) {
      message ??= start('', ctx);
      const state = message;
      if (state.error !== undefined) return { type: 'continue' };
      try {
        endOfHeader(state, ctx);
      } catch (error) {
        fail(state, 'end of header', error);
      }
      return { type: 'continue' };
    },
    async body(chunk) {
      const state = message;
      if (state === undefined || state.error !== undefined) return { type: 'continue' };
      state.bodyBytes += chunk.length;
      try {
        state.signer?.push(chunk);
        state.authentication?.push(chunk);
      } catch (error) {
        fail(state, 'body', error);
      }
      return { type: 'continue' };
    },
    async eom(ctx) {
      message ??= start('', ctx);
      const state = message;
      message = undefined;
      // A message without a header block never had an end of header (SMFIP_NOEOH is not asked,
      // but the MTA may send EOM right after MAIL for an empty message).
      if (
        state.error === undefined &&
        state.signer === undefined &&
        state.authentication === undefined &&
        state.unsignedReason === undefined
      ) {
        try {
          endOfHeader(state, ctx);
        } catch (error) {
          fail(state, 'end of header', error);
        }
      }
      const finishStart = pipeline.monotonicMs();
      const queueId = ctx.macro('i');
      const base = (): ReportBase => {
        const now = pipeline.monotonicMs();
        return {
          direction: state.direction,
          directionReason: state.directionReason,
          removedAuthenticationResults: state.direction === 'inbound' ? state.ownAuthResults.length : 0,
          bodyBytes: state.bodyBytes,
          totalMs: now - state.startedMs,
          finishMs: now - finishStart,
          ...(queueId === undefined || queueId === '' ? {} : { queueId }),
        };
      };
      if (state.error === undefined) {
        try {
          return state.direction === 'outbound'
            ? finishOutbound(state, base())
            : await finishInbound(state, base(), ctx);
        } catch (error) {
          fail(state, 'end of message', error);
        }
      }
      const action: MessageAction = pipeline.onError === 'accept' ? 'accept' : 'tempfail';
      report({
        ...base(),
        removedAuthenticationResults: 0,
        verdict: 'not checked: handler error',
        action,
        reason: `on error: ${pipeline.onError}`,
        error: state.error ?? 'unknown error',
      });
      return {
        decision:
          action === 'accept'
            ? { type: 'continue' }
            : replyDecision('451', '4.3.0', 'Temporary failure checking the message; try again later'),
      };
    },
    async abort() {
      message = undefined;
    },
    async close() {
      message = undefined;
    },
  };
}

function stripAngles(sender: string): string {
  const trimmed = sender.trim();
  return trimmed.startsWith('<') && trimmed.endsWith('>') ? trimmed.slice(1, -1) : trimmed;
}

function inboundDecision(
  verdict: InboundVerdict,
  edits: milter.MessageEdit[],
): { decision: milter.Decision; action: MessageAction } {
  const action = verdict.action;
  switch (action.kind) {
    case 'accept':
      return { decision: { type: 'continue' }, action: 'accept' };
    case 'reject':
    case 'tempfail':
      // The MTA drops the message: the edits do not matter, but they are harmless, and the
      // reply carries the reason (RFC 7372 §3.2: 5.7.1 for a policy rejection).
      edits.length = 0;
      return {
        decision: replyDecision(action.reply.code, action.reply.status, action.reply.text),
        action: action.kind,
      };
    case 'quarantine':
      if (action.style === 'hold') {
        // SMFIR_QUARANTINE puts the message in Postfix's hold queue; Postfix truncates the reason to 100 bytes.
        edits.push({ type: 'quarantine', reason: action.reason.slice(0, 100) });
        return { decision: { type: 'continue' }, action: 'quarantine-hold' };
      }
      return { decision: { type: 'continue' }, action: 'quarantine-header' };
  }
}

function inboundSummary(auth: Authentication): string {
  const dkim = auth.dkim.signatures.map((s) => `${s.result}${s.domain === undefined ? '' : `(${s.domain})`}`);
  return [
    `dmarc=${auth.dmarc.result}${auth.dmarc.authorDomain === undefined ? '' : `(${auth.dmarc.authorDomain})`}`,
    `spf=${auth.spf.mailFrom.result}`,
    `dkim=${dkim.length === 0 ? 'none' : dkim.join(',')}`,
    `arc=${auth.arc.result}`,
  ].join(' ');
}
