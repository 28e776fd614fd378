/**
 * Maildir: messages in new/ and cur/. After the store has committed a message, it is marked seen:
 * moved from new/ to cur/ with the S flag (the Maildir convention for "read"). A message already
 * marked seen in cur/ has been processed and is skipped, so a run after a crash continues where the
 * last one stopped.
 */
import { readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReportSource, SourceItem } from '@mailward/reports';
import { readItem } from './files.js';
import { MAX_MBOX_MESSAGE_BYTES } from './mbox.js';

interface MaildirItem extends SourceItem {
  readonly folder: 'new' | 'cur';
  readonly file: string;
}

export class MaildirSource implements ReportSource {
  constructor(private readonly dir: string) {}

  async *items(): AsyncIterable<SourceItem> {
    for (const folder of ['new', 'cur'] as const) {
      const path = join(this.dir, folder);
      let files: string[];
      try {
        files = (await readdir(path)).sort();
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT' && folder === 'new') continue;
        // Without cur/ this is not a Maildir (a typo, or a plain directory: give it without maildir:).
        if ((error as { code?: string }).code === 'ENOENT') {
          throw new Error(
            `${this.dir} is not a Maildir (it has no cur/ directory); a plain directory is read without maildir:`,
          );
        }
        throw error;
      }
      for (const file of files) {
        if (file.startsWith('.') || (folder === 'cur' && isSeen(file))) continue;
        const full = join(path, file);
        if (!(await stat(full)).isFile()) continue;
        const item = await readItem(full, MAX_MBOX_MESSAGE_BYTES);
        const maildirItem: MaildirItem = { ...item, name: `maildir:${full}`, folder, file };
        yield maildirItem;
      }
    }
  }

  async acknowledge(item: SourceItem, _outcome?: 'stored' | 'quarantined'): Promise<void> {
    const { folder, file } = item as MaildirItem;
    const base = file.includes(':2,') ? file.slice(0, file.indexOf(':2,')) : file;
    const flags = file.includes(':2,') ? file.slice(file.indexOf(':2,') + 3) : '';
    const seen = [...new Set(`${flags}S`)].sort().join('');
    await rename(join(this.dir, folder, file), join(this.dir, 'cur', `${base}:2,${seen}`));
  }
}

function isSeen(file: string): boolean {
  const at = file.indexOf(':2,');
  return at >= 0 && file.slice(at + 3).includes('S');
}
