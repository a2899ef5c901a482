/**
 * Hints for code written in Python. Models trained on the RLM paper's Python REPL write
 * Python by habit (`len(context)`, `context[:1000]`, `import re`, f-strings, ```python
 * fences); the REPL runs JavaScript, and a bare syntax error does not tell them that.
 */

interface Translation {
  /** What in the code shows the habit. */
  seen: RegExp;
  /** The JavaScript for it, as the model is told. */
  hint: string;
}

const TRANSLATIONS: Translation[] = [
  { seen: /\blen\(/, hint: "`len(x)` → `x.length`" },
  {
    seen: /\w[\])]?\[\s*-?\w*\s*:\s*-?\w*\s*\]/,
    hint: "`x[:n]` / `x[a:b]` / `x[-n:]` → `x.slice(0, n)` / `x.slice(a, b)` / `x.slice(-n)`",
  },
  { seen: /(?:^|[^\w])f["'][^"'\n]*\{/, hint: 'f"…{v}…" → `…${v}…` (a template literal)' },
  {
    seen: /^\s*(?:import\s+\w|from\s+[\w.]+\s+import\b)/m,
    hint: "no imports: regular expressions are built in (`/pattern/g`, `text.match(/…/g)`), JSON is `JSON.parse` / `JSON.stringify`",
  },
  { seen: /^\s*def\s+\w+\s*\(.*\)\s*:/m, hint: "`def f(x):` → `function f(x) { … }`" },
  {
    seen: /^\s*for\s+\w+\s+in\s+range\(/m,
    hint: "`for i in range(n):` → `for (let i = 0; i < n; i++) { … }`",
  },
  {
    seen: /^\s*for\s+[\w, ]+\s+in\s+.+:\s*$/m,
    hint: "`for x in xs:` → `for (const x of xs) { … }`",
  },
  {
    seen: /^\s*(?:if|elif|while)\s+.+:\s*$/m,
    hint: "`if x:` → `if (x) { … }` (`elif` → `else if`)",
  },
  {
    seen: /\b(?:True|False|None)\b/,
    hint: "`True` / `False` / `None` → `true` / `false` / `null`",
  },
  {
    seen: /\bre\.(?:findall|search|match|sub|split)\(/,
    hint: "`re.findall(p, s)` → `s.match(/p/g) ?? []`",
  },
  { seen: /["']\s*\.join\(/, hint: "`', '.join(xs)` → `xs.join(', ')`" },
  { seen: /^\s*#(?!!)/m, hint: "`# comment` → `// comment`" },
  {
    seen: /\b(?:str|int|float)\(/,
    hint: "`str(x)` / `int(x)` / `float(x)` → `String(x)` / `parseInt(x, 10)` / `Number(x)`",
  },
];

/** Signs that the code is Python rather than JavaScript, each enough on its own. */
const PYTHON_SIGNS = [
  /^\s*def\s+\w+\s*\(.*\)\s*:\s*$/m,
  /^\s*(?:import\s+\w+\s*$|from\s+[\w.]+\s+import\b)/m,
  /(?:^|[^\w])f["'][^"'\n]*\{[^}\n]*\}/,
  /^\s*(?:for\s+[\w, ]+\s+in\s+.+|if\s+.+|elif\s+.+|else|while\s+.+|try|except.*)\s*:\s*$/m,
  /\blen\([^)]*\)/,
  /\w\[\s*-?\w*\s*:\s*-?\w*\s*\]/,
  /^\s*#(?!!)\s*\w/m,
];

/** Python builtins a model calls, which a JavaScript REPL reports as not defined. */
const PYTHON_NOT_DEFINED =
  /\b(?:len|str|int|float|range|enumerate|sorted|zip|re|json|True|False|None|print_function) is not defined/;

/**
 * A note telling the model that the REPL runs JavaScript, with the JavaScript for what it
 * wrote, when `code` (or the error it caused) shows Python; undefined otherwise.
 */
export function pythonHint(code: string, error?: string): string | undefined {
  const python =
    PYTHON_SIGNS.some((sign) => sign.test(code)) ||
    (error !== undefined && PYTHON_NOT_DEFINED.test(error));
  if (!python) return undefined;
  const hints = TRANSLATIONS.filter((translation) => translation.seen.test(code)).map(
    (translation) => `- ${translation.hint}`,
  );
  const body = hints.length > 0 ? `\nIn JavaScript:\n${hints.join("\n")}` : "";
  return `This REPL runs JavaScript, not Python: write the code in JavaScript in a \`\`\`repl block.${body}`;
}
