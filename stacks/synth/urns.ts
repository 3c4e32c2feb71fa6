/**
 * URNs as the Pulumi engine makes them, and the alias URNs it would match against a stack's old
 * state. The mock monitor names URNs its own way (with the stack's type, and only the parent's own
 * type) and leaves aliases to an engine it does not have; `wgmesh synth` shows what `pulumi preview` would use.
 * The rules follow the engine's step generator: collapseAliasToUrn and inheritedChildAlias.
 */

const STACK_TYPE = "pulumi:pulumi:Stack";

/** An alias as the SDK sends it: a URN, or a spec whose empty fields mean "as the resource". */
export interface AliasSpec {
  urn?: string;
  name?: string;
  type?: string;
  stack?: string;
  project?: string;
  parentUrn?: string;
  noParent?: boolean;
}

export interface UrnParts {
  stack: string;
  project: string;
  /** Parent types and the resource's own, joined by `$`. */
  qualifiedType: string;
  name: string;
}

export function parseUrn(urn: string): UrnParts {
  const m = /^urn:pulumi:([^:]*)::([^:]*)::(.*?)::(.*)$/s.exec(urn);
  if (!m) throw new Error(`not a URN: ${urn}`);
  return { stack: m[1] as string, project: m[2] as string, qualifiedType: m[3] as string, name: m[4] as string };
}

export function typeOf(urn: string): string {
  return parseUrn(urn).qualifiedType.split("$").pop() as string;
}

export function createUrn(name: string, type: string, parentUrn: string | undefined, project: string, stack: string): string {
  const parent = parentUrn && typeOf(parentUrn) !== STACK_TYPE ? `${parseUrn(parentUrn).qualifiedType}$` : "";
  return `urn:pulumi:${stack}::${project}::${parent}${type}::${name}`;
}

export interface AliasedResource {
  urn: string;
  type: string;
  name: string;
  parent?: string;
  aliasSpecs: readonly AliasSpec[];
}

/**
 * Every URN each resource may be matched to in old state: its own aliases, and those its parent's
 * aliases give it (a child named `<parent>-x` follows a renamed parent to `<old name>-x`). The engine
 * uses the one alias that matched; this lists every candidate. `resources` come parents first.
 */
export function aliasUrns(resources: readonly AliasedResource[], project: string, stack: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of resources) {
    const found = new Set<string>();
    const parentAliases = r.parent ? (out.get(r.parent) ?? []) : [];
    const parentName = r.parent ? parseUrn(r.parent).name : "";
    const collapsed = r.aliasSpecs.flatMap((a) => collapse(r, a, parentAliases, project, stack));
    collapsed.forEach((u) => found.add(u));
    for (const parentAlias of parentAliases) {
      found.add(inherited(r.type, r.name, parentName, parentAlias));
      for (const u of collapsed) found.add(inherited(typeOf(u), parseUrn(u).name, parentName, parentAlias));
    }
    found.delete(r.urn);
    out.set(r.urn, [...found]);
  }
  return out;
}

function collapse(r: AliasedResource, a: AliasSpec, parentAliases: readonly string[], project: string, stack: string): string[] {
  if (a.urn) return [a.urn];
  const name = a.name || r.name;
  const type = a.type || r.type;
  const proj = a.project || project;
  const stk = a.stack || stack;
  if (a.noParent) return [createUrn(name, type, undefined, proj, stk)];
  const parent = a.parentUrn || r.parent;
  // The engine swaps in the parent's old URN when the parent itself was found by an alias.
  const parents = parent === r.parent ? [parent, ...parentAliases] : [parent];
  return parents.map((p) => createUrn(name, type, p, proj, stk));
}

function inherited(childType: string, childName: string, parentName: string, parentAlias: string): string {
  const p = parseUrn(parentAlias);
  const name = childName.startsWith(parentName) ? p.name + childName.slice(parentName.length) : childName;
  return `urn:pulumi:${p.stack}::${p.project}::${p.qualifiedType}$${childType}::${name}`;
}
