// A host made of the official TypeScript SDK for package servers: it spawns
// the command given on the command line over stdio, lists the tools, calls
// the echo tool CALLS times (an environment variable, default 0) checking
// each answer, and prints what it saw as one JSON object on stdout.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [command, ...args] = process.argv.slice(2);
const calls = Number(process.env.CALLS || 0);
const transport = new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
const client = new Client({ name: "ts-host", version: "1.0.0" });
const out = { calls: 0, errors: 0 };
try {
  await client.connect(transport);
  // The pid of the process it spawned: the harness counts the containers
  // that process's launcher labels with it.
  out.pid = transport.pid;
  out.server = client.getServerVersion();
  out.tools = (await client.listTools()).tools.map((t) => t.name).sort();
  for (let i = 0; i < calls; i++) {
    const text = "call " + i;
    try {
      const res = await client.callTool({ name: "echo", arguments: { message: text } });
      out.calls++;
      const got = (res.content || []).map((c) => c.text || "").join("");
      if (res.isError || !got.includes(text)) {
        out.errors++;
        out.lastError = got;
      }
    } catch (e) {
      out.errors++;
      out.lastError = String(e);
    }
  }
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await client.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
