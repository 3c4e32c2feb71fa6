/**
 * What the clouds would refuse in a synthesized stack, which mocks accept: every name against its
 * cloud's documented rule (the name sent, the prefix sent, or the provider's own choice), and every
 * VM's user data against its cloud's size limit. `wgmesh synth` reports all of them at once.
 */
import { resourceNameProblems } from "../../infra/cloud-names";
import type { ConfigIssue } from "../../infra/model";
import { userDataProblem } from "../../infra/render/user-data-limits";
import { unwrapSecrets } from "./mock-cloud";
import type { RecordedResource } from "./run";

/** Where each VM type keeps its user data, and how to read it as the cloud measures it. */
const USER_DATA: Record<string, { cloud: "aws" | "gcp" | "azure"; read: (inputs: Record<string, unknown>) => string | undefined }> = {
  "aws:ec2/instance:Instance": {
    cloud: "aws",
    read: (i) => (typeof i.userData === "string" ? i.userData : typeof i.userDataBase64 === "string" ? Buffer.from(i.userDataBase64, "base64").toString("latin1") : undefined),
  },
  "gcp:compute/instance:Instance": {
    cloud: "gcp",
    read: (i) => {
      const value = (i.metadata as Record<string, unknown> | undefined)?.["user-data"];
      return typeof value === "string" ? value : undefined;
    },
  },
  "azure:compute/linuxVirtualMachine:LinuxVirtualMachine": {
    cloud: "azure",
    read: (i) => (typeof i.customData === "string" ? Buffer.from(i.customData, "base64").toString("latin1") : undefined),
  },
};

export function cloudProblems(resources: readonly RecordedResource[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const r of resources) {
    if (!r.custom) continue;
    const inputs = unwrapSecrets(r.inputs) as Record<string, unknown>;
    for (const message of resourceNameProblems({ type: r.type, name: r.name, inputs })) issues.push({ path: r.name, message: `${r.type}: ${message}` });
    const userData = USER_DATA[r.type];
    const text = userData?.read(inputs);
    if (userData && text !== undefined) {
      const problem = userDataProblem(r.name, userData.cloud, text);
      if (problem) issues.push({ path: r.name, message: `${r.type}: ${problem.replace(/^nodes\.[^:]+: /, "")}` });
    }
  }
  return issues;
}
