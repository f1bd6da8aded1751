// Count the tokens of stdin with a real BPE tokenizer (gpt-tokenizer, o200k_base).
// Usage: node count_tokens.cjs < text   (NODE_MODULES points at the installed node_modules)
const path = require("path");
const { encode } = require(path.resolve(process.env.NODE_MODULES, "gpt-tokenizer"));
let text = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (c) => (text += c));
process.stdin.on("end", () => console.log(encode(text).length));
