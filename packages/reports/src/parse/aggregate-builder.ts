/**
 * The aggregate report builder: turns the root's children, as the XML stream delivers them, into
 * the report (metadata, policy, records with recomputed alignment), with every tolerance kept as a
 * warning. Shared by the whole-document parser (aggregate.ts) and the streaming one
 * (aggregate-stream.ts).
 */
import type {
  AggregateMetadata,
  AggregateRecord,
  AggregateReport,
  AggregateSchema,
  DkimAuthResult,
  PolicyOverrideReason,
  PolicyPublished,
  SpfAuthResult,
} from '../model.js';
import type { XmlElement, XmlRootInfo } from './xml-elements.js';
import { child, childText } from './xml-elements.js';
import { headerFromDomains, recomputeAlignment } from '../alignment.js';

export const RFC9990_NAMESPACE = 'urn:ietf:params:xml:ns:dmarc-2.0';

export interface AggregateParseOptions {
  /** Called for each record as it is read; the returned report then has no records. */
  readonly onRecord?: (record: AggregateRecord) => void;
  /** Called before records are delivered again, when a broken document is repaired and reparsed. */
  readonly onRestart?: () => void;
  /** Records kept in memory without onRecord (default 2,000,000). */
  readonly maxRecords?: number;
  /** Broken documents up to this size are repaired and parsed again (default 64 MiB). */
  readonly maxRepairBytes?: number;
}

const MAX_WARNINGS = 100;

/** A problem with the report's content (not its XML): not repairable. */
export class ReportProblem extends Error {}

/** Builds the report from the root's children; shared by the whole-document and streaming parsers. */
export class AggregateBuilder {
  private readonly warnings: string[];
  private metadata: AggregateMetadata | undefined;
  private policy: PolicyPublished | undefined;
  private version: string | undefined;
  private readonly records: AggregateRecord[] = [];
  private recordCount = 0;
  /** Records seen before policy_published (needed for alignment) wait here. */
  private readonly early: XmlElement[] = [];
  private wrapped = false;

  constructor(
    initialWarnings: readonly string[],
    private readonly options: AggregateParseOptions,
  ) {
    this.warnings = [...initialWarnings];
  }

  private warn(message: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(message);
    else if (this.warnings.length === MAX_WARNINGS) this.warnings.push('more warnings were left out');
  }

  add(element: XmlElement, root: XmlRootInfo): void {
    if (root.name !== 'feedback') {
      // Some reporters wrap the report, e.g. in the <xs:schema> they copied it from.
      if (element.name !== 'feedback') throw new ReportProblem(`root element is <${root.name}>, not <feedback>`);
      this.warn(`<feedback> found inside <${root.name}>`);
      this.wrapped = true;
      for (const inner of element.children) this.add(inner, { name: 'feedback' });
      return;
    }
    switch (element.name) {
      case 'version':
        this.version = element.text.trim();
        break;
      case 'report_metadata':
        this.metadata = this.readMetadata(element);
        break;
      case 'policy_published':
        this.policy = this.readPolicy(element);
        for (const waiting of this.early.splice(0)) this.addRecord(waiting);
        break;
      case 'record':
        if (this.policy === undefined) this.early.push(element);
        else this.addRecord(element);
        break;
      default:
        this.warn(`<feedback>: unknown element <${element.name}> ignored`);
    }
  }

  private addRecord(element: XmlElement): void {
    const policy = this.policy as PolicyPublished;
    const index = this.recordCount;
    this.recordCount += 1;
    const record = this.readRecord(element, index, policy);
    if (this.options.onRecord !== undefined) {
      this.options.onRecord(record);
      return;
    }
    if (this.records.length >= (this.options.maxRecords ?? 2_000_000)) {
      throw new ReportProblem(`more than ${this.records.length} records: too many to hold in memory`);
    }
    this.records.push(record);
  }

  /** Metadata and policy, once both have been read (the header a streaming store needs first). */
  header(root: XmlRootInfo | undefined): Omit<AggregateReport, 'records'> | undefined {
    if (this.metadata === undefined || this.policy === undefined) return undefined;
    return {
      kind: 'aggregate',
      schema: schemaOf(this.wrapped ? undefined : root?.namespace, this.version),
      ...(this.version !== undefined && this.version !== '' && { version: this.version }),
      metadata: this.metadata,
      policy: this.policy,
      warnings: this.warnings,
    };
  }

