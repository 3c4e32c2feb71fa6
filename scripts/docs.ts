/**
 * `npm run docs`: regenerates the pictures the README shows (the staging diagram, the prod map)
 * from the stack files. tests/unit/docs-pictures.test.ts fails when they are stale.
 */
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { reportFailure } from "../cli/errors";
import { DOC_PICTURES, docPicture, writePicture } from "../workspace/pictures";

const REPO = resolve(__dirname, "..");

try {
  for (const picture of DOC_PICTURES) {
    const file = join(REPO, picture.file);
    mkdirSync(dirname(file), { recursive: true });
    process.stdout.write(`${picture.file}: ${writePicture(file, docPicture(REPO, picture))}\n`);
  }
} catch (err) {
  process.exitCode = reportFailure(err);
}
