/** Time comes in through this interface so protocol code never reads the wall clock itself. */
export interface Clock {
  /** Milliseconds since the epoch (or any monotonic origin: only differences matter to DNS code). */
  now(): number;
}
