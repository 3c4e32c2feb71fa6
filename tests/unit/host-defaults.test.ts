/** Sizes and images wg-mesh picks or refuses on its own (infra/host-defaults.ts). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { awsBurstable, awsCreditSpecification, awsInstanceType, gcpImageProblem, gcpImageProject } from "../../infra/host-defaults";

test("EC2: every burstable family gets standard CPU credits, the hub and POP defaults included; other families none", () => {
  for (const t of ["t2.micro", "t3.small", "t3a.nano", "t4g.medium", awsInstanceType("hub"), awsInstanceType("pop"), awsInstanceType("backend")]) {
    assert.equal(awsBurstable(t), true, t);
    assert.deepEqual(awsCreditSpecification(t), { cpuCredits: "standard" }, t);
  }
  for (const t of ["m7i.large", "c7g.medium", "c7gn.large", "r6i.xlarge", "x2gd.large"]) assert.equal(awsCreditSpecification(t), undefined, t);
});

test("GCP images: the project each reference names, as the provider resolves it", () => {
  const cases: [string, string | undefined][] = [
    ["debian-cloud/debian-12", "debian-cloud"],
    ["projects/rhel-cloud/global/images/family/rhel-9", "rhel-cloud"],
    ["https://www.googleapis.com/compute/v1/projects/cos-cloud/global/images/cos-stable-113", "cos-cloud"],
    ["debian-12", "debian-cloud"],
    ["windows-sql-2022-web", "windows-sql-cloud"],
    ["windows-2022", "windows-cloud"],
    ["rhel-sap-9", "rhel-sap-cloud"],
    ["ubuntu-2404-lts-amd64", "ubuntu-os-cloud"],
    ["global/images/golden-7", undefined],
    ["golden-7", undefined],
  ];
  for (const [image, project] of cases) assert.equal(gcpImageProject(image), project, image);
});

test("GCP images known not to run cloud-init (or unable to install its packages) are refused; Ubuntu and unknown projects are not", () => {
  for (const image of ["debian-cloud/debian-12", "rhel-cloud/rhel-9", "rocky-linux-cloud/rocky-linux-9", "centos-cloud/centos-stream-9", "almalinux-cloud/almalinux-9", "fedora-coreos-cloud/fedora-coreos-stable", "cos-cloud/cos-stable", "windows-cloud/windows-2022", "debian-12"]) {
    assert.match(gcpImageProblem(image) ?? "", /cannot run the node's bootstrap .* use an Ubuntu LTS image \(ubuntu-os-cloud\/ubuntu-2404-lts-amd64\) or leave image out$/, image);
  }
  for (const image of ["ubuntu-os-cloud/ubuntu-2404-lts-amd64", "ubuntu-os-pro-cloud/ubuntu-pro-2404-lts-amd64", "ubuntu-2204-lts", "my-project/golden-7", "global/images/golden-7"]) assert.equal(gcpImageProblem(image), undefined, image);
});