  finish(root: XmlRootInfo, notes: readonly string[]): AggregateReport {
    for (const note of notes) this.warn(note);
    if (this.metadata === undefined) throw new ReportProblem('<report_metadata> is missing');
    if (this.policy === undefined) throw new ReportProblem('<policy_published> is missing');
    const schema = schemaOf(this.wrapped ? undefined : root.namespace, this.version);
    if (this.recordCount === 0) this.warn('the report has no <record>');
    return {
      kind: 'aggregate',
      schema,
      ...(this.version !== undefined && this.version !== '' && { version: this.version }),
      metadata: this.metadata,
      policy: this.policy,
      records: this.records,
      warnings: this.warnings,
    };
  }

  private readMetadata(element: XmlElement): AggregateMetadata {
    const where = 'report_metadata';
    const email = childText(element, 'email');
    let orgName = childText(element, 'org_name');
    const reportId = childText(element, 'report_id');
    if (orgName === undefined) {
      // Seen in the wild: an empty org_name with a usable email; the email's domain names the reporter.
      const emailDomain = email
        ?.slice(email.lastIndexOf('@') + 1)
        .replace(/[<>\s]/g, '')
        .toLowerCase();
      if (emailDomain === undefined || emailDomain === '') throw new ReportProblem(`${where}.org_name is missing`);
      orgName = emailDomain;
      this.warn(`${where}.org_name is empty: the email's domain ${emailDomain} is used`);
    }
    if (reportId === undefined) throw new ReportProblem(`${where}.report_id is missing`);
    const range = child(element, 'date_range');
    if (range === undefined) throw new ReportProblem(`${where}.date_range is missing`);
    const begin = epochSeconds(childText(range, 'begin'), `${where}.date_range.begin`);
    const end = epochSeconds(childText(range, 'end'), `${where}.date_range.end`);
    if (end < begin) this.warn(`${where}.date_range: end ${end} is before begin ${begin}`);
    if (email === undefined) this.warn(`${where}.email is missing`);
    const extra = childText(element, 'extra_contact_info');
    const generator = childText(element, 'generator');
    const errors = element.children.filter((c) => c.name === 'error').map((c) => c.text.trim());
    return {
      orgName,
      email: email ?? '',
      ...(extra !== undefined && { extraContactInfo: extra }),
      reportId,
      begin,
      end,
      errors,
      ...(generator !== undefined && { generator }),
    };
  }

  private readPolicy(element: XmlElement): PolicyPublished {
    const where = 'policy_published';
    const domain = childText(element, 'domain');
    if (domain === undefined) throw new ReportProblem(`${where}.domain is missing`);
    const token = (name: string): string | undefined => this.token(childText(element, name), `${where}.${name}`);
    const mode = (name: 'adkim' | 'aspf'): 'r' | 's' | undefined => {
      const value = token(name);
      if (value === undefined) return undefined;
      if (value === 'r' || value === 's') return value;
      this.warn(`${where}.${name}: "${value}" is not r or s; relaxed assumed`);
      return 'r';
    };
    const pctText = childText(element, 'pct');
    const pct = pctText === undefined ? undefined : Number(pctText);
    if (pct !== undefined && !(Number.isInteger(pct) && pct >= 0 && pct <= 100)) {
      this.warn(`${where}.pct: "${pctText}" is not an integer 0..100; ignored`);
    }
    const optional = (key: keyof PolicyPublished, value: string | number | undefined) =>
      value === undefined ? {} : { [key]: value };
    return {
      domain: domain.toLowerCase().replace(/\.$/, ''),
      ...optional('adkim', mode('adkim')),
      ...optional('aspf', mode('aspf')),
      ...optional('p', token('p')),
      ...optional('sp', token('sp')),
      ...optional('np', token('np')),
      ...optional('pct', pct !== undefined && Number.isInteger(pct) && pct >= 0 && pct <= 100 ? pct : undefined),
      ...optional('fo', childText(element, 'fo')),
      ...optional('testing', token('testing')),
      ...optional('discoveryMethod', token('discovery_method')),
    } as PolicyPublished;
  }

  /** Lower-cases a token, warning when the reporter used another case (e.g. "Pass"). */
  private token(value: string | undefined, where: string): string | undefined {
    if (value === undefined) return undefined;
    const lower = value.toLowerCase();
    if (lower !== value) this.warn(`${where}: "${value}" read as "${lower}"`);
    return lower;
  }

