/**
 * A node wg-mesh does not run: no cloud resources, no vault. The operator installs its
 * wg0.conf by hand from the stack's secret `externalConfigs` output.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseIPv4 } from "../../infra/cidr";
import { endpointHost } from "../../infra/firewall";
import type { ExternalPlacement } from "../../infra/model";

export interface ExternalHostOutputs {
  /** The declared endpoint when it is an address; undefined behind NAT or for a DNS name. */
  publicIp: pulumi.Output<string | undefined>;
  /** Where peers dial it; undefined behind NAT. */
  endpointHost: string | undefined;
  sshHint: pulumi.Output<string>;
}

export function externalHost(nodeName: string, placement: ExternalPlacement | undefined): ExternalHostOutputs {
  const host = placement?.endpoint ? endpointHost(placement.endpoint) : undefined;
  return {
    publicIp: pulumi.output(host !== undefined && parseIPv4(host) !== undefined ? host : undefined),
    endpointHost: host,
    sshHint: pulumi.output(`not run by wg-mesh: install externalConfigs.${nodeName} as /etc/wireguard/wg0.conf there (pulumi stack output externalConfigs --show-secrets)`),
  };
}
