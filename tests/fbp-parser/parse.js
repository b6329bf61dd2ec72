// Parses each .fbp file named on the command line with the reference parser (npm fbp, pinned
// in package.json) and prints one JSON line per file, for reflow_network's differential test:
//   {"file": F, "graph": {...}, "processOrder": [...]}  or  {"file": F, "error": {...}}
// `--case-sensitive` before the files sets the parser's caseSensitive option.
const fs = require('fs');
const fbp = require('fbp');

let caseSensitive = false;
for (const arg of process.argv.slice(2)) {
  if (arg === '--case-sensitive') {
    caseSensitive = true;
    continue;
  }
  const text = fs.readFileSync(arg, 'utf-8');
  let line;
  try {
    const graph = fbp.parse(text, { caseSensitive });
    line = { file: arg, graph, processOrder: Object.keys(graph.processes) };
  } catch (e) {
    const error = { message: String(e.message) };
    if (e.location) {
      error.line = e.location.start.line;
      error.column = e.location.start.column;
    }
    line = { file: arg, error };
  }
  console.log(JSON.stringify(line));
}
