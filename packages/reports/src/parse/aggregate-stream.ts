/**
 * Streaming aggregate-report parsing for reports too large to hold: bytes go in chunk by chunk,
 * records come out in batches, and the header (metadata and policy) is available as soon as it
 * has been read, so a store can open the report and take its records while the rest is still
 * being read. Memory is bounded by a chunk and a batch. Strict only: a large report that is not
 * well-formed XML or UTF-8 is refused (repair needs the whole document).
 */
import type { AggregateRecord, AggregateReport } from '../model.js';
import { AggregateBuilder, ReportProblem } from './aggregate-builder.js';
import type { XmlRootInfo } from './xml-elements.js';
import { XmlChildStream, XmlProblem } from './xml-elements.js';

/** Records read before the header is known are held; beyond this the report is refused. */
const MAX_RECORDS_BEFORE_HEADER = 100_000;

export class AggregateStreamProblem extends Error {}

export class AggregateReportStream {
  private readonly pending: AggregateRecord[] = [];
  private readonly builder = new AggregateBuilder([], { onRecord: (record) => this.pending.push(record) });
  private root: XmlRootInfo | undefined;
  private readonly xml = new XmlChildStream((element, root) => {
    this.root = root;
    this.builder.add(element, root);
  });
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private started = false;

  /** Reads more bytes; throws AggregateStreamProblem with the reason when the report is bad. */
  write(bytes: Uint8Array): void {
    this.guard(() => {
      let text = this.decoder.decode(bytes, { stream: true });
      if (!this.started && text.length > 0) {
        this.started = true;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      this.xml.write(text);
    });
    if (this.header() === undefined && this.pending.length > MAX_RECORDS_BEFORE_HEADER) {
      throw new AggregateStreamProblem(
        `more than ${MAX_RECORDS_BEFORE_HEADER} records before <report_metadata> and <policy_published>`,
      );
    }
  }

  /** Metadata and policy, once read. */
  header(): Omit<AggregateReport, 'records'> | undefined {
    return this.builder.header(this.root);
  }

  /** How many records wait to be drained. */
  pendingCount(): number {
    return this.pending.length;
  }

  /** The records read since the last call. */
  drain(): AggregateRecord[] {
    return this.pending.splice(0);
  }

  /** Ends the document; the report's final warnings (its records were delivered by drain()). */
  end(): AggregateReport {
    return this.guard(() => {
      const rest = this.decoder.decode();
      if (rest.length > 0) this.xml.write(rest);
      const { root, notes } = this.xml.close();
      return this.builder.finish(root, notes);
    });
  }

  private guard<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof XmlProblem || error instanceof ReportProblem)
        throw new AggregateStreamProblem(error.message);
      if (error instanceof TypeError && /encoded data was not valid/i.test(error.message)) {
        throw new AggregateStreamProblem('not valid UTF-8 (a report this large is not repaired)');
      }
      throw error;
    }
  }
}
