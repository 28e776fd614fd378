/**
 * Streaming XML to small element trees: saxes (a strict, non-validating, DTD-free XML parser)
 * reads the document, and every child of the root element is built as a tiny tree and handed to a
 * callback, then dropped. Aggregate reports are a flat list of small <record> elements, so memory
 * stays bounded by the largest record however long the report.
 *
 * Hostile input: a DOCTYPE is refused outright (no DTDs, so no entity expansion and no external
 * entities), and depth, children per element and text per element are capped.
 */
import { SaxesParser } from 'saxes';

export interface XmlElement {
  /** Local name, lower case (namespace prefixes and the case of names are not significant here). */
  readonly name: string;
  text: string;
  readonly children: XmlElement[];
}

export interface XmlLimits {
  readonly maxDepth: number;
  readonly maxChildren: number;
  readonly maxTextLength: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxDepth: 16, maxChildren: 10_000, maxTextLength: 65_536 };

export interface XmlRootInfo {
  readonly name: string;
  readonly namespace?: string;
}

export class XmlProblem extends Error {}

/** Pushes text chunks through saxes and calls `onChild` for each completed child of the root. */
export class XmlChildStream {
  private readonly parser = new SaxesParser({ position: true });
  private readonly stack: XmlElement[] = [];
  private rootInfo: XmlRootInfo | undefined;
  private problem: string | undefined;
  private readonly notes: string[] = [];

  constructor(
    private readonly onChild: (child: XmlElement, root: XmlRootInfo) => void,
    private readonly limits: XmlLimits = DEFAULT_XML_LIMITS,
  ) {
    this.parser.on('error', (error) => {
      this.problem ??= error.message;
    });
    this.parser.on('doctype', () => {
      this.problem ??= 'a DOCTYPE is not allowed in a report (no DTDs, no entities)';
    });
    this.parser.on('opentag', (tag) => {
      if (this.problem !== undefined) return;
      const name = localName(tag.name);
      if (this.rootInfo === undefined) {
        const xmlns = Object.entries(tag.attributes).find(([key]) => key === 'xmlns' || key.startsWith('xmlns:'));
        this.rootInfo = { name, ...(xmlns !== undefined && { namespace: String(xmlns[1]) }) };
        return;
      }
      if (this.stack.length >= this.limits.maxDepth) {
        this.problem = `element <${name}> is nested deeper than ${this.limits.maxDepth} levels`;
        return;
      }
      const element: XmlElement = { name, text: '', children: [] };
      const parent = this.stack.at(-1);
      if (parent !== undefined) {
        if (parent.children.length >= this.limits.maxChildren) {
          this.problem = `<${parent.name}> has more than ${this.limits.maxChildren} child elements`;
          return;
        }
        parent.children.push(element);
      }
      this.stack.push(element);
    });
    this.parser.on('text', (text) => this.addText(text));
    this.parser.on('cdata', (text) => this.addText(text));
    this.parser.on('closetag', () => {
      if (this.problem !== undefined) return;
      const element = this.stack.pop();
      if (element === undefined) return; // the root itself
      if (this.stack.length === 0 && this.rootInfo !== undefined) this.onChild(element, this.rootInfo);
    });
  }

  private addText(text: string): void {
    const current = this.stack.at(-1);
    if (current === undefined || this.problem !== undefined) return;
    if (current.text.length + text.length > this.limits.maxTextLength) {
      if (!current.text.endsWith('\u2026')) {
        current.text = current.text + text.slice(0, Math.max(0, this.limits.maxTextLength - current.text.length));
        current.text += '\u2026';
        this.notes.push(`<${current.name}>: text longer than ${this.limits.maxTextLength} characters was cut`);
      }
      return;
    }
    current.text += text;
  }

  write(chunk: string): void {
    if (this.problem !== undefined) throw new XmlProblem(this.describe(this.problem));
    this.parser.write(chunk);
    if (this.problem !== undefined) throw new XmlProblem(this.describe(this.problem));
  }

  /** Ends the document; returns the root element's name and namespace. */
  close(): { root: XmlRootInfo; notes: readonly string[] } {
    if (this.problem === undefined) this.parser.close();
    if (this.problem !== undefined) throw new XmlProblem(this.describe(this.problem));
    if (this.rootInfo === undefined) throw new XmlProblem('no root element: the document is empty');
    return { root: this.rootInfo, notes: this.notes };
  }

  private describe(problem: string): string {
    // saxes messages already carry "line:column: "; add them when our own check fired.
    return /^\d+:\d+: /.test(problem) ? `XML ${problem}` : `XML ${this.parser.line}:${this.parser.column}: ${problem}`;
  }
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return (colon < 0 ? name : name.slice(colon + 1)).toLowerCase();
}

/** The first child with this name, or undefined. */
export function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name);
}

/** The trimmed text of a child, or undefined when absent or empty. */
export function childText(element: XmlElement, name: string): string | undefined {
  const text = child(element, name)?.text.trim();
  return text === undefined || text === '' ? undefined : text;
}
