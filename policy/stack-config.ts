/**
 * The pack's config for a stack, from the stack's own declaration, so the checks that take values
 * check the stack's: `wg-ssh-admin-only` its adminCidrs (without them it only refuses SSH from the
 * world), the port checks its listenPort. CI writes it before each preview and deploy:
 *
 *   npx tsx policy/stack-config.ts --stack prod > policy-prod.json
 *   pulumi preview --stack prod --policy-pack policy --policy-pack-config policy-prod.json
 *
 * Bad input gets one line and exit 2, as wgmesh does.
 */
import { readFileSync } from "node:fs";
import { loadStackConfig } from "../infra/config";
import { MeshConfigError, type MeshSpec } from "../infra/model";
import { stackFile } from "../workspace/project";

export type PolicyPackConfig = Record<string, { enforcementLevel?: "mandatory" | "advisory" | "disabled" } & Record<string, unknown>>;

export function policyConfigFor(spec: Pick<MeshSpec, "adminCidrs" | "listenPort">): PolicyPackConfig {
  return {
    "wg-no-world-ingress": { wireguardPort: spec.listenPort },
    "wg-ssh-admin-only": { adminCidrs: [...spec.adminCidrs] },
    "wg-wireguard-sources-are-peers": { wireguardPort: spec.listenPort },
  };
}

function main(argv: string[]): number {
  const at = argv.indexOf("--stack");
  const stack = at >= 0 ? argv[at + 1] : undefined;
  if (!stack || !/^[A-Za-z0-9_.-]{1,100}$/.test(stack)) {
    process.stderr.write("usage: tsx policy/stack-config.ts --stack NAME  (prints the policy pack config for Pulumi.NAME.yaml)\n");
    return 2;
  }
  const file = stackFile(stack);
  try {
    const spec = loadStackConfig(readFileSync(file, "utf8"), `Pulumi.${stack}.yaml`);
    process.stdout.write(`${JSON.stringify(policyConfigFor(spec), null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof MeshConfigError) process.stderr.write(`${err.message}\n`);
    else if ((err as NodeJS.ErrnoException).code === "ENOENT") process.stderr.write(`--stack ${stack}: no Pulumi.${stack}.yaml in this folder; run it from the project\n`);
    else throw err;
    return 2;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
