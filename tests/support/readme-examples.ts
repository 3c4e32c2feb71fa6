/**
 * The README's program examples, taken from the README itself so that the tests check what users
 * read: the TypeScript program (the fenced ```typescript block that imports "wg-mesh") and the C#
 * one (the ```csharp block that uses Pulumi.WgMesh). For C#, which cannot be compiled here, a reader
 * of the few forms the example uses (object, list and dictionary initializers, strings, numbers,
 * enum members) turns its MeshArgs into the inputs the component package receives, checking every
 * class, property and enum member against the package schema on the way.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const README = join(__dirname, "..", "..", "README.md");

/** The one fenced block of the language that contains `marker`; it fails unless there is exactly one. */
export function readmeBlock(lang: string, marker: string, readme = readFileSync(README, "utf8")): string {
  const blocks = [...readme.matchAll(new RegExp("^```" + lang + "\\n([\\s\\S]*?)^```$", "gm"))].map((m) => m[1] as string).filter((b) => b.includes(marker));
  if (blocks.length !== 1) throw new Error(`README.md: expected one \`\`\`${lang} block with ${JSON.stringify(marker)}, found ${blocks.length}`);
  return blocks[0] as string;
}

interface Property {
  type?: string;
  $ref?: string;
  items?: Property;
  additionalProperties?: Property;
}
export interface SchemaForCsharp {
  name: string;
  resources: Record<string, { inputProperties: Record<string, Property>; properties: Record<string, Property> }>;
  types: Record<string, { properties?: Record<string, Property>; enum?: { name?: string; value: string }[] }>;
}

const camel = (pascal: string): string => pascal.charAt(0).toLowerCase() + pascal.slice(1);
const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** The C# name of an enum member: its schema name, else its value in Pascal case, as Pulumi's codegen makes it. */
function enumMemberName(e: { name?: string; value: string }): string {
  return e.name ?? e.value.split(/[^a-zA-Z0-9]+/).map(pascal).join("");
}

class Reader {
  private i = 0;
  readonly problems: string[] = [];
  constructor(
    private readonly text: string,
    private readonly schema: SchemaForCsharp,
  ) {}

  private ws(): void {
    for (;;) {
      const m = /^(\s+|\/\/[^\n]*)/.exec(this.text.slice(this.i));
      if (!m) return;
      this.i += m[0].length;
    }
  }

  private peek(s: string): boolean {
    this.ws();
    return this.text.startsWith(s, this.i);
  }

  private eat(s: string): void {
    if (!this.peek(s)) throw new Error(`C# example: expected ${JSON.stringify(s)} at ${JSON.stringify(this.text.slice(this.i, this.i + 40))}`);
    this.i += s.length;
  }

  private word(): string {
    this.ws();
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(this.text.slice(this.i));
    if (!m) throw new Error(`C# example: expected a name at ${JSON.stringify(this.text.slice(this.i, this.i + 40))}`);
    this.i += m[0].length;
    return m[0];
  }

  /** `new XArgs { ... }` from the current position, with `props` the schema properties it must fit. */
  object(where: string, props: Record<string, Property>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.eat("{");
    while (!this.peek("}")) {
      const name = this.word();
      const key = camel(name);
      const prop = props[key];
      if (!prop) this.problems.push(`${where}.${name}: not a property in the schema (it has ${Object.keys(props).join(", ")})`);
      this.eat("=");
      out[key] = this.value(`${where}.${name}`, prop);
      if (!this.peek("}")) this.eat(",");
    }
    this.eat("}");
    return out;
  }

  private typeProps(ref: string | undefined, where: string): Record<string, Property> {
    const t = ref ? this.schema.types[ref.replace("#/types/", "")] : undefined;
    if (!t?.properties) this.problems.push(`${where}: ${ref ?? "no type"} is not an object type of the schema`);
    return t?.properties ?? {};
  }

