/**
 * One line per configured service, for `mailward config check` and the services' start-up log:
 * where each listens and the settings an admin most wants to see confirmed (enforcement, signing
 * domains, SPF actions).
 */
import type { EximSettings, InboundSettings, MilterSettings, PolicySettings } from '../settings.js';
import type { MailwardConfig } from './resolve.js';

export function configSections(config: MailwardConfig): string[] {
  return (['milter', 'policy', 'exim'] as const).filter((name) => config[name] !== undefined);
}

export function summarizeConfig(config: MailwardConfig): string[] {
  const lines: string[] = [];
  if (config.milter !== undefined) lines.push(milterLine(config.milter));
  if (config.policy !== undefined) lines.push(policyLine(config.policy));
  if (config.exim !== undefined) lines.push(eximLine(config.exim));
  return lines;
}

function milterLine(milter: MilterSettings): string {
  const signing =
    milter.signing.rules.length === 0
      ? 'signing off'
      : `signing ${milter.signing.rules.map((rule) => `${rule.from} (${rule.keys.join(', ')})`).join(', ')}`;
  return [
    `milter: listen ${milter.listen}`,
    `authserv-id ${milter.authservId}`,
    inboundText(milter.inbound),
    signing,
    milter.arcSeal === undefined ? 'ARC sealing off' : `ARC seal ${milter.arcSeal.domain}:${milter.arcSeal.selector}`,
    ...optional(milter.store === undefined ? undefined : withoutPassword(milter.store), 'store'),
    ...optional(milter.metrics, 'metrics'),
  ].join('; ');
}

function policyLine(policy: PolicySettings): string {
  const actions = Object.entries(policy.actions)
    .map(([result, action]) => `${result} ${action}`)
    .join(', ');
  return [
    `policy: listen ${policy.listen}`,
    `receiver ${policy.receiver}`,
    policy.helo ? 'HELO checked' : 'HELO not checked',
    actions,
    ...optional(policy.metrics, 'metrics'),
  ].join('; ');
}

function eximLine(exim: EximSettings): string {
  return [
    `exim: listen ${exim.listen}`,
    `authserv-id ${exim.authservId}`,
    inboundText(exim.inbound),
    ...optional(exim.store === undefined ? undefined : withoutPassword(exim.store), 'store'),
    ...optional(exim.metrics, 'metrics'),
  ].join('; ');
}

function inboundText(inbound: InboundSettings): string {
  const exceptions = Object.keys(inbound.domains).length;
  return [
    inbound.enforce ? 'enforce on' : 'enforce off (dry run: label only)',
    `quarantine ${inbound.quarantine}`,
    `on DNS failure ${inbound.onDnsFailure}`,
    ...(exceptions === 0 ? [] : [`${exceptions} per-domain setting${exceptions === 1 ? '' : 's'}`]),
    ...(inbound.localPolicy === undefined ? [] : ['local policy']),
  ].join(', ');
}

function optional(value: string | undefined, label: string): string[] {
  return value === undefined ? [] : [`${label} ${value}`];
}

/** A store URL's password stays out of terminals and logs. */
function withoutPassword(store: string): string {
  return store.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}
