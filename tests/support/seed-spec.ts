/** The seed's mesh as a MeshSpec built in code, so engine tests do not depend on the YAML loader. */
import type { MeshSpec, NodeSpec, Role, Cloud } from "../../infra/model";

const node = (name: string, role: Role, region: string, address: string, cloud: Cloud, place: string): NodeSpec => ({
  name,
  role,
  region,
  site: name === "ireland" ? "dub" : name,
  address,
  cloud,
  links: [],
  ...(cloud === "aws" ? { aws: { region: place } } : {}),
  ...(cloud === "gcp" ? { gcp: { project: "edgeproxy-prod", region: place, zone: `${place}-a` } } : {}),
  ...(cloud === "azure" ? { azure: { location: place } } : {}),
});

export function seedSpec(overrides: Partial<MeshSpec> = {}): MeshSpec {
  return {
    overlay: "10.50.0.0/16",
    listenPort: 51820,
    persistentKeepalive: 25,
    mtu: "auto",
    topology: "regional",
    hub: "ireland",
    keyEpoch: 1,
    presharedKeys: false,
    adminCidrs: [],
    peerStacks: [],
    regions: [
      { name: "central", subnet: "10.50.0.0/24", area: "europe" },
      { name: "south-america", subnet: "10.50.1.0/24", area: "americas" },
      { name: "north-america", subnet: "10.50.2.0/24", area: "americas" },
      { name: "europe", subnet: "10.50.3.0/24", area: "europe" },
      { name: "apac", subnet: "10.50.4.0/24", area: "apac" },
      { name: "apac-pop", subnet: "10.50.5.0/24", area: "apac" },
    ],
    nodes: [
      node("ireland", "hub", "central", "10.50.0.1", "aws", "eu-west-1"),
      node("hkg", "pop", "apac-pop", "10.50.5.1", "gcp", "asia-east2"),
      node("gru", "backend", "south-america", "10.50.1.1", "aws", "sa-east-1"),
      node("iad", "backend", "north-america", "10.50.2.1", "aws", "us-east-1"),
      node("ord", "backend", "north-america", "10.50.2.2", "azure", "northcentralus"),
      node("lax", "backend", "north-america", "10.50.2.3", "gcp", "us-west2"),
      node("lhr", "backend", "europe", "10.50.3.1", "azure", "uksouth"),
      node("fra", "backend", "europe", "10.50.3.2", "gcp", "europe-west3"),
      node("cdg", "backend", "europe", "10.50.3.3", "aws", "eu-west-3"),
      node("nrt", "backend", "apac", "10.50.4.1", "aws", "ap-northeast-1"),
      node("sin", "backend", "apac", "10.50.4.2", "gcp", "asia-southeast1"),
      node("syd", "backend", "apac", "10.50.4.3", "azure", "australiaeast"),
    ],
    ...overrides,
  };
}
