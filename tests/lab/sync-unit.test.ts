/**
 * The real node scripts (the bootstrap, which installs the node agent from the vault, and the agent's
 * wgmesh-sync) on real WireGuard (wg-quick falling back to wireguard-go), each
 * run inside a network namespace made here with no route out. Needs root, wireguard-go, wg,
 * wg-quick and /dev/net/tun; where one is missing the tests are skipped and say why. Every test
 * ends by checking that its namespace, wireguard-go process and socket are gone.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { WgPeer } from "../../infra/model";
import { AGENT_VERSION } from "../../infra/render/agent";
import { vaultLocatorFor, type VaultLocator } from "../../infra/vault";
import { assertNoKeyIn, config, must, peerKeys, sleepMs, syncTest, wireguardGoPids, withBench } from "../support/sync-bench";

syncTest("first run brings the interface up with Address, MTU and a route per AllowedIPs; a run without change does nothing", () => {
  withBench((b) => {
    b.publish(config(b));
    const first = b.run();
    assert.equal(first.code, 0, first.output);
    assertNoKeyIn(first.output, b);
    const s = b.state();
    assert.deepEqual(s.addresses, ["10.50.5.1/24"]);
    assert.equal(s.mtu, 1380);
    assert.equal(s.listenPort, 51820);
    assert.deepEqual(s.routes, ["10.50.1.1/32", "10.50.2.0/24", "10.50.5.0/24 (kernel)"]);
    assert.deepEqual(s.peers, { [peerKeys[0] as string]: ["10.50.1.1/32"], [peerKeys[1] as string]: ["10.50.2.0/24", "10.50.5.7/32"] });
    assert.equal(b.installedConfig(), config(b));
    assert.equal(b.installedMode(), 0o600);

    const again = b.run();
    assert.equal(again.code, 0, again.output);
    assert.equal(again.output, "", "an unchanged config is not applied again");
    assert.deepEqual(b.state(), s);
  });
});

syncTest("adding and removing peers applies in place: same process and ifindex, routes follow AllowedIPs", () => {
  withBench((b) => {
    b.publish(config(b));
    assert.equal(b.run().code, 0);
    const before = b.state();
    const sockets = b.udpSockets();
    assert.equal(sockets.length, 2, `wireguard-go listens on IPv4 and IPv6: ${sockets.join(", ")}`);

    // gru leaves, a new peer with 10.60.0.0/16 joins, iad keeps its place.
    const peers: WgPeer[] = [
      { publicKey: peerKeys[1] as string, allowedIps: ["10.50.2.0/24", "10.50.5.7/32"] },
      { publicKey: peerKeys[2] as string, allowedIps: ["10.60.0.0/16"], endpoint: "198.18.1.9:51820", persistentKeepalive: 25 },
    ];
    b.publish(config(b, { peers }));
    const r = b.run();
    assert.equal(r.code, 0, r.output);
    assertNoKeyIn(r.output, b);
    assert.doesNotMatch(r.output, /wg-quick|restart/i, "applied without wg-quick down/up");
    const after = b.state();
    assert.equal(after.pid, before.pid, "same wireguard-go: no restart");
    assert.equal(after.ifindex, before.ifindex, "same interface: no restart");
    assert.deepEqual(after.routes, ["10.50.2.0/24", "10.50.5.0/24 (kernel)", "10.60.0.0/16"]);
    assert.deepEqual(after.peers, { [peerKeys[1] as string]: ["10.50.2.0/24", "10.50.5.7/32"], [peerKeys[2] as string]: ["10.60.0.0/16"] });
    assert.deepEqual(after.addresses, before.addresses);
    assert.equal(b.installedConfig(), config(b, { peers }));
    // wg syncconf would set the unchanged ListenPort, and wireguard-go rebinds for that, dropping
    // packets in flight: the same sockets prove the peers were synced without it.
    assert.deepEqual(b.udpSockets(), sockets, "wireguard-go rebound its socket");
  });
});

syncTest("a new ListenPort is applied in place: same process and interface, new sockets on the new port", () => {
  withBench((b) => {
    b.publish(config(b));
    assert.equal(b.run().code, 0);
    const before = b.state();
    const sockets = b.udpSockets();

    b.publish(config(b, { port: 51999 }));
    const r = b.run();
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /applied the new config to \S+ in place/);
    const after = b.state();
    assert.equal(after.pid, before.pid);
    assert.equal(after.ifindex, before.ifindex);
    assert.equal(after.listenPort, 51999);
    assert.deepEqual({ ...after, listenPort: 0 }, { ...before, listenPort: 0 });
    const now = b.udpSockets();
    assert.ok(now.every((s) => /:51999 /.test(s)) && now.length === sockets.length, now.join(", "));
  });
});

syncTest("a missing, empty, unparsable or refused entry leaves the interface as it was and the run fails", () => {
  withBench((b) => {
    b.publish(config(b));
    assert.equal(b.run().code, 0);
    const before = b.state();
    const installed = b.installedConfig();
    // A public key wg rejects: its message quotes the value, which must not reach the log.
    const badValue = `${(peerKeys[3] as string).slice(0, 30)}NotAKey`;
    // Entries as they come: none, not sealed, a bare wg0.conf (as wg-mesh wrote it before agents).
    const raw: Record<string, string | undefined> = { missing: undefined, empty: "", garbage: "this is not a wg-quick file\n", "a bare wg0.conf": config(b) };
    // Whole entries whose wg0.conf wg or wg-quick would not take.
    const configs: Record<string, string> = {
      "no PrivateKey": config(b).replace(/^PrivateKey = .*$/m, ""),
      "bad PrivateKey": config(b).replace(/^PrivateKey = .*$/m, "PrivateKey = short"),
      "unknown key": config(b).replace("[Peer]", "[Peer]\nAllowedIP = 10.9.9.9/32"),
      "value wg rejects": config(b).replace(peerKeys[0] as string, badValue),
    };
    const cases = [...Object.entries(raw).map(([name, text]) => [name, text, true] as const), ...Object.entries(configs).map(([name, text]) => [name, text, false] as const)];
    for (const [name, text, isRaw] of cases) {
      if (text === undefined) rmSync(b.vaultFile, { force: true });
      else if (isRaw) b.publishRaw(text);
      else b.publish(text);
      const r = b.run();
      assert.notEqual(r.code, 0, `${name}: the run must fail`);
      assert.match(r.output, /keeps its current|could not fetch/, `${name}: says why: ${r.output}`);
      assertNoKeyIn(r.output, b);
      assert.ok(!r.output.includes(badValue), `${name}: wg's quoted value reached the log`);
      assert.deepEqual(b.state(), before, `${name}: the interface changed`);
      assert.equal(b.installedConfig(), installed, `${name}: the installed config changed`);
    }
  });
});

syncTest("after a reboot with the vault out of reach, the last applied config comes up and the run still fails", () => {
  withBench((b) => {
    b.publish(config(b));
    assert.equal(b.run().code, 0);
    const before = b.state();
    // The reboot: the interface and its wireguard-go are gone, the installed config stays.
    must("ip", ["-n", b.ns, "link", "del", b.iface]);
    for (let i = 0; i < 40 && wireguardGoPids(b.iface).length > 0; i++) sleepMs(50);
    rmSync(b.vaultFile);

    const r = b.run();
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /could not fetch the config[\s\S]*last applied config/);
    const after = b.state();
    assert.notEqual(after.ifindex, before.ifindex);
    assert.deepEqual({ ...after, ifindex: 0, pid: 0 }, { ...before, ifindex: 0, pid: 0 });
  });
});

syncTest("an Address change restarts the interface and applies the new Address, MTU and routes", () => {
  withBench((b) => {
    const marker = join(b.dir, "post-down-ran");
    b.publish(config(b, { postDown: [`touch ${marker}-%i`] }));
    assert.equal(b.run().code, 0);
    const before = b.state();

    b.publish(config(b, { address: "10.70.5.1/24", mtu: 1360 }));
    const r = b.run();
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /Address changed: restarting/);
    assertNoKeyIn(r.output, b);
    const after = b.state();
    assert.notEqual(after.ifindex, before.ifindex, "the interface was recreated");
    assert.deepEqual(after.addresses, ["10.70.5.1/24"]);
    assert.equal(after.mtu, 1360);
    // 10.50.5.7/32 is outside the new subnet, so it now gets a route of its own.
    assert.deepEqual(after.routes, ["10.50.1.1/32", "10.50.2.0/24", "10.50.5.7/32", "10.70.5.0/24 (kernel)"]);
    assert.ok(existsSync(`${marker}-${b.iface}`), "wg-quick down ran the old PostDown");
  });
});

syncTest("new PostUp/PostDown lines run the old PostDown and the new PostUp, %i substituted, without a restart", () => {
  withBench((b) => {
    const mark = (what: string): string => join(b.dir, what);
    b.publish(config(b, { postUp: [`touch ${mark("old-up")}-%i`], postDown: [`touch ${mark("old-down")}-%i`] }));
    assert.equal(b.run().code, 0);
    assert.ok(existsSync(`${mark("old-up")}-${b.iface}`), "wg-quick up ran PostUp");
    const before = b.state();

    b.publish(config(b, { postUp: [`touch ${mark("new-up")}-%i`], postDown: [`touch ${mark("new-down")}-%i`] }));
    const r = b.run();
    assert.equal(r.code, 0, r.output);
    const after = b.state();
    assert.equal(after.pid, before.pid);
    assert.equal(after.ifindex, before.ifindex);
    assert.ok(existsSync(`${mark("old-down")}-${b.iface}`), "old PostDown ran");
    assert.ok(existsSync(`${mark("new-up")}-${b.iface}`), "new PostUp ran");
    assert.ok(!existsSync(`${mark("new-down")}-${b.iface}`), "new PostDown did not run");
  });
});

/**
 * A stand-in curl on PATH: records each call (argv, and the config it got on stdin) and answers
 * from canned bodies keyed by URL, so the cloud fetchers run for real without any network.
 */
