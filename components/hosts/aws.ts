/**
 * A node on EC2: Elastic IP, security group, instance, and the two Secrets Manager secrets its
 * config and its node agent live in, readable by this instance's role and nothing else.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { HOST_TYPES } from "../type-tokens";
import { MeshRunError } from "../errors";
import { cloudName } from "../names";
import { awsArchitecture, awsCreditSpecification, awsInstanceType, SSH_USER, UBUNTU_OWNER, ubuntuAmiNamePattern } from "../../infra/host-defaults";
import { agentPartName } from "../../infra/render/agent-parts";
import { sshHint } from "./ssh";
import type { AwsHostArgs, HostOutputs } from "./types";

const EC2_TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

export class AwsHost extends pulumi.ComponentResource implements HostOutputs {
  readonly publicIp: pulumi.Output<string>;
  readonly vaultSecretRef: pulumi.Output<string>;
  readonly sshHint: pulumi.Output<string>;
  readonly instanceId: pulumi.Output<string>;
  readonly bootstrapCheck: pulumi.Output<string>;

  constructor(name: string, args: AwsHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super(HOST_TYPES.aws, name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const tags = { ...args.tags, Name: `wg-mesh ${args.nodeName}` };
    const place = args.placement;

    // The address exists before, and apart from, the instance: peers' firewalls and configs
    // need it, and the instance must not wait on peers.
    const eip = new aws.ec2.Eip(`${name}-ip`, { domain: "vpc", tags }, child);

    // The name is fixed (cloud-init names it), so a replacement must go first, and without a
    // recovery window: the secret holds nothing that the stack cannot write again.
    const secret = new aws.secretsmanager.Secret(
      `${name}-wg0`,
      { name: args.vault.secretName, description: `wg0.conf of wg-mesh node ${args.nodeName}`, recoveryWindowInDays: 0, tags },
      { ...child, deleteBeforeReplace: true },
    );
    // The agent first: a node that reads a config naming a new agent finds that agent already there.
    // One secret per part (infra/render/agent-parts.ts); part 1 is the agent secret as it always was.
    const agentSecrets = args.agent.map((value, i) => {
      const part = i + 1;
      const secretName = agentPartName(`${name}-agent`, part);
      const agentSecret = new aws.secretsmanager.Secret(
        secretName,
        {
          name: agentPartName(args.vault.agentSecretName, part),
          description: `node agent of wg-mesh node ${args.nodeName}${part > 1 ? `, part ${part}` : ""}`,
          recoveryWindowInDays: 0,
          tags,
        },
        { ...child, deleteBeforeReplace: true },
      );
      const version = new aws.secretsmanager.SecretVersion(secretName, { secretId: agentSecret.id, secretString: value }, child);
      return { secret: agentSecret, version };
    });
    new aws.secretsmanager.SecretVersion(`${name}-wg0`, { secretId: secret.id, secretString: args.config }, { ...child, dependsOn: agentSecrets.map((a) => a.version) });

    const roleName = cloudName("aws:iam/role:Role", `${name}-role`);
    const role = new aws.iam.Role(`${name}-role`, { ...roleName.args, assumeRolePolicy: EC2_TRUST, description: `wg-mesh node ${args.nodeName}: reads its wg0.conf`, tags }, { ...child, ...roleName.opts });
    // The role itself stays as it was (a changed description would update it); its policy names the config and every agent part.
    const policyName = cloudName("aws:iam/rolePolicy:RolePolicy", `${name}-read-wg0`);
    new aws.iam.RolePolicy(
      `${name}-read-wg0`,
      {
        ...policyName.args,
        role: role.id,
        policy: pulumi
          .all([secret.arn, ...agentSecrets.map((a) => a.secret.arn)])
          .apply((arns) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: arns }] })),
      },
      { ...child, ...policyName.opts },
    );
    const profileName = cloudName("aws:iam/instanceProfile:InstanceProfile", `${name}-profile`);
    const profile = new aws.iam.InstanceProfile(`${name}-profile`, { ...profileName.args, role: role.name, tags }, { ...child, ...profileName.opts });

    const network = this.network(args, child);
    const sources = pulumi.output(args.wireguardSources);
    // Named by the provider after the resource, unless that name would start with sg- or run too long.
    const sgName = cloudName("aws:ec2/securityGroup:SecurityGroup", `${name}-sg`);
    const sg = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        ...sgName.args,
        description: `wg-mesh node ${args.nodeName}: WireGuard from its peers, SSH from admins`,
        vpcId: network.vpcId,
        ingress: sources.apply((cidrs) => [
          ...(cidrs.length > 0 ? [{ description: "WireGuard", protocol: "udp", fromPort: args.listenPort, toPort: args.listenPort, cidrBlocks: cidrs }] : []),
          ...(args.adminCidrs.length > 0 ? [{ description: "SSH", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: args.adminCidrs }] : []),
        ]),
        // The provider drops AWS's default allow-all egress; the node needs it for apt, the vault and its peers.
        egress: [{ description: "all", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
        tags,
      },
      { ...child, ...sgName.opts },
    );

    const instanceType = awsInstanceType(args.role, place.instanceType);
    const ami =
      place.ami ??
      aws.ec2
        .getAmiOutput(
          {
            owners: [UBUNTU_OWNER],
            mostRecent: true,
            filters: [
              { name: "name", values: [ubuntuAmiNamePattern(awsArchitecture(instanceType))] },
              { name: "virtualization-type", values: ["hvm"] },
            ],
          },
          child,
        )
        .apply((image) => image.id);
    const instance = new aws.ec2.Instance(
      `${name}-vm`,
      {
        ami,
        instanceType,
        // Never unlimited CPU credits by surprise (see awsCreditSpecification).
        ...(awsCreditSpecification(instanceType) ? { creditSpecification: awsCreditSpecification(instanceType) } : {}),
        subnetId: network.subnetId,
        vpcSecurityGroupIds: [sg.id],
        iamInstanceProfile: profile.name,
        // The bootstrap, as it is (a few KB). It never changes with the mesh or the agent; when wg-mesh's
        // own does, a running VM has no use for it: cloud-init runs user data once per instance, so an
        // update would only stop and start the VM (ignored below); a VM made later, or replaced, gets it.
        userData: args.userData,
        userDataReplaceOnChange: false,
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
        rootBlockDevice: { encrypted: true, volumeType: "gp3", deleteOnTermination: true },
        tags,
        volumeTags: tags,
      },
      // A newer Ubuntu AMI must not replace a running node; a chosen AMI is followed.
      // Stacks made before node agents sent the user data compressed, as userDataBase64: both are ignored alike.
      { ...child, ignoreChanges: [...(place.ami ? [] : ["ami"]), "userData", "userDataBase64"] },
    );
    new aws.ec2.EipAssociation(`${name}-ip`, { allocationId: eip.allocationId, instanceId: instance.id }, child);

    this.publicIp = eip.publicIp;
    this.vaultSecretRef = secret.arn;
    this.instanceId = instance.id;
    this.bootstrapCheck = pulumi.interpolate`aws ec2 get-console-output --instance-id ${instance.id} --region ${place.region} --latest --output text | grep -E 'Cloud-init|wgmesh-sync'`;
    this.sshHint = sshHint(
      args.adminCidrs,
      pulumi.interpolate`aws ec2-instance-connect ssh --instance-id ${instance.id} --region ${place.region} --os-user ${SSH_USER.aws}`,
    );
    this.registerOutputs({ publicIp: this.publicIp, vaultSecretRef: this.vaultSecretRef, instanceId: this.instanceId, bootstrapCheck: this.bootstrapCheck });
  }

  /**
   * The subnet and VPC: as given; the VPC of a given subnet; a subnet of a given VPC; or, with
   * neither, the region's default VPC, looked up so that a region without one (many organisations
   * delete them) fails in one line that names the node and the fix instead of in EC2's words.
   */
  private network(args: AwsHostArgs, child: pulumi.InvokeOutputOptions): { vpcId?: pulumi.Output<string>; subnetId?: pulumi.Output<string> } {
    const { vpcId, subnetId } = args.placement;
    if (subnetId) {
      return {
        subnetId: pulumi.output(subnetId),
        vpcId: vpcId ? pulumi.output(vpcId) : aws.ec2.getSubnetOutput({ id: subnetId }, child).apply((s) => s.vpcId),
      };
    }
    if (vpcId) {
      const firstSubnet = aws.ec2.getSubnetsOutput({ filters: [{ name: "vpc-id", values: [vpcId] }] }, child).apply((s) => {
        const id = [...s.ids].sort()[0];
        if (!id) throw new MeshRunError(`nodes.${args.nodeName}.aws.vpcId: ${vpcId} has no subnet in ${args.placement.region}; add one or set aws.subnetId`);
        return id;
      });
      return { vpcId: pulumi.output(vpcId), subnetId: firstSubnet };
    }
    const defaultVpc = aws.ec2.getVpcsOutput({ filters: [{ name: "is-default", values: ["true"] }] }, child).apply((found) => {
      const id = found.ids[0];
      if (!id) {
        throw new MeshRunError(
          `nodes.${args.nodeName}.aws: ${args.placement.region} has no default VPC; set aws.subnetId to a subnet whose route table reaches an internet gateway (or aws.vpcId)`,
        );
      }
      return id;
    });
    // The instance names no subnet: EC2 puts it in the default VPC's default subnet for its zone.
    return { vpcId: defaultVpc };
  }
}
