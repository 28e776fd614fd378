/**
 * The peer side: Debian's OpenDKIM 2.11 and OpenDMARC 1.4.2 as real milters on loopback inet
 * sockets, in the foreground (-f), with scratch configuration files.
 *
 * Roles, as a site would configure them:
 * - OpenDKIM `Mode sv`: signs mail whose `{daemon_name}` macro is in `MTA` (ORIGINATING, which the
 *   outbound smtpd sets with `-o milter_macro_daemon_name=ORIGINATING`), verifies the rest.
 *   `InternalHosts` defaults to 127.0.0.1, which would make every bench connection "internal"
 *   (signed, never verified): it names a TEST-NET address instead, so only `MTA` decides.
 *   (opendkim.c: dkimf_checkhost on InternalHosts, then the MTA list against {daemon_name}.)
 * - OpenDMARC, after OpenDKIM on the inbound path only: trusts OpenDKIM's Authentication-Results
 *   (`TrustedAuthservIDs`), checks SPF itself (`SPFSelfValidate`, libspf2), rejects DMARC failures
 *   (`RejectFailures`). `IgnoreHosts` defaults to 127.0.0.1 (every bench client), so it too names a
 *   TEST-NET address.
 * DNS: see milter-dns.ts. OpenDKIM gets `Nameservers` (libunbound forwarding to the bench's
 * resolver on port 53). `ResolverConfiguration` with an Unbound configuration file (how
 * testkit's opendkim.ts points test mode at Knot's port) made the daemon crash in libunbound
 * (segfault / general protection fault, kernel log) within seconds at two or more concurrent
 * sessions; with `Nameservers` it ran every load here without a crash. OpenDMARC: a private
 * resolv.conf in a mount namespace for its libc resolver.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@mailward/testkit';
import type { BenchDns } from './milter-dns.js';
import { startMilterProcess, type MilterProcess } from './milter-process.js';
import { AUTHOR_DOMAIN, type MilterWorld } from './milter-world.js';

export const OPENDKIM_AUTHSERV_ID = 'opendkim.bench';
export const OPENDMARC_AUTHSERV_ID = 'opendmarc.bench';
const PUBLIC_SUFFIX_LIST = '/usr/share/publicsuffix/public_suffix_list.dat';
/** A TEST-NET-1 address no bench client has: "nobody is internal / ignored". */
const NOBODY = '192.0.2.254';

export interface PeerMilters {
  readonly opendkim: MilterProcess;
  readonly opendmarc: MilterProcess;
  stop(): Promise<void>;
}

/**
 * `unix` (the bench's default; Debian's packaged default for both milters too) or `inet`. Over
 * TCP, libmilter writes each end-of-message edit as its own packet with Nagle on, so the second
 * one waits for the MTA's delayed ACK: about 40 ms per message on Linux loopback (measured here:
 * OpenDKIM's EOM 42-46 ms over inet, under 1 ms over unix). Sendmail has MILTER_NO_NAGLE for its
 * side of this; libmilter has no switch. Postfix would see the same stall.
 */
export type SocketKind = 'unix' | 'inet';

async function listenOn(kind: SocketKind, dir: string, name: string) {
  return kind === 'unix' ? { path: join(dir, `${name}.sock`) } : { port: await freePort() };
}

/** The milters' own Socket syntax: local:PATH or inet:PORT@HOST. */
function socketSetting(listen: { port: number } | { path: string }): string {
  return 'path' in listen ? `local:${listen.path}` : `inet:${listen.port}@127.0.0.1`;
}

export async function startPeers(world: MilterWorld, dns: BenchDns, kind: SocketKind): Promise<PeerMilters> {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-bench-peers-'));
  // Postfix's smtpd (the postfix user) must reach the sockets in here.
  await chmod(dir, 0o755);
  const started: MilterProcess[] = [];
  const stopAll = async (): Promise<void> => {
    for (const milter of started.reverse()) await milter.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const keyFile = join(dir, 'outbound.pem');
    await writeFile(keyFile, world.outboundKey.privatePem, { mode: 0o600 });
    const dkimListen = await listenOn(kind, dir, 'opendkim');
    const dkimConf = join(dir, 'opendkim.conf');
    await writeFile(
      dkimConf,
      [
        'Mode sv',
        'Syslog no',
        `Socket ${socketSetting(dkimListen)}`,
        'UMask 000',
        `AuthservID ${OPENDKIM_AUTHSERV_ID}`,
        `Domain ${AUTHOR_DOMAIN}`,
        `Selector ${world.outboundKey.selector}`,
        `KeyFile ${keyFile}`,
        // The key lives under os.tmpdir(), which others can write (OpenDKIM checks the whole path).
        'RequireSafeKeys false',
        'Canonicalization relaxed/relaxed',
        'SignatureAlgorithm rsa-sha256',
        `InternalHosts ${NOBODY}`,
        'MTA ORIGINATING',
        `Nameservers ${dns.host}`,
        `TemporaryDirectory ${dir}`,
        '',
      ].join('\n'),
    );
    started.push(
      await startMilterProcess({
        name: 'opendkim',
        command: '/usr/sbin/opendkim',
        args: ['-f', '-x', dkimConf],
        listen: dkimListen,
        logPath: join(dir, 'opendkim.log'),
      }),
    );

    const dmarcListen = await listenOn(kind, dir, 'opendmarc');
    const dmarcConf = join(dir, 'opendmarc.conf');
    const ignoreHosts = join(dir, 'ignore-hosts');
    const resolvConf = join(dir, 'resolv.conf');
    await writeFile(ignoreHosts, `${NOBODY}\n`);
    await writeFile(resolvConf, `nameserver ${dns.host}\noptions attempts:1 timeout:2\n`);
    await writeFile(
      dmarcConf,
      [
        'Syslog false',
        `Socket ${socketSetting(dmarcListen)}`,
        'UMask 000',
        `AuthservID ${OPENDMARC_AUTHSERV_ID}`,
        `TrustedAuthservIDs ${OPENDKIM_AUTHSERV_ID}`,
        'RejectFailures true',
        'SPFSelfValidate true',
        `PublicSuffixList ${PUBLIC_SUFFIX_LIST}`,
        `IgnoreHosts ${ignoreHosts}`,
        '',
      ].join('\n'),
    );
    // A private mount namespace in which /etc/resolv.conf names the bench's forwarder (the libc
    // resolver takes no port and no other file); `exec` keeps opendmarc as the group leader.
    const script = `mount --bind ${resolvConf} /etc/resolv.conf && exec /usr/sbin/opendmarc -f -c ${dmarcConf}`;
    started.push(
      await startMilterProcess({
        name: 'opendmarc',
        command: '/usr/bin/unshare',
        args: ['--mount', '--propagation', 'private', '/bin/sh', '-c', script],
        listen: dmarcListen,
        logPath: join(dir, 'opendmarc.log'),
      }),
    );
    const [opendkim, opendmarc] = started as [MilterProcess, MilterProcess];
    return { opendkim, opendmarc, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
