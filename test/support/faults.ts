/**
 * Records uncaught exceptions and unhandled rejections until `stop()`: what would end a Node
 * process outside the test runner, and what a test must prove does not happen.
 */
export function recordFaults(): { faults: unknown[]; stop(): void } {
  const faults: unknown[] = [];
  const record = (fault: unknown): void => {
    faults.push(fault);
  };
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  return {
    faults,
    stop() {
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
    },
  };
}
