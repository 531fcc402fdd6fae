/** An error whose message is meant for the person who ran the command. */
export class CommandError extends Error {
  constructor(readonly humanError: string) {
    super(humanError);
    this.name = "CommandError";
  }
}
