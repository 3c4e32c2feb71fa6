/**
 * Cloud names for resources the provider would otherwise name itself. Pulumi names them after the
 * resource (`<mesh>-<node>-sg` plus random hex); where that name is one the cloud takes, the program
 * sends none, so stacks deployed before keep their resources as they are. Where it is not (a security
 * group name starting with sg-, a long or upper-case Mesh name on GCP, an Azure VM name over 64
 * characters), the resource gets a clean name instead: a name prefix where the provider takes one, else
 * a fixed name, which a replacement must free before it can be used again.
 */
import type * as pulumi from "@pulumi/pulumi";
import { autonameWorks, cleanName, ruleFor } from "../infra/cloud-names";

export interface CloudName {
  /** Name inputs to spread into the resource's args: empty when the provider's own name works. */
  args: Record<string, string>;
  /** Options the name needs: delete-first replacement for a fixed name. */
  opts: pulumi.CustomResourceOptions;
}

export function cloudName(type: string, resourceName: string): CloudName {
  const rule = ruleFor(type);
  if (autonameWorks(rule, resourceName)) return { args: {}, opts: {} };
  if (rule.prefixField) return { args: { [rule.prefixField]: cleanName(rule, resourceName, rule.prefixSuffixLength) }, opts: {} };
  return { args: { [rule.field]: cleanName(rule, resourceName) }, opts: { deleteBeforeReplace: true } };
}
