/**
 * From the file as written (schema.ts) to the settings each service takes (settings.ts):
 * defaults, the shared top-level keys (`authservId`, `dns`, `localPolicy`) for every section that
 * does not set its own, paths relative to the file's directory, and the checks that span keys
 * (signing rules naming keys that exist, one entry per author domain, the local policy).
 */
import { isAbsolute, join } from 'node:path';
import { parseLocalPolicy } from '@mailward/core';
import type {
  DnsSettings,
  EximSettings,
  InboundSettings,
  MilterSettings,
  PolicySettings,
  SigningKeySettings,
  SigningRuleSettings,
} from '../settings.js';
import {
  DEFAULT_DNS,
  DEFAULT_EXIM_LISTEN,
  DEFAULT_INBOUND,
  DEFAULT_INTERNAL_HOSTS,
  DEFAULT_MILTER_LISTEN,
  DEFAULT_POLICY_ACTIONS,
  DEFAULT_POLICY_LISTEN,
} from '../settings.js';
import {
  DEFAULT_POLICY_CACHE,
  DEFAULT_POLICY_HELO,
  DEFAULT_POLICY_SKIP_AUTHENTICATED,
  DEFAULT_POLICY_SKIP_HOSTS,
} from './defaults.js';
import type { ConfigPath } from './errors.js';
import type { PlacedProblem } from './issues.js';
import type {
  RawConfig,
  RawDns,
  RawExim,
  RawInbound,
  RawMilter,
  RawPolicy,
  RawSigningKey,
  SectionName,
} from './schema.js';
import { domainProblem, normalDomain } from './values.js';
import { METRICS_TOKEN_HOWTO } from './metrics-token.js';

export interface MailwardConfig {
  readonly milter?: MilterSettings;
  readonly policy?: PolicySettings;
  readonly exim?: EximSettings;
}

export interface ResolveOptions {
  /** Directory that relative paths (keyFile, store) are relative to: the file's own. */
  readonly baseDir?: string;
  /** This machine's host name: the authserv-id and receiver when the file names none. */
  readonly hostname?: string;
}

/** A key file the file names, for the runtime to check. */
export interface KeyFileReference {
  readonly path: ConfigPath;
  readonly file: string;
}

export interface Resolved {
  readonly config: MailwardConfig;
  readonly keyFiles: readonly KeyFileReference[];
  /** SQLite store files the file names: the runtime checks that their directory can hold them. */
  readonly storeFiles: readonly KeyFileReference[];
  readonly problems: readonly PlacedProblem[];
}

export function resolveConfig(raw: RawConfig, options: ResolveOptions): Resolved {
  const problems: PlacedProblem[] = [];
  const keyFiles: KeyFileReference[] = [];
  const storeFiles: KeyFileReference[] = [];
  const report = (path: ConfigPath, message: string, at: 'value' | 'key' = 'value'): void => {
    problems.push({ path, at, message });
  };
  const context: Context = { raw, options, report, keyFiles, storeFiles, sharedPolicyChecked: { done: false } };
  if (raw.milter === undefined && raw.policy === undefined && raw.exim === undefined) {
    report([], 'no service configured: add a milter, policy or exim section');
  }
  const config: MailwardConfig = {
    ...(raw.milter === undefined ? {} : { milter: milterSettings(raw.milter, context) }),
    ...(raw.policy === undefined ? {} : { policy: policySettings(raw.policy, context) }),
    ...(raw.exim === undefined ? {} : { exim: eximSettings(raw.exim, context) }),
  };
  return { config, keyFiles, storeFiles, problems };
}

interface Context {
  readonly raw: RawConfig;
  readonly options: ResolveOptions;
  readonly report: (path: ConfigPath, message: string, at?: 'value' | 'key') => void;
  readonly keyFiles: KeyFileReference[];
  readonly storeFiles: KeyFileReference[];
  readonly sharedPolicyChecked: { done: boolean };
}

function milterSettings(section: RawMilter, context: Context): MilterSettings {
  const keys = (section.signing?.keys ?? []).map((key, i) =>
    signingKey(key, ['milter', 'signing', 'keys', i], context),
  );
  checkDuplicateKeys(keys, context);
  const rules = (section.signing?.rules ?? []).map((rule, i) => signingRule(rule, i, keys, context));
  checkUnreachableRules(rules, context);
  return {
    listen: section.listen ?? DEFAULT_MILTER_LISTEN,
    authservId: authservId('milter', section.authservId, context),
    dns: dns(section.dns, context.raw.dns),
    internalHosts: section.internalHosts ?? DEFAULT_INTERNAL_HOSTS,
    ...(section.outboundDaemons === undefined ? {} : { outboundDaemons: section.outboundDaemons }),
    signing: { keys, rules },
    inbound: inbound('milter', section.inbound, context),
    ...(section.arcSeal === undefined ? {} : { arcSeal: signingKey(section.arcSeal, ['milter', 'arcSeal'], context) }),
    ...(section.store === undefined ? {} : { store: store(section.store, ['milter', 'store'], context) }),
    ...metricsSettings('milter', section, context),
  };
}

