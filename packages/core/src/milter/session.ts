// The milter session state machine (pure: no sockets, no timers). The adapter feeds it decoded
// commands one at a time, awaits the returned step, writes step.replies and closes when asked.
// It enforces the command order of libmilter's engine.c (its next_states table), knows which
// commands await a reply under the negotiated no-reply flags, keeps macros per stage, and calls
// the handler, whose decisions become reply packets.
import { Action, Protocol } from './constants.js';
import type { MacroCommand, MilterCommand } from './commands.js';
import { commandAwaitsReply, negotiate, optnegReply, type Agreement, type MilterWants } from './negotiate.js';
import { actionNeeded, encodeReply, replyProblem, type MilterReply } from './replies.js';

export type Decision =
  | { type: 'continue' }
  | { type: 'accept' }
  | { type: 'reject' }
  | { type: 'tempfail' }
  | { type: 'discard' }
  | Extract<MilterReply, { type: 'replyCode' }>;

export type BodyDecision = Decision | { type: 'skip' };

export type MessageEdit = Extract<MilterReply, { type: 'addHeader' | 'insertHeader' | 'changeHeader' | 'quarantine' }>;

export interface EomDecision {
  edits?: MessageEdit[];
  decision: Decision;
}

export interface ConnectInfo {
  hostname: string;
  family: 'inet4' | 'inet6' | 'unix' | 'unknown';
  port?: number;
  address?: string;
}

/** What a handler can see: the connection, the current message and the macros so far. */
export interface SessionContext {
  readonly agreement: Agreement;
  readonly connect: ConnectInfo | undefined;
  readonly helo: string | undefined;
  /** A macro by name: "i" and "{i}" are the same macro (as libmilter's smfi_getsymval). */
  macro(name: string): string | undefined;
}

/** Async functions per stage. A missing function means "continue". */
export interface MilterHandler {
  connect?(info: ConnectInfo, ctx: SessionContext): Promise<Decision>;
  helo?(hostname: string, ctx: SessionContext): Promise<Decision>;
  mail?(sender: string, args: string[], ctx: SessionContext): Promise<Decision>;
  rcpt?(recipient: string, args: string[], ctx: SessionContext): Promise<Decision>;
  data?(ctx: SessionContext): Promise<Decision>;
  header?(name: string, value: string, valueBytes: Uint8Array, ctx: SessionContext): Promise<Decision>;
  eoh?(ctx: SessionContext): Promise<Decision>;
  body?(chunk: Uint8Array, ctx: SessionContext): Promise<BodyDecision>;
  eom?(ctx: SessionContext): Promise<EomDecision>;
  unknown?(command: string, ctx: SessionContext): Promise<Decision>;
  /** The message was aborted (SMFIC_ABORT); connection data stays. */
  abort?(ctx: SessionContext): Promise<void>;
  /** The connection ended (QUIT, QUIT_NC, or the adapter closing it). */
  close?(ctx: SessionContext): Promise<void>;
}

export interface SessionTimeouts {
  /** From accepting the socket to OPTNEG: the MTA sends it at once. */
  negotiateMs: number;
  /** Waiting for the next command: as long as the SMTP client may idle (Postfix smtpd_timeout 300 s). */
  commandMs: number;
  /** A packet that has started must finish within this. */
  packetMs: number;
}

export const DEFAULT_TIMEOUTS: SessionTimeouts = { negotiateMs: 10_000, commandMs: 330_000, packetMs: 30_000 };

export interface SessionLimits {
  /** Header fields per message; beyond it the message is refused with 552 5.3.4. */
  maxHeaders: number;
  /** Bytes of header names and values per message, same refusal. */
  maxHeaderBytes: number;
}

/**
 * Postfix itself passes at most header_size_limit (102400) bytes per header and has no count
 * limit; a DKIM verifier must not be handed 10,000 fields to hash. 1000 fields and 1 MiB are far
 * above real mail (a long Received chain is ~50 fields: Postfix's hopcount_limit).
 */
export const DEFAULT_LIMITS: SessionLimits = { maxHeaders: 1000, maxHeaderBytes: 1024 * 1024 };

