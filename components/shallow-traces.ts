/**
 * Pulumi's Node SDK records `new Error().stack` for each of the four promises behind every output
 * property of every resource, for its promise-leak report, and holds them until the resource is
 * registered. A mesh of 1,000 nodes makes some 13,000 resources, all in flight at once: millions
 * of source-mapped traces, about a quarter of the heap and of the time of a preview. The report
 * needs them only when someone debugs a leak, which is what PULUMI_DEBUG_PROMISE_LEAKS says;
 * otherwise no frames are recorded.
 */
const debuggingLeaks = (): boolean => Boolean(process.env["PULUMI_DEBUG_PROMISE_LEAKS"]);

/** Runs `build` recording no stack frames (unless leaks are being debugged), then restores the limit. */
export function withShallowTraces<T>(build: () => T): T {
  if (debuggingLeaks()) return build();
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return build();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * For a whole program run (wg-mesh's own stack program): registrations go on after the mesh is
 * built, and they record traces too. A failure still reads as its message; Pulumi prints a
 * RunError's message alone anyway.
 */
export function noTracesForThisRun(): void {
  if (!debuggingLeaks()) Error.stackTraceLimit = 0;
}
