/** How the CLI shows a stack's warnings. */
import { issueLines } from "../infra/problem-lines";
import type { LoadedStack } from "../workspace/project";

/** Warnings go to stderr, each naming the file and the config path; they never change the exit code. */
export function printWarnings(stack: Pick<LoadedStack, "name" | "warnings">): void {
  for (const line of issueLines(stack.warnings)) process.stderr.write(`warning: Pulumi.${stack.name}.yaml: ${line}\n`);
}
