/**
 * What `wgmesh init` writes in an empty folder: Pulumi.yaml, package.json depending on wg-mesh, the
 * few-line program (one Mesh from the stack's config), and a stack file with a small commented mesh
 * that plans, labs and synthesizes as it is.
 *
 * The stack file is made of sections (STACK_SECTIONS), each the lines of one part of the declaration
 * with its comment; a new setting of the declaration gets a section of its own there.
 */
import type { Cloud } from "../infra/model";
import { siteOfPlacement } from "../infra/latency/regions";

/** Metros where every cloud has a region, with the placement wg-mesh gives a node there on each. */
export interface InitSite {
  city: string;
  /** The address plan groups regions in areas; a region per area here. */
  area: "europe" | "americas" | "apac";
  aws: { region: string };
  gcp: { zone: string };
  azure: { location: string };
}

/**
 * The sites `wgmesh init` offers. Each placement is its metro's region in the shipped catalogue
 * (infra/latency/cloud-regions.json; a test holds them to it), with a zone of that GCP region.
 */
export const INIT_SITES: Readonly<Record<string, InitSite>> = {
  fra: { city: "Frankfurt", area: "europe", aws: { region: "eu-central-1" }, gcp: { zone: "europe-west3-a" }, azure: { location: "germanywestcentral" } },
  lhr: { city: "London", area: "europe", aws: { region: "eu-west-2" }, gcp: { zone: "europe-west2-a" }, azure: { location: "uksouth" } },
  cdg: { city: "Paris", area: "europe", aws: { region: "eu-west-3" }, gcp: { zone: "europe-west9-a" }, azure: { location: "francecentral" } },
  iad: { city: "Ashburn", area: "americas", aws: { region: "us-east-1" }, gcp: { zone: "us-east4-a" }, azure: { location: "eastus" } },
  gru: { city: "São Paulo", area: "americas", aws: { region: "sa-east-1" }, gcp: { zone: "southamerica-east1-a" }, azure: { location: "brazilsouth" } },
  sin: { city: "Singapore", area: "apac", aws: { region: "ap-southeast-1" }, gcp: { zone: "asia-southeast1-a" }, azure: { location: "southeastasia" } },
  nrt: { city: "Tokyo", area: "apac", aws: { region: "ap-northeast-1" }, gcp: { zone: "asia-northeast1-a" }, azure: { location: "japaneast" } },
  hkg: { city: "Hong Kong", area: "apac", aws: { region: "ap-east-1" }, gcp: { zone: "asia-east2-a" }, azure: { location: "eastasia" } },
  syd: { city: "Sydney", area: "apac", aws: { region: "ap-southeast-2" }, gcp: { zone: "australia-southeast1-a" }, azure: { location: "australiaeast" } },
  bom: { city: "Mumbai", area: "apac", aws: { region: "ap-south-1" }, gcp: { zone: "asia-south1-a" }, azure: { location: "westindia" } },
};

export const INIT_CLOUDS = ["aws", "gcp", "azure"] as const satisfies readonly Cloud[];
export type InitCloud = (typeof INIT_CLOUDS)[number];

export interface NewProject {
  /** Pulumi project name (and package.json name). */
  project: string;
  stack: string;
  /** Nodes go to these clouds in turn, site by site. */
  clouds: InitCloud[];
  /** A node per site, named after it. */
  sites: string[];
  /** The site whose node is the hub. */
  hub: string;
  /** The GCP project, when a node is on GCP. */
  gcpProject: string;
  /** The dependency on wg-mesh as package.json gives it (a version range, or a tarball or git spec). */
  wgMesh: string;
  /** Versions the program needs beside wg-mesh: @pulumi/pulumi, and typescript and @types/node for Pulumi's ts-node. */
  versions: { pulumi: string; typescript: string; typesNode: string };
}

export const INIT_DEFAULTS = { stack: "dev", clouds: [...INIT_CLOUDS], sites: ["fra", "iad", "sin"], gcpProject: "my-gcp-project" } as const;

/** The overlay of a new mesh, and its regions' subnets in order (one /24 per area). */
const OVERLAY = "10.60.0.0/16";
const subnet = (i: number): string => `10.60.${i}.0/24`;
const hostIn = (i: number, host: number): string => `10.60.${i}.${host}`;

/** The program: the stack's declaration as one Mesh, and the outputs operators read. The README shows it as it is. */
export function programText(): string {
  return `import * as pulumi from "@pulumi/pulumi";
import { Mesh, type MeshArgs } from "wg-mesh";

// The mesh is declared in the stack's config, wg-mesh:mesh in Pulumi.<stack>.yaml, where wgmesh reads it too.
const deployed = new Mesh("mesh", new pulumi.Config("wg-mesh").requireObject<MeshArgs>("mesh"));

export const nodes = deployed.nodes;
export const summary = deployed.summary;
export const mesh = deployed.meshExport;
export const externalConfigs = deployed.externalConfigs;
export const keyRotation = deployed.keyRotation;
`;
}

function pulumiYaml(p: NewProject): string {
  return `name: ${p.project}
description: A WireGuard mesh declared in Pulumi.<stack>.yaml, planned and proven by wg-mesh
runtime:
  name: nodejs
  options:
    typescript: true
`;
}