export interface SessionStep {
  /** Encoded packets to write, in order. */
  replies: Uint8Array[];
  /** Close the connection after writing. */
  close: boolean;
  /** A protocol error (session ends) or a handler problem (session goes on); one line. */
  error?: string;
}

type Phase =
  'start' | 'negotiated' | 'connect' | 'helo' | 'mail' | 'rcpt' | 'data' | 'header' | 'eoh' | 'body' | 'closed';
const order: Phase[] = ['start', 'negotiated', 'connect', 'helo', 'mail', 'rcpt', 'data', 'header', 'eoh', 'body'];
const rank = (phase: Phase) => order.indexOf(phase);

// Stages (in SMTP order) whose macros a new macro packet for an earlier stage makes stale.
const macroOrder: MacroCommand[] = [
  'connect',
  'helo',
  'mail',
  'rcpt',
  'data',
  'header',
  'eoh',
  'body',
  'eom',
  'unknown',
];

export class MilterSession {
  private phase: Phase = 'start';
  private agreed: Agreement | undefined;
  private connectInfo: ConnectInfo | undefined;
  private heloName: string | undefined;
  private readonly macros = new Map<MacroCommand, Map<string, string>>();
  /** A decision made at a stage the MTA awaits no reply for, sent at the next reply it awaits. */
  private pending: Decision | undefined;
  private bodyDone = false;
  /** The final decision already sent (or deferred) for this message; later events are not passed on. */
  private decided: Decision | undefined;
  private headerCount = 0;
  private headerBytes = 0;
  private readonly ctx: SessionContext;

  constructor(
    private readonly handler: MilterHandler,
    private readonly wants: MilterWants,
    private readonly timeouts: SessionTimeouts = DEFAULT_TIMEOUTS,
    private readonly limits: SessionLimits = DEFAULT_LIMITS,
  ) {
    const getAgreement = () => {
      if (!this.agreed) throw new Error('no agreement before OPTNEG');
      return this.agreed;
    };
    const getConnect = () => this.connectInfo;
    const getHelo = () => this.heloName;
    this.ctx = {
      get agreement() {
        return getAgreement();
      },
      get connect() {
        return getConnect();
      },
      get helo() {
        return getHelo();
      },
      macro: (name) => this.macro(name),
    };
  }

  get stage(): Phase {
    return this.phase;
  }

  get agreement(): Agreement | undefined {
    return this.agreed;
  }

  /** How long the adapter should wait for the next bytes now. */
  readTimeoutMs(midPacket: boolean): number {
    if (midPacket) return this.timeouts.packetMs;
    return this.phase === 'start' ? this.timeouts.negotiateMs : this.timeouts.commandMs;
  }

  /** Whether the MTA waits for a reply to this command under the agreement. */
  expectsReply(type: MilterCommand['type']): boolean {
    return commandAwaitsReply(type, this.agreed?.protocol ?? 0);
  }

  private macro(name: string): string | undefined {
    const bare = /^\{(.)\}$/.exec(name)?.[1];
    const names = [name, ...(bare ? [bare] : []), ...(name.length === 1 ? [`{${name}}`] : [])];
    // The latest stage wins, as smfi_getsymval searches backwards.
    for (const stage of [...macroOrder].reverse()) {
      const set = this.macros.get(stage);
      if (!set) continue;
      for (const candidate of names) {
        const value = set.get(candidate);
        if (value !== undefined) return value;
      }
    }
    return undefined;
  }

  /** Handles one decoded command. Never throws for anything the MTA or the handler does. */
  async receive(command: MilterCommand): Promise<SessionStep> {
    if (this.phase === 'closed') return this.protocolError(`${command.type} after the session ended`);
    try {
      return await this.dispatch(command);
    } catch (error) {
      // A handler that throws is a bug there, not the MTA's fault: answer tempfail where a
      // reply is due (Postfix then says 451 4.7.1), keep the session.
      const message = `handler failed at ${command.type}: ${error instanceof Error ? error.message : String(error)}`;
      return { ...this.answer(command.type, { type: 'tempfail' }), error: message };
    }
  }

