/**
 * SPF audit (RFC 7208): the domain's record and its whole include/redirect tree, with the DNS
 * lookup count of every branch (§4.6.4: at most 10 over the whole evaluation), void lookups (at most
 * 2), loops, duplicate includes, `+all`/`?all`/no `all`, `ptr` (§5.5), record size (§3.4), Sender ID
 * leftovers (RFC 4406, historic) and a parked-domain profile. Static: the tree is read, no client
 * IP is evaluated, so terms whose target depends on macros are reported, not followed.
 */
import type { Resolver } from '../dns/types.js';
import { isFailure } from '../dns/types.js';
import type { Directive, SpfRecord } from '../spf/record.js';
import { DNS_MECHANISMS, isSpfRecord, parseRecord } from '../spf/record.js';
import type { Finding } from './finding.js';
import { isLookupFailure } from './finding.js';
import { lookupFailed } from './lookup-failure.js';

export interface SpfBranch {
  readonly domain: string;
  /** The record as published (first 512 characters). */
  readonly record?: string;
  /** DNS-querying terms in this record (include, a, mx, ptr, exists, redirect). */
  readonly ownLookups: number;
  /** This record's terms plus everything below it. */
  readonly totalLookups: number;
  readonly children: readonly SpfBranch[];
  readonly problem?: string;
}

export interface SpfAudit {
  readonly findings: readonly Finding[];
  readonly record?: string;
  readonly tree?: SpfBranch;
  readonly lookups: number;
  readonly voidLookups: number;
  /** The `all` qualifier of the domain's own record, when present. */
  readonly all?: '+' | '-' | '~' | '?';
}

export interface SpfAuditOptions {
  readonly resolver: Resolver;
  /** The domain sends no mail (no MX, or a null MX): its SPF should be exactly "v=spf1 -all". */
  readonly parked?: boolean;
}

const MAX_NODES = 60;
const MAX_DEPTH = 12;
const RFC = 'RFC 7208';

class TreeWalk {
  readonly findings: Finding[] = [];
  voidLookups = 0;
  nodes = 0;
  seen = new Set<string>();
  readonly duplicates = new Set<string>();

  constructor(private readonly resolver: Resolver) {}

  add(severity: Finding['severity'], code: string, message: string, rfc: string, fix?: string): void {
    if (this.findings.some((f) => f.code === code && f.message === message)) return;
    this.findings.push({ code, severity, area: 'spf', message, rfc, ...(fix !== undefined && { fix }) });
  }

