/** Where a syntax error is in a cell. */
export interface CellSyntaxErrorPosition {
  /** The cell's code. */
  code: string;
  /** 1-based line. */
  line: number;
  /** 0-based column, in UTF-16 code units. */
  column: number;
}

/** The cell does not parse. Nothing of it ran. */
export class CellSyntaxError extends Error {
  /** 1-based line of the error in the cell's code. */
  readonly line: number;
  /** 0-based column of the error in that line. */
  readonly column: number;
  /** The text of that line. */
  readonly sourceLine: string;

  constructor(message: string, position: CellSyntaxErrorPosition) {
    super(message);
    this.name = "SyntaxError";
    this.line = position.line;
    this.column = position.column;
    this.sourceLine = position.code.split(/\r\n|\r|\n/)[position.line - 1] ?? "";
  }

  /**
   * The error as the model sees it: the message with line and column, then the offending
   * line and a caret under the column, as Node prints a syntax error:
   *
   * ```
   * SyntaxError: Unexpected token (line 3, column 14)
   *   const x = f(;
   *               ^
   * ```
   */
  toCellError(): string {
    const header = `SyntaxError: ${this.message} (line ${this.line}, column ${this.column + 1})`;
    if (this.sourceLine.trim() === "") return header;
    // Very long lines (minified data pasted into code) are cut around the column.
    const start = Math.max(0, this.column - 100);
    const shown = this.sourceLine.slice(start, start + 200);
    // Tabs stay tabs in the caret's line, so the caret lands under the column.
    const pad = shown
      .slice(0, this.column - start)
      .replace(/[^\t]/g, " ")
      .padEnd(this.column - start);
    return `${header}\n  ${shown}\n  ${pad}^`;
  }
}
