/**
 * Where a lab node's sync unit lives: the rendered wgmesh-sync and wgmesh (doctor) scripts, the file
 * standing in for its vault, and the folder that stands for /etc/wireguard, where the sync unit also
 * leaves its state file and metrics (the scripts put them beside the config under WGMESH_CONF_DIR).
 * Derived from the lab's work folder and the node's interface alone, so a later process (`wgmesh
 * doctor --lab` on a kept lab) finds them from the lab's state file.
 */
import { join } from "node:path";

export interface SyncFiles {
  dir: string;
  confDir: string;
  /** The config the sync unit last applied (what /etc/wireguard/wg0.conf is on a node). */
  installed: string;
  vault: string;
  script: string;
  doctor: string;
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
    script: join(dir, "wgmesh-sync"),
    doctor: join(dir, "wgmesh"),
    state: join(confDir, `${iface}.state`),
    metrics: join(confDir, `wgmesh-${iface}.prom`),
  };
}
