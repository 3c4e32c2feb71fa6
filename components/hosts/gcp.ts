/**
 * A node on Compute Engine: static address, firewall rules aimed at the node's own service
 * account, the instance, and the two Secret Manager secrets (its config and its node agent) only
 * that service account may read.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { HOST_TYPES } from "../type-tokens";
import { gcpServiceAccountId } from "../../infra/vault";
import { enableGcpApis } from "../gcp-apis";
import { cloudName } from "../names";
import { gcpImage, gcpImageProblem, gcpMachineType } from "../../infra/host-defaults";
import { MeshRunError } from "../errors";
import { agentPartName } from "../../infra/render/agent-parts";
import { sshHint } from "./ssh";
import type { GcpHostArgs, HostOutputs } from "./types";

/** Below our allow rules, above the allow rules a project's `default` network is born with (65534). */
const DENY_PRIORITY = 65000;
const ALLOW_PRIORITY = 1000;

export class GcpHost extends pulumi.ComponentResource implements HostOutputs {
  readonly publicIp: pulumi.Output<string>;
  readonly vaultSecretRef: pulumi.Output<string>;
  readonly sshHint: pulumi.Output<string>;
  readonly instanceId: pulumi.Output<string>;
  readonly bootstrapCheck: pulumi.Output<string>;

