/**
 * The metrics token's rules, shared by the YAML loader, the CLI flags and the services: a service
 * with `metrics` must have `metricsTokenSha256`, the SHA-256 (64 hex digits) of the token that
 * Prometheus sends as `Authorization: Bearer TOKEN`. Only the hash is configured, so a leaked
 * mailward.yaml (or `ps` output) does not leak the token.
 *
 * The token is the token file's one line without surrounding white space: Prometheus reads
 * `authorization: { credentials_file: ... }` that way (strings.TrimSpace in prometheus/common's
 * config/http_config.go), so `openssl rand -hex 32 > FILE` (which ends the line with a newline)
 * works as the credentials file, and the hash must be taken of the line without its newline.
 */

/** What to tell an admin who has to make a token, as one line. */
export const METRICS_TOKEN_HOWTO =
  'make a token with `openssl rand -hex 32 > /etc/mailward/metrics.token` and take its hash (of the line without its newline) with `tr -d " \\t\\r\\n" < /etc/mailward/metrics.token | sha256sum`';

/** A SHA-256 in hex: 64 hex digits (either case; compared as bytes). */
export function sha256HexProblem(text: string): string | undefined {
  return /^[0-9a-fA-F]{64}$/.test(text)
    ? undefined
    : `${text.length > 70 ? 'the value' : JSON.stringify(text)} is not a SHA-256 in hex (64 hex digits, as sha256sum prints it)`;
}
