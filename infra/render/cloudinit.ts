/**
 * A node's user data (#cloud-config; AWS user data, GCP metadata `user-data`, Azure custom data): the
 * packages the node runs, the bootstrap (/usr/local/sbin/wgmesh-sync) and the timer that runs it,
 * nothing else: no key, no peer, no overlay address, no agent. The bootstrap fetches the node agent
 * and its config from the node's vault (docs/node-agent.md), so this document is a function of the
 * node's name, interface and vault alone and stays byte-identical while the mesh and the agent change:
 * at most 4 KB (BOOTSTRAP_USER_DATA_BYTES), plain text on every cloud.
 */
import { gunzipSync } from "node:zlib";
import { parse, stringify } from "yaml";
import { shipScript } from "./shipped";
import { gunzippedText } from "./user-data";
import {
  checkedInterfaceName,
  checkedNodeName,
  renderBootstrap,
  REQUIRED_PACKAGES,
  SYNC_PERIOD_SECONDS,
  SYNC_SCRIPT_PATH,
  SYNC_UNIT,
  type DeliveryOptions,
} from "./sync-script";

export type { DeliveryOptions } from "./sync-script";

/** What cloud-init installs: every command the bootstrap, the agent and the configs it applies run. */
export const CLOUD_INIT_PACKAGES = REQUIRED_PACKAGES;

export const SERVICE_PATH = `/etc/systemd/system/${SYNC_UNIT}.service`;
export const TIMER_PATH = `/etc/systemd/system/${SYNC_UNIT}.timer`;

/** Rendered documents by their options: a Mesh checks every node's size before the node renders its own. */
const rendered = new Map<string, string>();
const RENDERED_KEPT = 4096;

/** The bootstrap as user data installs it (and as a payload carries its copy). */
export function shippedBootstrap(opts: DeliveryOptions): string {
  return shipScript(renderBootstrap(opts), "bootstrap (infra/render/bootstrap.sh)");
}

export function renderCloudInit(opts: DeliveryOptions): string {
  const key = JSON.stringify([opts.node, opts.vault, opts.interfaceName ?? null]);
  let text = rendered.get(key);
  if (text === undefined) {
    text = renderDocument(opts);
    if (rendered.size >= RENDERED_KEPT) rendered.clear();
    rendered.set(key, text);
  }
  return text;
}

function renderDocument(opts: DeliveryOptions): string {
  const iface = checkedInterfaceName(opts.interfaceName);
  const node = checkedNodeName(opts.node);
  const document = {
    package_update: true,
    packages: [...CLOUD_INIT_PACKAGES],
    write_files: [
      // cloud-init writes files as root:root, 0644 unless told otherwise.
      { path: SYNC_SCRIPT_PATH, permissions: "0755", content: shippedBootstrap(opts) },
      { path: SERVICE_PATH, content: serviceUnit(iface) },
      { path: TIMER_PATH, content: timerUnit(iface) },
    ],
    runcmd: [
      "systemctl daemon-reload",
      `systemctl enable --now ${SYNC_UNIT}.timer`,
      // The first sync now rather than at the timer's next tick.
      `systemctl start --no-block ${SYNC_UNIT}.service`,
    ],
  };
  const comment = [
    "#cloud-config",
    `# wg-mesh node ${node}: the bootstrap of its node agent. No key in here.`,
  ].join("\n");
  return `${comment}\n${stringify(document, { blockQuote: "literal", lineWidth: 0, indentSeq: false })}`;
}

export function serviceUnit(iface: string): string {
  return [
    "[Unit]",
    `Description=wg-mesh: keep ${iface} and the node agent in step with the vault`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${SYNC_SCRIPT_PATH}`,
    // Room for apt to install what a failed first boot left out.
    "TimeoutStartSec=10min",
    // Without the kernel module wg-quick starts wireguard-go, which has to outlive this run.
    "KillMode=process",
    "",
  ].join("\n");
}

export function timerUnit(iface: string): string {
  return [
    "[Unit]",
    `Description=wg-mesh: wgmesh-sync for ${iface} at boot and every ${SYNC_PERIOD_SECONDS} s`,
    "",
    "[Timer]",
    "OnBootSec=10s",
    `OnUnitActiveSec=${SYNC_PERIOD_SECONDS}s`,
    "AccuracySec=5s",
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
}

export interface WrittenFile {
  path: string;
  permissions: string;
  content: string;
}

interface WriteFilesEntry {
  path: string;
  permissions?: string;
  encoding?: string;
  content?: string;
}

/** A write_files entry's content as cloud-init writes it (gz+b64, b64 or plain). */
function decodedContent(f: WriteFilesEntry): string {
  const raw = f.content ?? "";
  const encoding = (f.encoding ?? "").toLowerCase();
  if (["gz+b64", "gz+base64", "gzip+b64", "gzip+base64"].includes(encoding)) return gunzipSync(Buffer.from(raw, "base64")).toString("utf8");
  if (["b64", "base64"].includes(encoding)) return Buffer.from(raw, "base64").toString("utf8");
  return raw;
}

function writeFiles(text: string): WriteFilesEntry[] {
  const doc = parse(text) as { write_files?: unknown } | null;
  return Array.isArray(doc?.write_files) ? (doc.write_files as WriteFilesEntry[]) : [];
}

/** The files a user data document writes, their content decoded as cloud-init decodes it. */
export function cloudInitFiles(text: string): WrittenFile[] {
  return writeFiles(text).map((f) => ({ path: f.path, permissions: f.permissions ?? "0644", content: decodedContent(f) }));
}

/**
 * User data as a node runs it, for a scan that must find what cloud-init would write: the bytes
 * gunzipped if they are gzip and, for #cloud-config, the document with each encoded file's content
 * replaced by a marker (compressed bytes hide a key, and base64 can look like one) followed by every
 * file decoded. Whatever does not decode (not YAML, a broken gzip) is returned as it came, so a scan
 * still reads it.
 */
export function readableUserData(bytes: Buffer): string {
  let text: string;
  try {
    text = gunzippedText(bytes);
  } catch {
    return bytes.toString("utf8");
  }
  if (!text.startsWith("#cloud-config")) return text;
  try {
    const files = writeFiles(text);
    let outline = text;
    for (const f of files) if (f.encoding && f.content) outline = outline.split(f.content).join("(decoded below)");
    return [outline, ...files.map(decodedContent)].join("\n");
  } catch {
    return text;
  }
}

/**
 * The document with every file's content decoded in place of its encoded form: what people should
 * read, and what a scan for keys must search (compressed text hides them, and base64 can look like one).
 */
export function expandCloudInit(text: string): string {
  const doc = parse(text) as Record<string, unknown> | null;
  if (!doc || !Array.isArray(doc.write_files)) return text;
  const comments = text.split("\n").filter((l, i, all) => l.startsWith("#") && all.slice(0, i).every((p) => p.startsWith("#")));
  const files = (doc.write_files as WriteFilesEntry[]).map(({ encoding: _encoding, ...f }) => ({ ...f, content: decodedContent({ ...f, ...(_encoding ? { encoding: _encoding } : {}) }) }));
  return `${comments.join("\n")}\n${stringify({ ...doc, write_files: files }, { blockQuote: "literal", lineWidth: 0, indentSeq: false })}`;
}
