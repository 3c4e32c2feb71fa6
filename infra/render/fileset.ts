/**
 * The text form in which files travel to a node through its vault: the config payload (wg0.conf and
 * the files riding with it) and the node agent both use it, and the node reads it with awk and
 * sha256sum alone (infra/render/bootstrap.sh). Every line the node does not install as a file is a
 * wg-quick comment, so a payload is also a wg-quick file that today's sync script applies as it is
 * (docs/node-agent.md has the whole format):
 *
 *     #@wgmesh file NAME MODE SHA256     a file: its name, its mode and the sha256 of its content,
 *     #|line                             then each of its lines behind "#|"
 *     #@wgmesh end SHA256                last: the sha256 of every byte before this line
 *
 * The end line seals the whole text, so a truncated or altered entry is refused before anything in
 * it is read, let alone run.
 */
import { createHash } from "node:crypto";
import { quote } from "../quote";

export const HEADER = "#@wgmesh";
export const CONTENT = "#|";

/** A file name: one or two path segments of [a-z0-9._-] (no hidden file, no "..") , or the reserved @bootstrap. */
export const FILE_NAME = /^(@bootstrap|[a-z0-9][a-z0-9._-]{0,62}(\/[a-z0-9][a-z0-9._-]{0,62})?)$/;
export const FILE_MODES = ["0755", "0644", "0600"] as const;
export type FileMode = (typeof FILE_MODES)[number];

export interface SetFile {
  name: string;
  mode: FileMode;
  content: string;
}

export function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Why a file cannot travel, or undefined. Its content is text, one line after another, each ended by
 * a newline: what travels is its lines, and a carriage return or NUL would not come out as it went in.
 */
export function fileProblem(file: SetFile): string | undefined {
  if (!FILE_NAME.test(file.name)) return `file name ${quote(file.name)} is not usable: use 1-63 of a-z, 0-9, '.', '_' and '-', not starting with '.' or '-' (one folder level at most)`;
  if (!(FILE_MODES as readonly string[]).includes(file.mode)) return `file ${file.name}: mode ${quote(file.mode)} is not one of ${FILE_MODES.join(", ")}`;
  if (/[\0\r]/.test(file.content)) return `file ${file.name} holds a NUL or carriage return; only plain text lines travel`;
  if (file.content !== "" && !file.content.endsWith("\n")) return `file ${file.name} does not end with a newline; end its last line`;
  return undefined;
}

/** A file's header and content lines. */
export function fileLines(file: SetFile): string[] {
  const problem = fileProblem(file);
  if (problem) throw new Error(problem);
  const lines = file.content === "" ? [] : file.content.slice(0, -1).split("\n");
  return [`${HEADER} file ${file.name} ${file.mode} ${sha256(file.content)}`, ...lines.map((l) => `${CONTENT}${l}`)];
}

/** `text` (whole lines) with its end line: the sha256 of everything before it. */
export function seal(text: string): string {
  if (text !== "" && !text.endsWith("\n")) throw new Error("seal: the text must end with a newline");
  return `${text}${HEADER} end ${sha256(text)}\n`;
}

export interface ParsedSet {
  /** The lines before the first header line (a payload's wg0.conf), newline-ended. */
  preamble: string;
  /** Header lines other than file and end, without their "#@wgmesh " prefix, split into words. */
  headers: string[][];
  files: SetFile[];
}

/** Reads a sealed text as the node does, refusing what the node refuses; the message says what is wrong. */
export function parseSealed(text: string): ParsedSet {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  else throw new Error("truncated: it does not end with a newline");
  const last = lines.at(-1) ?? "";
  const end = new RegExp(`^${HEADER} end ([0-9a-f]{64})$`).exec(last);
  if (!end) throw new Error("truncated: its last line is not the end line");
  const body = text.slice(0, text.length - last.length - 1);
  if (sha256(body) !== end[1]) throw new Error("its content does not match its end line's sha256 (altered or truncated)");
  lines.pop();
  const preamble: string[] = [];
  const headers: string[][] = [];
  const files: SetFile[] = [];
  let current: { file: SetFile; sha: string; lines: string[] } | undefined;
  const close = (): void => {
    if (!current) return;
    current.file.content = current.lines.map((l) => `${l}\n`).join("");
    if (sha256(current.file.content) !== current.sha) throw new Error(`file ${current.file.name} does not match its sha256`);
    files.push(current.file);
    current = undefined;
  };
  let seenHeader = false;
  for (const line of lines) {
    if (line.startsWith(`${HEADER} `)) {
      seenHeader = true;
      close();
      const words = line.slice(HEADER.length + 1).split(" ");
      if (words[0] === "file") {
        const [, name = "", mode = "", sha = ""] = words;
        if (words.length !== 4 || !FILE_NAME.test(name) || !(FILE_MODES as readonly string[]).includes(mode) || !/^[0-9a-f]{64}$/.test(sha)) throw new Error(`a file header is malformed: ${quote(line)}`);
        if (files.some((f) => f.name === name)) throw new Error(`file ${name} comes twice`);
        current = { file: { name, mode: mode as FileMode, content: "" }, sha, lines: [] };
      } else {
        headers.push(words);
      }
    } else if (line.startsWith(CONTENT) && current) {
      current.lines.push(line.slice(CONTENT.length));
    } else if (!seenHeader) {
      preamble.push(line);
    } else {
      throw new Error(`a line after the headers belongs to no file: ${quote(line.slice(0, 40))}`);
    }
  }
  close();
  return { preamble: preamble.map((l) => `${l}\n`).join(""), headers, files };
}
