/** Escaping shared by the picture formats: names come from config files and may hold anything. */

/** Control characters are invisible and illegal in XML, so they are shown as \xNN instead. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** Text or attribute content in XML (SVG, Graphviz HTML-like labels). */
export function escapeXml(text: string): string {
  return printable(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** A Graphviz quoted string: `\"` is DOT's only escape, so a backslash is kept from pairing with what follows. */
export function dotString(text: string): string {
  return `"${printable(text).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * Text inside a Mermaid quoted label. Mermaid reads `#code;` as one character, which keeps a
 * quote from ending the label, markup from being markup, and a backtick from starting Markdown.
 */
export function mermaidText(text: string): string {
  return printable(text).replace(/[#"<>&`]/g, (c) => `#${c.charCodeAt(0)};`);
}

/** Identifiers made only of letters, digits and `_`, unique within one allocator. */
export function idAllocator(): (prefix: string, name: string) => string {
  const used = new Set<string>();
  return (prefix, name) => {
    const base = `${prefix}${name.replace(/[^A-Za-z0-9]/g, "_")}`;
    let id = base;
    for (let i = 2; used.has(id); i++) id = `${base}_${i}`;
    used.add(id);
    return id;
  };
}
