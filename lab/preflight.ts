/** What the machine needs before the lab touches anything, checked up front so a failure is one clear line. */
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { LabError } from "./errors";

export const REQUIRED_TOOLS = ["wireguard-go", "wg", "ip", "ping", "sysctl"] as const;

/** ip and sysctl live in /usr/sbin, which a non-login root shell may not have on PATH. */
const SYSTEM_DIRS = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

export function findOnPath(tool: string, path = process.env.PATH ?? "", systemDirs: readonly string[] = SYSTEM_DIRS): string | undefined {
  const dirs = [...path.split(delimiter), ...systemDirs].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The machine as the preflight sees it; tests pass their own. */
export interface Machine {
  uid?: number;
  path?: string;
  systemDirs?: readonly string[];
  tunDevice?: string;
}

/** Why the lab cannot run on this machine, or undefined when it can. */
export function labBlocker(machine: Machine = {}): string | undefined {
  const uid = machine.uid ?? (typeof process.getuid === "function" ? process.getuid() : 0);
  if (uid !== 0) return "the lab creates network namespaces and needs root: run it with sudo";
  const missing = REQUIRED_TOOLS.filter((t) => !findOnPath(t, machine.path, machine.systemDirs));
  if (missing.length > 0) {
    return `${missing.join(", ")} not found on PATH: install them (Debian: apt-get install wireguard-go wireguard-tools iproute2 iputils-ping procps)`;
  }
  const tun = machine.tunDevice ?? "/dev/net/tun";
  if (!existsSync(tun)) {
    return `${tun} is missing: wireguard-go needs the TUN device (in a container, pass --device /dev/net/tun)`;
  }
  return undefined;
}

export function assertLabCanRun(): void {
  const blocker = labBlocker();
  if (blocker) throw new LabError(`lab: ${blocker}`);
}