class StubCurl {
  readonly dir: string;
  readonly bin: string;
  private calls = 0;

  constructor(root: string) {
    this.dir = join(root, "stub-curl");
    this.bin = join(this.dir, "bin");
    mkdirSync(join(this.dir, "answers"), { recursive: true });
    mkdirSync(join(this.dir, "calls"));
    mkdirSync(this.bin);
    writeFileSync(
      join(this.bin, "curl"),
      `#!/bin/bash
set -euo pipefail
dir=${JSON.stringify(this.dir)}
# Calls may run at once (a pipeline of curls): each gets its own folder, named by when it started.
call=$(mktemp -d "$dir/calls/$(date +%s%N).XXXX")
printf '%s\\0' "$@" >"$call/argv"
cat >"$call/config"
args=("$@") out='' code='' fail=0
for ((i = 0; i < \${#args[@]}; i++)); do
  case \${args[i]} in
    --output) out=\${args[i+1]} ;;
    --write-out) code=1 ;;
    --data-binary) cp -- "\${args[i+1]#@}" "$call/body" ;;
    -d) printf '%s' "\${args[i+1]}" >"$call/body" ;;
    -*f*) [[ \${args[i]} == --* ]] || fail=1 ;;
  esac
done
body=''
if [[ -f $call/body ]]; then body=$(cat "$call/body"); fi
key=$(printf '%s\\n%s' "\${args[-1]}" "$body" | sha256sum | cut -c1-16)
status=404
if [[ -f $dir/answers/$key.status ]]; then status=$(cat "$dir/answers/$key.status"); fi
if ((fail && status >= 400)); then echo "curl: (22) The requested URL returned error: $status" >&2; exit 22; fi
if [[ -f $dir/answers/$key.body ]]; then
  if [[ -n $out ]]; then cp -- "$dir/answers/$key.body" "$out"; else cat -- "$dir/answers/$key.body"; fi
fi
if [[ -n $code ]]; then printf '%s' "$status"; fi
`,
      { mode: 0o755 },
    );
  }

