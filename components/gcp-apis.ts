/**
 * The Google APIs a node's resources need. A new project has them off, and its first `pulumi up` would
 * fail with SERVICE_DISABLED. Enabling is idempotent and they stay on at destroy: other stacks in the
 * project (another wg-mesh stack, anything else) may use them, and turning an API off under them would
 * break those, so destroying a stack never disables one.
 */
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";

/** Service accounts (iam), addresses, firewalls and VMs (compute), the node's secret (secretmanager). */
export const GCP_APIS = ["compute", "iam", "secretmanager"] as const;

/** One Service per API for `project`, named `<prefix>-<api>-api`. */
export function enableGcpApis(prefix: string, project: string, opts: pulumi.CustomResourceOptions): gcp.projects.Service[] {
  return GCP_APIS.map(
    (api) => new gcp.projects.Service(`${prefix}-${api}-api`, { project, service: `${api}.googleapis.com`, disableOnDestroy: false, disableDependentServices: false }, opts),
  );
}
