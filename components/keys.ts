/**
 * WireGuard keys as Pulumi resources. RandomBytes, not RandomString: its `base64` output is
 * secret, while a RandomString's result is also its id, which lands in state in the clear.
 * `keyEpoch` is a keeper, so bumping it in config replaces every key on the next update.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { privateKeyFromBytes, publicKeyFromPrivate } from "../infra/keys";

const KEY_BYTES = 32;

export interface NodeKey {
  /** Secret. */
  privateKey: pulumi.Output<string>;
  /** Derived from the private key; public by nature, so published unsecret. */
  publicKey: pulumi.Output<string>;
}

function secretBytes(name: string, keyEpoch: number, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
  const bytes = new random.RandomBytes(name, { length: KEY_BYTES, keepers: { keyEpoch: String(keyEpoch) } }, opts);
  // The provider marks base64 secret; saying so here as well keeps that true whatever it does.
  return pulumi.secret(bytes.base64);
}

export function nodeKey(name: string, keyEpoch: number, opts: pulumi.CustomResourceOptions): NodeKey {
  const privateKey = secretBytes(name, keyEpoch, opts).apply((b64) => privateKeyFromBytes(Buffer.from(b64, "base64")));
  return { privateKey, publicKey: pulumi.unsecret(privateKey.apply(publicKeyFromPrivate)) };
}

export interface PresharedKeysArgs {
  /** Link ids ("a--b") between nodes of this stack. */
  links: string[];
  keyEpoch: number;
}

/** One preshared key per link, shared by both of its ends (post-quantum padding for the handshake). */
export class PresharedKeys extends pulumi.ComponentResource {
  /** Secret values by link id. */
  readonly byLink: Readonly<Record<string, pulumi.Output<string>>>;

  constructor(name: string, args: PresharedKeysArgs, opts?: pulumi.ComponentResourceOptions) {
    super("wg-mesh:index:PresharedKeys", name, {}, opts);
    // Named after this component; before the Mesh component a key was psk-<link> under one named preshared-keys.
    this.byLink = Object.fromEntries(args.links.map((id) => [id, secretBytes(`${name}-${id}`, args.keyEpoch, { parent: this, aliases: [{ name: `psk-${id}` }] })]));
    this.registerOutputs({ links: args.links });
  }
}
