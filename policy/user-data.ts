/**
 * User data as a node runs it. wg-mesh's cloud-init carries its script gzip-compressed (write_files
 * `encoding: gz+b64`), and any user data may be gzip as a whole; a scan for keys must read what
 * cloud-init writes, not the compressed bytes, in which a key hides and which base64 can mimic.
 */
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

function gunzipped(bytes: Buffer): Buffer {
  return bytes.subarray(0, 2).equals(GZIP_MAGIC) ? gunzipSync(bytes) : bytes;
}

function decodedFile(content: string, encoding: string): string {
  const e = encoding.toLowerCase();
  if (["gz+b64", "gz+base64", "gzip+b64", "gzip+base64"].includes(e)) return gunzipSync(Buffer.from(content, "base64")).toString("utf8");
  if (["b64", "base64"].includes(e)) return Buffer.from(content, "base64").toString("utf8");
  return content;
}

/**
 * The text to scan: the document (gunzipped if it is gzip) and, for #cloud-config, every file with
 * its content decoded in place of the encoded form. A document that does not decode is scanned as it is.
 */
export function userDataText(bytes: Buffer): string {
  let text: string;
  try {
    text = gunzipped(bytes).toString("utf8");
  } catch {
    return bytes.toString("utf8");
  }
  if (!text.startsWith("#cloud-config")) return text;
  try {
    const doc = parse(text) as { write_files?: { content?: string; encoding?: string }[] } | null;
    const files = (doc?.write_files ?? []).map((f) => (f.encoding ? decodedFile(f.content ?? "", f.encoding) : (f.content ?? "")));
    const encoded = new Set((doc?.write_files ?? []).filter((f) => f.encoding).map((f) => f.content ?? ""));
    let outline = text;
    for (const e of encoded) if (e) outline = outline.split(e).join("(decoded below)");
    return [outline, ...files].join("\n");
  } catch {
    return text;
  }
}
