/**
 * A node's bash scripts as they are shipped: their comment lines left in the source, which keeps
 * them (user data is held to 4 KB and an Azure Key Vault secret to 25 KB, and a third of the scripts
 * is comments). Only whole comment
 * lines go, and only where bash would read them as comments: a line inside a quoted string that
 * spans lines is kept whatever it starts with. The lab runs the shipped text too, so what it proves
 * is what a node runs.
 */

/** Where each line starts: inside a multi-line quoted string, or in plain code. */
function lineStartsInString(script: string): boolean[] {
  const starts: boolean[] = [];
  let quote: "'" | '"' | undefined;
  let atLineStart = true;
  for (let i = 0; i < script.length; i++) {
    const c = script[i] as string;
    if (atLineStart) {
      starts.push(quote !== undefined);
      atLineStart = false;
    }
    if (c === "\n") {
      atLineStart = true;
      continue;
    }
    if (quote === "'") {
      if (c === "'") quote = undefined;
    } else if (quote === '"' || c === "\\") {
      // A backslash escapes the next character; one before a newline continues the line, whose
      // successor still starts a line of its own.
      if (c === "\\") {
        i++;
        if (script[i] === "\n") atLineStart = true;
      } else if (c === '"') quote = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === "#" && (i === 0 || /[\s;|&(]/.test(script[i - 1] as string))) {
      // A comment runs to the end of its line; quotes in it mean nothing.
      while (i + 1 < script.length && script[i + 1] !== "\n") i++;
    } else if (c === "<" && script[i + 1] === "<") {
      if (script[i + 2] !== "<") throw new Error("shipScript: a here-document's lines cannot be told from comments; use a quoted string");
      i += 2;
    }
  }
  if (quote !== undefined) throw new Error("shipScript: a quoted string is never closed");
  return starts;
}

/** The script without its comment lines, the first line (#!) and one saying where they went. */
export function shipScript(script: string, source: string): string {
  const inString = lineStartsInString(script);
  const lines = script.split("\n");
  const kept = lines.filter((line, i) => i === 0 || inString[i] || !/^\s*#/.test(line));
  kept.splice(1, 0, `# wg-mesh ${source}; its comments are in the source`);
  return kept.join("\n");
}
