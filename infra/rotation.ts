/**
 * Key rotation at one instant. Every config of a key epoch carries, as a comment wgmesh-sync reads,
 * the time before which a node holds it: its "not before". The Mesh component sets it to the time of
 * the deploy that changed keyEpoch plus a margin, and keeps it until keyEpoch changes again, so the
 * whole mesh switches keys at that one moment and a later `pulumi up` rewrites nothing.
 */
import type { MeshPlan } from "./model";

/** Seconds from the deploy to the switch when the stack does not say: time for every vault to be written and fetched. */
export const DEFAULT_ROTATION_MARGIN = 120;

export interface KeyRotation {
  /** The key epoch the config's keys belong to. */
  keyEpoch: number;
  /** RFC 3339, UTC, whole seconds: when every node switches to this epoch's keys. */
  notBefore: string;
}

const NOT_BEFORE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/**
 * The comment line (without its `#`) that wgmesh-sync's rotation_of reads; its exact shape is the
 * contract between the two.
 */
export function rotationComment(r: KeyRotation): string {
  if (!Number.isInteger(r.keyEpoch) || r.keyEpoch < 1) throw new Error(`keyEpoch ${r.keyEpoch} is not a whole number from 1`);
  if (!NOT_BEFORE.test(r.notBefore)) throw new Error(`notBefore ${JSON.stringify(r.notBefore)} is not an RFC 3339 UTC time in whole seconds, such as 2025-06-01T12:02:00Z`);
  return `wg-mesh key epoch ${r.keyEpoch}, not before ${r.notBefore}`;
}

/** The rotation a wg-quick file's comments carry, if any. */
export function rotationOf(text: string): KeyRotation | undefined {
  const m = /^# wg-mesh key epoch (\d+), not before (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)$/m.exec(text);
  return m ? { keyEpoch: Number(m[1]), notBefore: m[2] as string } : undefined;
}