function policySettings(section: RawPolicy, context: Context): PolicySettings {
  const receiver = section.receiver ?? context.raw.authservId ?? context.options.hostname;
  if (receiver === undefined) {
    context.report(['policy'], 'missing receiver: set policy.receiver or the top-level authservId');
  }
  return {
    listen: section.listen ?? DEFAULT_POLICY_LISTEN,
    receiver: receiver ?? '',
    dns: dns(section.dns, context.raw.dns),
    helo: section.helo ?? DEFAULT_POLICY_HELO,
    actions: { ...DEFAULT_POLICY_ACTIONS, ...section.actions },
    skipHosts: section.skipHosts ?? DEFAULT_POLICY_SKIP_HOSTS,
    skipAuthenticated: section.skipAuthenticated ?? DEFAULT_POLICY_SKIP_AUTHENTICATED,
    cache: { ...DEFAULT_POLICY_CACHE, ...section.cache },
    ...metricsSettings('policy', section, context),
  };
}

function eximSettings(section: RawExim, context: Context): EximSettings {
  return {
    listen: section.listen ?? DEFAULT_EXIM_LISTEN,
    authservId: authservId('exim', section.authservId, context),
    dns: dns(section.dns, context.raw.dns),
    inbound: inbound('exim', section.inbound, context),
    ...(section.store === undefined ? {} : { store: store(section.store, ['exim', 'store'], context) }),
    ...metricsSettings('exim', section, context),
  };
}

function authservId(section: 'milter' | 'exim', own: string | undefined, context: Context): string {
  const id = own ?? context.raw.authservId ?? context.options.hostname;
  if (id === undefined) {
    context.report([section], `missing authservId: set ${section}.authservId or the top-level authservId`);
  }
  return id ?? '';
}

/** Field by field: a section's `dns.timeoutMs` keeps the shared `dns.servers`. */
function dns(own: RawDns | undefined, shared: RawDns | undefined): DnsSettings {
  return {
    servers: own?.servers ?? shared?.servers ?? DEFAULT_DNS.servers,
    timeoutMs: own?.timeoutMs ?? shared?.timeoutMs ?? DEFAULT_DNS.timeoutMs,
  };
}

function inbound(section: 'milter' | 'exim', own: RawInbound | undefined, context: Context): InboundSettings {
  // Entries, then Object.fromEntries: own properties even for a key such as "__proto__".
  const domains: [string, { enforce?: boolean; quarantine?: 'hold' | 'header' }][] = [];
  const firstKey = new Map<string, string>();
  for (const [key, value] of Object.entries(own?.domains ?? {})) {
    const path = [section, 'inbound', 'domains', key];
    const problem = domainProblem(key);
    if (problem !== undefined) {
      context.report(path, problem, 'key');
      continue;
    }
    const name = normalDomain(key);
    const earlier = firstKey.get(name);
    if (earlier !== undefined) {
      context.report(path, `the same domain as "${earlier}" (names are compared without case)`, 'key');
      continue;
    }
    firstKey.set(name, key);
    domains.push([name, value]);
  }
  const ownPolicy = own?.localPolicy;
  const [localPolicy, policyPath] =
    ownPolicy !== undefined
      ? [ownPolicy, [section, 'inbound', 'localPolicy']]
      : [context.raw.localPolicy, ['localPolicy']];
  if (localPolicy !== undefined) checkLocalPolicy(localPolicy, policyPath, context);
  return {
    enforce: own?.enforce ?? DEFAULT_INBOUND.enforce,
    onDnsFailure: own?.onDnsFailure ?? DEFAULT_INBOUND.onDnsFailure,
    quarantine: own?.quarantine ?? DEFAULT_INBOUND.quarantine,
    domains: Object.fromEntries(domains),
    ...(localPolicy === undefined || localPolicy === null ? {} : { localPolicy }),
  };
}

/**
 * parseLocalPolicy reports "trustedForwarders.ips[0]: ..." for its own document: the leading path
 * is joined to where the document sits in this file, so the error has a line.
 */
