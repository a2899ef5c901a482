/**
 * The flags for a Node process running the CLI, given the NODE_OPTIONS it will inherit
 * (a `--max-semi-space-size` there is the user's choice and wins).
 */
export function nodeFlags(nodeOptions: string | undefined): string[];