/** `at` plus `marginSeconds`, rounded up to the whole second, in the form rotationComment takes. */
export function notBeforeOf(at: string | Date, marginSeconds: number): string {
  const ms = typeof at === "string" ? Date.parse(at) : at.getTime();
  if (Number.isNaN(ms)) throw new Error(`${JSON.stringify(at)} is not a time`);
  if (!Number.isInteger(marginSeconds) || marginSeconds < 0) throw new Error(`a rotation margin is a whole number of seconds from 0, not ${marginSeconds}`);
  return new Date(Math.ceil(ms / 1000) * 1000 + marginSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The rotation instant's clock, run by @pulumi/command's local.Command on the machine that runs
 * `pulumi up` (POSIX sh and date; Linux and macOS) as its create and its update command alike. It
 * prints "EPOCH INSTANT", and the instant it prints is, in order:
 * - the one carried over (WGMESH_ROTATION_KEPT, "EPOCH INSTANT") when its epoch is this one: a stack
 *   whose instant lived in a time.Static before keeps it (see keptRotationInstant);
 * - the one it printed last time (PULUMI_COMMAND_STDOUT, which the provider sets on update) when that
 *   was for this epoch: an update for any other reason (a new wg-mesh, a changed environment) keeps it;
 * - now, in UTC whole seconds: the deploy that bumps keyEpoch (its trigger) fixes a new instant.
 * Its inputs change only with keyEpoch, so any other `pulumi up` does not run it at all.
 */
export const ROTATION_CLOCK_SCRIPT = [
  "set -eu",
  'epoch="$WGMESH_KEY_EPOCH"',
  "set -- ${WGMESH_ROTATION_KEPT:-}",
  'if [ "${1:-}" = "$epoch" ] && [ -n "${2:-}" ]; then echo "$epoch $2"; exit 0; fi',
  "set -- ${PULUMI_COMMAND_STDOUT:-}",
  'if [ "${1:-}" = "$epoch" ] && [ -n "${2:-}" ]; then echo "$epoch $2"; exit 0; fi',
  'echo "$epoch $(date -u +%Y-%m-%dT%H:%M:%SZ)"',
].join("\n");

/** The instant the clock printed for `keyEpoch`; an error naming what it printed otherwise. */
export function rotationInstantOf(stdout: string, keyEpoch: number): string {
  const m = /^(\d+) (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)$/.exec(stdout.trim());
  if (!m || Number(m[1]) !== keyEpoch) throw new Error(`the key rotation clock printed ${JSON.stringify(stdout.trim().slice(0, 80))}, not "${keyEpoch} YYYY-MM-DDTHH:MM:SSZ"; it needs sh and date where pulumi up runs`);
  return m[2] as string;
}

/** The stack config key that carries an instant over once (an upgrade from time.Static). */
export const KEPT_ROTATION_KEY = "wg-mesh:keyRotationToKeep";

/**
 * The rotation instant to keep, from the value of KEPT_ROTATION_KEY: the stack's own keyRotation
 * output as `pulumi stack output keyRotation --json` prints it. Its instant is its notBefore less the
 * margin. Undefined when it is for another key epoch (an old setting, harmless after a bump); an
 * error in one line when it is not that output.
 */
export function keptRotationInstant(value: string | undefined, keyEpoch: number, marginSeconds: number): string | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const fix = `set it to this stack's keyRotation output: pulumi config set ${KEPT_ROTATION_KEY} "$(pulumi stack output keyRotation --json)"`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error(`${KEPT_ROTATION_KEY}: ${JSON.stringify(value.slice(0, 80))} is not JSON; ${fix}`);
  }
  const r = parsed as Partial<KeyRotation> | null;
  if (!r || typeof r !== "object" || !Number.isInteger(r.keyEpoch) || typeof r.notBefore !== "string" || !NOT_BEFORE.test(r.notBefore)) {
    throw new Error(`${KEPT_ROTATION_KEY}: expected {"keyEpoch": N, "notBefore": "YYYY-MM-DDTHH:MM:SSZ"}; ${fix}`);
  }
  if (r.keyEpoch !== keyEpoch) return undefined;
  return new Date(Date.parse(r.notBefore) - marginSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** "2 min", "90 s", "1 h 5 min": a margin as people say it. */
export function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h} h` : "", m ? `${m} min` : "", s ? `${s} s` : ""].filter(Boolean).join(" ");
}

/**
 * What bumping keyEpoch does to a planned mesh, step by step and when, for `wgmesh plan --rotation`.
 * Offline, so times are relative to the `pulumi up` that carries the bump.
 */
export function explainRotation(stack: string, plan: MeshPlan): string[] {
  const spec = plan.spec;
  const margin = spec.rotationMargin ?? DEFAULT_ROTATION_MARGIN;
  const next = spec.keyEpoch + 1;
  const at = `T + ${formatSeconds(margin)}`;
  const cloud = plan.nodes.filter((n) => n.cloud !== "external");
  const external = plan.nodes.filter((n) => n.cloud === "external").map((n) => n.name);
  const psks = spec.presharedKeys ? plan.links.length : 0;
  const slowest = [...plan.links].sort((a, b) => b.weight - a.weight || a.id.localeCompare(b.id))[0];
  const steps: [string, string[]][] = [
    ["T", [`the rotation time is fixed: every node switches to its new keys at ${at} (rotationMargin ${margin} s).`, "Later updates keep that time; only the next keyEpoch moves it."]],
    [
      `T .. ${at}`,
      [
        `${plan.nodes.length} new private keys${psks > 0 ? ` and ${psks} new preshared keys` : ""}; ${cloud.length} vault secrets rewritten, each wg0.conf marked`,
        `"# wg-mesh key epoch ${next}, not before <${at}>". Each node's wgmesh-sync (every minute) fetches it and holds it;`,
        "until then every tunnel runs on the old keys.",
      ],
    ],
    [
      at,
      [
        `every node switches at once, in place (wg syncconf, no interface restart); each of the ${plan.links.length} links makes one new handshake,`,
        `so a pair is cut for about a handshake${slowest ? ` (the slowest link, ${slowest.a} -- ${slowest.b}, has an estimated round trip of ${slowest.weight} ms)` : ""};`,
        "the lab measures under 2 s per pair.",
      ],
    ],
    ["after", [`a node that fetches its config after ${at} applies it at once; a node or a copy still holding an old key can no longer complete a handshake.`]],
  ];
  const w = Math.max(...steps.map(([when]) => when.length));
  const out = [
    `Key rotation of stack ${stack}: keyEpoch ${spec.keyEpoch} -> ${next}`,
    "",
    `To start it: set keyEpoch: ${next} under wg-mesh:mesh in Pulumi.${stack}.yaml, then pulumi up. T is when that update starts.`,
    "",
    ...steps.flatMap(([when, lines]) => lines.map((line, i) => `  ${(i === 0 ? when : "").padEnd(w)}  ${line}`)),
    "",
    "What needs you:",
    `  - the update must write every vault secret at least a minute (the sync timer's period) before ${at}; if it takes longer, raise rotationMargin first`,
    external.length > 0
      ? `  - external node${external.length === 1 ? "" : "s"} ${external.join(", ")}: install the new wg0.conf at ${at} (pulumi stack output externalConfigs --show-secrets); until then ${external.length === 1 ? "it is" : "they are"} cut off`
      : "  - no external nodes: nothing to install by hand",
    spec.peerStacks.length > 0
      ? `  - peer stacks ${spec.peerStacks.join(", ")}: run pulumi up in each before ${at}; their configs hold this stack's public keys`
      : "  - no peer stacks: no other stack holds these keys",
    "",
    "Check it: pulumi stack output keyRotation gives the moment. After it, sudo wgmesh doctor on any node, or",
    `wgmesh_config_key_epoch == ${next} on every node (monitoring/wgmesh.rules.yml alerts when nodes' key epochs differ).`,
  ];
  return out;
}
