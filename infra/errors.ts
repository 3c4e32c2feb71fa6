/** A problem the user can fix; its message is the whole story, printed as one line with no stack trace. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}
