/** What every command returns; only main.ts writes it out and exits. */
export interface CommandResult {
  /** 0: the command ran; 1: it could not (I/O or setup failure); 2: bad arguments. */
  readonly exitCode: 0 | 1 | 2;
  readonly stdout: string;
  readonly stderr: string;
}
