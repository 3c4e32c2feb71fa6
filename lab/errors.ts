/** The lab's failures are things a user can act on (run as root, install wireguard-go), so they are UserErrors. */
import { UserError } from "../infra/errors";

export class LabError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = "LabError";
  }
}
