/** The site a cloud node is in, from its region, zone or location (cloud-regions.json). */
import { CLOUD_REGION_SITES } from "./data";

export interface PlacedNode {
  cloud: string;
  aws?: { region: string };
  gcp?: { region?: string; zone: string };
  azure?: { location: string };
}

/** undefined for external nodes and regions wg-mesh does not know. */
export function siteOfPlacement(node: PlacedNode): string | undefined {
  switch (node.cloud) {
    case "aws":
      return node.aws ? CLOUD_REGION_SITES.aws.get(node.aws.region) : undefined;
    case "gcp": {
      const region = node.gcp?.region || node.gcp?.zone.replace(/-[a-z]$/, "");
      return region ? CLOUD_REGION_SITES.gcp.get(region) : undefined;
    }
    case "azure":
      return node.azure ? CLOUD_REGION_SITES.azure.get(node.azure.location) : undefined;
    default:
      return undefined;
  }
}