  async branch(domain: string, path: readonly string[], root: boolean): Promise<SpfBranch> {
    const name = domain.toLowerCase().replace(/\.$/, '');
    this.nodes += 1;
    if (path.includes(name)) {
      this.add(
        'error',
        'spf-loop',
        `${[...path, name].join(' → ')}: the include/redirect chain loops`,
        `${RFC} §4.6.4`,
        `remove the include of ${name} from ${path.at(-1) ?? name}`,
      );
      return { domain: name, ownLookups: 0, totalLookups: 0, children: [], problem: 'loop' };
    }
    if (!root && this.seen.has(name)) this.duplicates.add(name);
    this.seen.add(name);
    if (this.nodes > MAX_NODES || path.length > MAX_DEPTH) {
      return { domain: name, ownLookups: 0, totalLookups: 0, children: [], problem: 'tree too large to follow' };
    }
    const answer = await this.resolver.lookup(name, 'TXT');
    if (isFailure(answer)) {
      this.findings.push(
        lookupFailed(
          'spf',
          root ? 'spf-lookup-failed' : 'spf-include-lookup-failed',
          `the SPF record of ${name}${root ? '' : ` (included from ${path.at(-1) ?? name})`}`,
          answer,
          `${RFC} §4.4`,
        ),
      );
      return { domain: name, ownLookups: 0, totalLookups: 0, children: [], problem: answer.kind };
    }
    const texts = answer.kind === 'answer' ? answer.records.map((r) => r.text) : [];
    if (root && texts.some((t) => /^spf2\.0\//i.test(t))) {
      this.add(
        'info',
        'spf-sender-id',
        `${name} publishes a Sender ID record (spf2.0/...), which receivers ignore`,
        'RFC 4406 (Historic)',
        'remove the spf2.0 TXT record',
      );
    }
    const records = texts.filter(isSpfRecord);
    if (records.length === 0) {
      if (root) {
        this.add(
          'error',
          'spf-missing',
          `${name} has no SPF record: any server can send as ${name}`,
          `${RFC} §4.5`,
          `publish ${name}. TXT "v=spf1 mx -all" (listing the servers that send your mail)`,
        );
      } else {
        this.add(
          'error',
          'spf-include-missing',
          `${name} (included) has no SPF record: evaluation ends in permerror`,
          `${RFC} §5.2`,
          `remove the include of ${name}, or ask its owner to publish SPF`,
        );
      }
      if (answer.kind === 'nxdomain' || answer.kind === 'nodata') this.voidLookups += root ? 0 : 1;
      return { domain: name, ownLookups: 0, totalLookups: 0, children: [], problem: 'no SPF record' };
    }
    if (records.length > 1) {
      this.add(
        'error',
        'spf-multiple-records',
        `${name} publishes ${records.length} SPF records: evaluation ends in permerror`,
        `${RFC} §4.5`,
        'merge them into one record',
      );
      // Receivers stop at the permerror, but the owner merging them needs every problem of every
      // record at once, so the domain's own records are each audited as if it were the only one.
      if (!root) return { domain: name, ownLookups: 0, totalLookups: 0, children: [], problem: 'several records' };
      // Each record is its own evaluation: includes seen in one are not duplicates in another, and
      // void lookups are counted per record (the worst one is kept).
      const each: SpfBranch[] = [];
      const seenBefore = this.seen;
      const voidBefore = this.voidLookups;
      let worstVoid = voidBefore;
      for (const [index, text] of records.entries()) {
        this.seen = new Set(seenBefore);
        this.voidLookups = voidBefore;
        each.push(await this.record(name, text, path, root, `${name} (record ${index + 1} of ${records.length})`));
        worstVoid = Math.max(worstVoid, this.voidLookups);
      }
      this.voidLookups = worstVoid;
      return {
        domain: name,
        record: (records[0] as string).slice(0, 512),
        ownLookups: 0,
        totalLookups: Math.max(...each.map((b) => b.totalLookups)),
        children: each,
        problem: 'several records',
      };
    }
    return this.record(name, records[0] as string, path, root, name);
  }

  /** One SPF record of `name`; `label` names it in findings (which record, when there are several). */
  private async record(
    name: string,
    text: string,
    path: readonly string[],
    root: boolean,
    label: string,
  ): Promise<SpfBranch> {
    const parsed = parseRecord(text);
    if (!parsed.ok) {
      for (const error of parsed.errors.slice(0, 10)) {
        this.add(
          'error',
          'spf-syntax',
          `${label}: ${error.message} at position ${error.position} ("${error.term}")`,
          `${RFC} §4.6, §12`,
          'correct the term; the record is void until then',
        );
      }
      return {
        domain: name,
        record: text.slice(0, 512),
        ownLookups: 0,
        totalLookups: 0,
        children: [],
        problem: 'syntax error',
      };
    }
    return this.followRecord(name, parsed.record, [...path, name], root, label);
  }

  private async followRecord(
    name: string,
    record: SpfRecord,
    path: readonly string[],
    root: boolean,
    label: string,
  ): Promise<SpfBranch> {
    const children: SpfBranch[] = [];
    let own = 0;
    for (const directive of record.directives) {
      if (!DNS_MECHANISMS.has(directive.mechanism.kind)) continue;
      own += 1;
      if (directive.mechanism.kind === 'ptr') {
        this.add(
          'warning',
          'spf-ptr',
          `${label}: "${directive.text}" uses ptr, which is slow, unreliable and ignored by some receivers`,
          `${RFC} §5.5`,
          'replace ptr with ip4/ip6 ranges or a',
        );
      }
      await this.countVoid(directive);
      if (directive.mechanism.kind === 'include') {
        const target = directive.mechanism.domain;
        if (target.macro.parts.some((p) => p.kind !== 'literal')) {
          this.add(
            'info',
            'spf-macro-target',
            `${label}: "${directive.text}" depends on macros and is not followed by this audit`,
            `${RFC} §7`,
          );
        } else children.push(await this.branch(target.text, path, false));
      }
    }
    if (record.redirect !== undefined) {
      own += 1;
      if (record.redirect.macro.parts.some((p) => p.kind !== 'literal')) {
        this.add(
          'info',
          'spf-macro-target',
          `${label}: redirect=${record.redirect.text} depends on macros and is not followed`,
          `${RFC} §7`,
        );
      } else children.push(await this.branch(record.redirect.text, path, false));
    }
    const totalLookups = own + children.reduce((sum, c) => sum + c.totalLookups, 0);
    if (root) this.checkRoot(name, record, label);
    return { domain: name, record: record.text.slice(0, 512), ownLookups: own, totalLookups, children };
  }

  /** §4.6.4: a/mx/exists (with a literal target) that find nothing are void lookups. */
  private async countVoid(directive: Directive): Promise<void> {
    const mechanism = directive.mechanism;
    if (mechanism.kind !== 'a' && mechanism.kind !== 'mx' && mechanism.kind !== 'exists') return;
    const target = mechanism.domain;
    if (target === undefined || target.macro.parts.some((p) => p.kind !== 'literal')) return;
    const type = mechanism.kind === 'mx' ? 'MX' : 'A';
    const answer = await this.resolver.lookup(target.text, type);
    if (answer.kind === 'nxdomain' || answer.kind === 'nodata') this.voidLookups += 1;
  }

  private checkRoot(name: string, record: SpfRecord, label: string): void {
    const allIndex = record.directives.findIndex((d) => d.mechanism.kind === 'all');
    const all = allIndex >= 0 ? record.directives[allIndex] : undefined;
    if (all?.qualifier === '+') {
      this.add(
        'error',
        'spf-pass-all',
        `${label}: "+all" authorizes every server on the Internet to send as ${name}`,
        `${RFC} §5.1`,
        'end the record with -all (or ~all while testing)',
      );
    } else if (all?.qualifier === '?') {
      this.add(
        'warning',
        'spf-neutral-all',
        `${label}: "?all" makes every other server neutral: SPF protects nothing`,
        `${RFC} §5.1`,
        'end the record with -all (or ~all)',
      );
    } else if (all === undefined && record.redirect === undefined) {
      this.add(
        'warning',
        'spf-no-all',
        `${label}: the record has no "all" and no redirect, so unlisted servers get neutral`,
        `${RFC} §4.7`,
        'end the record with -all (or ~all)',
      );
    }
    if (allIndex >= 0 && allIndex < record.directives.length - 1) {
      this.add(
        'warning',
        'spf-terms-after-all',
        `${label}: terms after "${all?.text ?? 'all'}" are never evaluated`,
        `${RFC} §5.1`,
        'move them before all, or remove them',
      );
    }
    if (all !== undefined && record.redirect !== undefined) {
      this.add(
        'warning',
        'spf-redirect-ignored',
        `${label}: redirect= is ignored because the record has "all"`,
        `${RFC} §6.1`,
        'remove one of them',
      );
    }
    const size = new TextEncoder().encode(record.text).length;
    if (size > 512) {
      this.add(
        'warning',
        'spf-record-too-long',
        `${label}: the record is ${size} bytes; answers over 512 bytes need TCP, which some receivers do not use`,
        `${RFC} §3.4`,
        'shorten it: use ip4/ip6 ranges or include a subdomain',
      );
    } else if (size > 450) {
      this.add(
        'warning',
        'spf-record-long',
        `${label}: the record is ${size} bytes, over the 450 advised to fit a UDP answer`,
        `${RFC} §3.4`,
        'shorten it: use ip4/ip6 ranges or include a subdomain',
      );
    }
    for (const modifier of record.unknownModifiers) {
      this.add(
        'info',
        'spf-unknown-modifier',
        `${label}: modifier "${modifier.name}=" is not defined and is ignored`,
        `${RFC} §6`,
      );
    }
  }
}

/** §4.6.4: at most 10 DNS-querying terms over the whole evaluation; says where they come from. */
function checkLookupCount(walk: TreeWalk, branch: SpfBranch, label: string): void {
  const lookups = branch.totalLookups;
  if (lookups <= 10) return;
  // Branches that cost nothing below their own include term are not worth naming.
  const heavy = branch.children
    .filter((c) => c.totalLookups > 0)
    .sort((a, b) => b.totalLookups - a.totalLookups)
    .slice(0, 4);
  const below = lookups - branch.ownLookups;
  walk.add(
    'error',
    'spf-too-many-lookups',
    `${label}: the record needs ${lookups} DNS lookups (at most 10), so evaluation ends in permerror: ${branch.ownLookups} for its own terms${below > 0 ? `, ${below} below its includes (heaviest: ${heavy.map((c) => `${c.domain} ${c.totalLookups}`).join(', ')})` : ''}`,
    `${RFC} §4.6.4`,
    'replace includes by the ip4/ip6 ranges they resolve to, or drop senders you no longer use',
  );
}

export async function auditSpf(domain: string, options: SpfAuditOptions): Promise<SpfAudit> {
  const walk = new TreeWalk(options.resolver);
  const tree = await walk.branch(domain, [], true);
  const lookups = tree.totalLookups;
  const name = tree.domain;
  // Several records of its own: each is its own evaluation, with its own budget of lookups.
  const evaluations =
    tree.problem === 'several records'
      ? tree.children.map((branch, i) => ({ branch, label: `${name} (record ${i + 1} of ${tree.children.length})` }))
      : [{ branch: tree, label: name }];
  for (const { branch, label } of evaluations) checkLookupCount(walk, branch, label);
  if (walk.voidLookups > 2) {
    walk.add(
      'error',
      'spf-too-many-void-lookups',
      `${name}: ${walk.voidLookups} lookups find nothing (at most 2), so evaluation ends in permerror`,
      `${RFC} §4.6.4`,
      'remove the a/mx/include terms that point at names without records',
    );
  }
  for (const duplicate of walk.duplicates) {
    walk.add(
      'warning',
      'spf-duplicate-include',
      `${duplicate} is included more than once in the tree of ${name}: its lookups count each time`,
      `${RFC} §4.6.4`,
      `keep one include of ${duplicate}`,
    );
  }
  const own = tree.record === undefined ? undefined : parseRecord(tree.record);
  const all = own?.ok === true ? own.record.directives.find((d) => d.mechanism.kind === 'all')?.qualifier : undefined;
  if (options.parked === true && tree.record !== undefined && !/^v=spf1\s+-all\s*$/i.test(tree.record)) {
    walk.add(
      'warning',
      'spf-parked-not-strict',
      `${name} receives no mail (no MX) but its SPF allows senders: "${tree.record.slice(0, 80)}"`,
      `${RFC} §5.1; RFC 7505`,
      `publish ${name}. TXT "v=spf1 -all"`,
    );
  }
  if (!walk.findings.some((f) => f.severity === 'error' || f.severity === 'warning' || isLookupFailure(f))) {
    walk.add('ok', 'spf-ok', `${name}: SPF is valid (${lookups}/10 DNS lookups, all ${all ?? 'via redirect'})`, RFC);
  }
  return {
    findings: walk.findings,
    ...(tree.record !== undefined && { record: tree.record }),
    tree,
    lookups,
    voidLookups: walk.voidLookups,
    ...(all !== undefined && { all }),
  };
}
