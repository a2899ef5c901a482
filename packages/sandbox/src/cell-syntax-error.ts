/** The cell does not parse. Nothing of it ran. */
export class CellSyntaxError extends Error {
  /** 1-based line of the error in the cell's code. */
  readonly line: number;
  constructor(message: string, line: number) {
    super(message);
    this.name = "SyntaxError";
    this.line = line;
  }

  /** The error as the model sees it: `SyntaxError: Unexpected token (line 3)`. */
  toCellError(): string {
    return `SyntaxError: ${this.message} (line ${this.line})`;
  }
}
