// A TypeScript SDK host that declares form elicitation: it calls echo twice
// (the relay asks before each; the first question is accepted, the second
// declined), then another tool (not held), and prints what it saw as JSON.
// The defaults fit the probe; ECHO_ARG, OTHER_TOOL, OTHER_ARGS (JSON) and
// CALLS_TOOL ("" for none) fit other servers.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const [command, ...args] = process.argv.slice(2);
const transport = new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
const client = new Client({ name: "ts-host", version: "1.0.0" }, { capabilities: { elicitation: { form: {} } } });
const echoArg = process.env.ECHO_ARG || "text";
const otherTool = process.env.OTHER_TOOL || "get_time";
const otherArgs = JSON.parse(process.env.OTHER_ARGS || "{}");
const callsTool = process.env.CALLS_TOOL ?? "calls";
const answers = ["accept", "decline"];
const out = { questions: [] };
client.setRequestHandler(ElicitRequestSchema, async (req) => {
  out.questions.push(req.params.message);
  const action = answers[(out.questions.length - 1) % 2];
  return action === "accept" ? { action, content: { allow_for_session: false } } : { action };
});
try {
  await client.connect(transport);
  out.first = (await client.callTool({ name: "echo", arguments: { [echoArg]: "first from typescript" } })).content;
  try {
    await client.callTool({ name: "echo", arguments: { [echoArg]: "second" } });
    out.second = "succeeded";
  } catch (e) {
    out.second = { code: e.code, message: e.message };
  }
  out.time = (await client.callTool({ name: otherTool, arguments: otherArgs })).content;
  if (callsTool) out.calls = (await client.callTool({ name: callsTool, arguments: {} })).structuredContent;
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await client.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