  /** What a request to `url` (with `request` as its body, for a POST) is answered. */
  answer(url: string, body: string, status = 200, request = ""): void {
    const key = createHash("sha256").update(`${url}\n${request}`).digest("hex").slice(0, 16);
    writeFileSync(join(this.dir, "answers", `${key}.body`), body);
    writeFileSync(join(this.dir, "answers", `${key}.status`), String(status));
  }

  /** Calls made since the last look, in order. */
  takeCalls(): { argv: string[]; config: string; body?: string }[] {
    const names = readdirSync(join(this.dir, "calls")).sort().slice(this.calls);
    this.calls += names.length;
    return names.map((name) => {
      const call = join(this.dir, "calls", name);
      const body = existsSync(join(call, "body")) ? readFileSync(join(call, "body"), "utf8") : undefined;
      return {
        argv: readFileSync(join(call, "argv"), "utf8").split("\0").slice(0, -1),
        config: readFileSync(join(call, "config"), "utf8"),
        ...(body !== undefined ? { body } : {}),
      };
    });
  }
}

function urlOf(call: { argv: string[] }): string {
  return call.argv[call.argv.length - 1] as string;
}

function headersOf(call: { argv: string[] }): string[] {
  return call.argv.flatMap((a, i) => (call.argv[i - 1] === "-H" ? [a] : []));
}

