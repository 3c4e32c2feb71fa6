/** `wgmesh lint DIR`: judge wg-quick files someone wrote, one line per problem. */
import type { Command } from "commander";
import { capRepeatedLines } from "../infra/problem-lines";
import { lintConfigs, lintToJson } from "../infra/simulate";
import { readConfigFolder } from "../workspace/configdir";
import { action } from "./errors";

export function registerLintCommand(program: Command): void {
  program
    .command("lint")
    .description("simulate existing wg-quick files (DIR/<node>.conf or DIR/<node>/wg0.conf) and explain every unreachable pair")
    .argument("<dir>", "folder of wg-quick files; each node is named by its file or folder")
    .option("--json", "print one JSON document instead of text")
    .action(
      action((dir: string, opts: { json?: boolean }) => {
        const folder = readConfigFolder(dir);
        const report = lintConfigs(folder.configs, { parseProblems: folder.problems, skipped: folder.skipped, down: folder.broken });
        if (opts.json) process.stdout.write(`${JSON.stringify(lintToJson(report), null, 2)}\n`);
        else {
          // A file's lines of one problem (5,000 [Peer]s with one unknown key) are counted after the first few; causes and groups are each different.
          const perLine = new Set([...report.parseProblems, ...report.skipped]);
          const lines = [...capRepeatedLines(report.problems.filter((l) => perLine.has(l))), ...report.problems.filter((l) => !perLine.has(l))];
          process.stdout.write(`${[...lines, report.summary].join("\n")}\n`);
        }
        return report.ok ? 0 : 1;
      }),
    );
}
