/**
 * The roles a node component plays, as data: what each is (the package schema's description of its
 * component). Each role's type token is in type-tokens.ts; one class makes them all (mesh-node.ts).
 */
import type { Role } from "../infra/model";

export const ROLE_DESCRIPTIONS: Readonly<Record<Role, string>> = {
  hub: "The hub: every node links to it, it forwards between them, and everyone dials its fixed endpoint.",
  pop: "An edge POP: backends of its area link to it directly, so it forwards and needs a fixed endpoint.",
  backend: "A backend: a leaf of the mesh. It may sit behind NAT (an external node without endpoint), in which case it dials out and PersistentKeepalive holds its NAT mapping open.",
};

/** The class Pulumi's analyzer reads for every role; the schema names it once per role. */
export const NODE_CLASS = "MeshNode";
