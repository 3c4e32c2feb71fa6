import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readConfigDir, readConfigFolder } from "../../workspace/configdir";
import { ProblemsError } from "../../infra/errors";
import { generateKeyPair } from "../../infra/keys";
import { lintConfigs } from "../../infra/simulate";

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
    assert.deepEqual([...configs.keys()], ["alpha", "hkg", "zeta"]);
    assert.deepEqual(configs.get("hkg")?.iface.addresses, ["10.0.0.2/24"]);
  });
});

test("clear one-line errors: missing folder, a file instead of a folder, no configs; every file's problems at once", () => {
  withDir((dir) => {
    assert.throws(() => readConfigDir(join(dir, "nope")), { message: `"${join(dir, "nope")}": no such folder; give a folder of wg-quick files (DIR/<node>.conf or DIR/<node>/wg0.conf)` });
    writeFileSync(join(dir, "file.txt"), "x");
    assert.throws(() => readConfigDir(join(dir, "file.txt")), /file\.txt" is a file, not a folder/);
    assert.throws(() => readConfigDir(dir), { message: `"${dir}": no wg-quick files found; expected DIR/<node>.conf or DIR/<node>/wg0.conf` });
    writeFileSync(join(dir, "a.conf"), conf("10.0.0.1/24"));
    mkdirSync(join(dir, "a"));
    writeFileSync(join(dir, "a", "wg0.conf"), conf("10.0.0.1/24"));
    writeFileSync(join(dir, "b.conf"), "[Interface]\nListenPort = many\nMTU = 9\n");
    writeFileSync(join(dir, "c.conf"), "[Interface]\n[Peer]\nAllowedIP = 10.0.0.0/24\n");
    assert.throws(
      () => readConfigDir(dir),
      (err: unknown) => {
        assert.ok(err instanceof ProblemsError);
        assert.deepEqual(err.lines, [
          `${join(dir, "a.conf")}: node a has two configs, ${join(dir, "a", "wg0.conf")} and ${join(dir, "a.conf")}; keep one`,
          `${join(dir, "b.conf")}:2: ListenPort "many" is not a UDP port; write a number 0-65535, e.g. 51820`,
          `${join(dir, "b.conf")}:3: MTU "9" is not a usable MTU; write a number 68-65535, e.g. 1420, or remove it`,
          `${join(dir, "c.conf")}:2: [Peer] has no PublicKey; add PublicKey = <the peer's public key>`,
          `${join(dir, "c.conf")}:3: unknown key "AllowedIP" in [Peer]; did you mean AllowedIPs?`,
        ]);
        assert.equal(err.summary, `5 problems in "${dir}"; fix them and run again`);
        return true;
      },
    );
  });
});

test("file names are data: __proto__.conf and constructor.conf are nodes like any other", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "__proto__.conf"), conf("10.0.0.1/24"));
    writeFileSync(join(dir, "constructor.conf"), conf("10.0.0.2/24"));
    writeFileSync(join(dir, "hasOwnProperty.conf"), conf("10.0.0.3/24"));
    const configs = readConfigDir(dir);
    assert.deepEqual([...configs.keys()], ["__proto__", "constructor", "hasOwnProperty"]);
    assert.deepEqual(configs.get("__proto__")?.iface.addresses, ["10.0.0.1/24"]);
    // And the simulator counts it: 3 nodes, 6 ordered pairs (none linked here, so none reachable).
    const report = lintConfigs(configs);
    assert.deepEqual(report.simulation.nodes.map((n) => n.name), ["__proto__", "constructor", "hasOwnProperty"]);
    assert.equal(report.summary, "0 of 6 ordered pairs reachable");
  });
});

test("symbolic links are never followed: skipped with a line saying so, and nothing of their target is read or echoed", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "a.conf"), conf("10.0.0.1/24"));
    symlinkSync("/etc/shadow", join(dir, "shadow.conf"));
    symlinkSync("/etc/passwd", join(dir, "passwd.conf"));
    mkdirSync(join(dir, "b"));
    symlinkSync("/etc/hostname", join(dir, "b", "wg0.conf"));
    symlinkSync("/etc", join(dir, "etc"));
    const folder = readConfigFolder(dir);
    assert.deepEqual([...folder.configs.keys()], ["a"]);
    assert.deepEqual(folder.problems, []);
    assert.deepEqual(folder.skipped, [
      `${join(dir, "b", "wg0.conf")}: a symbolic link, not followed; wg-mesh reads only files inside the folder (copy the file in to lint it)`,
      `${join(dir, "passwd.conf")}: a symbolic link, not followed; wg-mesh reads only files inside the folder (copy the file in to lint it)`,
      `${join(dir, "shadow.conf")}: a symbolic link, not followed; wg-mesh reads only files inside the folder (copy the file in to lint it)`,
    ]);
    assert.ok(!JSON.stringify(folder).includes("root:"), "nothing of /etc/passwd or /etc/shadow");
  });
});

test("a FIFO or a huge file is refused without blocking or reading it", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "a.conf"), conf("10.0.0.1/24"));
    execFileSync("mkfifo", [join(dir, "pipe.conf")]);
    writeFileSync(join(dir, "big.conf"), Buffer.alloc(2 * 1024 * 1024, 0x41));
    const folder = readConfigFolder(dir);
    assert.deepEqual([...folder.configs.keys()], ["a"]);
    assert.deepEqual(folder.problems, [`${join(dir, "big.conf")}: is 2097152 bytes; a wg-quick file is a few kilobytes (at most 1048576): is it the right file?`]);
  });
});
