/** The SSH hint every host exports: the command, and why it will not connect yet if port 22 is closed. */
import * as pulumi from "@pulumi/pulumi";

export function sshHint(adminCidrs: readonly string[], command: pulumi.Output<string>): pulumi.Output<string> {
  if (adminCidrs.length > 0) return command;
  return command.apply((c) => `port 22 is closed (adminCidrs is empty); add your address to adminCidrs, then: ${c}`);
}
