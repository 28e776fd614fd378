/**
 * Well-known sending services, kept as data: how to recognise them from the DKIM domain they sign
 * with (d=) or the domain of their servers' PTR names. Used to name the sources in summaries and to
 * tell legitimate senders that still fail DMARC from spoofing. Add entries here; each needs at least
 * one domain, matched exactly or as a parent domain.
 */
export type ServiceType = 'mailbox-provider' | 'email-service-provider' | 'marketing' | 'transactional' | 'security';

export interface SendingService {
  readonly name: string;
  readonly type: ServiceType;
  /** DKIM d= domains the service signs with by default. */
  readonly dkimDomains: readonly string[];
  /** Registrable domains of its outgoing servers' PTR names. */
  readonly ptrDomains: readonly string[];
  /** Autonomous systems that carry only (or almost only) this service's mail. */
  readonly asns?: readonly number[];
}

export const SENDING_SERVICES: readonly SendingService[] = [
  {
    name: 'Google Workspace',
    type: 'mailbox-provider',
    dkimDomains: ['gappssmtp.com', 'google.com'],
    ptrDomains: ['google.com', 'googlemail.com'],
    asns: [15169],
  },
  {
    name: 'Microsoft 365',
    type: 'mailbox-provider',
    dkimDomains: ['onmicrosoft.com'],
    ptrDomains: ['outlook.com', 'protection.outlook.com'],
    // No AS: Microsoft's AS 8075 also carries Azure, where anyone can send from.
  },
  { name: 'Amazon SES', type: 'transactional', dkimDomains: ['amazonses.com'], ptrDomains: ['amazonses.com'] },
  {
    name: 'SendGrid',
    type: 'email-service-provider',
    dkimDomains: ['sendgrid.net', 'sendgrid.info'],
    ptrDomains: ['sendgrid.net'],
    asns: [11377],
  },
  {
    name: 'Mailchimp',
    type: 'marketing',
    dkimDomains: ['mcsv.net', 'mailchimpapp.net', 'mandrillapp.com'],
    ptrDomains: ['mcsv.net', 'mcdlv.net', 'rsgsv.net', 'mandrillapp.com'],
  },
  {
    name: 'Mailgun',
    type: 'email-service-provider',
    dkimDomains: ['mailgun.org', 'mailgun.net'],
    ptrDomains: ['mailgun.net', 'mailgun.org'],
  },
  { name: 'Postmark', type: 'transactional', dkimDomains: ['pm.mtasv.net', 'mtasv.net'], ptrDomains: ['mtasv.net'] },
  {
    name: 'SparkPost',
    type: 'email-service-provider',
    dkimDomains: ['sparkpostmail.com'],
    ptrDomains: ['sparkpostmail.com'],
  },
  {
    name: 'Brevo (Sendinblue)',
    type: 'marketing',
    dkimDomains: ['sendinblue.com', 'brevo.com'],
    ptrDomains: ['sendinblue.com', 'brevo.com'],
  },
  {
    name: 'Salesforce',
    type: 'marketing',
    dkimDomains: ['salesforce.com', 'exacttarget.com'],
    ptrDomains: ['salesforce.com', 'exacttarget.com'],
  },
  {
    name: 'HubSpot',
    type: 'marketing',
    dkimDomains: ['hubspotemail.net', 'hubspot.com'],
    ptrDomains: ['hubspotemail.net'],
  },
  { name: 'Zendesk', type: 'transactional', dkimDomains: ['zendesk.com'], ptrDomains: ['zendesk.com'] },
  { name: 'Mimecast', type: 'security', dkimDomains: ['mimecast.com'], ptrDomains: ['mimecast.com'] },
  {
    name: 'Proofpoint',
    type: 'security',
    dkimDomains: ['pphosted.com'],
    ptrDomains: ['pphosted.com', 'ppe-hosted.com'],
  },
  { name: 'Yahoo', type: 'mailbox-provider', dkimDomains: ['yahoo.com'], ptrDomains: ['yahoo.com', 'yahoo.net'] },
  {
    name: 'Zoho Mail',
    type: 'mailbox-provider',
    dkimDomains: ['zoho.com', 'zohomail.com'],
    ptrDomains: ['zoho.com', 'zohomail.com'],
  },
];

function atOrUnder(name: string, domain: string): boolean {
  return name === domain || name.endsWith(`.${domain}`);
}

/**
 * The service a DKIM d=, a (forward-confirmed) PTR name or an AS number belongs to, if known; the
 * DKIM domain is the strongest evidence, the AS the weakest (an AS can host other senders).
 */
export function identifyService(evidence: {
  readonly dkimDomain?: string;
  readonly ptrName?: string;
  readonly asn?: number;
}): SendingService | undefined {
  const dkim = evidence.dkimDomain?.toLowerCase();
  const ptr = evidence.ptrName?.toLowerCase().replace(/\.$/, '');
  const asn = evidence.asn;
  return (
    (dkim === undefined ? undefined : SENDING_SERVICES.find((s) => s.dkimDomains.some((d) => atOrUnder(dkim, d)))) ??
    (ptr === undefined ? undefined : SENDING_SERVICES.find((s) => s.ptrDomains.some((d) => atOrUnder(ptr, d)))) ??
    (asn === undefined ? undefined : SENDING_SERVICES.find((s) => s.asns?.includes(asn) === true))
  );
}
