/**
 * SMTP STARTTLS audit of each MX host (optional, `--smtp`): does the host accept a session, offer
 * STARTTLS, negotiate TLS 1.2 or later, and present a certificate that chains to a trusted root,
 * is within its validity period and names the host. The probe itself (a socket to port 25) is an
 * adapter behind the SmtpTlsProbe port; this module only judges what it saw.
 *
 * Severity: opportunistic TLS (RFC 3207) lets a sender deliver in clear or with any certificate, so
 * problems are warnings; under an MTA-STS policy in enforce mode (RFC 8461 §4.2, §5) senders that
 * honour it refuse to deliver to such a host, so the same problems are errors.
 */
import type { Finding } from './finding.js';

export interface SmtpCertificate {
  /** Whether the chain verified against the trusted roots; `trustError` says why not (OpenSSL code). */
  readonly trusted: boolean;
  readonly trustError?: string;
  /** Whether the certificate names the MX host (subjectAltName, RFC 6125 rules). */
  readonly nameMatches: boolean;
  /** DNS names in the certificate, for the message. */
  readonly names: readonly string[];
  /** ISO 8601 instants. */
  readonly validFrom: string;
  readonly validTo: string;
}

export type SmtpProbeResult =
  /** No TCP connection, or no greeting, within the time limit. */
  | { readonly kind: 'unreachable'; readonly reason: string }
  /** The server answered the greeting or EHLO with an error reply. */
  | { readonly kind: 'refused'; readonly reply: string }
  | { readonly kind: 'no-starttls' }
  /** STARTTLS was offered but the command or the handshake failed. */
  | { readonly kind: 'tls-failed'; readonly reason: string }
  | {
      readonly kind: 'tls';
      /** As OpenSSL names it: "TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1". */
      readonly protocol: string;
      readonly cipher: string;
      readonly certificate: SmtpCertificate;
    };

/** Connects to an MX host on port 25, says EHLO, issues STARTTLS and reports what it saw. */
export interface SmtpTlsProbe {
  probe(host: string): Promise<SmtpProbeResult>;
}

const RFC_STARTTLS = 'RFC 3207';
const RFC_TLS_VERSIONS = 'RFC 8996 §2';
const RFC_CERT = 'RFC 8461 §4.2';
/** Hosts probed at most, and at once: an MX set is small; a list of hundreds is a mistake. */
const MAX_HOSTS = 10;
const PARALLEL = 4;
/** A certificate that expires this soon gets a warning: renewal has evidently failed. */
const EXPIRY_WARNING_DAYS = 14;

export async function auditSmtp(
  hosts: readonly string[],
  options: {
    readonly probe: SmtpTlsProbe;
    /** The MTA-STS policy mode, when a policy was fetched. */
    readonly mtaStsMode?: string;
    readonly now?: Date;
  },
): Promise<Finding[]> {
  const enforce = options.mtaStsMode === 'enforce';
  const now = options.now ?? new Date();
  const probed = hosts.slice(0, MAX_HOSTS);
  const results = new Array<SmtpProbeResult>(probed.length);
  let next = 0;
  const worker = async () => {
    while (next < probed.length) {
      const index = next++;
      results[index] = await options.probe.probe(probed[index] as string);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, probed.length) }, worker));
  const findings: Finding[] = [];
  if (hosts.length > MAX_HOSTS) {
    findings.push({
      code: 'smtp-not-all-probed',
      severity: 'info',
      area: 'smtp',
      message: `${hosts.length} MX hosts; the first ${MAX_HOSTS} were probed`,
    });
  }
  probed.forEach((host, index) => findings.push(...judge(host, results[index] as SmtpProbeResult, enforce, now)));
  return findings;
}

