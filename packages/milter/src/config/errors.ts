/** One problem in a configuration file, located for the admin who has to fix it. */
export type ConfigPath = readonly (string | number)[];

export interface ConfigError {
  /** The file as named to the user (`mailward.yaml`, `/etc/mailward/mailward.yaml`). */
  readonly source: string;
  /** The key path, e.g. `milter.signing.keys[1].selector`; empty for the whole file. */
  readonly path: string;
  /** 1-based; absent when the problem is not at a place in the text (an unreadable file). */
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

/** `mailward.yaml:14:7: milter.inbound.quarantine: expected hold or header, got "holdd"` */
export function formatConfigError(error: ConfigError): string {
  const place = error.line === undefined ? error.source : `${error.source}:${error.line}:${error.column ?? 1}`;
  return error.path === '' ? `${place}: ${error.message}` : `${place}: ${error.path}: ${error.message}`;
}

/** `milter.signing.keys[1].selector`; keys that are not plain names (domains) in brackets. */
export function pathText(path: ConfigPath): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) text += text === '' ? part : `.${part}`;
    else text += `[${JSON.stringify(part)}]`;
  }
  return text;
}
