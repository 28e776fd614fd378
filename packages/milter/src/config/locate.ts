/**
 * Maps a key path to its place in the YAML text, so every error names a line and column. The
 * path is followed through the document's nodes as far as it exists: a missing key is reported at
 * the mapping that lacks it.
 */
import type { Document, LineCounter, Node } from 'yaml';
import { isMap, isScalar, isSeq } from 'yaml';
import type { ConfigPath } from './errors.js';

export interface TextPosition {
  readonly line: number;
  readonly column: number;
}

export type Locator = (path: ConfigPath, at?: 'value' | 'key') => TextPosition;

export function makeLocator(document: Document, lineCounter: LineCounter): Locator {
  return (path, at = 'value') => {
    let node: unknown = document.contents;
    let keyNode: unknown;
    for (const part of path) {
      const next = child(node, part);
      if (next === undefined) {
        keyNode = undefined;
        break;
      }
      node = next.value;
      keyNode = next.key;
    }
    // A key with no value (`store:`) has no value node: point at the key.
    const target = at === 'key' || node === null || node === undefined ? (keyNode ?? node) : node;
    const offset = (target as Node | null | undefined)?.range?.[0] ?? 0;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
}

function child(node: unknown, part: string | number): { key: unknown; value: unknown } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (String(key) === String(part)) return { key: pair.key, value: pair.value };
    }
    return undefined;
  }
  if (isSeq(node) && typeof part === 'number') {
    const item = node.items[part];
    return item === undefined ? undefined : { key: item, value: item };
  }
  return undefined;
}

/** The key path of the mapping key that starts at `offset` (a duplicate key yaml reported). */
export function pathOfKeyAt(document: Document, offset: number): ConfigPath | undefined {
  const walk = (node: unknown, path: (string | number)[]): ConfigPath | undefined => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        const here = [...path, String(key)];
        if ((pair.key as Node | null)?.range?.[0] === offset) return here;
        const inner = walk(pair.value, here);
        if (inner !== undefined) return inner;
      }
    } else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) {
        const inner = walk(item, [...path, i]);
        if (inner !== undefined) return inner;
      }
    }
    return undefined;
  };
  return walk(document.contents, []);
}