/** Curl read its config (credentials, headers) from stdin: `--config -`, or the bootstrap's `-K-`. */
function configOnStdin(call: { argv: string[] }): boolean {
  return call.argv.includes("-K-") || call.argv.some((a, i) => a === "--config" && call.argv[i + 1] === "-");
}

/** The secrets a run's calls asked for, in order (AWS: the request's SecretId; others: the secret in the URL). */
function secretsAsked(calls: { argv: string[]; body?: string }[], pattern: RegExp): string[] {
  return calls.flatMap((c) => {
    if (c.body) return [(JSON.parse(c.body) as { SecretId: string }).SecretId];
    const m = pattern.exec(urlOf(c));
    return m ? [m[1] as string] : [];
  });
}

syncTest("AWS: IMDSv2 token, role credentials, then GetSecretValue signed with SigV4, for the entry and the agent; credentials only on curl's stdin", () => {
  withBench((b) => {
    const stub = new StubCurl(b.dir);
    const vault = vaultLocatorFor({ name: "ireland", cloud: "aws", aws: { region: "eu-west-1" } }, "wg-mesh", "lab") as Extract<VaultLocator, { kind: "aws-secretsmanager" }>;
    b.useVault(vault, `${stub.bin}:`);
    const creds = { Code: "Success", AccessKeyId: "ASIATESTKEYID", SecretAccessKey: "s3cret/Access+Key", Token: "SessionTokenValue==" };
    stub.answer("http://169.254.169.254/latest/api/token", "imds-session-token");
    stub.answer("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "wgmesh-ireland\n");
    stub.answer("http://169.254.169.254/latest/meta-data/iam/security-credentials/wgmesh-ireland", JSON.stringify(creds));
    const sm = "https://secretsmanager.eu-west-1.amazonaws.com/";
    const serve = (conf: string): void => {
      stub.answer(sm, JSON.stringify({ Name: vault.secretName, SecretString: b.entry(conf) }), 200, JSON.stringify({ SecretId: vault.secretName }));
      stub.answer(sm, JSON.stringify({ Name: vault.agentSecretName, SecretString: b.agent.value }), 200, JSON.stringify({ SecretId: vault.agentSecretName }));
    };
    serve(config(b, { port: 51901 }));

    // The first run: the bootstrap reads the entry and the agent it names, the agent then the entry.
    const r = b.run();
    assert.equal(r.code, 0, r.output);
    assert.equal(b.state().listenPort, 51901);
    assert.equal(b.installedConfig(), config(b, { port: 51901 }));
    assert.equal(b.agentVersion(), AGENT_VERSION);
    const first = stub.takeCalls();
    assert.deepEqual(secretsAsked(first, /^$/), [vault.secretName, vault.agentSecretName, vault.secretName]);
    for (const call of first) {
      for (const secret of [creds.SecretAccessKey, creds.Token, "imds-session-token"]) {
        assert.ok(!call.argv.some((a) => a.includes(secret)), `${secret} on curl's command line`);
      }
      assert.ok(configOnStdin(call), `config read from stdin: ${call.argv.join(" ")}`);
    }

    // Every later run: the agent reads the entry alone.
    serve(config(b, { port: 51911 }));
    assert.equal(b.run().code, 0);
    assert.equal(b.state().listenPort, 51911);
    const calls = stub.takeCalls();
    assert.deepEqual(calls.map(urlOf), [
      "http://169.254.169.254/latest/api/token",
      "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
      "http://169.254.169.254/latest/meta-data/iam/security-credentials/wgmesh-ireland",
      sm,
    ]);
    const [token, role, credentials, get] = calls as [(typeof calls)[0], (typeof calls)[0], (typeof calls)[0], (typeof calls)[0]];
    assert.ok(token.argv.join(" ").includes("-X PUT"));
    assert.deepEqual(headersOf(token), ["X-aws-ec2-metadata-token-ttl-seconds: 300"]);
    for (const imds of [role, credentials]) assert.equal(imds.config.trim(), 'header = "X-aws-ec2-metadata-token: imds-session-token"');
    assert.ok(get.argv.includes("--aws-sigv4") && get.argv.includes("aws:amz:eu-west-1:secretsmanager"));
    assert.deepEqual(headersOf(get), ["X-Amz-Target: secretsmanager.GetSecretValue", "Content-Type: application/x-amz-json-1.1"]);
    assert.deepEqual(JSON.parse(get.body ?? ""), { SecretId: "wg-mesh/lab/ireland/wg0.conf" });
    assert.equal(get.config, `user = "ASIATESTKEYID:s3cret/Access+Key"\nheader = "x-amz-security-token: SessionTokenValue=="\n`);

    // The role may not read the secret: the run fails, says what to grant, and changes nothing.
    const before = b.state();
    stub.answer(sm, '{"__type":"AccessDeniedException"}', 403, JSON.stringify({ SecretId: vault.secretName }));
    const denied = b.run();
    assert.notEqual(denied.code, 0);
    assert.match(denied.output, /HTTP 403 \(AccessDeniedException\): the instance role needs secretsmanager:GetSecretValue on wg-mesh\/lab\/ireland\/wg0\.conf/);
    assert.equal(denied.output.trim().split("\n").length, 1, `one line says why: ${denied.output}`);
    assert.deepEqual(b.state(), before);
  });
});

syncTest("GCP: metadata server token, then versions/latest:access with the payload base64-decoded, for the entry and the agent", () => {
  withBench((b) => {
    const stub = new StubCurl(b.dir);
    const vault = vaultLocatorFor({ name: "hkg", cloud: "gcp", gcp: { project: "edgeproxy-lab" } }, "wg-mesh", "lab") as Extract<VaultLocator, { kind: "gcp-secretmanager" }>;
    b.useVault(vault, `${stub.bin}:`);
    const conf = config(b, { port: 51902 });
    stub.answer("http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token", JSON.stringify({ access_token: "ya29.lab-token", expires_in: 3599, token_type: "Bearer" }));
    const url = (id: string): string => `https://secretmanager.googleapis.com/v1/projects/edgeproxy-lab/secrets/${id}/versions/latest:access`;
    const serve = (id: string, value: string): void => stub.answer(url(id), JSON.stringify({ name: `projects/1/secrets/${id}/versions/3`, payload: { data: Buffer.from(value).toString("base64") } }));
    serve(vault.secretId, b.entry(conf));
    serve(vault.agentSecretId, b.agent.value);

    const r = b.run();
    assert.equal(r.code, 0, r.output);
    assert.equal(b.state().listenPort, 51902);
    assert.equal(b.installedConfig(), conf);
    assert.equal(b.agentVersion(), AGENT_VERSION);
    const first = stub.takeCalls();
    assert.deepEqual(secretsAsked(first, /\/secrets\/([^/]+)\/versions/), [vault.secretId, vault.agentSecretId, vault.secretId]);
    for (const call of first) {
      assert.ok(configOnStdin(call));
      assert.ok(!call.argv.some((a) => a.includes("ya29")));
    }

    assert.equal(b.run().code, 0);
    const [token, access] = stub.takeCalls() as [{ argv: string[]; config: string }, { argv: string[]; config: string }];
    assert.deepEqual(headersOf(token), ["Metadata-Flavor: Google"]);
    assert.equal(urlOf(access), url(vault.secretId));
    assert.equal(access.config.trim(), 'header = "Authorization: Bearer ya29.lab-token"');
  });
});

syncTest("Azure: the vault's name from the VM's tag, the managed identity token for Key Vault, then each secret's value", () => {
  withBench((b) => {
    const stub = new StubCurl(b.dir);
    b.useVault(vaultLocatorFor({ name: "lhr", cloud: "azure" }, "wg-mesh", "lab") as VaultLocator, `${stub.bin}:`);
    const conf = config(b, { port: 51903 });
    const tagsUrl = "http://169.254.169.254/metadata/instance/compute/tagsList?api-version=2021-02-01";
    stub.answer(tagsUrl, JSON.stringify([{ name: "wg-mesh-node", value: "lhr" }, { name: "wg-mesh-vault", value: "wgm-lhr-0a1b2c3d" }]));
    const tokenUrl = "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net";
    stub.answer(tokenUrl, JSON.stringify({ access_token: "eyJ.lab.token", token_type: "Bearer", resource: "https://vault.azure.net" }));
    const url = (name: string): string => `https://wgm-lhr-0a1b2c3d.vault.azure.net/secrets/${name}?api-version=7.4`;
    stub.answer(url("wg0-conf"), JSON.stringify({ value: b.entry(conf), id: "https://wgm-lhr-0a1b2c3d.vault.azure.net/secrets/wg0-conf/abc" }));
    stub.answer(url("wgmesh-agent"), JSON.stringify({ value: b.agent.value, id: "https://wgm-lhr-0a1b2c3d.vault.azure.net/secrets/wgmesh-agent/abc" }));

    const r = b.run();
    assert.equal(r.code, 0, r.output);
    assert.equal(b.state().listenPort, 51903);
    assert.equal(b.installedConfig(), conf);
    assert.equal(b.agentVersion(), AGENT_VERSION);
    assert.deepEqual(secretsAsked(stub.takeCalls(), /\/secrets\/([^?]+)\?/), ["wg0-conf", "wgmesh-agent", "wg0-conf"]);

    assert.equal(b.run().code, 0);
    const [tags, token, get] = stub.takeCalls() as [{ argv: string[]; config: string }, { argv: string[]; config: string }, { argv: string[]; config: string }];
    assert.equal(urlOf(tags), tagsUrl);
    assert.deepEqual(headersOf(tags), ["Metadata: true"]);
    assert.equal(urlOf(token), tokenUrl);
    assert.deepEqual(headersOf(token), ["Metadata: true"]);
    assert.equal(urlOf(get), url("wg0-conf"));
    assert.equal(get.config.trim(), 'header = "Authorization: Bearer eyJ.lab.token"');
  });
});
