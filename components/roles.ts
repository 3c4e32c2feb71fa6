/**
 * The roles a node component plays, as data: the name each has in the package (its type token's
 * last part) and what it is, which the package schema gives as its description. One class makes
 * them all (mesh-node.ts).
 */
import type { Role } from "../infra/model";
import { PACKAGE_NAME } from "./package-name";

export const ROLE_COMPONENTS: Readonly<Record<Role, { name: string; description: string }>> = {
  hub: { name: "Hub", description: "The hub: every node links to it, it forwards between them, and everyone dials its fixed endpoint." },
  pop: { name: "Pop", description: "An edge POP: backends of its area link to it directly, so it forwards and needs a fixed endpoint." },
  backend: {
    name: "Backend",
    description: "A backend: a leaf of the mesh. It may sit behind NAT (an external node without endpoint), in which case it dials out and PersistentKeepalive holds its NAT mapping open.",
  },
};

/** The type token a node of this role registers (wg-mesh:index:Hub). */
export function roleType(role: Role): string {
  return `${PACKAGE_NAME}:index:${ROLE_COMPONENTS[role].name}`;
}

/** The class Pulumi's analyzer reads for every role; the schema names it once per role. */
export const NODE_CLASS = "MeshNode";
