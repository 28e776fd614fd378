/**
 * The shape of `mailward.yaml` as written (before defaults): every key optional, unknown keys
 * rejected so a misspelt key never silently falls back to a default. Values are checked here;
 * defaults, shared keys, paths and references between keys are resolved in resolve.ts.
 */
import { z } from 'zod';
import {
  domainProblem,
  fromPatternProblem,
  hostPortProblem,
  storeProblem,
  listenProblem,
  networkProblem,
  resolverProblem,
} from './values.js';
import { sha256HexProblem } from './metrics-token.js';

/** A string checked by one of values.ts' functions, its reason reported at the value. */
function checked(problem: (text: string) => string | undefined): z.ZodType<string> {
  return z.string().superRefine((text, context) => {
    const reason = problem(text);
    if (reason !== undefined) context.addIssue({ code: 'custom', message: reason });
  });
}

/** RFC 8601 §2.2: authserv-id is a `value` (RFC 2045 token or quoted-string); mailward writes it unquoted. */
function authservIdProblem(text: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  return /^[^\s\x00-\x1f()<>@,;:\\"/[\]?=]+$/.test(text)
    ? undefined
    : `"${text}" is not an authserv-id (a host name such as mx.example.com: no spaces, ";" or quotes)`;
}

const domain = checked(domainProblem);
const network = checked(networkProblem);
const listen = checked(listenProblem);
const hostPort = checked(hostPortProblem);
const store = checked(storeProblem);
const path = z.string().min(1);
const tokenSha256 = checked(sha256HexProblem);
const quarantine = z.enum(['hold', 'header']);
const policyAction = z.enum(['reject', 'defer', 'prepend', 'dunno']);

export const dnsSchema = z.strictObject({
  servers: z.array(checked(resolverProblem)).optional(),
  timeoutMs: z.number().int().positive().optional(),
});

const signingKey = z.strictObject({ domain, selector: domain, keyFile: path });

const inbound = z.strictObject({
  enforce: z.boolean().optional(),
  onDnsFailure: z.enum(['tempfail', 'accept']).optional(),
  quarantine: quarantine.optional(),
  // Keys (author domains) are checked in resolve.ts, which reports them at the key.
  domains: z
    .record(z.string(), z.strictObject({ enforce: z.boolean().optional(), quarantine: quarantine.optional() }))
    .optional(),
  // parseLocalPolicy from @mailward/core validates it (resolve.ts), so its rules live in one place.
  localPolicy: z.unknown().optional(),
});

const milter = z.strictObject({
  listen: listen.optional(),
  authservId: checked(authservIdProblem).optional(),
  dns: dnsSchema.optional(),
  internalHosts: z.array(network).optional(),
  outboundDaemons: z.array(z.string().min(1)).optional(),
  signing: z
    .strictObject({
      keys: z.array(signingKey).optional(),
      rules: z
        .array(z.strictObject({ from: checked(fromPatternProblem), keys: z.array(z.string().min(1)).min(1) }))
        .optional(),
    })
    .optional(),
  inbound: inbound.optional(),
  arcSeal: signingKey.optional(),
  store: store.optional(),
  metrics: hostPort.optional(),
  metricsTokenSha256: tokenSha256.optional(),
});

const policy = z.strictObject({
  listen: listen.optional(),
  receiver: domain.optional(),
  dns: dnsSchema.optional(),
  helo: z.boolean().optional(),
  actions: z
    .strictObject({
      fail: policyAction.optional(),
      softfail: policyAction.optional(),
      neutral: policyAction.optional(),
      none: policyAction.optional(),
      pass: policyAction.optional(),
      temperror: policyAction.optional(),
      permerror: policyAction.optional(),
    })
    .optional(),
  skipHosts: z.array(network).optional(),
  skipAuthenticated: z.boolean().optional(),
  cache: z
    .strictObject({
      ttlSeconds: z.number().int().nonnegative().optional(),
      maxEntries: z.number().int().nonnegative().optional(),
    })
    .optional(),
  metrics: hostPort.optional(),
  metricsTokenSha256: tokenSha256.optional(),
});

const exim = z.strictObject({
  listen: listen.optional(),
  authservId: checked(authservIdProblem).optional(),
  dns: dnsSchema.optional(),
  inbound: inbound.optional(),
  store: store.optional(),
  metrics: hostPort.optional(),
  metricsTokenSha256: tokenSha256.optional(),
});

export const configSchema = z.strictObject({
  authservId: checked(authservIdProblem).optional(),
  dns: dnsSchema.optional(),
  localPolicy: z.unknown().optional(),
  milter: milter.optional(),
  policy: policy.optional(),
  exim: exim.optional(),
});

export type RawConfig = z.infer<typeof configSchema>;
export type RawDns = z.infer<typeof dnsSchema>;
export type RawMilter = NonNullable<RawConfig['milter']>;
export type RawPolicy = NonNullable<RawConfig['policy']>;
export type RawExim = NonNullable<RawConfig['exim']>;
export type RawInbound = NonNullable<RawMilter['inbound']>;
export type RawSigningKey = z.infer<typeof signingKey>;

export const SECTIONS = ['milter', 'policy', 'exim'] as const;
export type SectionName = (typeof SECTIONS)[number];
