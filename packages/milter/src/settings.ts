/**
 * The resolved settings of the three services (`mailward milter`, `mailward policy`,
 * `mailward exim`): plain, serialisable values that the YAML file (`mailward.yaml`) and the
 * command-line flags both produce, and that each service validates once at start and on reload.
 * File paths (keys) are read by the runtime, never here.
 */
import type { QuarantineStyle } from './inbound/decide.js';

/** Where a server listens: `inet:HOST:PORT` or `unix:PATH` (Postfix's and libmilter's notation). */
export type ListenSpec = string;

export interface DnsSettings {
  /** Resolvers as HOST or HOST:PORT ([v6]:PORT); empty = the system's (/etc/resolv.conf). */
  readonly servers: readonly string[];
  /** One attempt's timeout. */
  readonly timeoutMs: number;
}

export const DEFAULT_DNS: DnsSettings = { servers: [], timeoutMs: 3000 };

/** One signing key (OpenDKIM's KeyTable entry): d=, s= and the private key file (PEM). */
export interface SigningKeySettings {
  readonly domain: string;
  readonly selector: string;
  readonly keyFile: string;
}

/**
 * Which mail gets which signatures (OpenDKIM's SigningTable): the first rule whose pattern matches
 * the From domain wins and all its keys sign. Patterns: `example.com` (that domain only),
 * `*.example.com` (its subdomains only), `*` (any From domain).
 */
export interface SigningRuleSettings {
  readonly from: string;
  /** Keys by `domain:selector`, each naming a key of `keys`. */
  readonly keys: readonly string[];
}

export interface InboundSettings {
  /** Act on DMARC failures (`--enforce`); without it only label. */
  readonly enforce: boolean;
  readonly onDnsFailure: 'tempfail' | 'accept';
  readonly quarantine: QuarantineStyle;
  /** Per author domain: `{ enforce?, quarantine? }`. */
  readonly domains: Readonly<Record<string, { readonly enforce?: boolean; readonly quarantine?: QuarantineStyle }>>;
  /**
   * The existing local-policy document (trusted forwarders, mailing lists, ARC sealers, actions),
   * as `parseLocalPolicy` from @mailward/core takes it; validated by it.
   */
  readonly localPolicy?: unknown;
}

export const DEFAULT_INBOUND: InboundSettings = {
  enforce: false,
  onDnsFailure: 'tempfail',
  quarantine: 'hold',
  domains: {},
};

export interface MilterSettings {
  readonly listen: ListenSpec;
  /** This receiver's authserv-id (RFC 8601 §2.5) in Authentication-Results; usually the host name. */
  readonly authservId: string;
  readonly dns: DnsSettings;
  /**
   * Clients whose mail is outbound (signed, not verified), as CIDRs. SASL-authenticated clients
   * (`{auth_authen}`) are outbound too.
   */
  readonly internalHosts: readonly string[];
  /**
   * MTA services whose mail is outbound whatever the client address, by the `{daemon_name}` macro
   * (Postfix `milter_macro_daemon_name`, e.g. `-o milter_macro_daemon_name=ORIGINATING` on the
   * submission service; OpenDKIM's `MTA` setting). Default none.
   */
  readonly outboundDaemons?: readonly string[];
  readonly signing: { readonly keys: readonly SigningKeySettings[]; readonly rules: readonly SigningRuleSettings[] };
  readonly inbound: InboundSettings;
  /** Seal an ARC set on inbound mail with this key (off when absent). */
  readonly arcSeal?: SigningKeySettings;
  /** Where verdicts go (a store path or URL), for the receiver-side DMARC reports. */
  readonly store?: string;
  /** `HOST:PORT` for Prometheus metrics (`/metrics`); off when absent. */
  readonly metrics?: string;
  /** SHA-256 (hex) of the bearer token `/metrics` asks for; required with `metrics` (config/metrics-token.ts). */
  readonly metricsTokenSha256?: string;
  /**
   * What a message gets when handling it failed (a bug, never a verdict): `tempfail` (default,
   * 451 4.3.0: the sender retries) or `accept` (unchecked, unsigned).
   */
  readonly onError?: 'tempfail' | 'accept';
}

/** OpenDKIM listens on 8891 and OpenDMARC on 8893 by custom; mailward takes the next free one. */
export const DEFAULT_MILTER_LISTEN = 'inet:127.0.0.1:8894';
export const DEFAULT_INTERNAL_HOSTS: readonly string[] = ['127.0.0.0/8', '::1/128'];

/** What the policy service answers for an SPF result (Postfix access(5) actions). */
export type PolicyAction = 'reject' | 'defer' | 'prepend' | 'dunno';

export interface PolicySettings {
  readonly listen: ListenSpec;
  /** The receiving host named in Received-SPF (RFC 7208 §9.1 receiver=). */
  readonly receiver: string;
  readonly dns: DnsSettings;
  /** Check the HELO identity too (RFC 7208 §2.3), and act on its fail. */
  readonly helo: boolean;
  /** Per SPF result of the MAIL FROM (or HELO, for the null sender) identity. */
  readonly actions: {
    readonly fail: PolicyAction;
    readonly softfail: PolicyAction;
    readonly neutral: PolicyAction;
    readonly none: PolicyAction;
    readonly pass: PolicyAction;
    readonly temperror: PolicyAction;
    readonly permerror: PolicyAction;
  };
  /** Clients not checked at all (DUNNO), as CIDRs. */
  readonly skipHosts: readonly string[];
  /** Skip SASL-authenticated clients (sasl_username set). */
  readonly skipAuthenticated: boolean;
  readonly cache: { readonly ttlSeconds: number; readonly maxEntries: number };
  readonly metrics?: string;
  readonly metricsTokenSha256?: string;
}

/**
 * policyd-spf's defaults: reject fail, defer temperror, prepend Received-SPF for the rest
 * (Mail From rejection "Fail", HELO likewise; spf-engine policyd-spf.conf).
 */
export const DEFAULT_POLICY_ACTIONS: PolicySettings['actions'] = {
  fail: 'reject',
  softfail: 'prepend',
  neutral: 'prepend',
  none: 'prepend',
  pass: 'prepend',
  temperror: 'defer',
  permerror: 'prepend',
};

export const DEFAULT_POLICY_LISTEN = 'inet:127.0.0.1:10040';

export interface EximSettings {
  readonly listen: ListenSpec;
  readonly authservId: string;
  readonly dns: DnsSettings;
  readonly inbound: InboundSettings;
  readonly store?: string;
  readonly metrics?: string;
  readonly metricsTokenSha256?: string;
}

/** rspamd's normal worker port: Exim's `spamd_address = 127.0.0.1 11333 variant=rspamd`. */
export const DEFAULT_EXIM_LISTEN = 'inet:127.0.0.1:11333';