  value(where: string, prop: Property | undefined): unknown {
    this.ws();
    const rest = this.text.slice(this.i);
    const str = /^"((?:[^"\\]|\\.)*)"/.exec(rest);
    if (str) {
      this.i += str[0].length;
      return JSON.parse(`"${str[1]}"`) as string;
    }
    const num = /^-?\d+(\.\d+)?/.exec(rest);
    if (num) {
      this.i += num[0].length;
      return Number(num[0]);
    }
    if (this.peek("new ")) {
      this.eat("new ");
      const cls = this.word();
      const expected = prop?.$ref?.replace(/^#\/types\/[^:]+:index:/, "");
      if (!cls.endsWith("Args") || cls.slice(0, -4) !== expected) this.problems.push(`${where}: new ${cls}, where the schema has ${expected ?? "no object type"}`);
      return this.object(where, this.typeProps(prop?.$ref, where));
    }
    if (this.peek("{")) {
      this.eat("{");
      if (this.peek("[")) {
        const map: Record<string, unknown> = {};
        while (!this.peek("}")) {
          this.eat("[");
          const key = this.value(`${where}[]`, { type: "string" }) as string;
          this.eat("]");
          this.eat("=");
          map[key] = this.value(`${where}["${key}"]`, prop?.additionalProperties);
          if (!this.peek("}")) this.eat(",");
        }
        this.eat("}");
        if (prop && !prop.additionalProperties) this.problems.push(`${where}: a dictionary, where the schema has no map`);
        return map;
      }
      const list: unknown[] = [];
      while (!this.peek("}")) {
        list.push(this.value(`${where}[${list.length}]`, prop?.items));
        if (!this.peek("}")) this.eat(",");
      }
      this.eat("}");
      if (prop && !prop.items) this.problems.push(`${where}: a list, where the schema has no array`);
      return list;
    }
    const ref = this.word();
    const [enumName, member] = ref.split(".");
    const t = this.schema.types[`${this.schema.name}:index:${enumName}`];
    const e = t?.enum?.find((x) => enumMemberName(x) === member);
    if (!e) {
      this.problems.push(`${where}: ${ref} is not an enum member of the schema`);
      return ref;
    }
    if (prop?.$ref !== `#/types/${this.schema.name}:index:${enumName}`) this.problems.push(`${where}: ${ref}, where the schema has ${prop?.$ref ?? "no enum"}`);
    return e.value;
  }

  /** Moves to just after `marker`. */
  seek(marker: string): void {
    const at = this.text.indexOf(marker);
    if (at < 0) throw new Error(`C# example: no ${JSON.stringify(marker)}`);
    this.i = at + marker.length;
  }
}

export interface CsharpMesh {
  /** `using` lines of the program. */
  usings: string[];
  /** The MeshArgs as the component package receives them. */
  args: Record<string, unknown>;
  /** Mesh outputs the program reads (`mesh.Nodes` -> nodes). */
  outputsRead: string[];
  problems: string[];
}

/** Reads the C# program's `new Mesh(name, new MeshArgs { ... })` and what it reads off the mesh. */
export function readCsharpMesh(program: string, schema: SchemaForCsharp): CsharpMesh {
  const mesh = schema.resources[`${schema.name}:index:Mesh`];
  if (!mesh) throw new Error("the schema has no Mesh");
  const reader = new Reader(program, schema);
  reader.seek("new MeshArgs");
  const args = reader.object("MeshArgs", mesh.inputProperties);
  const variable = /var (\w+) = new Mesh\(/.exec(program)?.[1];
  const outputsRead = variable ? [...program.matchAll(new RegExp(`\\b${variable}\\.(\\w+)`, "g"))].map((m) => camel(m[1] as string)) : [];
  const problems = [...reader.problems, ...outputsRead.filter((o) => !mesh.properties[o]).map((o) => `mesh.${pascal(o)}: not an output of Mesh`)];
  const usings = [...program.matchAll(/^using ([\w.]+);$/gm)].map((m) => m[1] as string);
  return { usings, args, outputsRead, problems };
}
