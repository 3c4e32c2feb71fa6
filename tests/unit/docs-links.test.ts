/** The README and the pages under docs/ link each other: every relative link leads to a file that is there, and every page is linked from the README. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

const REPO = join(__dirname, "..", "..");
const pages = ["README.md", ...readdirSync(join(REPO, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

/** Relative link targets of a Markdown file, outside code blocks, without their #fragment. */
function links(file: string): string[] {
  const text = readFileSync(join(REPO, file), "utf8").replace(/^```[\s\S]*?^```$/gm, "");
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => (m[1] as string).split("#")[0] as string).filter((t) => t !== "" && !/^[a-z]+:/.test(t));
}

test("every relative link of the README and docs/ leads to a file of the repository", () => {
  const broken = pages.flatMap((page) => links(page).filter((t) => !existsSync(join(REPO, normalize(join(dirname(page), t))))).map((t) => `${page}: ${t}`));
  assert.deepEqual(broken, []);
});

test("the README links every page under docs/", () => {
  const linked = new Set(links("README.md").map((t) => normalize(t)));
  assert.deepEqual(pages.filter((p) => p !== "README.md" && !linked.has(p)), []);
});
