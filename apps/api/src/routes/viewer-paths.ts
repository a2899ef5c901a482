/** Where the trajectory viewer is mounted. */
export const VIEWER_PATH = "/admin/viewer";

/** The viewer page of an analysis, as linked from the API's 202 response and Bull Board. */
export function viewerPath(analysisId: string): string {
  return `${VIEWER_PATH}/${encodeURIComponent(analysisId)}`;
}