  private async dispatch(command: MilterCommand): Promise<SessionStep> {
    if (command.type === 'optneg') {
      if (this.phase !== 'start') return this.protocolError('a second OPTNEG in one session');
      const result = negotiate(command, this.wants);
      if (!result.ok) {
        this.phase = 'closed';
        return { replies: [], close: true, error: `negotiation refused: ${result.refusal.message}` };
      }
      this.agreed = result.agreement;
      this.phase = 'negotiated';
      return { replies: [encodeReply(optnegReply(result.agreement))], close: false };
    }
    if (this.phase === 'start') return this.protocolError(`${command.type} before OPTNEG`);
    switch (command.type) {
      case 'macro': {
        const at = macroOrder.indexOf(command.stage);
        for (const later of macroOrder.slice(at)) this.macros.delete(later);
        this.macros.set(command.stage, new Map(command.macros));
        return { replies: [], close: false };
      }
      case 'connect': {
        if (this.phase !== 'negotiated') return this.orderError(command.type);
        this.phase = 'connect';
        const info: ConnectInfo = { hostname: command.hostname, family: command.family };
        if (command.port !== undefined) info.port = command.port;
        if (command.address !== undefined) info.address = command.address;
        this.connectInfo = info;
        return this.decide(command.type, () => this.handler.connect?.(info, this.ctx), 'connection');
      }
      case 'helo': {
        // HELO may come again (EHLO after STARTTLS), and Postfix sends HELO after MAIL and
        // then ABORT (milter8.c milter8_helo_event); it never comes inside DATA.
        if (!this.connectionLevel(true) && this.phase !== 'mail' && this.phase !== 'rcpt')
          return this.orderError(command.type);
        if (this.phase === 'negotiated' && !this.skipped(Protocol.NOCONNECT)) return this.orderError(command.type);
        if (this.phase === 'negotiated' || this.phase === 'connect') this.phase = 'helo';
        this.heloName = command.hostname;
        return this.decide(command.type, () => this.handler.helo?.(command.hostname, this.ctx), 'connection');
      }
      case 'mail': {
        // A new MAIL may also follow a message the milter already decided (the MTA ends it).
        if (!this.connectionLevel(false) && !(this.decided && rank(this.phase) >= rank('mail')))
          return this.orderError(command.type);
        this.startMessage();
        this.phase = 'mail';
        return this.decide(command.type, () => this.handler.mail?.(command.sender, command.args, this.ctx), 'message');
      }
      case 'rcpt': {
        if (!this.advance('rcpt', true)) return this.orderError(command.type);
        return this.decide(
          command.type,
          () => this.handler.rcpt?.(command.recipient, command.args, this.ctx),
          'command',
        );
      }
      case 'data': {
        if (!this.advance('data', false)) return this.orderError(command.type);
        return this.decide(command.type, () => this.handler.data?.(this.ctx), 'message');
      }
      case 'header': {
        if (!this.advance('header', true)) return this.orderError(command.type);
        this.headerCount++;
        this.headerBytes += command.name.length + command.valueBytes.length;
        if (
          !this.decided &&
          (this.headerCount > this.limits.maxHeaders || this.headerBytes > this.limits.maxHeaderBytes)
        ) {
          const what =
            this.headerCount > this.limits.maxHeaders
              ? `more than ${this.limits.maxHeaders} header fields`
              : `more than ${this.limits.maxHeaderBytes} bytes of header`;
          return this.decide(
            command.type,
            async (): Promise<Decision> => ({ type: 'replyCode', reply: `552 5.3.4 Message has ${what}` }),
            'message',
          );
        }
        return this.decide(
          command.type,
          () => this.handler.header?.(command.name, command.value, command.valueBytes, this.ctx),
          'message',
        );
      }
      case 'eoh': {
        if (!this.advance('eoh', false)) return this.orderError(command.type);
        return this.decide(command.type, () => this.handler.eoh?.(this.ctx), 'message');
      }
      case 'body': {
        if (!this.advance('body', true)) return this.orderError(command.type);
        if (this.bodyDone) return this.answer('body', { type: 'continue' });
        return this.decideBody(command.chunk);
      }
      case 'eom':
        return this.endOfMessage(command.chunk);
      case 'unknown': {
        if (rank(this.phase) < rank('connect') && !this.skipped(Protocol.NOCONNECT))
          return this.orderError(command.type);
        if (rank(this.phase) >= rank('data')) return this.orderError(command.type);
        return this.decide(command.type, () => this.handler.unknown?.(command.command, this.ctx), 'command');
      }
      case 'abort': {
        // libmilter st_abortfct: back to the connection state; CONNECT and HELO data stay.
        if (rank(this.phase) >= rank('mail')) this.phase = this.heloName !== undefined ? 'helo' : 'connect';
        this.endMessage();
        await this.handler.abort?.(this.ctx);
        return { replies: [], close: false };
      }
      case 'quit': {
        this.phase = 'closed';
        await this.handler.close?.(this.ctx);
        return { replies: [], close: true };
      }
      case 'quitNewConnection': {
        // Sendmail 8.14: the next connection reuses this socket and the agreement.
        await this.handler.close?.(this.ctx);
        this.phase = 'negotiated';
        this.connectInfo = undefined;
        this.heloName = undefined;
        this.macros.clear();
        this.endMessage();
        return { replies: [], close: false };
      }
    }
  }

