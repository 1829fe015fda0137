// A host made of the official TypeScript SDK: it spawns the command given on
// the command line over stdio, exactly as Claude Desktop does, then lists
// tools, calls echo, calls a hidden tool, and prints what it saw as one JSON
// object on stdout for the Go test to check.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [command, ...args] = process.argv.slice(2);
const transport = new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
const client = new Client({ name: "ts-host", version: "1.0.0" });
const out = {};
try {
  await client.connect(transport);
  out.server = client.getServerVersion();
  out.capabilities = client.getServerCapabilities();
  out.tools = (await client.listTools()).tools.map((t) => t.name).sort();
  out.echo = (await client.callTool({ name: "echo", arguments: { text: "from typescript" } })).content;
  try {
    await client.callTool({ name: "delete_file", arguments: { path: "/x" } });
    out.hidden = "succeeded";
  } catch (e) {
    out.hidden = { code: e.code, message: e.message };
  }
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await client.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
