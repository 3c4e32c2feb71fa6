/**
 * wg-mesh's own Pulumi type tokens, in one place: the components register under them, and the
 * policy pack finds a resource's node and host by them. Plain data, so the pack imports it without
 * loading the components.
 */
import type { Cloud, Role } from "../infra/model";

export const MESH_TYPE = "wg-mesh:index:Mesh";

/** A node's component, by its role. */
export const NODE_TYPES: Readonly<Record<Role, string>> = { hub: "wg-mesh:index:Hub", pop: "wg-mesh:index:Pop", backend: "wg-mesh:index:Backend" };

/** The host beneath a cloud node's component. */
export const HOST_TYPES: Readonly<Record<Exclude<Cloud, "external">, string>> = { aws: "wg-mesh:aws:Host", gcp: "wg-mesh:gcp:Host", azure: "wg-mesh:azure:Host" };