  private readRecord(element: XmlElement, index: number, policy: PolicyPublished): AggregateRecord {
    const where = `record[${index}]`;
    const row = child(element, 'row');
    if (row === undefined) throw new ReportProblem(`${where}.row is missing`);
    const sourceIp = childText(row, 'source_ip');
    if (sourceIp === undefined) throw new ReportProblem(`${where}.row.source_ip is missing`);
    const countText = childText(row, 'count');
    const count = Number(countText);
    if (countText === undefined || !Number.isSafeInteger(count) || count < 0) {
      throw new ReportProblem(`${where}.row.count: ${JSON.stringify(countText ?? null)} is not a non-negative integer`);
    }
    const evaluated = child(row, 'policy_evaluated');
    if (evaluated === undefined) this.warn(`${where}.row.policy_evaluated is missing`);
    const verdict = (name: string) =>
      evaluated === undefined
        ? undefined
        : this.token(childText(evaluated, name), `${where}.row.policy_evaluated.${name}`);
    const reasons: PolicyOverrideReason[] = (evaluated?.children ?? [])
      .filter((c) => c.name === 'reason')
      .map((reason) => ({
        type: (childText(reason, 'type') ?? reason.text.trim()).toLowerCase(),
        ...(childText(reason, 'comment') !== undefined && { comment: childText(reason, 'comment') as string }),
      }))
      .filter((reason) => reason.type !== '' || reason.comment !== undefined);

    const identifiers = child(element, 'identifiers') ?? child(element, 'identities');
    const headerFrom = identifiers === undefined ? undefined : childText(identifiers, 'header_from');
    if (headerFrom === undefined) this.warn(`${where}.identifiers.header_from is missing`);
    const envelopeFrom = identifiers === undefined ? undefined : childText(identifiers, 'envelope_from');
    const envelopeTo = identifiers === undefined ? undefined : childText(identifiers, 'envelope_to');

    const auth = child(element, 'auth_results');
    const dkim: DkimAuthResult[] = [];
    const spf: SpfAuthResult[] = [];
    for (const [i, result] of (auth?.children ?? []).entries()) {
      const at = `${where}.auth_results.${result.name}[${i}]`;
      const domain = (childText(result, 'domain') ?? '').toLowerCase();
      const outcome = this.token(childText(result, 'result'), `${at}.result`) ?? 'none';
      const human = childText(result, 'human_result');
      if (result.name === 'dkim') {
        const selector = childText(result, 'selector');
        dkim.push({
          domain,
          result: outcome,
          ...(selector !== undefined && { selector }),
          ...(human !== undefined && { humanResult: human }),
        });
      } else if (result.name === 'spf') {
        const scope = this.token(childText(result, 'scope'), `${at}.scope`);
        spf.push({
          domain,
          result: outcome,
          ...(scope !== undefined && { scope }),
          ...(human !== undefined && { humanResult: human }),
        });
      }
    }
    const from = (headerFrom ?? '').toLowerCase().trim();
    if (headerFromDomains(from).length > 1) {
      this.warn(`${where}.identifiers.header_from: "${from}" holds several domains; each is evaluated`);
    }
    return {
      sourceIp,
      count,
      disposition: verdict('disposition') ?? 'none',
      policyDkim: verdict('dkim') ?? 'none',
      policySpf: verdict('spf') ?? 'none',
      reasons,
      headerFrom: from,
      ...(envelopeFrom !== undefined && { envelopeFrom: envelopeFrom.toLowerCase() }),
      ...(envelopeTo !== undefined && { envelopeTo: envelopeTo.toLowerCase() }),
      dkim,
      spf,
      alignment: recomputeAlignment(from, dkim, spf, policy),
    };
  }
}

/**
 * Which schema the report follows: the RFC 9990 namespace (or its draft namespace, or version
 * 2.x); RFC 7489 with its 0.1 draft namespace or a 1.x version; otherwise a pre-RFC draft.
 */
function schemaOf(namespace: string | undefined, version: string | undefined): AggregateSchema {
  if (namespace === RFC9990_NAMESPACE || namespace?.includes('dmarc-xml/0.2') === true) return 'rfc9990';
  if (version?.startsWith('2') === true) return 'rfc9990';
  if (namespace?.includes('dmarc-xml/0.1') === true || version !== undefined) return 'rfc7489';
  return 'draft';
}

/** Epoch seconds; decimal values such as "1337270400.0" are accepted (and floored). */
function epochSeconds(text: string | undefined, where: string): number {
  if (text === undefined) throw new ReportProblem(`${where} is missing`);
  const value = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !Number.isFinite(value)) {
    throw new ReportProblem(`${where}: "${text.slice(0, 40)}" is not an epoch time in seconds`);
  }
  return Math.floor(value);
}
