/**
 * One explicit AWS provider per region, shared by a mesh's nodes there, so the ambient aws:region
 * never decides where a node lands. Named after the mesh; each keeps its pre-Mesh URN as an alias
 * (a provider at the stack's root named aws-<region>), so stacks made before upgrade in place.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export class AwsProviders {
  private readonly byRegion = new Map<string, aws.Provider>();

  /** Made up front, in declaration order, so they read as one group. */
  constructor(
    private readonly prefix: string,
    private readonly parent: pulumi.Resource,
    regions: readonly string[],
  ) {
    for (const region of regions) this.forRegion(region);
  }

  forRegion(region: string): aws.Provider {
    let provider = this.byRegion.get(region);
    if (!provider) {
      provider = new aws.Provider(`${this.prefix}-aws-${region}`, { region }, { parent: this.parent, aliases: [{ name: `aws-${region}`, parent: pulumi.rootStackResource }] });
      this.byRegion.set(region, provider);
    }
    return provider;
  }
}
