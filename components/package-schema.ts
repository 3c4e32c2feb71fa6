/**
 * The component package's schema as it ships: what Pulumi's analyzer infers from the components'
 * TypeScript types and doc comments (provider.ts), plus the names every Pulumi language's SDK takes.
 *
 * The namespace is named, not left out. `pulumi package add` of a git URL sets a schema without one
 * to the URL's owner (github.com/acme/wg-mesh: "acme"), which renames the SDKs (C# Acme.WgMesh,
 * @acme/wg-mesh), while a local path or the registry leave the default. With it named, the C# SDK is
 * Pulumi.WgMesh however the package is added.
 */
import { ROLES } from "../infra/model";
import { PACKAGE_NAME } from "./package-name";
import { NODE_CLASS, ROLE_DESCRIPTIONS } from "./roles";
import { NODE_TYPES } from "./type-tokens";

/** Pulumi's documented default namespace, so that every way of adding the package gives the names a path gives. */
export const PACKAGE_NAMESPACE = "pulumi";
/** The C# SDK's namespace: `using Pulumi.WgMesh;`. */
export const CSHARP_ROOT_NAMESPACE = "Pulumi";
export const CSHARP_NAMESPACE = "WgMesh";

export interface PackageSchema {
  name: string;
  version: string;
  namespace?: string;
  language?: Record<string, Record<string, unknown>>;
  resources: Record<string, { properties: Record<string, unknown> } & Record<string, unknown>>;
  types: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * The inferred schema with a component per role where the analyzer saw the one node class (each with
 * its role's description), and the package's namespace and the C# SDK's names set explicitly.
 */
export function publishedSchema(inferred: PackageSchema): PackageSchema {
  if (inferred.name !== PACKAGE_NAME) throw new Error(`the analyzer named the package ${JSON.stringify(inferred.name)}, not ${PACKAGE_NAME}`);
  const nodeToken = `${PACKAGE_NAME}:index:${NODE_CLASS}`;
  const { [nodeToken]: node, ...others } = inferred.resources;
  if (!node) throw new Error(`the analyzer found no ${NODE_CLASS}`);
  const resources = { ...others, ...Object.fromEntries(ROLES.map((role) => [NODE_TYPES[role], { ...node, description: ROLE_DESCRIPTIONS[role] }])) };
  const language = inferred.language ?? {};
  return {
    ...inferred,
    resources,
    namespace: PACKAGE_NAMESPACE,
    language: {
      ...language,
      csharp: { ...language.csharp, rootNamespace: CSHARP_ROOT_NAMESPACE, namespaces: { [PACKAGE_NAME]: CSHARP_NAMESPACE } },
    },
  };
}
