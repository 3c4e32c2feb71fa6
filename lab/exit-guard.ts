/**
 * Tears running labs down when the process ends for any reason: normal exit, an uncaught
 * error, Ctrl-C or SIGTERM. Handlers are installed only while a lab is up, so a process
 * without a lab keeps node's default signal behaviour.
 */
import { commandsSettled } from "./exec";
export interface LabGuard {
  /** Synchronous: it also runs from the 'exit' handler, where the event loop is gone. */
  teardown: () => void;
  /** Resolves once every process the lab started has exited and been reaped. */
  exited: () => Promise<void>;
  /** Removes whatever carries the lab's name, for what commands still running at teardown made. */
  sweep: () => void;
}

/** How long a signalled process waits for its lab's processes to be reaped before it exits anyway. */
const REAP_WAIT_MS = 3000;

const live = new Map<string, LabGuard>();

function teardownAll(): LabGuard[] {
  const done: LabGuard[] = [];
  for (const [id, guard] of [...live]) {
    live.delete(id);
    done.push(guard);
    try {
      guard.teardown();
    } catch (err) {
      process.stderr.write(`lab ${id}: cleanup failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  return done;
}

let interrupted = false;

/** True once a signal has started tearing labs down; the process is about to exit. */
export function wasInterrupted(): boolean {
  return interrupted;
}

function onSignal(signal: NodeJS.Signals): void {
  interrupted = true;
  process.stderr.write(`\n${signal}: removing lab${live.size > 1 ? "s" : ""} ${[...live.keys()].join(", ")}\n`);
  const guards = teardownAll();
  const code = signal === "SIGINT" ? 130 : 143;
  // Exiting at once would orphan the lab's just-stopped children before node reaps them (an init
  // that does not reap, as in some containers and VMs, keeps them as zombies), and a command
  // still running (an `ip netns add` of a lab coming up) could make something after the
  // teardown: wait for both, then sweep once more by the lab's name.
  const timer = new Promise<void>((resolve) => setTimeout(resolve, REAP_WAIT_MS).unref());
  const settled = Promise.all([commandsSettled(), ...guards.map((g) => g.exited().catch(() => undefined))]);
  void Promise.race([settled, timer]).then(() => {
    for (const g of guards) {
      try {
        g.sweep();
      } catch {
        // the first teardown already said what failed
      }
    }
    process.exit(code);
  });
}

function onExit(): void {
  teardownAll();
}

function install(): void {
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", onExit);
}

function uninstall(): void {
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  process.off("exit", onExit);
}

export function guardLab(id: string, guard: LabGuard): void {
  if (live.size === 0) install();
  live.set(id, guard);
}

export function releaseLab(id: string): void {
  // A lab torn down by onSignal is no longer in `live`, so the handlers stay installed while the
  // process waits for its children: a second Ctrl-C then exits at once instead of killing it
  // with node's default action.
  if (!live.delete(id)) return;
  if (live.size === 0) uninstall();
}
