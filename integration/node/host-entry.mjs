// A host made of the official TypeScript SDK that starts one entry of an MCP
// host's configuration file exactly as the host does: its command, its args
// and its env (on top of this process's environment). argv[2] is a JSON
// object {command, args, env, calls: [{name, arguments}]}; it calls each tool
// in turn and prints {tools, results} as one JSON object on stdout.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const spec = JSON.parse(process.argv[2]);
const transport = new StdioClientTransport({
  command: spec.command,
  args: spec.args || [],
  env: { ...process.env, ...(spec.env || {}) },
  stderr: "inherit",
});
const client = new Client({ name: "ts-host-entry", version: "1.0.0" });
const out = { results: [] };
try {
  await client.connect(transport);
  // The pid of the process it spawned: the harness counts the containers
  // that process's launcher labels with it.
  out.pid = transport.pid;
  out.tools = (await client.listTools()).tools.map((t) => t.name).sort();
  for (const call of spec.calls || []) {
    out.results.push(await client.callTool(call));
  }
} catch (e) {
  out.error = String((e && e.stack) || e);
} finally {
  await client.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
