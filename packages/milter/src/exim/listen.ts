/**
 * `inet:HOST:PORT` / `unix:PATH` (the ListenSpec of settings.ts) as a typed address. Pure.
 * A bare `HOST:PORT` is taken as inet, as Exim's `spamd_address` writes it (with a space).
 */
export type ListenAddress =
  | { readonly kind: 'inet'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

export type ListenParse =
  { readonly ok: true; readonly address: ListenAddress } | { readonly ok: false; readonly reason: string };

export function parseListenSpec(spec: string): ListenParse {
  if (spec.startsWith('unix:')) {
    const path = spec.slice(5);
    if (!path.startsWith('/')) return { ok: false, reason: `${JSON.stringify(spec)}: unix: needs an absolute path` };
    return { ok: true, address: { kind: 'unix', path } };
  }
  const rest = spec.startsWith('inet:') ? spec.slice(5) : spec;
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(rest);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !(port >= 0 && port <= 65535)) {
    return { ok: false, reason: `${JSON.stringify(spec)} is not inet:HOST:PORT, inet:[IPv6]:PORT or unix:/PATH` };
  }
  return { ok: true, address: { kind: 'inet', host: match[1] ?? match[2]!, port } };
}