  /** Tells the session the connection is gone (dropped or timed out); calls handler.close once. */
  async end(): Promise<void> {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    await this.handler.close?.(this.ctx);
  }

  private skipped(flag: number): boolean {
    return ((this.agreed?.protocol ?? 0) & flag) !== 0;
  }

  /** No message in progress: MAIL (or HELO) may start here. */
  private connectionLevel(_forHelo: boolean): boolean {
    if (this.phase === 'connect' || this.phase === 'helo') return true;
    // Without CONNECT events (SMFIP_NOCONNECT) the first event may be HELO, or MAIL without
    // HELO as well (SMFIP_NOHELO, or a client that sent none).
    return this.phase === 'negotiated' && this.skipped(Protocol.NOCONNECT) && true;
  }

  /**
   * Moves forward within a message. A phase may be passed over only if it is optional (HEADER:
   * a message may have no header; BODY: an empty body) or was negotiated away (SMFIP_NO*).
   */
  private advance(to: Phase, repeatable: boolean): boolean {
    const from = rank(this.phase);
    const target = rank(to);
    if (from < rank('mail') && !(this.skipped(Protocol.NOMAIL) && from >= rank('negotiated'))) return false;
    if (target < from || (target === from && !repeatable)) return false;
    const skippable: Partial<Record<Phase, number>> = {
      mail: Protocol.NOMAIL,
      rcpt: Protocol.NORCPT,
      data: Protocol.NODATA,
      eoh: Protocol.NOEOH,
    };
    for (let r = Math.max(from + 1, rank('mail')); r < target; r++) {
      const phase = order[r] as Phase;
      if (phase === 'header' || phase === 'body') continue;
      const flag = skippable[phase];
      if (flag === undefined || !this.skipped(flag)) return false;
    }
    if (from < rank('mail')) this.startMessage();
    this.phase = to;
    return true;
  }

  private startMessage(): void {
    this.resetMessage();
  }

  private resetMessage(): void {
    this.pending = undefined;
    this.decided = undefined;
    this.bodyDone = false;
    this.headerCount = 0;
    this.headerBytes = 0;
  }

  private endMessage(): void {
    this.resetMessage();
    for (const stage of macroOrder.slice(macroOrder.indexOf('mail'))) this.macros.delete(stage);
  }

  private async decide(
    type: MilterCommand['type'],
    ask: (() => Promise<Decision> | undefined) | undefined,
    scope: 'connection' | 'message' | 'command',
  ): Promise<SessionStep> {
    // A decision deferred from a no-reply stage answers the first stage that takes a reply.
    if (this.pending && this.expectsReply(type)) {
      const decision = this.pending;
      this.pending = undefined;
      this.afterFinal(decision, 'message');
      return this.answer(type, decision);
    }
    // After a final decision the MTA sends nothing more for the message; if it does anyway,
    // the handler is not asked again.
    if (this.decided) return this.answer(type, { type: 'continue' });
    const decision = (await ask?.()) ?? { type: 'continue' };
    const problem = decisionProblem(decision);
    if (problem)
      return { ...this.answer(type, { type: 'tempfail' }), error: `handler decision at ${type}: ${problem}` };
    if (!this.expectsReply(type) && decision.type !== 'continue') {
      this.pending ??= decision;
      if (scope === 'message') this.decided = decision;
      return { replies: [], close: false };
    }
    this.afterFinal(decision, scope);
    return this.answer(type, decision);
  }

