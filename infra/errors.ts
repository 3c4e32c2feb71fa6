/** A problem the user can fix; its message is the whole story, printed as one line with no stack trace. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** Several problems found at once (every file of a folder): one line each, then a closing line. */
export class ProblemsError extends Error {
  constructor(
    readonly lines: string[],
    readonly summary: string,
  ) {
    super([...lines, summary].join("\n"));
    this.name = "ProblemsError";
  }
}