function checkLocalPolicy(document: unknown, base: ConfigPath, context: Context): void {
  // Both sections may take the shared policy: report it once.
  if (base.length === 1) {
    if (context.sharedPolicyChecked.done) return;
    context.sharedPolicyChecked.done = true;
  }
  const parsed = parseLocalPolicy(document);
  if (parsed.ok) return;
  const match = /^((?:[A-Za-z]+)(?:\.[A-Za-z]+|\[\d+\])*): (.*)$/s.exec(parsed.reason);
  if (match === null || match[1] === 'local policy') {
    context.report(base, match?.[2] ?? parsed.reason);
    return;
  }
  const inner: (string | number)[] = [];
  for (const part of (match[1] as string).matchAll(/([A-Za-z]+)|\[(\d+)\]/g)) {
    inner.push(part[1] !== undefined ? part[1] : Number(part[2]));
  }
  const message = match[2] as string;
  context.report([...base, ...inner], message, message.startsWith('unknown key') ? 'key' : 'value');
}

function signingKey(key: RawSigningKey, path: ConfigPath, context: Context): SigningKeySettings {
  const file = relativeTo(key.keyFile, context);
  context.keyFiles.push({ path: [...path, 'keyFile'], file });
  return { domain: normalDomain(key.domain), selector: key.selector.toLowerCase(), keyFile: file };
}

/** `domain:selector`, how signing rules name a key. */
function keyName(key: SigningKeySettings): string {
  return `${key.domain}:${key.selector}`;
}

function checkDuplicateKeys(keys: readonly SigningKeySettings[], context: Context): void {
  const seen = new Map<string, number>();
  keys.forEach((key, i) => {
    const earlier = seen.get(keyName(key));
    if (earlier === undefined) seen.set(keyName(key), i);
    else context.report(['milter', 'signing', 'keys', i], `${keyName(key)} is already milter.signing.keys[${earlier}]`);
  });
}

function signingRule(
  rule: { from: string; keys: string[] },
  index: number,
  keys: readonly SigningKeySettings[],
  context: Context,
): SigningRuleSettings {
  const path = ['milter', 'signing', 'rules', index];
  const known = keys.map(keyName);
  const named = rule.keys.map((name, i) => {
    const normal = name.toLowerCase().replace(/\.:/, ':');
    if (!known.includes(normal)) {
      const have = known.length === 0 ? 'there are none' : `have ${known.join(', ')}`;
      context.report([...path, 'keys', i], `no key "${name}" in milter.signing.keys (${have})`);
    }
    return normal;
  });
  return { from: normalDomain(rule.from), keys: named };
}

/** The first matching rule wins (SigningRuleSettings), so a rule behind its twin or `*` is dead. */
function checkUnreachableRules(rules: readonly SigningRuleSettings[], context: Context): void {
  rules.forEach((rule, i) => {
    const twin = rules.findIndex((other) => other.from === rule.from);
    const catchAll = rules.findIndex((other) => other.from === '*');
    const path = ['milter', 'signing', 'rules', i, 'from'];
    if (twin < i) context.report(path, `never applies: milter.signing.rules[${twin}] has the same pattern`);
    else if (catchAll >= 0 && catchAll < i) {
      context.report(path, `never applies: milter.signing.rules[${catchAll}] ("*") matches every domain first`);
    }
  });
}

/**
 * A store (its syntax checked by the schema, values.ts storeProblem): `postgres://...` kept as
 * written; SQLite (`sqlite:PATH` or a plain path) made relative to the file, and listed for the
 * runtime to check that its directory exists.
 */
function store(text: string, path: ConfigPath, context: Context): string {
  if (/^postgres(ql)?:\/\//i.test(text)) return text;
  const file = text.toLowerCase().startsWith('sqlite:') ? text.slice('sqlite:'.length) : text;
  const absolute = relativeTo(file, context);
  context.storeFiles.push({ path, file: absolute });
  return absolute;
}

function relativeTo(file: string, context: Context): string {
  const base = context.options.baseDir;
  return base === undefined || isAbsolute(file) ? file : join(base, file);
}

/**
 * `metrics` with the hash of its token. Without the hash the endpoint would be open to anyone on
 * the network, so the file is refused rather than started that way (config/metrics-token.ts).
 */
function metricsSettings(
  section: SectionName,
  raw: { metrics?: string | undefined; metricsTokenSha256?: string | undefined },
  context: Context,
): { metrics?: string; metricsTokenSha256?: string } {
  if (raw.metrics !== undefined && raw.metricsTokenSha256 === undefined) {
    context.report(
      [section, 'metrics'],
      `needs ${section}.metricsTokenSha256 next to it (every scrape must send the token): ${METRICS_TOKEN_HOWTO}`,
    );
  }
  return {
    ...(raw.metrics === undefined ? {} : { metrics: raw.metrics }),
    // Lower case: sha256sum prints it so, and the summary shows one form.
    ...(raw.metricsTokenSha256 === undefined ? {} : { metricsTokenSha256: raw.metricsTokenSha256.toLowerCase() }),
  };
}
