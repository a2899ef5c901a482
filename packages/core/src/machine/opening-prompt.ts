import { describeContext } from "../describe-context.js";
import type { ChatMessage } from "../model.js";
import type { RlmBudgets } from "../options.js";
import { ROOT_SYSTEM_PROMPT, rootUserPrompt } from "../prompts.js";
import type { AnalysisParams } from "./analysis-params.js";
import { isDeferred } from "./sandbox-session.js";

/**
 * The messages an analysis begins with: the system prompt, then the query with what the
 * context is, the first iteration, `budgets`, the output schema and, for a later question
 * of a session, the variables the earlier questions left.
 */
export function openingMessages(
  params: Pick<AnalysisParams, "query" | "context" | "options" | "session">,
  depth: number,
  budgets: RlmBudgets,
): ChatMessage[] {
  const { query, context, options, session } = params;
  const description = isDeferred(context)
    ? context.deferred.description
    : describeContext(context, options.previewChars);
  return [
    { role: "system", content: ROOT_SYSTEM_PROMPT },
    {
      role: "user",
      content: rootUserPrompt(
        query,
        description,
        { number: 1, max: options.maxIterations, depth },
        budgets,
        options.outputSchema,
        session && session.position > 0
          ? { question: session.position + 1, variables: session.variables }
          : undefined,
      ),
    },
  ];
}
