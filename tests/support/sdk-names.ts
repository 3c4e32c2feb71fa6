/**
 * How Pulumi names the C# SDK it generates from a package schema, as `pulumi package add` does it:
 * a test oracle for the names the schema sets (components/package-schema.ts), from pulumi/pulumi:
 * - pkg/cmd/pulumi/packagecmd (setSpecNamespace): a schema without a namespace, added from a git URL,
 *   takes the URL's owner, lower-cased (git://github.com/acme/wg-mesh -> "acme");
 * - pkg/codegen/dotnet/gen.go: the root namespace is language.csharp.rootNamespace, else the schema's
 *   namespace in Title case, else "Pulumi"; the package's is language.csharp.namespaces[name], else the
 *   name in Title case ("wg-mesh" -> "WgMesh").
 */
export interface SdkNames {
  name: string;
  namespace?: string;
  language?: { csharp?: { rootNamespace?: string; namespaces?: Record<string, string> } } & Record<string, unknown>;
}

export type PackageSource = { kind: "path" } | { kind: "registry" } | { kind: "git"; url: string };

const title = (s: string): string =>
  s
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");

/** The schema's namespace once `pulumi package add` has read it from that source. */
export function addedNamespace(schema: SdkNames, source: PackageSource): string {
  if (schema.namespace) return schema.namespace;
  if (source.kind !== "git") return "";
  const owner = /^(?:https:\/\/|git:\/\/)?[^/]+\/([^/]+)\//.exec(source.url)?.[1];
  return owner ? owner.toLowerCase() : "";
}

/** The C# namespace of the package's classes: `using <this>;`. */
export function csharpNamespace(schema: SdkNames, source: PackageSource): string {
  const namespace = addedNamespace(schema, source);
  const csharp = schema.language?.csharp ?? {};
  const root = csharp.rootNamespace || (namespace ? title(namespace) : "Pulumi");
  return `${root}.${csharp.namespaces?.[schema.name] ?? title(schema.name)}`;
}
