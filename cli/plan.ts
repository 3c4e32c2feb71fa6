/** `wgmesh plan`: validate, plan, render with throw-away keys, simulate, and show it all. */
import type { Command } from "commander";
import type { MeshPlan } from "../infra/model";
import { summaryLine, type SimulationReport } from "../infra/simulate";
import { simulatePlan } from "../infra/simulate/plan";
import { placementOf } from "../infra/render/wgquick";
import { explainRotation } from "../infra/rotation";
import { UserError } from "../infra/errors";
import { action } from "./errors";
import { checkPictureTargets, diagramSvg, mapSvg, mermaidBlock, writePicture } from "../workspace/pictures";
import { loadStack } from "../workspace/project";

export function planToJson(stack: string, plan: MeshPlan, report: SimulationReport): unknown {
  return {
    stack,
    topology: plan.spec.topology,
    mtu: plan.mtu,
    mtuReason: plan.mtuReason,
    links: plan.links,
    skippedLinks: plan.skippedLinks,
    nodes: plan.nodes.map((n) => ({
      name: n.name,
      role: n.role,
      cloud: n.cloud,
      region: n.region,
      area: n.area,
      address: n.interfaceAddress,
      forwarding: n.forwarding,
      peers: n.peers.map((p) => ({ name: p.name, allowedIps: p.allowedIps, endpoint: p.dialsPeer })),
    })),
    pairs: report.pairs.map((p) => ({
      from: p.from,
      to: p.to,
      reachable: p.reachable,
      path: p.path,
      returnPath: p.returnPath,
      ...(p.failure ? { failure: p.failure } : {}),
    })),
    reachable: report.reachable,
    total: report.total,
  };
}

export function formatPlan(stack: string, plan: MeshPlan, report: SimulationReport): string {
  const out: string[] = [];
  out.push(`Stack ${stack}: ${plan.nodes.length} nodes, topology ${plan.spec.topology}, ${plan.links.length} links, MTU ${plan.mtu} (${plan.mtuReason})`);
  out.push("", "Nodes");
  const w = Math.max(...plan.nodes.map((n) => n.name.length));
  for (const n of plan.nodes) {
    const where = placementOf(plan, n.name);
    out.push(`  ${n.name.padEnd(w)}  ${n.role.padEnd(7)}  ${`${n.cloud} ${where}`.padEnd(26)}  ${n.interfaceAddress.padEnd(18)}  ${n.forwarding ? "forwards" : ""}`.trimEnd());
  }
  out.push("", "Peers");
  for (const n of plan.nodes) {
    out.push(`  ${n.name}`);
    for (const p of n.peers) {
      out.push(`    ${p.name.padEnd(w)}  AllowedIPs = ${p.allowedIps.join(", ")}${p.dialsPeer ? "" : "   (no Endpoint: it dials in)"}`);
    }
  }
  if (plan.skippedLinks.length > 0) {
    out.push("", "Links not made");
    for (const s of plan.skippedLinks) out.push(`  ${s.a} -- ${s.b}: ${s.reason}`);
  }
  out.push("", "Paths");
  for (const p of report.pairs) {
    if (p.reachable) out.push(`  ${p.from} -> ${p.to}: ${p.path.join(" -> ")}${p.path.length === 2 ? " (direct)" : ""}`);
    else out.push(`  ${p.from} -> ${p.to}: UNREACHABLE: ${p.failure ? `${p.failure.direction === "reply" ? "reply " : ""}dropped at ${p.failure.at}: ${p.failure.reason}` : "?"}`);
  }
  out.push("", summaryLine(report));
  return out.join("\n");
}

export function registerPlanCommand(program: Command): void {
  program
    .command("plan")
    .description("validate Pulumi.<stack>.yaml, plan the mesh and prove every ordered pair reachable in the simulator")
    .requiredOption("--stack <name>", "stack whose Pulumi.<name>.yaml to plan")
    .option("--json", "print one JSON document instead of text")
    .option("--diagram <file.svg>", "also draw the mesh with Graphviz: nodes by area and region, links with their round trips")
    .option("--map <file.svg>", "also draw the mesh on a world map: nodes at their sites, links as arcs coloured by round trip")
    .option("--mermaid", "print the mesh as a Mermaid flowchart (a ```mermaid block for a pull-request comment) instead of the plan")
    .option("--rotation", "explain what bumping keyEpoch will do, step by step and when, instead of the plan")
    .action(
      action((opts: { stack: string; json?: boolean; diagram?: string; map?: string; mermaid?: boolean; rotation?: boolean }) => {
        if (opts.mermaid && opts.json) throw new UserError("--mermaid and --json both choose what is printed; use one");
        if (opts.rotation && (opts.mermaid || opts.json)) throw new UserError("--rotation chooses what is printed, as --mermaid and --json do; use one");
        const targets = checkPictureTargets({ diagram: opts.diagram, map: opts.map });
        const { plan } = loadStack(opts.stack);
        const report = simulatePlan(plan);
        // Everything is drawn before anything is written, so a failure leaves no picture half-made.
        const pictures = targets.map((t) => ({ ...t, svg: t.kind === "diagram" ? diagramSvg(opts.stack, plan) : mapSvg(opts.stack, plan) }));
        for (const p of pictures) process.stderr.write(`${p.kind}: ${p.file} (${writePicture(p.file, p.svg)})\n`);
        if (opts.rotation) process.stdout.write(`${explainRotation(opts.stack, plan).join("\n")}\n`);
        else if (opts.mermaid) process.stdout.write(mermaidBlock(opts.stack, plan));
        else if (opts.json) process.stdout.write(`${JSON.stringify(planToJson(opts.stack, plan, report), null, 2)}\n`);
        else process.stdout.write(`${formatPlan(opts.stack, plan, report)}\n`);
        return report.reachable === report.total ? 0 : 1;
      }),
    );
}
