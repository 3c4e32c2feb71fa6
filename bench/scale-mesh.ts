/** A large synthetic mesh: one hub, POPs and backends spread over areas and /22 regions. */
import { formatIPv4, parseIPv4 } from "../infra/cidr";
import type { MeshSpec, NodeSpec, RegionSpec, TopologyMode } from "../infra/model";

export function scaleMesh(nodes: number, topology: TopologyMode, pops = Math.max(1, Math.round(nodes / 50))): MeshSpec {
  const areas = ["europe", "americas", "apac"];
  const regionCount = Math.max(3, Math.ceil(nodes / 200));
  const regions: RegionSpec[] = Array.from({ length: regionCount }, (_, i) => ({
    name: `r${i}`,
    subnet: `10.${60 + Math.floor(i / 64)}.${(i % 64) * 4}.0/22`,
    area: areas[i % areas.length] as string,
  }));
  const list: NodeSpec[] = [];
  for (let i = 0; i < nodes; i++) {
    const region = regions[i % regionCount] as RegionSpec;
    const base = parseIPv4(region.subnet.split("/")[0] as string) as number;
    list.push({
      name: `n${i}`,
      role: i === 0 ? "hub" : i <= pops ? "pop" : "backend",
      region: region.name,
      site: `s${i}`,
      address: formatIPv4(base + 1 + Math.floor(i / regionCount)),
      cloud: "aws",
      aws: { region: "eu-west-1" },
      links: [],
    });
  }
  return {
    overlay: "10.0.0.0/8",
    listenPort: 51820,
    persistentKeepalive: 25,
    mtu: "auto",
    topology,
    hub: "n0",
    keyEpoch: 1,
    presharedKeys: false,
    adminCidrs: [],
    peerStacks: [],
    regions,
    nodes: list,
  };
}