  constructor(name: string, args: GcpHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super(HOST_TYPES.gcp, name, {}, opts);
    const place = args.placement;
    const { project } = place;
    // A Hub, Pop or Backend made on its own gets the Mesh's refusal too.
    const imageProblem = place.image === undefined ? undefined : gcpImageProblem(place.image);
    if (imageProblem) throw new MeshRunError(`${args.nodeName}: gcp.image: ${imageProblem}`);
    // Every resource here waits for the project's APIs: enabled here, or by whoever made this host (the
    // Mesh, once per project) and handed them over as dependsOn.
    const apis = args.enableApis ? enableGcpApis(name, project, { parent: this }) : [];
    const child: pulumi.CustomResourceOptions = { parent: this, dependsOn: apis.length > 0 ? apis : opts?.dependsOn };
    const named = (type: string, resourceName: string): [Record<string, string>, pulumi.CustomResourceOptions] => {
      const n = cloudName(type, resourceName);
      return [n.args, { ...child, ...n.opts }];
    };
    const labels = gcpLabels(args.tags);

    const account = new gcp.serviceaccount.Account(
      `${name}-sa`,
      {
        project,
        accountId: gcpServiceAccountId({ project: args.project, stack: args.stack, node: args.nodeName }),
        displayName: `wg-mesh ${args.nodeName}`,
        description: `wg-mesh node ${args.nodeName} (stack ${args.stack}): reads its wg0.conf, nothing else`,
      },
      child,
    );
    const [addressName, addressOpts] = named("gcp:compute/address:Address", `${name}-ip`);
    const address = new gcp.compute.Address(`${name}-ip`, { ...addressName, project, region: place.region, addressType: "EXTERNAL", networkTier: "PREMIUM", labels }, addressOpts);

    // The id is fixed (cloud-init names it), so a replacement must delete first.
    const secret = new gcp.secretmanager.Secret(
      `${name}-wg0`,
      { project, secretId: args.vault.secretId, replication: { auto: {} }, labels },
      { ...child, deleteBeforeReplace: true },
    );
    // The agent first: a node that reads a config naming a new agent finds that agent already there.
    // One secret per part (infra/render/agent-parts.ts); part 1 is the agent secret as it always was.
    const agentSecrets = args.agent.map((value, i) => {
      const part = i + 1;
      const agentSecret = new gcp.secretmanager.Secret(
        agentPartName(`${name}-agent`, part),
        { project, secretId: agentPartName(args.vault.agentSecretId, part), replication: { auto: {} }, labels },
        { ...child, deleteBeforeReplace: true },
      );
      const version = new gcp.secretmanager.SecretVersion(agentPartName(`${name}-agent`, part), { secret: agentSecret.id, secretData: value }, child);
      return { secret: agentSecret, version, suffix: agentPartName("agent", part) };
    });
    new gcp.secretmanager.SecretVersion(
      `${name}-wg0`,
      { secret: secret.id, secretData: args.config },
      { ...child, dependsOn: [...((child.dependsOn as pulumi.Resource[] | undefined) ?? []), ...agentSecrets.map((a) => a.version)] },
    );
    for (const [suffix, s] of [["wg0", secret] as const, ...agentSecrets.map((a) => [a.suffix, a.secret] as const)]) {
      new gcp.secretmanager.SecretIamMember(
        `${name}-read-${suffix}`,
        { project, secretId: s.secretId, role: "roles/secretmanager.secretAccessor", member: pulumi.interpolate`serviceAccount:${account.email}` },
        child,
      );
    }

    const network = place.network ?? (place.subnetwork ? subnetworkNetwork(place.subnetwork, project, place.region, { parent: this }) : "default");
    const target = { project, network, direction: "INGRESS", targetServiceAccounts: [account.email] };
    const sources = pulumi.output(args.wireguardSources);
    const [wireguardName, wireguardOpts] = named("gcp:compute/firewall:Firewall", `${name}-wireguard`);
    new gcp.compute.Firewall(
      `${name}-wireguard`,
      {
        ...wireguardName,
        ...target,
        description: `wg-mesh ${args.nodeName}: WireGuard from its peers`,
        priority: ALLOW_PRIORITY,
        allows: [{ protocol: "udp", ports: [String(args.listenPort)] }],
        // A rule without sources admits everyone, so a node with no peer keeps the rule off
        // and aimed at an address that sends nothing.
        sourceRanges: sources.apply((s) => (s.length > 0 ? s : ["0.0.0.0/32"])),
        disabled: sources.apply((s) => s.length === 0),
      },
      wireguardOpts,
    );
    if (args.adminCidrs.length > 0) {
      const [sshName, sshOpts] = named("gcp:compute/firewall:Firewall", `${name}-ssh`);
      new gcp.compute.Firewall(
        `${name}-ssh`,
        { ...sshName, ...target, description: `wg-mesh ${args.nodeName}: SSH from admins`, priority: ALLOW_PRIORITY, allows: [{ protocol: "tcp", ports: ["22"] }], sourceRanges: args.adminCidrs },
        sshOpts,
      );
    }
    const [denyName, denyOpts] = named("gcp:compute/firewall:Firewall", `${name}-deny`);
    new gcp.compute.Firewall(
      `${name}-deny`,
      { ...denyName, ...target, description: `wg-mesh ${args.nodeName}: nothing else, whatever the network allows`, priority: DENY_PRIORITY, denies: [{ protocol: "all" }], sourceRanges: ["0.0.0.0/0"] },
      denyOpts,
    );

    const machineType = gcpMachineType(args.role, place.machineType);
    const [vmName, vmOpts] = named("gcp:compute/instance:Instance", `${name}-vm`);
    const instance = new gcp.compute.Instance(
      `${name}-vm`,
      {
        ...vmName,
        project,
        zone: place.zone,
        machineType,
        // Persistent disks are always encrypted at rest (Google-managed keys).
        bootDisk: { autoDelete: true, initializeParams: { image: gcpImage(machineType, place.image), size: 10, type: "pd-balanced" } },
        networkInterfaces: [{ network, subnetwork: place.subnetwork, accessConfigs: [{ natIp: address.address, networkTier: "PREMIUM" }] }],
        // Without the cloud-platform scope the token the sync script gets is refused by Secret Manager, whatever IAM says.
        serviceAccount: { email: account.email, scopes: ["cloud-platform"] },
        // Metadata updates in place; OS Login makes SSH a matter of IAM, not of keys in metadata.
        metadata: { "user-data": args.userData, "enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE" },
        shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
        allowStoppingForUpdate: true,
        labels,
      },
      // A running VM has no use for new user data (cloud-init runs it once per instance); a new VM gets it.
      { ...vmOpts, ignoreChanges: ['metadata["user-data"]'] },
    );

    this.publicIp = address.address;
    this.instanceId = instance.name;
    this.bootstrapCheck = pulumi.interpolate`gcloud compute instances get-serial-port-output ${instance.name} --zone ${place.zone} --project ${project} | grep -E 'Cloud-init|wgmesh-sync'`;
    this.vaultSecretRef = secret.id;
    this.sshHint = sshHint(args.adminCidrs, pulumi.interpolate`gcloud compute ssh ${instance.name} --zone ${place.zone} --project ${project}`);
    this.registerOutputs({ publicIp: this.publicIp, vaultSecretRef: this.vaultSecretRef, instanceId: this.instanceId, bootstrapCheck: this.bootstrapCheck });
  }
}

function subnetworkNetwork(subnetwork: string, project: string, region: string, opts: pulumi.InvokeOutputOptions): pulumi.Output<string> {
  const ref = subnetwork.includes("/") ? { selfLink: subnetwork } : { name: subnetwork, project, region };
  return gcp.compute.getSubnetworkOutput(ref, opts).apply((s) => s.network);
}

/** Labels: lower-case keys and values of [a-z0-9_-], at most 63 characters. */
export function gcpLabels(tags: Record<string, string>): Record<string, string> {
  const clean = (s: string): string => s.toLowerCase().replace(/[^a-z0-9_-]/g, "-").slice(0, 63);
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [clean(k), clean(v)]));
}