function packageJson(p: NewProject): string {
  const pkg = {
    name: p.project.toLowerCase().replace(/[^a-z0-9._-]/g, "-"),
    private: true,
    main: "index.ts",
    dependencies: { "@pulumi/pulumi": p.versions.pulumi, "wg-mesh": p.wgMesh },
    devDependencies: { "@types/node": p.versions.typesNode, typescript: p.versions.typescript },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

interface PlannedNode {
  name: string;
  role: "hub" | "pop" | "backend";
  region: string;
  address: string;
  cloud: InitCloud;
  site: InitSite;
}

/**
 * A node per site, hub first, clouds in turn; a region per area, numbered in the order areas first
 * appear. The second site is a POP: a new mesh asks for resilience, which needs two nodes that route.
 */
function plannedNodes(p: NewProject): { nodes: PlannedNode[]; regions: { name: string; subnet: string }[] } {
  const order = [p.hub, ...p.sites.filter((s) => s !== p.hub)];
  const areas: string[] = [];
  const used = new Map<string, number>();
  const nodes = order.map((name, i): PlannedNode => {
    const site = INIT_SITES[name] as InitSite;
    if (!areas.includes(site.area)) areas.push(site.area);
    const index = areas.indexOf(site.area);
    const host = (used.get(site.area) ?? 0) + 1;
    used.set(site.area, host);
    return { name, role: name === p.hub ? "hub" : i === 1 ? "pop" : "backend", region: site.area, address: hostIn(index, host), cloud: p.clouds[i % p.clouds.length] as InitCloud, site };
  });
  return { nodes, regions: areas.map((name, i) => ({ name, subnet: subnet(i) })) };
}

/** A YAML line with its comment, comments lined up. */
const commented = (text: string, comment: string): string => `${text.padEnd(34)} # ${comment}`;
/** A small map in YAML's flow style: { region: eu-west-1 }. */
const flow = (values: Record<string, string>): string => `{ ${Object.entries(values).map(([k, v]) => `${k}: ${v}`).join(", ")} }`;

/** The parts of the declaration, in the order the stack file has them; a new setting adds its own. */
export const STACK_SECTIONS: readonly ((p: NewProject) => string[])[] = [
  (p) => [
    commented(`    overlay: ${OVERLAY}`, "every overlay address is in here"),
    commented("    topology: auto", "which pairs link: auto (by round trip), hub, regional or full"),
    commented(`    hub: ${p.hub}`, "everyone reaches it; it forwards between the others"),
  ],
  (p) => (p.sites.length >= 2 ? [commented("    resilience: node", "any one node can die: its neighbours reroute by themselves")] : []),
  () => [commented("    adminCidrs: []", "who may SSH to the VMs, e.g. [203.0.113.0/24]; empty: nobody")],
  (p) =>
    p.clouds.includes("gcp")
      ? [commented("    defaults:", "placement values shared by every node of a cloud"), commented(`      gcp: ${flow({ project: p.gcpProject })}`, "the GCP project the nodes go in")]
      : [],
  (p) => [
    commented("    regions:", "the address plan: a subnet per region, regions grouped in areas"),
    ...plannedNodes(p).regions.map((r) => `      ${r.name}: ${flow({ subnet: r.subnet, area: r.name })}`),
  ],
  (p) => [
    commented("    nodes:", "one per VM; its name is part of its cloud resources' names"),
    ...plannedNodes(p).nodes.flatMap((n) => [
      commented(`      ${n.name}:`, n.site.city),
      `        role: ${n.role}`,
      `        region: ${n.region}`,
      `        address: ${n.address}`,
      `        cloud: ${n.cloud}`,
      `        ${n.cloud}: ${flow(n.site[n.cloud])}`,
    ]),
  ],
];

function stackYaml(p: NewProject): string {
  return [
    `# Stack ${p.stack} of ${p.project}: its WireGuard mesh, declared. wg-mesh computes the rest (peers,`,
    "# AllowedIPs, endpoints, forwarding, MTU, keys).",
    `#   npx wgmesh plan --stack ${p.stack}      proves every pair reachable, offline`,
    `#   sudo npx wgmesh lab --stack ${p.stack}  brings it up on real WireGuard on this machine`,
    `#   npx wgmesh add-node NAME --cloud aws --region eu-west-1 --stack ${p.stack}`,
    `#   pulumi up --stack ${p.stack}            deploys it`,
    "config:",
    "  wg-mesh:mesh:",
    ...STACK_SECTIONS.flatMap((section) => section(p)),
    "",
  ].join("\n");
}

/** Every file of the new project, by its name in the folder. */
export function newProjectFiles(p: NewProject): { name: string; text: string }[] {
  return [
    { name: "Pulumi.yaml", text: pulumiYaml(p) },
    { name: "package.json", text: packageJson(p) },
    { name: "index.ts", text: programText() },
    { name: `Pulumi.${p.stack}.yaml`, text: stackYaml(p) },
  ];
}

/** The site an init placement is in, by the catalogue: what the test holds INIT_SITES to. */
export function catalogueSite(cloud: InitCloud, site: InitSite): string | undefined {
  return siteOfPlacement({ cloud, [cloud]: site[cloud] });
}
