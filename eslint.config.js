// Lint: typescript-eslint's recommended rules, strict about `any` (no `any` in exported
// types, DESIGN.md). Formatting is Prettier's job, so no style rules here.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "bench-results/**",
      "coverage/**",
      "apps/cli/assets/**",
      "packages/sandbox/src/generated/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        setImmediate: "readonly",
        AbortController: "readonly",
        AbortSignal: "readonly",
        fetch: "readonly",
        structuredClone: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    // Scripts that run in the browser (the trajectory viewer).
    files: ["apps/api/assets/**/*.js"],
    languageOptions: {
      globals: {
        document: "readonly",
        window: "readonly",
        EventSource: "readonly",
        location: "readonly",
        navigator: "readonly",
        DOMParser: "readonly",
        Element: "readonly",
      },
    },
  },
);
