/**
 * What the clouds would refuse in a synthesized stack, which mocks accept: every name against its
 * cloud's documented rule (the name sent, the prefix sent, or the provider's own choice), and every
 * VM's user data against its cloud's size limit. `wgmesh synth` reports all of them at once.
 */
import { resourceNameProblems } from "../../infra/cloud-names";
import type { ConfigIssue } from "../../infra/model";
import { userDataSizeProblem } from "../../infra/render/user-data-limits";
import { unwrapSecrets } from "./mock-cloud";
import type { RecordedResource } from "./run";

/** Where each VM type keeps its user data, and the bytes its cloud counts, as sent. */
const USER_DATA: Record<string, { cloud: "aws" | "gcp" | "azure"; read: (inputs: Record<string, unknown>) => number | undefined }> = {
  "aws:ec2/instance:Instance": {
    cloud: "aws",
    // The raw bytes, before base64.
    read: (i) => (typeof i.userData === "string" ? Buffer.byteLength(i.userData) : typeof i.userDataBase64 === "string" ? Buffer.from(i.userDataBase64, "base64").length : undefined),
  },
  "gcp:compute/instance:Instance": {
    cloud: "gcp",
    read: (i) => {
      const value = (i.metadata as Record<string, unknown> | undefined)?.["user-data"];
      return typeof value === "string" ? Buffer.byteLength(value) : undefined;
    },
  },
  "azure:compute/linuxVirtualMachine:LinuxVirtualMachine": {
    cloud: "azure",
    // Custom data is counted base64-encoded, as it is sent.
    read: (i) => (typeof i.customData === "string" ? i.customData.length : undefined),
  },
};

export function cloudProblems(resources: readonly RecordedResource[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const r of resources) {
    if (!r.custom) continue;
    const inputs = unwrapSecrets(r.inputs) as Record<string, unknown>;
    for (const message of resourceNameProblems({ type: r.type, name: r.name, inputs })) issues.push({ path: r.name, message: `${r.type}: ${message}` });
    const userData = USER_DATA[r.type];
    const size = userData?.read(inputs);
    if (userData && size !== undefined) {
      const problem = userDataSizeProblem(r.name, userData.cloud, size);
      if (problem) issues.push({ path: r.name, message: `${r.type}: ${problem.replace(/^nodes\.[^:]+: /, "")}` });
    }
  }
  return issues;
}
