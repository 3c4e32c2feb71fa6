import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readConfigDir } from "../../workspace/configdir";
import { generateKeyPair } from "../../infra/keys";

function withDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-configdir-"));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const conf = (address: string) => `[Interface]\nPrivateKey = ${generateKeyPair().privateKey}\nAddress = ${address}\n`;

test("reads DIR/<node>.conf and DIR/<node>/wg0.conf, names nodes by file or folder, sorted", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "zeta.conf"), conf("10.0.0.3/24"));
    writeFileSync(join(dir, "alpha.conf"), conf("10.0.0.1/24"));
    mkdirSync(join(dir, "hkg"));
    writeFileSync(join(dir, "hkg", "wg0.conf"), conf("10.0.0.2/24"));
    mkdirSync(join(dir, "notes"));
    writeFileSync(join(dir, "notes", "readme.txt"), "not a config");
    writeFileSync(join(dir, "README.md"), "# ignored");
    const configs = readConfigDir(dir);
    assert.deepEqual(Object.keys(configs), ["alpha", "hkg", "zeta"]);
    assert.deepEqual(configs.hkg?.iface.addresses, ["10.0.0.2/24"]);
  });
});

test("clear one-line errors: missing folder, a file instead of a folder, no configs, two configs for one node, unparsable file", () => {
  withDir((dir) => {
    assert.throws(() => readConfigDir(join(dir, "nope")), { message: `${join(dir, "nope")}: no such folder; give a folder of wg-quick files (DIR/<node>.conf or DIR/<node>/wg0.conf)` });
    writeFileSync(join(dir, "file.txt"), "x");
    assert.throws(() => readConfigDir(join(dir, "file.txt")), /file\.txt is a file, not a folder/);
    assert.throws(() => readConfigDir(dir), { message: `${dir}: no wg-quick files found; expected DIR/<node>.conf or DIR/<node>/wg0.conf` });
    writeFileSync(join(dir, "a.conf"), conf("10.0.0.1/24"));
    mkdirSync(join(dir, "a"));
    writeFileSync(join(dir, "a", "wg0.conf"), conf("10.0.0.1/24"));
    assert.throws(() => readConfigDir(dir), { message: `${dir}: node a has two configs, ${join(dir, "a", "wg0.conf")} and ${join(dir, "a.conf")}; keep one` });
    rmSync(join(dir, "a"), { recursive: true });
    writeFileSync(join(dir, "b.conf"), "[Interface]\nListenPort = many\n");
    assert.throws(() => readConfigDir(dir), { name: "UserError", message: `${join(dir, "b.conf")}:2: ListenPort many is not a UDP port; write a number 0-65535, e.g. 51820` });
  });
});
