import type { Habit, HabitName } from "./habit.js";

/** The peek every script opens with: `const text = …` then three prints. */
const PEEK_CODE =
  /```repl\n(const text = [^\n]+)\nprint\("type:"[^\n]*\nprint\("length:"[^\n]*\nprint\("head:"[^\n]*\n```/;

/**
 * Replies without code that plan aloud and mention FINAL inside a sentence. An engine
 * that reads any FINAL( as an answer ends the analysis with the plan's placeholder.
 */
const finalInPlan: Habit = {
  name: "final-in-plan",
  kind: "mistake",
  rewrite(_intended, context) {
    if (context.turn !== 1) return undefined;
    return "I will first look at the size and the start of the document, then work out the answer with code, and report it with FINAL(answer) once I have it.";
  },
  madeIn: (reply) => !reply.includes("```") && /and report it with FINAL\(answer\)/.test(reply),
  recoveredBy: (feedback) => /Nothing ran and no answer was taken/.test(feedback),
};

/** The peek written in Python, in a ```python fence (which does not run). */
const pythonFence: Habit = {
  name: "python-fence",
  kind: "mistake",
  rewrite(intended) {
    if (!PEEK_CODE.test(intended)) return undefined;
    return intended.replace(
      PEEK_CODE,
      "```python\ntext = context\nprint(len(text))\nprint(text[:300])\n```",
    );
  },
  madeIn: (reply) => reply.includes("```python\ntext = context"),
  recoveredBy: (feedback) => /runs JavaScript, not Python/.test(feedback),
};

/** Python syntax in a ```repl block: a syntax error where the slice is. */
const pythonInRepl: Habit = {
  name: "python-in-repl",
  kind: "mistake",
  rewrite(intended) {
    if (!PEEK_CODE.test(intended)) return undefined;
    return intended.replace(
      PEEK_CODE,
      "```repl\ntext = context\nprint(len(text))\nprint(text[:300])\n```",
    );
  },
  madeIn: (reply) => reply.includes("```repl\ntext = context\nprint(len(text))"),
  recoveredBy: (feedback) => /runs JavaScript, not Python/.test(feedback),
};

/** A fan-out whose promises are never awaited: the answers are Promises, the sum 0. */
const forgottenAwait: Habit = {
  name: "forgotten-await",
  kind: "mistake",
  rewrite(intended) {
    const awaited = "const answers = await Promise.all(chunks.map((c) => recursiveLm(";
    if (!intended.includes(awaited)) return undefined;
    return intended
      .replace(awaited, "const answers = chunks.map((c) => recursiveLm(")
      .replace(/, c\)\)\);/, ", c));")
      .replace(
        'print("chunks:", chunks.length);',
        'print("chunks:", chunks.length);\nprint("first answer:", answers[0]);',
      );
  },
  madeIn: (reply) => reply.includes("const answers = chunks.map((c) => recursiveLm("),
  recoveredBy: (feedback) =>
    /still pending when the block ended/.test(feedback) || /Promise \{ <pending> \}/.test(feedback),
};

