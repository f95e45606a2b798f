// The official JavaScript client against a live stemgraph server (STEMGRAPH_URL, with the
// service key in STEMGRAPH_API_KEY): stream a resumable run, leave after a few events, then
// join it again after the last event seen; what comes back must be exactly the rest.
// Prints a JSON summary on success; exits 1 with the reason otherwise.
import { Client } from "@langchain/langgraph-sdk";

const SEEN = 5;
const client = new Client({
  apiUrl: process.env.STEMGRAPH_URL,
  apiKey: process.env.STEMGRAPH_API_KEY,
});

function check(condition, message) {
  if (!condition) {
    console.error(message);
    process.exit(1);
  }
}

async function collect(stream) {
  const parts = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

const same = (a, b) =>
  a.id === b.id && a.event === b.event && JSON.stringify(a.data) === JSON.stringify(b.data);

const thread = await client.threads.create();
const tid = thread.thread_id;
const streamMode = ["messages-tuple", "values"];
const input = { user: process.env.STEMGRAPH_QUESTION ?? "Tell me about forces.", system: "" };

const first = [];
for await (const part of client.runs.stream(tid, "llm", {
  input,
  streamMode,
  streamResumable: true,
})) {
  first.push(part);
  if (first.length === SEEN) break;
}
check(first[0]?.event === "metadata", `the stream did not start with metadata: ${first[0]?.event}`);
const runId = first[0].data.run_id;
check(first.every((part) => part.id), "a resumable stream's events carry ids");

const rest = await collect(
  client.runs.joinStream(tid, runId, { lastEventId: first[SEEN - 1].id, streamMode }),
);
const all = await collect(client.runs.joinStream(tid, runId, { lastEventId: "0", streamMode }));
const run = await client.runs.get(tid, runId);

check(run.status === "success", `the run ended ${run.status}`);
check(
  all.every((part, n) => part.id === `${n + 1}`),
  "event ids are 1, 2, 3, ... in order",
);
check(first.every((part, n) => same(part, all[n])), "the first events replay as they were sent");
check(rest.length === all.length - SEEN, `resumed ${rest.length} of ${all.length - SEEN} events`);
check(
  rest.every((part, n) => same(part, all[SEEN + n])),
  "the resumed events are exactly the ones after the last seen",
);
check(rest.at(-1)?.event === "values", "the run's final values come last");
console.log(JSON.stringify({ run_id: runId, seen: SEEN, resumed: rest.length, total: all.length }));
