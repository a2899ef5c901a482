/**
 * A habit real root models show in published RLM trajectories, played by the mock.
 *
 * A `mistake` habit rewrites one intended reply into the wrong form once per analysis,
 * and recovers only when the REPL's feedback tells it what went wrong (the way a model
 * reads its feedback): an engine that says nothing useful gets the mistake again. A
 * `style` habit rewrites every reply it applies to and needs no recovery.
 */
export interface Habit {
  name: HabitName;
  kind: "mistake" | "style";
  /** The reply in the habit's form, or undefined when the habit does not apply to it. */
  rewrite(intended: string, context: HabitContext): string | undefined;
  /** True for a reply this (mistake) habit wrote. */
  madeIn(reply: string): boolean;
  /** True when the feedback after the mistake tells the model what was wrong. */
  recoveredBy(feedback: string): boolean;
}

/** What a habit may look at besides the reply it rewrites. */
export interface HabitContext {
  /** The turn of the strategy's script the reply belongs to (mistakes not counted). */
  turn: number;
  /** The analysis's query. */
  query: string;
  /** For a later question of a session: its number and the variables its prompt says are kept. */
  session?: SessionQuestionNote;
}

/** What the prompt of a later question of a session says (see `rootUserPrompt`). */
export interface SessionQuestionNote {
  /** 2 for the session's second question. */
  question: number;
  /** The variables the earlier questions left defined, as the prompt lists them. */
  variables: string[];
}

/**
 * The habits the mock can play (option `habits`). `loose-json` is a sub-model's: asked for
 * JSON by prompt, it quotes its numbers first (see response-format.ts).
 */
export type HabitName =
  | "final-in-plan"
  | "python-fence"
  | "python-in-repl"
  | "forgotten-await"
  | "paper-names"
  | "sequential-await"
  | "backticks-in-code"
  | "missing-final-var"
  | "untyped-final"
  | "line-chunks"
  | "loose-json"
  | "typed-sub-calls"
  | "final-var-value"
  | "session-aware";

export const HABIT_NAMES: readonly HabitName[] = [
  "final-in-plan",
  "python-fence",
  "python-in-repl",
  "forgotten-await",
  "paper-names",
  "sequential-await",
  "backticks-in-code",
  "missing-final-var",
  "untyped-final",
  "line-chunks",
  "loose-json",
  "typed-sub-calls",
  "final-var-value",
  "session-aware",
];
