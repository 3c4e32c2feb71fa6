/**
 * wg-mesh's components, the package's public surface (package.json exports): the Mesh, and the Hub,
 * Pop and Backend it is made of (one class, MeshNode, in three roles), each usable on its own. Exported here is what other Pulumi languages
 * get through the component package (PulumiPlugin.yaml); nothing else is.
 */
export { Mesh, type MeshArgs } from "./mesh";
export { Hub, Pop, Backend, MeshNode, type HubArgs, type PopArgs, type BackendArgs } from "./mesh-node";
export type { MeshNodeArgs, WireGuardPeer } from "./node";
export { Cloud, Role, Topology } from "../infra/model";
export type { AwsPlacement, AzurePlacement, ExternalPlacement, GcpPlacement, LinkDeclaration, MeshDeclaration, NodeDeclaration, PlacementDefaults, RegionDeclaration } from "../infra/declaration";
export type { MeshExport } from "../infra/mesh-export";
export type { MeshSummary, NodeReport } from "../infra/mesh-report";
