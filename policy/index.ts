/**
 * The policy pack's entry point, as the policy runtime loads it (package.json "main"):
 * constructing the PolicyPack starts the analyzer that `pulumi preview --policy-pack policy` talks to.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("wg-mesh", { enforcementLevel: "mandatory", policies });
