/**
 * Where a lab node's sync unit lives: its bootstrap (what user data installs as wgmesh-sync), the
 * files standing in for its vault's two secrets (the config entry and the node agent), the folders
 * standing for /usr/local/lib/wgmesh (agents), /usr/local/sbin (the wgmesh command) and
 * /etc/systemd/system (units), and the folder that stands for /etc/wireguard, where the agent also
 * leaves its state file and metrics (the scripts put them beside the config under WGMESH_CONF_DIR).
 * Derived from the lab's work folder and the node's interface alone, so a later process (`wgmesh
 * doctor --lab` on a kept lab) finds them from the lab's state file.
 */
import { join } from "node:path";
import { fileVault, type VaultLocator } from "../infra/vault";

export interface SyncFiles {
  dir: string;
  confDir: string;
  /** The config the agent last applied (what /etc/wireguard/wg0.conf is on a node). */
  installed: string;
  /** The config entry (payload) as the vault serves it. */
  vault: string;
  /** The node agent as the vault serves it. */
  agentVault: string;
  /** The bootstrap: /usr/local/sbin/wgmesh-sync on a node. */
  script: string;
  lib: string;
  bin: string;
  units: string;
  /** Where the bootstrap's one line for the console goes. */
  console: string;
  state: string;
  metrics: string;
}

export function syncFilesOf(workDir: string, iface: string): SyncFiles {
  const dir = join(workDir, "sync", iface);
  const confDir = join(dir, "etc");
  return {
    dir,
    confDir,
    installed: join(confDir, `${iface}.conf`),
    vault: join(dir, "vault.conf"),
    agentVault: join(dir, "vault.agent"),
    script: join(dir, "wgmesh-sync"),
    lib: join(dir, "lib"),
    bin: join(dir, "bin"),
    units: join(dir, "units"),
    console: join(dir, "console"),
    state: join(confDir, `${iface}.state`),
    metrics: join(confDir, `wgmesh-${iface}.prom`),
  };
}

/** The node's vault, as its bootstrap names it. */
export function labVault(files: SyncFiles): VaultLocator {
  return fileVault(files.vault, files.agentVault);
}

/** What every run of a lab node's scripts is given, as a node's own paths are fixed: where each of them is. */
export function syncEnv(files: SyncFiles): Record<string, string> {
  return {
    WGMESH_SYNC: files.script,
    WGMESH_CONF_DIR: files.confDir,
    WGMESH_LIB_DIR: files.lib,
    WGMESH_BIN_DIR: files.bin,
    WGMESH_UNIT_DIR: files.units,
    WGMESH_CONSOLE: files.console,
  };
}
