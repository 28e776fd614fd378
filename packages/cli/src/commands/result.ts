/** What every command returns; only main.ts writes it out and exits. */
export interface CommandResult {
  /**
   * 0: the command ran; 1: it could not (I/O or setup failure); 2: bad arguments. `check`, `scan`
   * and `dkim key-check` give their own meanings to 1 and 2 (their help says which) and use 3 for
   * "could not check": DNS lookups failed, so there is no verdict.
   */
  readonly exitCode: 0 | 1 | 2 | 3;
  readonly stdout: string;
  readonly stderr: string;
  /** Raw bytes for stdout (a signed message), written after `stdout`; never re-encoded. */
  readonly stdoutBytes?: Uint8Array;
}

export function usageError(command: string, message: string): CommandResult {
  return { exitCode: 2, stdout: '', stderr: `mailward ${command}: ${message}\n` };
}

export function runError(command: string, message: string): CommandResult {
  return { exitCode: 1, stdout: '', stderr: `mailward ${command}: ${message}\n` };
}
