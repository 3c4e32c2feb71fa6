/** The `wgmesh` command: a thin shell around the engine in infra/. */
import { Command } from "commander";
import { packageVersion } from "./package-info";

/* eslint-disable @typescript-eslint/no-require-imports */
function nodeCommands(): (program: Command) => void {
  return (require("./nodes") as typeof import("./nodes")).registerNodeCommands;
}

/**
 * Each command's module, loaded only when it is the one run (or for the help): a command's module
 * brings the engine stages it uses, and `wgmesh --version` or `wgmesh plan` need not load the lab,
 * Pulumi's runtime or the drawing code. In the order the help lists them.
 */
const COMMANDS: Record<string, () => (program: Command) => void> = {
  plan: () => (require("./plan") as typeof import("./plan")).registerPlanCommand,
  render: () => (require("./render") as typeof import("./render")).registerRenderCommand,
  lint: () => (require("./lint") as typeof import("./lint")).registerLintCommand,
  lab: () => (require("./lab") as typeof import("./lab")).registerLabCommand,
  synth: () => (require("./synth") as typeof import("./synth")).registerSynthCommand,
  diff: () => (require("./diff") as typeof import("./diff")).registerDiffCommand,
  doctor: () => (require("./doctor") as typeof import("./doctor")).registerDoctorCommand,
  init: () => (require("./init") as typeof import("./init")).registerInitCommand,
  "add-node": nodeCommands,
  "remove-node": nodeCommands,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** The commands a run needs: the one argv names, none to print the version, else all (the help, a mistyped command). */
function commandsFor(argv: readonly string[]): string[] {
  const args = argv.slice(2);
  const named = args.find((a) => !a.startsWith("-"));
  if (named !== undefined && Object.hasOwn(COMMANDS, named)) return [named];
  if (args.length > 0 && args.every((a) => a === "--version" || a === "-V")) return [];
  return Object.keys(COMMANDS);
}

/** The program with the commands given (all by default). */
export function buildProgram(commands: readonly string[] = Object.keys(COMMANDS)): Command {
  const program = new Command("wgmesh")
    .description("plan, render, lint and lab-test a WireGuard mesh declared in Pulumi.<stack>.yaml")
    .version(packageVersion(), "-V, --version", "print the version of wg-mesh")
    .showHelpAfterError("(run wgmesh --help for usage)")
    .configureOutput({ outputError: (str, write) => write(str) });
  // One module may register several commands (add-node and remove-node): each loader runs once.
  const loaders = new Set(Object.entries(COMMANDS).flatMap(([name, load]) => (commands.includes(name) ? [load] : [])));
  for (const load of loaders) load()(program);
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
  const program = buildProgram(commandsFor(argv));
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
