// Milter socket addresses in Postfix's notation (smtpd_milters): inet:HOST:PORT or unix:PATH.
// Sendmail's inet:PORT@HOST is accepted too, as miltertest and libmilter's smfi_setconn use it.

export type ListenAddress = { kind: 'inet'; host: string; port: number } | { kind: 'unix'; path: string };

export type ListenAddressResult = { ok: true; address: ListenAddress } | { ok: false; error: string };

export function parseListenAddress(text: string): ListenAddressResult {
  const fail = (why: string): ListenAddressResult => ({
    ok: false,
    error: `milter address "${text}": ${why} (use inet:HOST:PORT or unix:PATH)`,
  });
  if (text.startsWith('unix:') || text.startsWith('local:')) {
    const path = text.slice(text.indexOf(':') + 1);
    return path === '' ? fail('no socket path') : { ok: true, address: { kind: 'unix', path } };
  }
  if (!text.startsWith('inet:') && !text.startsWith('inet6:')) return fail('unknown transport');
  const rest = text.slice(text.indexOf(':') + 1);
  let host: string;
  let portText: string;
  const sendmail = /^(\d+)@(.+)$/.exec(rest);
  if (sendmail) {
    portText = sendmail[1] as string;
    host = sendmail[2] as string;
  } else {
    const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(rest);
    const colon = rest.lastIndexOf(':');
    if (bracketed) {
      host = bracketed[1] as string;
      portText = bracketed[2] as string;
    } else if (colon > 0) {
      host = rest.slice(0, colon);
      portText = rest.slice(colon + 1);
    } else {
      return fail('no port');
    }
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) return fail(`port "${portText}" is not 0-65535`);
  if (host === '') return fail('no host');
  return { ok: true, address: { kind: 'inet', host, port } };
}

export function formatListenAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return address.host.includes(':') ? `inet:[${address.host}]:${address.port}` : `inet:${address.host}:${address.port}`;
}
