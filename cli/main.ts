/** The `wgmesh` command: a thin shell around the engine in infra/. */
import { Command } from "commander";
import { version } from "../package.json";
import { registerDiffCommand } from "./diff";
import { registerDoctorCommand } from "./doctor";
import { registerLabCommand } from "./lab";
import { registerLintCommand } from "./lint";
import { registerPlanCommand } from "./plan";
import { registerRenderCommand } from "./render";
import { registerSynthCommand } from "./synth";

export function buildProgram(): Command {
  const program = new Command("wgmesh")
    .description("plan, render, lint and lab-test a WireGuard mesh declared in Pulumi.<stack>.yaml")
    .version(version, "-V, --version", "print the version of wg-mesh")
    .showHelpAfterError("(run wgmesh --help for usage)")
    .configureOutput({ outputError: (str, write) => write(str) });
  registerPlanCommand(program);
  registerRenderCommand(program);
  registerLintCommand(program);
  registerLabCommand(program);
  registerSynthCommand(program);
  registerDiffCommand(program);
  registerDoctorCommand(program);
  return program;
}

/**
 * Node prints a library's process warnings ("(node:1234) Warning: ...") to stderr, between wgmesh's
 * own lines. Whatever the engine or a library notices that a user should act on, wgmesh says in its
 * own words; the runtime's own notes are for developers, shown with WGMESH_DEBUG=1.
 */
function keepRuntimeWarningsToDebug(): void {
  if (process.listeners("warning").includes(debugWarning)) return;
  process.removeAllListeners("warning");
  process.on("warning", debugWarning);
}

function debugWarning(warning: Error): void {
  if (process.env.WGMESH_DEBUG) process.stderr.write(`wgmesh (debug): ${warning.name}: ${warning.message}\n`);
}

export function main(argv: string[]): Promise<void> {
  keepRuntimeWarningsToDebug();
  const program = buildProgram();
  // No command at all is a question, not a mistake: the help, and success.
  if (argv.length <= 2) {
    process.stdout.write(program.helpInformation());
    process.exitCode = 0;
    return Promise.resolve();
  }
  return program
    .parseAsync(argv)
    .then(
      () => undefined,
      (err: unknown) => {
        process.stderr.write(`wgmesh: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
      },
    );
}

// `tsx cli/main.ts ...` (npm run wgmesh); `npx wgmesh` comes in through bin.js, which calls main itself.
if (require.main === module) void main(process.argv);
