/** One explicit AWS provider per region, shared by the nodes there, so ambient aws:region never decides where a node lands. */
import * as aws from "@pulumi/aws";

export class AwsProviders {
  private readonly byRegion = new Map<string, aws.Provider>();

  /** Made up front, in declaration order, so they read as one group. */
  constructor(regions: readonly string[]) {
    for (const region of regions) this.forRegion(region);
  }

  forRegion(region: string): aws.Provider {
    let provider = this.byRegion.get(region);
    if (!provider) {
      provider = new aws.Provider(`aws-${region}`, { region });
      this.byRegion.set(region, provider);
    }
    return provider;
  }
}
