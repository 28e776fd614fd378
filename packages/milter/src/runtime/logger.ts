/** The milter's log: one line per event on the sink the command gives (stderr), never a stack trace. */
import type { MessageReport } from '../milter/pipeline.js';

export type LogSink = (line: string) => void;

/** One line per message, keyed by the queue ID, as an operator greps for it next to Postfix's log. */
export function messageLogLine(report: MessageReport): string {
  const parts = [
    `${report.queueId ?? 'NOQUEUE'}:`,
    report.direction,
    `(${report.directionReason})`,
    report.verdict,
    `action=${report.action}`,
    ...(report.arc === undefined ? [] : [`arc-seal="${oneLine(report.arc)}"`]),
    ...(report.wouldHave === undefined ? [] : [`would-have=${report.wouldHave}`]),
    ...(report.removedAuthenticationResults > 0
      ? [`removed-own-authentication-results=${report.removedAuthenticationResults}`]
      : []),
    `time=${report.totalMs.toFixed(0)}ms`,
    `reason="${oneLine(report.reason)}"`,
    ...(report.error === undefined ? [] : [`error="${oneLine(report.error)}"`]),
  ];
  return `milter: ${parts.join(' ')}`;
}

export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/"/g, "'");
}