/** The RLM paper's names: `llm_query_batched` for a fan-out, `llm_query` for one call. */
const paperNames: Habit = {
  name: "paper-names",
  kind: "style",
  rewrite(intended) {
    const fanOut =
      /await Promise\.all\(chunks\.map\(\(c\) => recursiveLm\(("(?:[^"\\]|\\.)*"), c\)\)\)/;
    if (!fanOut.test(intended) && !intended.includes("recursiveLm(")) return undefined;
    return intended
      .replace(
        fanOut,
        (_match, question: string) =>
          `await llm_query_batched(chunks.map((c) => ${question} + "\\n\\n" + c))`,
      )
      .replace(/\brecursiveLm\(/g, "llm_query(");
  },
  madeIn: () => false,
  recoveredBy: () => true,
};

/** A fan-out written as a loop that awaits each call in turn. */
const sequentialAwait: Habit = {
  name: "sequential-await",
  kind: "style",
  rewrite(intended) {
    const fanOut =
      /const answers = await Promise\.all\(chunks\.map\(\(c\) => recursiveLm\(("(?:[^"\\]|\\.)*"), c\)\)\);/;
    if (!fanOut.test(intended)) return undefined;
    return intended.replace(
      fanOut,
      (_match, question: string) =>
        `const answers = [];\nfor (const c of chunks) {\n  answers.push(await recursiveLm(${question}, c));\n}`,
    );
  },
  madeIn: () => false,
  recoveredBy: () => true,
};

/** Code that holds ``` in strings: it strips Markdown fences from the sub-model's answers. */
const backticksInCode: Habit = {
  name: "backticks-in-code",
  kind: "style",
  rewrite(intended) {
    const sum = "const total = answers.reduce(";
    if (!intended.includes(sum)) return undefined;
    return intended.replace(
      sum,
      'const unfenced = answers.map((answer) => String(answer).split("\\n").filter((line) => !line.startsWith("```")).join("\\n").replace(/```(?:json)?/g, ""));\nconst total = unfenced.reduce(',
    );
  },
  madeIn: () => false,
  recoveredBy: () => true,
};

/**
 * Chunks built the way models write them: the text split into lines, lines joined until a
 * chunk is big enough (instead of `slice` at a newline).
 */
const lineChunks: Habit = {
  name: "line-chunks",
  kind: "style",
  rewrite(intended) {
    const split = /const chunks = splitIntoChunks\(text, (\d+)\);/;
    const size = split.exec(intended)?.[1];
    if (size === undefined) return undefined;
    return intended.replace(
      split,
      [
        'const lines = text.split("\\n");',
        "const chunks = [];",
        "let current = [];",
        "let currentSize = 0;",
        "for (const line of lines) {",
        "  current.push(line);",
        "  currentSize += line.length + 1;",
        `  if (currentSize >= ${size}) {`,
        '    chunks.push(current.join("\\n"));',
        "    current = [];",
        "    currentSize = 0;",
        "  }",
        "}",
        'if (current.length > 0) chunks.push(current.join("\\n"));',
      ].join("\n"),
    );
  },
  madeIn: () => false,
  recoveredBy: () => true,
};

/** A fan-out that asks each chunk for typed JSON (`{ schema }`) and sums its `count`. */
const typedSubCalls: Habit = {
  name: "typed-sub-calls",
  kind: "style",
  rewrite(intended) {
    const fanOut = /recursiveLm\(("(?:[^"\\]|\\.)*"), c\)/;
    if (!fanOut.test(intended) || !intended.includes("answers.reduce(")) return undefined;
    const schema =
      '{ schema: { type: "object", properties: { count: { type: "integer" } }, required: ["count"] } }';
    return intended
      .replace(fanOut, (_match, question: string) => `recursiveLm(${question}, c, ${schema})`)
      .replace(/String\(answer\)/g, "String(answer.count)");
  },
  madeIn: () => false,
  recoveredBy: () => true,
};

/**
 * FINAL_VAR given a value rather than a name, in code: the needle's last word, a string
 * that could be a variable's name but names none (an engine that looks it up fails).
 */
const finalVarValue: Habit = {
  name: "final-var-value",
  kind: "style",
  rewrite(intended) {
    const final = 'FINAL(hits[0] ?? "not found");';
    if (!intended.includes(final)) return undefined;
    return intended.replace(
      final,
      'const lastWord = (hits[0] ?? "").match(/[A-Za-z]+/g)?.pop() ?? "none";\nFINAL_VAR(lastWord);',
    );
  },
  madeIn: () => false,
  recoveredBy: () => true,
};

/** A text FINAL_VAR naming a variable that does not exist. */
const missingFinalVar: Habit = {
  name: "missing-final-var",
  kind: "mistake",
  rewrite(intended) {
    const directive = /^FINAL_VAR\((\w+)\)$/m;
    if (intended.includes("```") || !directive.test(intended)) return undefined;
    return intended.replace(directive, "FINAL_VAR(result)");
  },
  madeIn: (reply) => /^FINAL_VAR\(result\)$/m.test(reply),
  recoveredBy: (feedback) => /The variables defined are: /.test(feedback),
};

/** The variables the scripts answer from, printed by a later question that finds them kept. */
const RESULT_VARIABLES = ["count", "total", "hits", "overview"] as const;

/**
 * A later question of a session starts from what the earlier ones left, as a model told
 * so would: its peek prints `history` (how many questions came before, the last answer)
 * and the earlier results the prompt says are kept, and reuses `text` instead of building
 * it again. A REPL that did not keep them fails the peek (a ReferenceError the model sees).
 */
const sessionAware: Habit = {
  name: "session-aware",
  kind: "style",
  rewrite(intended, context) {
    const session = context.session;
    const peek = PEEK_CODE.exec(intended);
    if (!session || context.turn !== 1 || !peek?.[1]) return undefined;
    const declaration = peek[1];
    const recall = [
      `print("question", ${session.question}, "of a session; history:", history.length);`,
      'print("last answer:", JSON.stringify(history[history.length - 1]?.answer ?? null));',
      ...RESULT_VARIABLES.filter((name) => session.variables.includes(name)).map(
        (name) => `print("earlier ${name}:", JSON.stringify(${name}));`,
      ),
    ];
    const kept = session.variables.includes("text") ? recall : [declaration, ...recall];
    return intended.replace(declaration, () => kept.join("\n"));
  },
  madeIn: () => false,
  recoveredBy: () => true,
};

// `untyped-final` is played where final replies are typed (see typed-final.ts), and
// `loose-json` by sub-calls (response-format.ts).
const ALL: Record<Exclude<HabitName, "untyped-final" | "loose-json">, Habit> = {
  "final-in-plan": finalInPlan,
  "python-fence": pythonFence,
  "python-in-repl": pythonInRepl,
  "forgotten-await": forgottenAwait,
  "paper-names": paperNames,
  "sequential-await": sequentialAwait,
  "backticks-in-code": backticksInCode,
  "missing-final-var": missingFinalVar,
  "line-chunks": lineChunks,
  "typed-sub-calls": typedSubCalls,
  "final-var-value": finalVarValue,
  "session-aware": sessionAware,
};

/** The habits of the given names, in a fixed order. */
export function habitsNamed(names: readonly HabitName[]): Habit[] {
  return (Object.keys(ALL) as Array<keyof typeof ALL>)
    .filter((name) => names.includes(name))
    .map((name) => ALL[name]);
}
