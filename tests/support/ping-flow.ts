/**
 * A continuous ping (every 10 ms unless told) between two lab nodes, for "no packet lost while the mesh
 * changes" tests. Loss is counted against what ping says it sent, so a flow that dies for good
 * during the change is a loss too, not just a gap between replies.
 */
import { spawn } from "node:child_process";

export interface PingFlow {
  /** icmp_seq of every reply, in arrival order. */
  replies: number[];
  /** Echo requests ping says it sent. */
  transmitted: number;
}

/** Requests this close to the end may still be in flight when ping is stopped. */
const IN_FLIGHT_GRACE = 3;

/** `intervalSeconds`: between requests, default 0.01 (a flow per pair of a whole mesh wants fewer). */
export function continuousPing(namespace: string, address: string, intervalSeconds = 0.01): { stop: () => Promise<PingFlow> } {
  const child = spawn("ip", ["netns", "exec", namespace, "ping", "-n", "-i", String(intervalSeconds), "-W", "1", address], { stdio: ["ignore", "pipe", "ignore"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  return {
    stop: async () => {
      child.kill("SIGINT");
      await exited;
      const replies = [...out.matchAll(/icmp_seq=(\d+) /g)].map((m) => Number(m[1]));
      const transmitted = Number(/(\d+) packets transmitted/.exec(out)?.[1] ?? Math.max(0, ...replies));
      return { replies, transmitted };
    },
  };
}

/** Sequence numbers sent but never answered, in-flight tail excepted. */
export function lostPackets(flow: PingFlow): number[] {
  const got = new Set(flow.replies);
  const last = Math.max(0, flow.transmitted - IN_FLIGHT_GRACE);
  return Array.from({ length: last }, (_, i) => i + 1).filter((s) => !got.has(s));
}
