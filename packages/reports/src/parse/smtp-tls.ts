/**
 * SMTP TLS reports (RFC 8460 §4.4): one JSON object with organization-name, date-range,
 * contact-info, report-id and policies (policy, summary, failure-details). Required fields missing
 * or of the wrong type give an error naming the JSON path; tolerable quirks (counts as numeric
 * strings, mx-host as a single string) are accepted with a warning. Work is bounded: input size,
 * number of policies and failure details, string length.
 */
import type { ParseResult, ParseWarning, TlsFailureDetail, TlsPolicyResult, TlsReport } from '../model.js';

const MAX_INPUT_BYTES = 64 * 1024 * 1024;
const MAX_POLICIES = 10_000;
const MAX_FAILURE_DETAILS = 100_000;
const MAX_STRING = 4096;

class TlsProblem extends Error {}

type Json = Record<string, unknown>;

export function parseTlsReport(input: Uint8Array | string): ParseResult<TlsReport> {
  const size = typeof input === 'string' ? input.length : input.length;
  if (size > MAX_INPUT_BYTES)
    return { ok: false, reason: `TLS report of ${size} bytes is over the ${MAX_INPUT_BYTES}-byte limit` };
  const text = (typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: false }).decode(input)).replace(
    /^\ufeff/,
    '',
  );
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not a JSON TLS report: ${(error as Error).message}` };
  }
  try {
    return { ok: true, report: new TlsReader().report(document) };
  } catch (error) {
    if (error instanceof TlsProblem) return { ok: false, reason: error.message };
    throw error;
  }
}

class TlsReader {
  private readonly warnings: ParseWarning[] = [];
  private details = 0;

  report(document: unknown): TlsReport {
    const top = object(document, '(top level)');
    const range = object(top['date-range'], 'date-range');
    const begin = this.dateTime(range['start-datetime'], 'date-range.start-datetime');
    const end = this.dateTime(range['end-datetime'], 'date-range.end-datetime');
    const policies = top['policies'];
    if (!Array.isArray(policies)) throw new TlsProblem('policies: missing or not a list');
    if (policies.length > MAX_POLICIES)
      throw new TlsProblem(`policies: ${policies.length} entries, more than ${MAX_POLICIES}`);
    const contact = this.optionalString(top['contact-info'], 'contact-info');
    return {
      kind: 'tls',
      organizationName: this.string(top['organization-name'], 'organization-name'),
      ...(contact !== undefined && { contactInfo: contact }),
      reportId: this.string(top['report-id'], 'report-id'),
      begin,
      end,
      policies: policies.map((p, i) => this.policy(p, `policies[${i}]`)),
      warnings: this.warnings,
    };
  }

  private policy(value: unknown, where: string): TlsPolicyResult {
    const entry = object(value, where);
    const policy = object(entry['policy'], `${where}.policy`);
    const summary = object(entry['summary'], `${where}.summary`);
    const rawStrings = policy['policy-string'];
    const policyStrings = rawStrings === undefined ? [] : this.stringList(rawStrings, `${where}.policy.policy-string`);
    const rawHosts = policy['mx-host'];
    let mxHosts: string[] = [];
    if (typeof rawHosts === 'string') {
      this.warnings.push(`${where}.policy.mx-host: a string, read as a list of one`);
      mxHosts = [this.string(rawHosts, `${where}.policy.mx-host`)];
    } else if (rawHosts !== undefined) mxHosts = this.stringList(rawHosts, `${where}.policy.mx-host`);
    const rawDetails = entry['failure-details'] ?? [];
    if (!Array.isArray(rawDetails)) throw new TlsProblem(`${where}.failure-details: not a list`);
    this.details += rawDetails.length;
    if (this.details > MAX_FAILURE_DETAILS) throw new TlsProblem(`more than ${MAX_FAILURE_DETAILS} failure details`);
    return {
      policyType: this.string(policy['policy-type'], `${where}.policy.policy-type`),
      policyDomain: this.string(policy['policy-domain'], `${where}.policy.policy-domain`),
      policyStrings,
      mxHosts,
      totalSuccessfulSessionCount: this.count(
        summary['total-successful-session-count'],
        `${where}.summary.total-successful-session-count`,
      ),
      totalFailureSessionCount: this.count(
        summary['total-failure-session-count'],
        `${where}.summary.total-failure-session-count`,
      ),
      failureDetails: rawDetails.map((d, i) => this.detail(d, `${where}.failure-details[${i}]`)),
    };
  }

  private detail(value: unknown, where: string): TlsFailureDetail {
    const entry = object(value, where);
    const optional = (key: string, field: keyof TlsFailureDetail) => {
      const text = this.optionalString(entry[key], `${where}.${key}`);
      return text === undefined ? {} : { [field]: text };
    };
    return {
      resultType: this.string(entry['result-type'], `${where}.result-type`),
      ...optional('sending-mta-ip', 'sendingMtaIp'),
      ...optional('receiving-mx-hostname', 'receivingMxHostname'),
      ...optional('receiving-mx-helo', 'receivingMxHelo'),
      ...optional('receiving-ip', 'receivingIp'),
      failedSessionCount: this.count(entry['failed-session-count'], `${where}.failed-session-count`),
      ...optional('additional-information', 'additionalInformation'),
      ...optional('failure-reason-code', 'failureReasonCode'),
    } as TlsFailureDetail;
  }

  private string(value: unknown, where: string): string {
    if (value === undefined || value === null) throw new TlsProblem(`${where}: missing`);
    if (typeof value !== 'string')
      throw new TlsProblem(`${where}: expected a string, got ${JSON.stringify(value).slice(0, 40)}`);
    if (value.length > MAX_STRING) {
      this.warnings.push(`${where}: longer than ${MAX_STRING} characters, cut`);
      return value.slice(0, MAX_STRING);
    }
    return value;
  }

  private optionalString(value: unknown, where: string): string | undefined {
    return value === undefined || value === null ? undefined : this.string(value, where);
  }

  private stringList(value: unknown, where: string): string[] {
    if (!Array.isArray(value)) throw new TlsProblem(`${where}: expected a list of strings`);
    return value.map((v, i) => this.string(v, `${where}[${i}]`));
  }

  /** RFC 8460 counts are integers; a numeric string is accepted with a warning. */
  private count(value: unknown, where: string): number {
    let n = value;
    if (typeof value === 'string' && /^\d+$/.test(value.trim())) {
      this.warnings.push(`${where}: a string, read as a number`);
      n = Number(value);
    }
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw new TlsProblem(`${where}: ${JSON.stringify(value ?? null)} is not a non-negative integer`);
    }
    return n;
  }

  /**
   * RFC 3339 date-time → epoch seconds. A date-time without an offset ("2023-01-10T00:00:00", as
   * Microsoft sends) is not RFC 3339 (§5.6 requires time-offset); RFC 8460 §4.4 date ranges are UTC
   * days, so it is read as UTC and the leniency recorded as a warning rather than the report lost.
   */
  private dateTime(value: unknown, where: string): number {
    const text = this.string(value, where);
    const shape = /^(\d{4})-(\d{2})-(\d{2})[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$/.exec(text);
    const offset = shape?.[5];
    const ms = shape === null ? NaN : Date.parse(offset === undefined ? `${text.replace(' ', 'T')}Z` : text);
    // Date.parse rolls impossible dates over (2024-02-30 becomes March 1): the day must exist.
    const [year, month, day] = [Number(shape?.[1]), Number(shape?.[2]), Number(shape?.[3])];
    const calendar = new Date(Date.UTC(year, month - 1, day));
    const exists = calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day;
    if (Number.isNaN(ms) || !exists) {
      throw new TlsProblem(`${where}: ${JSON.stringify(text)} is not an RFC 3339 date-time`);
    }
    if (offset === undefined) this.warnings.push(`${where}: ${JSON.stringify(text)} has no time offset, read as UTC`);
    return Math.floor(ms / 1000);
  }
}

function object(value: unknown, where: string): Json {
  if (value === undefined || value === null) throw new TlsProblem(`${where}: missing`);
  if (typeof value !== 'object' || Array.isArray(value)) throw new TlsProblem(`${where}: expected a JSON object`);
  return value as Json;
}
