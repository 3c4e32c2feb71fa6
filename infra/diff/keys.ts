/**
 * Throw-away keys shared by both sides of a diff. A key belongs to what Pulumi would keep it
 * for: a node's key lives as long as the node's name (its component is aliased across roles) and
 * its keyEpoch; a preshared key as long as its link and the keyEpoch. So a
 * node whose key survives the change has the same key on both sides, and one whose key is
 * replaced gets a new one, exactly as the deployed stack would.
 */
import { generatePresharedKey, generatePrivateKey, publicKeyFromPrivate } from "../keys";
import type { MeshPlan } from "../model";
import type { MeshKeys } from "../render/mesh";

export class KeyBook {
  private readonly nodeKeys = new Map<string, { privateKey: string; publicKey: string }>();
  private readonly linkKeys = new Map<string, string>();

  private nodeKey(name: string, epoch: number): { privateKey: string; publicKey: string } {
    const id = `${name}|${epoch}`;
    let pair = this.nodeKeys.get(id);
    if (!pair) {
      const privateKey = generatePrivateKey();
      pair = { privateKey, publicKey: publicKeyFromPrivate(privateKey) };
      this.nodeKeys.set(id, pair);
    }
    return pair;
  }

  private linkKey(link: string, epoch: number): string {
    const id = `${link}|${epoch}`;
    let key = this.linkKeys.get(id);
    if (key === undefined) {
      key = generatePresharedKey();
      this.linkKeys.set(id, key);
    }
    return key;
  }

  keysFor(plan: MeshPlan): MeshKeys {
    const epoch = plan.spec.keyEpoch;
    const privateKeys: Record<string, string> = {};
    const publicKeys: Record<string, string> = {};
    for (const node of plan.nodes) {
      const pair = this.nodeKey(node.name, epoch);
      privateKeys[node.name] = pair.privateKey;
      publicKeys[node.name] = pair.publicKey;
    }
    const keys: MeshKeys = { privateKeys, publicKeys };
    if (plan.spec.presharedKeys) keys.presharedKeys = Object.fromEntries(plan.links.map((l) => [l.id, this.linkKey(l.id, epoch)]));
    return keys;
  }

  /** Which node a public key belongs to, across both sides. */
  ownerOf(publicKey: string): string | undefined {
    for (const [id, pair] of this.nodeKeys) if (pair.publicKey === publicKey) return id.split("|")[0];
    return undefined;
  }
}
