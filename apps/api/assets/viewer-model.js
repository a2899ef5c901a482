/* global rlm */
// The trajectory as the page's parts read it: every step (root turn, cell, sub-call) as
// an item with a key, a label, a time span and a state, in the order of the analysis.
rlm.model = (() => {
  "use strict";
  const { shorten, firstLine, range } = rlm;

  /** Label of a cell for people: "2.0" at the top, "2.0 #3 › 1.0" inside a nested analysis. */
  function cellPath(parentPath, iteration, cell) {
    const own = `${iteration.iteration}.${cell.block}`;
    return parentPath ? `${parentPath} › ${own}` : own;
  }

  /** What a sub-call covered: its slice, else the first words of its text, else its size. */
  function callSubject(call) {
    if (call.slice) return `chars ${range(call.slice)}`;
    if (call.contextChars !== undefined) return `${rlm.number(call.contextChars)} chars`;
    return "";
  }

  /** A call dropped unanswered: drawn as a tick where it was issued (or its job ended). */
  function cancelledAt(call) {
    const ended = call.job && call.job.finishedMs;
    return ended !== undefined && ended >= (call.issuedMs || 0) ? ended : call.issuedMs;
  }

  function costOf(usage) {
    return usage && typeof usage.costUsd === "number" ? usage.costUsd : 0;
  }

  /**
   * Flattens the trajectory: `items` by key (turns, cells, calls, a turn in flight),
   * `calls` every sub-call at every depth in order, and the time bounds.
   */
  function build(t) {
    const items = new Map();
    const order = [];
    const calls = [];
    let first = Infinity;
    let last = -Infinity;
    let turnsCost = 0;
    const see = (start, end) => {
      if (typeof start === "number") first = Math.min(first, start);
      if (typeof end === "number") last = Math.max(last, end);
      if (typeof start === "number") last = Math.max(last, start);
    };
    const add = (item) => {
      items.set(item.key, item);
      order.push(item.key);
      see(item.start, item.end);
      return item;
    };

    function walkScope(scope, depth, path, owner) {
      const turnItem = (turn, label) => {
        turnsCost += costOf(turn.usage);
        return add({
          key: turn.key,
          kind: "turn",
          depth,
          path,
          label,
          start: turn.startMs,
          end: turn.endMs,
          state: "turn",
          usage: turn.usage,
          cost: turn.usage ? turn.usage.costUsd : undefined,
          worker: scope.job && scope.job.worker,
          ref: turn,
          owner,
        });
      };
      for (const iteration of scope.iterations) {
        if (iteration.root) turnItem(iteration.root, `Turn ${iteration.iteration}`);
        for (const cell of iteration.cells) {
          const cellLabel = cellPath(path, iteration, cell);
          add({
            key: cell.key,
            kind: "cell",
            depth,
            path: cellLabel,
            label: `Cell ${cellLabel}`,
            start: cell.startMs,
            end: cell.pending ? undefined : cell.endMs,
            state: cell.pending ? "running" : cell.error ? "error" : "cell",
            ref: cell,
            owner,
            iteration: iteration.iteration,
          });
          for (const call of cell.subCalls) {
            const item = {
              key: call.key,
              kind: "call",
              depth: depth + 1,
              path: cellLabel,
              label: `#${call.index}`,
              subject: callSubject(call),
              preview: call.preview || "",
              start: call.state === "cancelled" ? call.issuedMs : call.startMs,
              issued: call.issuedMs,
              end: call.state === "cancelled" ? cancelledAt(call) : call.endMs,
              state: call.state,
              nested: Boolean(call.nested),
              retried: (call.attempts || 0) > 1 || (call.job ? call.job.retries : 0) > 0,
              usage: call.usage,
              cost: call.usage ? call.usage.costUsd : undefined,
              worker: call.job && call.job.worker,
              answerLine: firstLine(call.answer || (call.error ? call.error.message : ""), 120),
              ref: call,
              owner: cell.key,
            };
            add(item);
            see(item.issued, undefined);
            calls.push(item);
            if (call.nested)
              walkScope(call.nested, depth + 2, `${cellLabel} #${call.index}`, call.key);
          }
        }
      }
      if (scope.waitingSinceMs !== undefined) {
        const next = (scope.iterations.length ? scope.iterations.at(-1).iteration : 0) + 1;
        add({
          key: `${scope.prefix}waiting:${next}`,
          kind: "waiting",
          depth,
          path,
          label: `Turn ${next}`,
          start: scope.waitingSinceMs,
          end: undefined,
          state: "waiting",
          ref: scope,
          owner,
        });
      }
      if (scope.finalTurn) turnItem(scope.finalTurn, "Last turn");
    }

    walkScope(t.root, 0, "", undefined);
    for (const call of calls) {
      // A repeat of an identical earlier call: answered by it, no model call of its own.
      const earlier = call.ref.sameAs !== undefined ? items.get(call.ref.sameAs) : undefined;
      if (earlier) call.sameAs = `${earlier.label} of cell ${earlier.path}`;
    }
    const live = !t.terminal;
    if (!live) {
      // An ended analysis has nothing running: what never finished stopped at its end.
      const ended = Math.max(Date.parse(t.updatedAt) || last, last);
      for (const item of items.values()) {
        if (item.end !== undefined || item.start === undefined) continue;
        item.end = Math.max(item.start, item.kind === "call" ? item.start : ended);
        if (item.state === "running" || item.state === "waiting") item.state = "cancelled";
      }
    }
    const totalCost = costOf(t.figures && t.figures.usage);
    return {
      items,
      order,
      calls,
      start: Number.isFinite(first) ? first : undefined,
      end: Number.isFinite(last) ? last : undefined,
      live,
      totalCost,
      turnsCost,
      callsCost: Math.max(0, totalCost - turnsCost),
    };
  }

  /** Groups calls by identical query, biggest group first. */
  function groupByQuery(calls) {
    const groups = new Map();
    for (const call of calls) {
      const query = call.ref.query || "";
      const group = groups.get(query) || { query, calls: [] };
      group.calls.push(call);
      groups.set(query, group);
    }
    return [...groups.values()].sort((a, b) => b.calls.length - a.calls.length);
  }

  /** A short name for a worker: `host:pid` stays, long host names are cut. */
  function workerName(worker) {
    return worker ? shorten(worker, 24) : "";
  }

  return { build, groupByQuery, workerName, callSubject, costOf };
})();
