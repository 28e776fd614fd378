/**
 * Report fields come from strangers: printed raw, an escape sequence in a Subject or a PTR name
 * could rewrite the administrator's terminal. Control characters (C0 except tab, DEL, C1) are
 * shown as \u{..} escapes; `keepNewlines` is for multi-line fields such as header blocks.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_AND_NEWLINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

export function terminalSafe(text: string, keepNewlines = false): string {
  const escape = (c: string) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`;
  if (!keepNewlines) return text.replace(CONTROL_AND_NEWLINE, escape);
  return text.replace(/\r\n/g, '\n').replace(CONTROL, escape);
}
