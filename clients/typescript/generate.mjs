// Generates TypeScript types for the API from the committed OpenAPI document, with
// openapi-typescript's Node API (the CLI cannot transform): a `format: binary` schema (the
// multipart `photo`) becomes a Blob, which is what a FormData part is, instead of a string.
//
//   node clients/typescript/generate.mjs shared/realm/openapi.json clients/typescript/.generated/api.d.ts
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node generate.mjs <openapi.json> <out.d.ts>");
  process.exit(2);
}
const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier("Blob"));
const ast = await openapiTS(pathToFileURL(path.resolve(input)), {
  transform(schemaObject) {
    if (schemaObject.format === "binary") {
      return BLOB;
    }
    return undefined;
  },
});
fs.mkdirSync(path.dirname(output), { recursive: true });
fs.writeFileSync(output, astToString(ast));