  private async decideBody(chunk: Uint8Array): Promise<SessionStep> {
    if ((this.pending || this.decided) && this.expectsReply('body')) return this.decide('body', undefined, 'message');
    if (this.decided) return { replies: [], close: false };
    const decision = (await this.handler.body?.(chunk, this.ctx)) ?? { type: 'continue' };
    if (decision.type === 'skip') {
      this.bodyDone = true;
      // SMFIR_SKIP only when the MTA said it understands it (SMFIP_SKIP) and awaits a reply.
      const reply: MilterReply = this.skipped(Protocol.SKIP) ? { type: 'skip' } : { type: 'continue' };
      return this.expectsReply('body')
        ? { replies: [encodeReply(reply)], close: false }
        : { replies: [], close: false };
    }
    return this.decide('body', async () => decision, 'message');
  }

  private async endOfMessage(chunk: Uint8Array): Promise<SessionStep> {
    // EOM ends any message phase; with SMFIP_NOBODY/NOHDRS/NOEOH those phases never come.
    if (!this.advance('body', true)) return this.orderError('eom');
    const replies: Uint8Array[] = [];
    let error: string | undefined;
    if (chunk.length > 0 && !this.bodyDone && !this.pending) {
      const early = (await this.handler.body?.(chunk, this.ctx)) ?? { type: 'continue' };
      if (early.type !== 'continue' && early.type !== 'skip') this.pending = early;
    }
    let final: Decision;
    if (this.pending || this.decided) {
      // A deferred decision, or one already sent (an MTA that went on anyway gets it again).
      final = (this.pending ?? this.decided) as Decision;
    } else {
      const result = (await this.handler.eom?.(this.ctx)) ?? { decision: { type: 'continue' } };
      final = result.decision;
      for (const edit of result.edits ?? []) {
        const needed = actionNeeded(edit);
        const problem =
          replyProblem(edit) ??
          (needed !== undefined && (this.agreed!.actions & needed) === 0
            ? `${edit.type} needs ${flagOf(needed)}, not negotiated`
            : undefined);
        if (problem) {
          error = `handler edit at eom: ${problem}`;
          final = { type: 'tempfail' };
          replies.length = 0;
          break;
        }
        replies.push(encodeReply(edit));
      }
      const problem = decisionProblem(final);
      if (problem && !error) {
        error = `handler decision at eom: ${problem}`;
        final = { type: 'tempfail' };
        replies.length = 0;
      }
    }
    replies.push(encodeReply(final));
    this.phase = this.heloName !== undefined ? 'helo' : 'connect';
    this.endMessage();
    return error ? { replies, close: false, error } : { replies, close: false };
  }

  private afterFinal(decision: Decision, scope: 'connection' | 'message' | 'command'): void {
    if (decision.type === 'continue') return;
    // A reject at RCPT refuses one recipient (at UNKNOWN, one command); the message goes on.
    if (scope === 'command' && decision.type !== 'accept' && decision.type !== 'discard') return;
    if (scope === 'connection') return; // Postfix closes after a connection-level decision.
    this.decided = decision;
  }

  private answer(type: MilterCommand['type'], decision: Decision): SessionStep {
    if (!this.expectsReply(type)) return { replies: [], close: false };
    return { replies: [encodeReply(decision)], close: false };
  }

  private orderError(type: MilterCommand['type']): SessionStep {
    return this.protocolError(`${type} is out of order in stage ${this.phase}`);
  }

  private protocolError(message: string): SessionStep {
    this.phase = 'closed';
    return { replies: [], close: true, error: `protocol error: ${message}` };
  }
}

function decisionProblem(decision: Decision): string | undefined {
  if (!['continue', 'accept', 'reject', 'tempfail', 'discard', 'replyCode'].includes(decision.type)) {
    return `"${decision.type}" is not a decision for this stage`;
  }
  return decision.type === 'replyCode' ? replyProblem(decision) : undefined;
}

function flagOf(action: number): string {
  const name = Object.entries(Action).find(([, bit]) => bit === action)?.[0];
  return `SMFIF_${name ?? action.toString(16)}`;
}
