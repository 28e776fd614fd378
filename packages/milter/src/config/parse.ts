/**
 * `parseConfig(text, sourceName)`: `mailward.yaml` → the settings of the milter, the policy
 * service and Exim's check, or every problem with its line and column. Pure: the runtime reads
 * the file (runtime/config-file.ts) and checks the key files it names.
 */
import { LineCounter, isAlias, parseDocument, visit } from 'yaml';
import type { ConfigError, ConfigPath } from './errors.js';
import { pathText } from './errors.js';
import { problemsOfIssue } from './issues.js';
import type { PlacedProblem } from './issues.js';
import { makeLocator, pathOfKeyAt } from './locate.js';
import type { Locator } from './locate.js';
import type { MailwardConfig, ResolveOptions } from './resolve.js';
import { resolveConfig } from './resolve.js';
import { SECTIONS, configSchema } from './schema.js';

export type ParseConfigOptions = ResolveOptions;

/** A key file named by the file, where it is named (for errors about the file itself). */
export interface LocatedKeyFile {
  readonly path: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export type ConfigParse =
  | {
      readonly ok: true;
      readonly config: MailwardConfig;
      readonly keyFiles: readonly LocatedKeyFile[];
      readonly storeFiles: readonly LocatedKeyFile[];
    }
  | {
      readonly ok: false;
      readonly errors: readonly ConfigError[];
      /**
       * When only the checks across keys failed, the files named anyway, so the runtime can report
       * their problems in the same run (every problem at once, not one pass per kind).
       */
      readonly keyFiles?: readonly LocatedKeyFile[];
      readonly storeFiles?: readonly LocatedKeyFile[];
    };

/** YAML's own limit on alias expansion; a config file needs few, a "billion laughs" many. */
const MAX_ALIAS_COUNT = 100;

export function parseConfig(text: string, sourceName: string, options: ParseConfigOptions = {}): ConfigParse {
  const lineCounter = new LineCounter();
  // uniqueKeys (the default) makes a duplicate key an error rather than "the last one wins".
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = [...document.errors, ...document.warnings];
  if (syntax.length > 0) {
    const locateFirst = makeLocator(document, lineCounter);
    return {
      ok: false,
      errors: syntax.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        const path = error.code === 'DUPLICATE_KEY' ? pathOfKeyAt(document, error.pos[0]) : undefined;
        return {
          source: sourceName,
          path: path === undefined ? '' : pathText(path),
          line,
          column: col,
          message:
            path === undefined
              ? yamlMessage(error.code, error.message)
              : `set twice (first on line ${locateFirst(path, 'key').line}); YAML keys must be unique`,
        };
      }),
    };
  }
  const locate = makeLocator(document, lineCounter);
  const place = (problem: PlacedProblem): ConfigError => ({
    source: sourceName,
    path: pathText(problem.path),
    ...locate(problem.path, problem.at),
    message: problem.message,
  });

  const unresolved = unresolvedAliases(document, lineCounter, sourceName);
  if (unresolved.length > 0) return { ok: false, errors: unresolved };
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    return {
      ok: false,
      errors: [{ source: sourceName, path: '', line: 1, column: 1, message: (error as Error).message }],
    };
  }
  if (data === null || data === undefined) data = {};
  if (typeof data === 'object' && !Array.isArray(data)) {
    // `milter:` with nothing under it: the section with its defaults.
    const top = data as Record<string, unknown>;
    for (const section of SECTIONS) if (section in top && top[section] === null) top[section] = {};
  }

  const checked = configSchema.safeParse(data, { reportInput: true });
  if (!checked.success) {
    const problems = checked.error.issues.flatMap((issue) => problemsOfIssue(issue, configSchema));
    return { ok: false, errors: sortByPlace(problems.map(place)) };
  }
  const resolved = resolveConfig(checked.data, options);
  const keyFiles = resolved.keyFiles.map((ref) => locatedKeyFile(ref.path, ref.file, locate));
  const storeFiles = resolved.storeFiles.map((ref) => locatedKeyFile(ref.path, ref.file, locate));
  if (resolved.problems.length > 0)
    return { ok: false, errors: sortByPlace(resolved.problems.map(place)), keyFiles, storeFiles };
  return { ok: true, config: resolved.config, keyFiles, storeFiles };
}

function locatedKeyFile(path: ConfigPath, file: string, locate: Locator): LocatedKeyFile {
  return { path: pathText(path), file, ...locate(path) };
}

function sortByPlace(errors: ConfigError[]): ConfigError[] {
  return errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/** yaml's messages, with the ones an admin meets most put in their terms. */
function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'a key is set twice in one mapping; YAML keys must be unique';
  return `YAML syntax: ${message.split('\n')[0] ?? message}`;
}

/** `*name` without an `&name` before it: yaml only notices when converting, without a place. */
function unresolvedAliases(
  document: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  sourceName: string,
): ConfigError[] {
  const errors: ConfigError[] = [];
  visit(document, {
    Alias(_key, node) {
      if (isAlias(node) && node.resolve(document) === undefined) {
        const { line, col } = lineCounter.linePos(node.range?.[0] ?? 0);
        errors.push({
          source: sourceName,
          path: '',
          line,
          column: col,
          message: `YAML alias *${node.source} has no anchor &${node.source} before it`,
        });
      }
    },
  });
  return errors;
}
