/**
 * Turns zod's issues into one-line messages an admin can act on: what was expected, what the file
 * has, and for an unknown key the closest known one.
 */
import { z } from 'zod';
import type { ConfigPath } from './errors.js';
import { closestName } from './did-you-mean.js';

export interface PlacedProblem {
  readonly path: ConfigPath;
  /** Report at the key (an unknown key) rather than at the value. */
  readonly at: 'value' | 'key';
  readonly message: string;
}

export function problemsOfIssue(issue: z.core.$ZodIssue, schema: z.ZodType): PlacedProblem[] {
  const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = objectKeysAt(schema, path);
      return issue.keys.map((key) => {
        const guess = closestName(key, known);
        const hint = guess !== undefined ? `did you mean ${guess}?` : `expected one of ${known.join(', ')}`;
        return { path: [...path, key], at: 'key', message: `unknown key (${hint})` };
      });
    }
    case 'invalid_type':
      // `selector: 2026` is a number to YAML (and `0123` would lose its zero): say to quote it.
      if (issue.expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')) {
        return [
          {
            path,
            at: 'value',
            message: `expected text, got ${String(input)} (write it in quotes: "${String(input)}")`,
          },
        ];
      }
      return [
        {
          path,
          at: 'value',
          message:
            input === undefined
              ? `missing (expected ${expected(issue.expected)})`
              : `expected ${expected(issue.expected)}, got ${shown(input)}`,
        },
      ];
    case 'invalid_value':
      return [{ path, at: 'value', message: `expected ${orList(issue.values.map(String))}, got ${shown(input)}` }];
    case 'too_small':
      return [{ path, at: 'value', message: tooSmall(issue, input) }];
    case 'too_big':
      return [{ path, at: 'value', message: `expected at most ${String(issue.maximum)}, got ${shown(input)}` }];
    default:
      return [{ path, at: 'value', message: issue.message }];
  }
}

function tooSmall(issue: z.core.$ZodIssueTooSmall, input: unknown): string {
  if (issue.origin === 'array') return `expected at least ${String(issue.minimum)} entries, got none`;
  if (issue.origin === 'string') return 'must not be empty';
  const bound = issue.inclusive ? `${String(issue.minimum)} or more` : `more than ${String(issue.minimum)}`;
  return `expected ${bound}, got ${shown(input)}`;
}

function expected(type: string): string {
  const words: Record<string, string> = {
    string: 'text',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    object: 'a mapping of keys to values',
    array: 'a list',
  };
  return words[type] ?? type;
}

/** The value as the admin wrote it, shortened: a long block must not flood the terminal. */
export function shown(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

function orList(values: readonly string[]): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')} or ${values[values.length - 1] ?? ''}`;
}

/** The keys the schema allows at `path`, for "did you mean". */
function objectKeysAt(schema: z.ZodType, path: ConfigPath): string[] {
  let node: unknown = schema;
  for (const part of [...path, undefined]) {
    for (;;) {
      if (node instanceof z.ZodOptional) node = node.unwrap();
      else break;
    }
    if (part === undefined) break;
    if (node instanceof z.ZodObject) node = (node.shape as Record<string, unknown>)[String(part)];
    else if (node instanceof z.ZodArray) node = node.element;
    else if (node instanceof z.ZodRecord) node = node.valueType;
    else return [];
  }
  return node instanceof z.ZodObject ? Object.keys(node.shape as Record<string, unknown>) : [];
}
