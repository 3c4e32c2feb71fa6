/**
 * wg-mesh's components, the package's public surface (package.json main): the Mesh, and the Hub, Pop
 * and Backend it is made of, each usable on its own. Exported here is what other Pulumi languages
 * get through the component package (PulumiPlugin.yaml); nothing else is.
 */
export { Mesh, type MeshArgs } from "./mesh";
export { Hub, type HubArgs } from "./hub";
export { Pop, type PopArgs } from "./pop";
export { Backend, type BackendArgs } from "./backend";
export type { MeshNodeArgs, WireGuardPeer } from "./node";
export { Cloud, Role, Topology } from "../infra/model";
export type { AwsPlacement, AzurePlacement, ExternalPlacement, GcpPlacement, LinkDeclaration, MeshDeclaration, NodeDeclaration, PlacementDefaults, RegionDeclaration } from "../infra/declaration";
export type { MeshExport } from "../infra/mesh-export";
export type { MeshSummary, NodeReport } from "../infra/mesh-report";