function judge(host: string, result: SmtpProbeResult, enforce: boolean, now: Date): Finding[] {
  // Problems that make an MTA-STS-enforcing sender refuse the host are errors under enforce.
  const tlsSeverity = enforce ? 'error' : 'warning';
  const underPolicy = enforce
    ? '; the MTA-STS policy is in enforce mode, so senders that honour it will not deliver'
    : '';
  const finding = (severity: Finding['severity'], code: string, message: string, rfc?: string, fix?: string) => ({
    code,
    severity,
    area: 'smtp' as const,
    message: `${host}: ${message}`,
    ...(rfc !== undefined && { rfc }),
    ...(fix !== undefined && { fix }),
  });
  switch (result.kind) {
    case 'unreachable':
      return [
        finding(
          'warning',
          'smtp-unreachable',
          `no SMTP session on port 25 (${result.reason}); if the network this check runs from blocks outbound port 25, run it from elsewhere`,
          'RFC 5321 §3.1',
          `make ${host} accept connections on port 25 from the Internet, or remove it from the MX records`,
        ),
      ];
    case 'refused':
      return [
        finding(
          'warning',
          'smtp-refused',
          `the server refused the session: "${result.reply.slice(0, 200)}"`,
          'RFC 5321 §3.1',
          `make ${host} greet with 220 and accept EHLO, or remove it from the MX records`,
        ),
      ];
    case 'no-starttls':
      return [
        finding(
          tlsSeverity,
          'smtp-no-starttls',
          `STARTTLS is not offered, so mail to this host travels in clear${underPolicy}`,
          RFC_STARTTLS,
          `enable STARTTLS on ${host} with a certificate for ${host} (Postfix: smtpd_tls_security_level = may)`,
        ),
      ];
    case 'tls-failed':
      return [
        finding(
          tlsSeverity,
          'smtp-tls-failed',
          `STARTTLS is offered but fails (${result.reason}); senders retry in clear or give up${underPolicy}`,
          RFC_STARTTLS,
          `check the TLS configuration of ${host}: certificate, key and protocol versions`,
        ),
      ];
    case 'tls':
      return judgeTls(host, result, tlsSeverity, underPolicy, now, finding);
  }
}

function judgeTls(
  host: string,
  result: Extract<SmtpProbeResult, { kind: 'tls' }>,
  tlsSeverity: 'error' | 'warning',
  underPolicy: string,
  now: Date,
  finding: (severity: Finding['severity'], code: string, message: string, rfc?: string, fix?: string) => Finding,
): Finding[] {
  const findings: Finding[] = [];
  const cert = result.certificate;
  if (result.protocol === 'TLSv1' || result.protocol === 'TLSv1.1') {
    findings.push(
      finding(
        'warning',
        'smtp-tls-old-version',
        `the server negotiates ${result.protocol} at best; TLS 1.0 and 1.1 are deprecated and refused by many senders`,
        RFC_TLS_VERSIONS,
        `enable TLS 1.2 and 1.3 on ${host} (Postfix: smtpd_tls_protocols = >=TLSv1.2)`,
      ),
    );
  }
  const validTo = new Date(cert.validTo);
  const expired = validTo.getTime() < now.getTime();
  const notYetValid = new Date(cert.validFrom).getTime() > now.getTime();
  if (expired || notYetValid) {
    findings.push(
      finding(
        tlsSeverity,
        'smtp-cert-expired',
        expired
          ? `the certificate expired on ${cert.validTo.slice(0, 10)}${underPolicy}`
          : `the certificate is not valid before ${cert.validFrom.slice(0, 10)}${underPolicy}`,
        RFC_CERT,
        `renew the certificate of ${host} and automate its renewal`,
      ),
    );
  } else if (!cert.trusted) {
    findings.push(
      finding(
        tlsSeverity,
        'smtp-cert-untrusted',
        `the certificate does not chain to a trusted root (${cert.trustError ?? 'unknown reason'})${underPolicy}`,
        RFC_CERT,
        `install a certificate for ${host} from a public CA (for example Let's Encrypt), with its intermediate certificates`,
      ),
    );
  }
  if (!cert.nameMatches) {
    findings.push(
      finding(
        tlsSeverity,
        'smtp-cert-name-mismatch',
        `the certificate names ${cert.names.length === 0 ? 'no DNS name' : cert.names.slice(0, 5).join(', ')}, not ${host}${underPolicy}`,
        RFC_CERT,
        `use a certificate whose subjectAltName includes ${host}`,
      ),
    );
  }
  const daysLeft = Math.floor((validTo.getTime() - now.getTime()) / 86_400_000);
  if (!expired && daysLeft < EXPIRY_WARNING_DAYS) {
    findings.push(
      finding(
        'warning',
        'smtp-cert-expiring',
        `the certificate expires in ${daysLeft} day${daysLeft === 1 ? '' : 's'} (${cert.validTo.slice(0, 10)})`,
        RFC_CERT,
        `renew the certificate of ${host} now, and check that renewal is automated`,
      ),
    );
  }
  if (findings.length === 0) {
    findings.push(
      finding(
        'ok',
        'smtp-tls-ok',
        `STARTTLS with ${result.protocol} (${result.cipher}); certificate trusted, for ${host}, valid until ${cert.validTo.slice(0, 10)}`,
        RFC_STARTTLS,
      ),
    );
  }
  return findings;
}
