// The peer's side of `cargo bench --bench peer` (benches/peer.rs): what
// `actionsync convert SPEC > /dev/null` does, done with @apidevtools/swagger-parser.
//
//   node list-tools.cjs PEER_DIR SPEC
//
// PEER_DIR is where `npm install --prefix PEER_DIR @apidevtools/swagger-parser@13`
// put the package (never this repository). The spec is dereferenced (local and
// file $refs inlined; a circular $ref is left as it is, since a cyclic object
// cannot be printed), then each operation is printed as one tool, a JSON object
// a line: method, path, operationId, summary, parameters (path-level and
// operation-level merged) and the request body's schema (OpenAPI 3's JSON body,
// or Swagger 2's `in: body` parameter). Run with stdout on /dev/null.
"use strict";

const fs = require("node:fs");

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function requestBodySchema(operation, parameters) {
  const body = operation.requestBody;
  if (body && body.content) {
    const types = Object.keys(body.content);
    const type = types.find((t) => /json/i.test(t)) ?? types[0];
    return type === undefined ? null : (body.content[type].schema ?? null);
  }
  const param = parameters.find((p) => p && p.in === "body");
  return param ? (param.schema ?? null) : null;
}

function mergeParameters(shared, own) {
  const byKey = new Map();
  for (const p of [...(shared ?? []), ...(own ?? [])]) {
    if (p && typeof p === "object") byKey.set(`${p.in} ${p.name}`, p);
  }
  return [...byKey.values()];
}

async function main() {
  const [peerDir, spec] = process.argv.slice(2);
  if (!peerDir || !spec) {
    process.stderr.write("usage: node list-tools.cjs PEER_DIR SPEC\n");
    process.exit(2);
  }
  const SwaggerParser = require(
    require.resolve("@apidevtools/swagger-parser", { paths: [peerDir] }),
  );
  const api = await SwaggerParser.dereference(spec, {
    dereference: { circular: "ignore" },
  });
  let tools = 0;
  for (const [path, item] of Object.entries(api.paths ?? {})) {
    if (!item || typeof item !== "object") continue;
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation || typeof operation !== "object") continue;
      const parameters = mergeParameters(item.parameters, operation.parameters);
      const tool = {
        method: method.toUpperCase(),
        path,
        operationId: operation.operationId ?? null,
        summary: operation.summary ?? operation.description ?? null,
        parameters: parameters.filter((p) => p.in !== "body"),
        requestBody: requestBodySchema(operation, parameters),
      };
      fs.writeSync(1, JSON.stringify(tool) + "\n");
      tools += 1;
    }
  }
  process.stderr.write(`${tools} tools\n`);
}

main().catch((err) => {
  process.stderr.write(`error: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
